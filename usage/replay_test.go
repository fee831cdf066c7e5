// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func replayValues(r *Replay) values {
	v := values{}
	names := CounterFamilies()
	r.Counters(func(family int, label string, value float64) {
		name := names[family].Name
		if v[name] == nil {
			v[name] = map[string]float64{}
		}
		v[name][label] = value
	})
	return v
}

// TestReplayCountsLikeTheExporterAndHandsOver reads a live fake by hand:
// the first Read is the baseline, every later Read counts exactly what the
// exporter counts, and an exporter started with the state file that Save
// wrote goes on from there without losing or double counting anything,
// whatever happened between the last Read and its start.
func TestReplayCountsLikeTheExporterAndHandsOver(t *testing.T) {
	f, clk := newFake(), newClock()
	act := &activity{f: f, clk: clk, rng: rand.New(rand.NewPCG(7, 7))}
	act.step(10 * time.Minute) // history before the baseline
	path := filepath.Join(t.TempDir(), "state.json")
	cfg := Config{Client: f, Now: clk.Now, StateFile: path, Overlap: time.Minute, ServerURL: "https://connect.example.com"}
	r, err := NewReplay(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	t0 := clk.Now()
	auditAfter := len(f.audit) + 999
	if err := r.Read(ctx, t0); err != nil {
		t.Fatal(err)
	}
	if got := replayValues(r); len(got) != 0 {
		t.Fatalf("the baseline counted %v", got)
	}
	prev := values{}
	for range 20 {
		act.step(time.Duration(30+act.rng.IntN(200)) * time.Second)
		if err := r.Read(ctx, clk.Now()); err != nil {
			t.Fatal(err)
		}
		got := replayValues(r)
		checkMonotone(t, prev, got)
		checkTruth(t, got, f.truth(t0, auditAfter, nil, "ContentHealthMonitor/1.0"))
		if t.Failed() {
			t.FailNow()
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the state file was written before Save: %v", err)
	}
	// An exporter cannot take the file while the replay holds it.
	if _, err := New(Config{Client: f, StateFile: path}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("an exporter opened the state file of a running replay: %v", err)
	}
	if err := r.Save(ctx); err != nil {
		t.Fatal(err)
	}
	last := replayValues(r)
	r.Close()
	if len(last[mStarted]) == 0 || len(last[mEnded]) == 0 || len(last[mVisits]) == 0 || len(last[mAudit]) == 0 {
		t.Fatalf("the replay counted too little to mean much: %v", last)
	}
	st := readState(t, path)
	if st.Server == nil || st.Server.URL != "https://connect.example.com" || st.Server.FirstAudit == nil || st.Server.FirstAudit.ID != "1000" {
		t.Fatalf("the state file records the server as %+v", st.Server)
	}
	if st.Content != nil {
		t.Errorf("a replay recorded a content list: %+v", st.Content)
	}

	act.step(3 * time.Minute) // activity before the exporter starts
	cfg.Interval = time.Millisecond
	s := newStreams(t, cfg)
	for i := range 10 {
		got := scrape(t, s).v
		if i == 0 {
			checkMonotone(t, last, got)
		}
		checkMonotone(t, prev, got)
		checkTruth(t, got, f.truth(t0, auditAfter, nil, "ContentHealthMonitor/1.0"))
		if t.Failed() {
			t.FailNow()
		}
		act.step(time.Duration(20+act.rng.IntN(100)) * time.Second)
	}
}

func TestReplayNeverReplacesAStateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := NewReplay(Config{Client: newFake(), StateFile: path})
	if !errors.Is(err, ErrStateFileExists) || !strings.Contains(err.Error(), path) {
		t.Fatalf("NewReplay on an existing file: %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "{}" {
		t.Fatalf("the file was changed: %q", data)
	}
	// A temporary file that a killed writer left is removed.
	stale := filepath.Join(dir, ".new.json.tmp-123")
	if err := os.WriteFile(stale, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := NewReplay(Config{Client: newFake(), StateFile: filepath.Join(dir, "new.json")})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale temporary file is still there: %v", err)
	}
	r, err = NewReplay(Config{Client: newFake()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Save(context.Background()); err == nil {
		t.Error("Save without a state file succeeded")
	}
}

// TestCounterFamiliesMatchTheCollectors: what CounterFamilies says is what
// the streams expose (name, help, label), so that a backfill writes the
// live exporter's series.
func TestCounterFamiliesMatchTheCollectors(t *testing.T) {
	f, clk := newFake(), newClock()
	act := &activity{f: f, clk: clk, rng: rand.New(rand.NewPCG(3, 3))}
	s := newStreams(t, Config{Client: f, Now: clk.Now, Interval: time.Millisecond})
	scrape(t, s)
	act.step(10 * time.Minute)
	scrape(t, s)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(&allCollector{s: s, ctx: context.Background()})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exposed := map[string]bool{}
	for _, mf := range mfs {
		for _, fam := range CounterFamilies() {
			if fam.Name != mf.GetName() {
				continue
			}
			exposed[fam.Name] = true
			if mf.GetHelp() != fam.Help || mf.GetType().String() != "COUNTER" {
				t.Errorf("%s: help %q type %s; CounterFamilies says %q", fam.Name, mf.GetHelp(), mf.GetType(), fam.Help)
			}
			for _, m := range mf.GetMetric() {
				if len(m.GetLabel()) != 1 || m.GetLabel()[0].GetName() != fam.Label {
					t.Errorf("%s: labels %v, want only %s", fam.Name, m.GetLabel(), fam.Label)
				}
			}
		}
	}
	if len(exposed) != len(CounterFamilies()) {
		t.Errorf("exposed %v of %d families", exposed, len(CounterFamilies()))
	}
}
