// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectaudit_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectaudit"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
	"github.com/posit-connect-exporter/posit_connect_exporter/window"
)

var windows = []time.Duration{24 * time.Hour, 30 * 24 * time.Hour, 365 * 24 * time.Hour}

// apiTruth walks /v1/audit_logs with the real client and returns the
// entries by action and the distinct users with a user_login per window.
func apiTruth(t *testing.T, s *connecttest.Server, now time.Time) (map[string]float64, map[time.Duration]float64) {
	t.Helper()
	c, err := connectapi.NewClient(s.URL(), connectapi.WithAPIKey(connectapi.StaticKey(connecttest.DefaultAPIKey)))
	if err != nil {
		t.Fatal(err)
	}
	byAction := map[string]float64{}
	lastLogin := map[string]int64{}
	err = c.EachAuditPage(context.Background(), false, func(page []connectapi.AuditEntry) error {
		for _, e := range page {
			byAction[e.Action]++
			if e.Action == "user_login" {
				// The files carry milliseconds.
				if ms := e.Time.UnixMilli(); ms > lastLogin[string(e.UserID)] {
					lastLogin[string(e.UserID)] = ms
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	logins := map[time.Duration]float64{}
	for _, w := range windows {
		for _, ms := range lastLogin {
			if ms >= now.Add(-w).UnixMilli() {
				logins[w]++
			}
		}
	}
	return byAction, logins
}

// fileCounts gathers the collector: events by action (summed over roles),
// logins per window, and the health series.
func fileCounts(t *testing.T, c prometheus.Collector) (map[string]float64, map[time.Duration]float64, map[string]float64) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byAction, logins, health := map[string]float64{}, map[time.Duration]float64{}, map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			switch mf.GetName() {
			case "posit_connect_audit_log_file_events_total":
				byAction[labels["action"]] += m.GetCounter().GetValue()
			case "posit_connect_audit_log_file_logins":
				for _, w := range windows {
					if labels["window"] == window.Label(w) {
						logins[w] = m.GetGauge().GetValue()
					}
				}
			default:
				v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
				health[mf.GetName()[len("posit_connect_audit_log_file_"):]] = v
			}
		}
	}
	return byAction, logins, health
}

func appendTo(t *testing.T, path string, write func(f *os.File)) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	write(f)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// The simulator's history, written as the audit log files of a three-node
// cluster in each of Connect's four formats, counts exactly what the API
// serves, also after live activity and a copytruncate rotation.
func TestFilesCountWhatTheAPIServes(t *testing.T) {
	const nodes = 3
	for _, format := range connecttest.AuditLogFormats {
		t.Run(format.String(), func(t *testing.T) {
			clk := testutil.NewClock(time.Date(2026, 3, 10, 14, 30, 0, 0, time.UTC))
			s := connecttest.New(connecttest.Config{
				Seed: 7, Users: 150, Content: 40, Groups: 8, AuditEntries: 4000, Now: clk.Now,
			})
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)

			current := format == connecttest.AuditLogText || format == connecttest.AuditLogJSON
			dir := t.TempDir()
			lastID := int64(0)
			write := func() {
				for n := range nodes {
					appendTo(t, filepath.Join(dir, fmt.Sprintf("node%d.audit.log", n)), func(f *os.File) {
						opts := connecttest.AuditLogOptions{Format: format, Nodes: nodes, Node: n, AfterID: lastID,
							Journal: current, SyslogPrefix: current && n == 1}
						if _, err := s.WriteAuditLog(f, opts); err != nil {
							t.Fatal(err)
						}
					})
				}
				lastID = s.LastAuditID()
			}
			write()
			var ws []window.Window
			for _, w := range windows {
				ws = append(ws, window.New(w))
			}
			c, err := connectaudit.NewCollector(connectaudit.Config{
				Paths: []string{filepath.Join(dir, "*.audit.log*")}, Windows: ws, Now: clk.Now,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := c.Close(); err != nil {
					t.Error(err)
				}
			})

			check := func(stage string) {
				t.Helper()
				wantActions, wantLogins := apiTruth(t, s, clk.Now())
				gotActions, gotLogins, health := fileCounts(t, c)
				if !maps.Equal(gotActions, wantActions) {
					t.Errorf("%s: by action, files %v\nAPI %v", stage, gotActions, wantActions)
				}
				if !maps.Equal(gotLogins, wantLogins) {
					t.Errorf("%s: logins, files %v, API %v", stage, gotLogins, wantLogins)
				}
				if health["parse_errors_total"] != 0 || health["duplicate_entries_total"] != 0 || health["read_success"] != 1 {
					t.Errorf("%s: health %v", stage, health)
				}
				if (health["skipped_lines_total"] > 0) != current {
					t.Errorf("%s: %v lines skipped", stage, health["skipped_lines_total"])
				}
			}
			check("history")

			// Live activity on every node, then copytruncate rotation of node 0
			// and more activity: nothing lost, nothing counted twice.
			clk.Advance(2 * time.Hour)
			s.Step(2 * time.Hour)
			before := lastID
			write()
			if lastID <= before {
				t.Fatalf("the live step added no audit entries (last id %d)", lastID)
			}
			clk.Advance(time.Minute)
			check("live")
			if _, logins, _ := fileCounts(t, c); logins[24*time.Hour] == 0 {
				t.Error("no logins in the last day: the windows are not exercised")
			}

			node0 := filepath.Join(dir, "node0.audit.log")
			b, err := os.ReadFile(node0)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(node0+".1", b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(node0, 0); err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Hour)
			s.Step(time.Hour)
			write()
			check("after rotation")
			if _, _, health := fileCounts(t, c); health["files"] != nodes+1 {
				t.Errorf("%v files, want %d (the rotated copy included)", health["files"], nodes+1)
			}
		})
	}
}

// The same history in all four formats at once: every entry is counted
// once, the other three sightings are duplicates.
func TestAllFormatsTogetherCountOnce(t *testing.T) {
	clk := testutil.NewClock(time.Date(2026, 3, 10, 14, 30, 0, 0, time.UTC))
	s := connecttest.New(connecttest.Config{Seed: 9, Users: 80, Content: 20, Groups: 5, AuditEntries: 1500, Now: clk.Now})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	dir := t.TempDir()
	for _, format := range connecttest.AuditLogFormats {
		appendTo(t, filepath.Join(dir, format.String()+".log"), func(f *os.File) {
			if _, err := s.WriteAuditLog(f, connecttest.AuditLogOptions{Format: format}); err != nil {
				t.Fatal(err)
			}
		})
	}
	c, err := connectaudit.NewCollector(connectaudit.Config{Paths: []string{filepath.Join(dir, "*.log")}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	wantActions, _ := apiTruth(t, s, clk.Now())
	gotActions, _, health := fileCounts(t, c)
	if !maps.Equal(gotActions, wantActions) {
		t.Errorf("by action, files %v\nAPI %v", gotActions, wantActions)
	}
	if health["duplicate_entries_total"] != 3*1500 || health["files"] != 4 || health["parse_errors_total"] != 0 {
		t.Errorf("health %v, want 4500 duplicates, 4 files", health)
	}
}
