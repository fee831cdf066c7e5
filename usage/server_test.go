// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

const mRebaselines = "posit_connect_usage_rebaselines_total"

// busyFake is a fake Connect whose database began at start: audit entries,
// visits and sessions from then on.
func busyFake(clk *testutil.Clock, start time.Time) *fakeSource {
	f := newFake()
	f.addAudit("add_user", start)
	for i := range 5 {
		f.addAudit(fakeActions[i%3], clk.Now())
		f.addVisit(connectapi.Visit{ContentGUID: "doc-1", UserGUID: "u-1", Time: clk.Now().Add(-time.Duration(i) * time.Second)})
	}
	return f
}

// activityOn adds an audit entry, a visit and an ended session at now.
func activityOn(f *fakeSource, now time.Time) {
	f.addAudit("user_login", now)
	f.addVisit(connectapi.Visit{ContentGUID: "doc-2", UserGUID: "u-2", Time: now})
	f.startSession("app-a", "u-3", now.Add(-time.Second))
	f.endSession("app-a", "u-3", now.Add(-time.Second), now)
}

func textLogger(buf *testutil.LockedBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func readState(t *testing.T, path string) *stateFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := decodeState(data)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestStateFileRecordsTheServer: the state file names the server's URL and
// the identity of its database (the oldest audit entry).
func TestStateFileRecordsTheServer(t *testing.T) {
	clk := newClock()
	f := busyFake(clk, clk.Now().Add(-1000*time.Hour))
	path := filepath.Join(t.TempDir(), "state.json")
	s := newStreams(t, Config{Client: f, Now: clk.Now, StateFile: path, ServerURL: "https://Connect.example.com/__api__/"})
	scrape(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	st := readState(t, path)
	want := &serverState{URL: "https://Connect.example.com", FirstAudit: &auditIdentity{ID: "1000", Time: clk.Now().Add(-1000 * time.Hour), Action: "add_user"}}
	if d := cmp.Diff(want, st.Server); d != "" || st.Version != 2 {
		t.Errorf("version %d, server (-want +got):\n%s", st.Version, d)
	}
}

// TestStateFileOfAnotherDatabase: a state file written for another Connect
// database (same URL, another oldest audit entry: a reinstall, or a file
// copied from another server) is dropped with a warning, counting starts
// afresh, and rebaselines_total shows it for every stream.
func TestStateFileOfAnotherDatabase(t *testing.T) {
	clk := newClock()
	path := filepath.Join(t.TempDir(), "state.json")
	a := busyFake(clk, clk.Now().Add(-1000*time.Hour))
	cfg := Config{Client: a, Now: clk.Now, StateFile: path, ServerURL: "https://connect.example.com", Interval: time.Second}
	s := newStreams(t, cfg)
	scrape(t, s)
	clk.Advance(time.Minute)
	activityOn(a, clk.Now())
	if r := scrape(t, s); r.v[mAudit]["user_login"] != 1 || r.v[mVisits]["doc-2"] != 1 || r.v[mStarted]["app-a"] != 1 {
		t.Fatalf("first server: %v", r.v)
	}
	s.Close()

	clk.Advance(time.Minute)
	b := busyFake(clk, clk.Now().Add(-10*time.Hour))
	logs := &testutil.LockedBuffer{}
	cfg.Client, cfg.Logger = b, textLogger(logs)
	s = newStreams(t, cfg)
	r := scrape(t, s) // a baseline again: nothing counted
	for _, m := range []string{mStarted, mVisits, mAudit} {
		if len(nonZero(r.v[m])) != 0 {
			t.Errorf("%s carried over from another database: %v", m, r.v[m])
		}
	}
	if d := cmp.Diff(map[string]float64{"shiny": 1, "visits": 1, "audit": 1}, r.v[mRebaselines]); d != "" {
		t.Errorf("rebaselines (-want +got):\n%s", d)
	}
	if !strings.Contains(logs.String(), "belongs to another Connect database") || !strings.Contains(logs.String(), "state_first_audit_id=1000") {
		t.Errorf("no clear log line:\n%s", logs.String())
	}
	clk.Advance(time.Minute)
	activityOn(b, clk.Now())
	r = scrape(t, s)
	if r.v[mAudit]["user_login"] != 1 || r.v[mVisits]["doc-2"] != 1 || r.v[mStarted]["app-a"] != 1 {
		t.Errorf("counting on the new database: %v", r.v)
	}
	s.Close()
	if st := readState(t, path); st.Server.FirstAudit.Time.Equal(clk.Now().Add(-1000*time.Hour)) || st.Audit.Rebaselines != 1 {
		t.Errorf("the file still names the old database: %+v %+v", st.Server.FirstAudit, st.Audit)
	}
}

// TestStateFileURLChanged: the same database under a new URL keeps its
// counters; under a new URL whose identity cannot be read (no audit
// permission), reads fail with a clear error rather than mixing counters.
func TestStateFileURLChanged(t *testing.T) {
	clk := newClock()
	path := filepath.Join(t.TempDir(), "state.json")
	f := busyFake(clk, clk.Now().Add(-1000*time.Hour))
	cfg := Config{Client: f, Now: clk.Now, StateFile: path, ServerURL: "https://old.example.com", Interval: time.Second}
	s := newStreams(t, cfg)
	scrape(t, s)
	clk.Advance(time.Minute)
	activityOn(f, clk.Now())
	before := scrape(t, s).v
	s.Close()

	logs := &testutil.LockedBuffer{}
	cfg.ServerURL, cfg.Logger = "https://new.example.com", textLogger(logs)
	s = newStreams(t, cfg)
	clk.Advance(time.Minute)
	r := scrape(t, s)
	for _, m := range []string{mStarted, mVisits, mAudit} {
		if d := cmp.Diff(before[m], r.v[m]); d != "" {
			t.Errorf("%s changed with the URL (-before +after):\n%s", m, d)
		}
	}
	if !strings.Contains(logs.String(), "URL changed") {
		t.Errorf("no log line for the new URL:\n%s", logs.String())
	}
	s.Close()

	logs = &testutil.LockedBuffer{}
	cfg.Client, cfg.ServerURL, cfg.Logger = &forbiddenAudit{f}, "https://other.example.com", textLogger(logs)
	s = newStreams(t, cfg)
	for range 2 {
		r = scrapeCtx(context.Background(), t, s)
		for name, err := range r.errs {
			if !errors.Is(err, errForeignState) || !strings.Contains(err.Error(), "https://new.example.com") || !strings.Contains(err.Error(), "https://other.example.com") {
				t.Errorf("%s: want the foreign state error naming both URLs, got %v", name, err)
			}
		}
		clk.Advance(time.Minute)
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("no error logged:\n%s", logs.String())
	}
	s.Close()
	if st := readState(t, path); st.Server.URL != "https://new.example.com" {
		t.Errorf("a refused file was rewritten for %s", st.Server.URL)
	}
}

// forbiddenAudit answers the audit log with 403, as for a non-admin key.
type forbiddenAudit struct{ *fakeSource }

func (forbiddenAudit) EachAuditPage(context.Context, bool, func([]connectapi.AuditEntry) error) error {
	return &connectapi.APIError{Method: "GET", Endpoint: "/v1/audit_logs", StatusCode: 403, Code: 22, HasCode: true}
}

// TestVersion1StateFileAdopted: a state file written before files named
// their server is used as it is, and named on the next save.
func TestVersion1StateFileAdopted(t *testing.T) {
	clk := newClock()
	path := filepath.Join(t.TempDir(), "state.json")
	v1 := `{"version":1,"saved_at":"2026-03-01T11:00:00Z","audit":{"baselined":true,"last_id":"1004","counters":{"add_user":7}}}`
	if err := os.WriteFile(path, []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	f := busyFake(clk, clk.Now().Add(-time.Hour))
	f.addAudit("add_user", clk.Now()) // id 1006: after 1004 and 1005
	s := newStreams(t, Config{Client: f, Now: clk.Now, StateFile: path, ServerURL: "https://connect.example.com"})
	if got := scrape(t, s).v[mAudit]; got["add_user"] != 8 || got["deploy_application"] != 1 || len(got) != 2 {
		t.Errorf("audit after a version 1 file: %v", got)
	}
	s.Close()
	if st := readState(t, path); st.Server == nil || st.Server.FirstAudit == nil || st.Server.FirstAudit.ID != "1000" {
		t.Errorf("the server was not recorded: %+v", st.Server)
	}
}

// TestAuditDatabaseRestored: after Connect's database is restored from a
// backup, its audit ids restart below the last one counted and are reused
// by new entries. The audit stream notices, counts the entries written
// since the restore, counts on from there, and says so in
// rebaselines_total; its last-event time follows what it counts.
func TestAuditDatabaseRestored(t *testing.T) {
	clk := newClock()
	f := newFake()
	for range 50 {
		f.addAudit("add_user", clk.Now().Add(-time.Hour))
	}
	s := newStreams(t, Config{Client: f, Now: clk.Now, Interval: time.Second})
	scrape(t, s)
	want := map[string]float64{}
	add := func(n int) {
		for i := range n {
			a := fakeActions[i%3]
			f.addAudit(a, clk.Now())
			want[a]++
		}
	}
	clk.Advance(time.Minute)
	add(30) // ids 1050..1079
	if d := cmp.Diff(want, scrape(t, s).v[mAudit]); d != "" {
		t.Fatalf("before the restore (-want +got):\n%s", d)
	}
	// Restore a backup taken when the log ended at id 1059.
	f.mu.Lock()
	f.audit = f.audit[:60]
	f.mu.Unlock()
	clk.Advance(time.Minute)
	add(4) // ids 1060..1063 again, written after the restore
	r := scrape(t, s)
	if d := cmp.Diff(want, r.v[mAudit]); d != "" {
		t.Errorf("after the restore (-want +got):\n%s", d)
	}
	if r.v[mRebaselines]["audit"] != 1 || r.v[mRebaselines]["shiny"] != 0 {
		t.Errorf("rebaselines: %v", r.v[mRebaselines])
	}
	for range 3 {
		clk.Advance(time.Minute)
		add(2)
		r = scrape(t, s)
		if d := cmp.Diff(want, r.v[mAudit]); d != "" {
			t.Errorf("counting after the restore (-want +got):\n%s", d)
		}
		if got := r.v[mLast]["audit"]; got != float64(clk.Now().Unix()) {
			t.Errorf("last event %v, want the newest counted entry %v", got, clk.Now().Unix())
		}
	}
	if r.v[mRebaselines]["audit"] != 1 {
		t.Errorf("rebaselines: %v", r.v[mRebaselines])
	}
}
