// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

func TestWorkbenchMetricsOnMetrics(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	ms := func(d time.Duration) int64 { return now.Add(-d).UnixMilli() }
	// node 1 (CSV) and node 2 (NDJSON) share "ada"; "bob" is 60 days old.
	csv := fmt.Sprintf("pid, username, timestamp, type, data\n"+
		"101, ada, %d, session_start, \n102, bob, %d, auth_login, \n103, ada, %d, session_exit, \n",
		ms(24*time.Hour), ms(60*24*time.Hour), ms(23*time.Hour))
	ndjson := fmt.Sprintf(`{"pid":101,"username":"ada","timestamp":%d,"type":"session_start","data":""}`+"\n"+
		`{"pid":101,"username":"cy","timestamp":%d,"type":"auth_login","data":""}`+"\n"+"not a line\n",
		ms(2*time.Hour), ms(3*time.Hour))
	_ = os.MkdirAll(filepath.Join(dir, "node1"), 0o755)
	_ = os.MkdirAll(filepath.Join(dir, "node2"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "node1", "r-sessions.csv"), []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "node2", "r-sessions.jsonl"), []byte(ndjson), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := parseOpts(t, "--demo", "--workbench.audit-log="+filepath.Join(dir, "*", "r-sessions.*"), "--workbench.license-seats=25")
	if err != nil {
		t.Fatal(err)
	}
	_, hs := startExporter(t, opts)
	mfs := testutil.ParseText(t, scrapeBody(t, hs.URL+"/metrics", nil))
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"posit_workbench_named_users", []string{"window", "30d"}, 2}, // ada, cy
		{"posit_workbench_named_users", []string{"window", "90d"}, 3}, // + bob
		{"posit_workbench_license_user_seats", nil, 25},
		{"posit_workbench_audit_log_files", nil, 2},
		{"posit_workbench_audit_log_parse_errors_total", nil, 1},
		{"posit_connect_up", nil, 1},
	} {
		if got, ok := mfs.Value(c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	documented := readmeTable(t, "## Metrics")
	for name := range mfs {
		if strings.HasPrefix(name, "posit_workbench") && !slices.Contains(documented, name) {
			t.Errorf("metric %s is missing from the README's metric table", name)
		}
	}
	if _, err := parseOpts(t, "--demo", "--workbench.audit-log=/x", "--workbench.windows=0d"); err == nil ||
		!strings.Contains(err.Error(), "--workbench.windows") {
		t.Errorf("bad windows: %v", err)
	}
}

func TestWorkbenchOnlyWithoutConnect(t *testing.T) {
	t.Setenv("CONNECT_SERVER", "")
	t.Setenv("CONNECT_API_KEY", "")
	log := filepath.Join(t.TempDir(), "r-sessions.csv")
	line := fmt.Sprintf("pid, username, timestamp, type, data\n7, ada, %d, session_start, \n", time.Now().Add(-time.Hour).UnixMilli())
	if err := os.WriteFile(log, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := parseOpts(t, "--workbench.audit-log="+log)
	if err != nil {
		t.Fatalf("Workbench alone must be a valid configuration: %v", err)
	}
	_, hs := startExporter(t, opts)
	mfs := testutil.ParseText(t, scrapeBody(t, hs.URL+"/metrics", nil))
	if v, ok := mfs.Value("posit_workbench_named_users", "window", "30d"); !ok || v != 1 {
		t.Errorf("named users %v (present %v), want 1", v, ok)
	}
	if _, ok := mfs["posit_connect_up"]; ok {
		t.Error("posit_connect_up without a Connect server")
	}
}
