// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package target

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/config"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

// usageTotals reads the usage counters of one scrape.
func usageTotals(mfs testutil.Families) (sessions, ended map[string]float64, duration map[string]float64, visits map[string]float64, audit map[string]float64) {
	read := func(name, label string) map[string]float64 {
		out := map[string]float64{}
		for _, m := range mfs[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					out[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
		return out
	}
	return read("posit_connect_shiny_sessions_total", "content_guid"),
		read("posit_connect_shiny_sessions_ended_total", "content_guid"),
		read("posit_connect_shiny_session_duration_seconds_total", "content_guid"),
		read("posit_connect_content_visits_total", "content_guid"),
		read("posit_connect_audit_events_total", "action")
}

// TestUsageCountersThroughTheExporter drives a live simulator through
// scrapes and a restart with --state.file while events keep arriving, and
// compares every counter with the simulator's totals.
func TestUsageCountersThroughTheExporter(t *testing.T) {
	// The simulator's clock runs ahead of the exporter's, so sessions can
	// start and end within a short test; the exporter only ever reads from
	// further back than it needs, which its de-duplication absorbs.
	clock := testutil.NewClock(time.Now())
	sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: 21, Users: 200, Content: 30, APIKey: testAPIKey, Version: "2026.03.0",
		History: 2 * time.Hour, ShinySessions: 20_000, Visits: 20_000, AuditEntries: 5_000, Now: clock.Now}))
	t.Setenv("CONNECT_API_KEY", testAPIKey)
	spec := config.Target{URL: sim.URL(), APIKeyEnv: "CONNECT_API_KEY", StateFile: filepath.Join(t.TempDir(), "state.json")}
	sh := testShared()
	sh.Usage.Interval = time.Millisecond

	tg := newTarget(t, spec, sh)
	baselineAudit := sim.LastAuditID()
	testutil.Gather(t, tg.Scrape(t.Context())) // the baseline read: nothing before it counts
	// The simulator stamps events to the second: the first step's events
	// start a second after the baseline, so "after the baseline" is the
	// same set on both sides.
	baseline := clock.Advance(time.Second)
	clock.Advance(time.Second)
	step := func() {
		clock.Advance(5 * time.Minute)
		sim.Step(5 * time.Minute)
	}

	check := func(when string, tg *Target) {
		t.Helper()
		sessions, ended, duration, visits, audit := usageTotals(testutil.Gather(t, tg.Scrape(t.Context())))
		var started, endedSum int
		for guid, tot := range sim.ShinyTotals(baseline) {
			started += tot.Started
			endedSum += tot.Ended
			if sessions[guid] != float64(tot.Started) || ended[guid] != float64(tot.Ended) ||
				math.Abs(duration[guid]-tot.DurationSeconds) > 1e-6*max(1, tot.DurationSeconds) {
				t.Errorf("%s: shiny %s = %v/%v/%v, want %d/%d/%v", when, guid, sessions[guid], ended[guid], duration[guid],
					tot.Started, tot.Ended, tot.DurationSeconds)
			}
		}
		for guid, tot := range sim.VisitTotals(baseline) {
			if want := tot.All - tot.HealthMonitor; visits[guid] != float64(want) {
				t.Errorf("%s: visits %s = %v, want %d", when, guid, visits[guid], want)
			}
		}
		for action, n := range sim.AuditTotals(baselineAudit) {
			if audit[action] != float64(n) {
				t.Errorf("%s: audit %s = %v, want %d", when, action, audit[action], n)
			}
		}
		if started == 0 || endedSum == 0 || len(visits) == 0 || len(audit) == 0 {
			t.Errorf("%s: the simulator produced too little to prove anything (sessions %d, ended %d, visits %d, audit %d)",
				when, started, endedSum, len(visits), len(audit))
		}
	}
	for range 4 {
		step()
		check("live", tg)
	}

	// Restart with the state file while events keep arriving.
	tg.Close()
	step()
	step()
	tg2 := newTarget(t, spec, sh)
	testutil.Gather(t, tg2.Scrape(t.Context())) // the first read after a restart catches up
	check("after restart", tg2)
	step()
	check("after restart, live", tg2)
}
