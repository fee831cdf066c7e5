// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package backfill

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
	"github.com/posit-connect-exporter/posit_connect_exporter/usage"
)

const (
	shinyPath  = "/__api__/v1/instrumentation/shiny/usage"
	visitsPath = "/__api__/v1/instrumentation/content/visits"
	auditPath  = "/__api__/v1/audit_logs"
)

// armed wraps the client and sets a fault on the simulator once the
// given stream has handed on a number of pages: a failure mid-run.
type armed struct {
	*connectapi.Client
	sim   *connecttest.Server
	path  string
	after int
	fault connecttest.Fault

	mu    sync.Mutex
	pages map[string]int
	ctx   func() // called when the fault is set
}

func (a *armed) page(path string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pages[path]++
	if path == a.path && a.pages[path] == a.after {
		a.sim.SetFault(a.fault)
		if a.ctx != nil {
			a.ctx()
		}
	}
}

func (a *armed) EachShinySessionPage(ctx context.Context, q connectapi.UsageQuery, fn func([]connectapi.ShinySession) error) error {
	return a.Client.EachShinySessionPage(ctx, q, func(p []connectapi.ShinySession) error {
		a.page(shinyPath)
		return fn(p)
	})
}

func (a *armed) EachVisitPage(ctx context.Context, q connectapi.UsageQuery, fn func([]connectapi.Visit) error) error {
	return a.Client.EachVisitPage(ctx, q, func(p []connectapi.Visit) error {
		a.page(visitsPath)
		return fn(p)
	})
}

func (a *armed) EachAuditPage(ctx context.Context, newestFirst bool, fn func([]connectapi.AuditEntry) error) error {
	return a.Client.EachAuditPage(ctx, newestFirst, func(p []connectapi.AuditEntry) error {
		a.page(auditPath)
		return fn(p)
	})
}

// left lists the files in dir but the lock file a state file leaves.
func left(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".lock") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestBadInputStopsNamingTheProblem(t *testing.T) {
	clk := testutil.NewClock(end)
	_, client := newSim(t, clk, 10*24*time.Hour, 500, 500, 200)
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "existing.json")
	if err := os.WriteFile(existing, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := Config{Client: client, Since: end.Add(-48 * time.Hour), Now: clk.Now, Output: filepath.Join(dir, "out.om")}
	cases := map[string]func(c *Config){
		"--since: 2026-03-02T12:00:00Z is not in the past":               func(c *Config) { c.Since = end.Add(24 * time.Hour) },
		"--since: 2026-03-01T11:30:00Z is less than one --step (1h0m0s)": func(c *Config) { c.Since = end.Add(-30 * time.Minute) },
		"--step: must be a whole number of seconds":                      func(c *Config) { c.Step = 1500 * time.Millisecond },
		"--step: 1s from --since is 31536001 samples per series, more than 1000000": func(c *Config) {
			c.Since, c.Step = end.Add(-365*24*time.Hour), time.Second
		},
		"--output: required":                                                          func(c *Config) { c.Output = "" },
		"--output: " + dir + " is a directory":                                        func(c *Config) { c.Output = dir },
		"--output: cannot write " + notDir + "/out.om: not a directory":               func(c *Config) { c.Output = filepath.Join(notDir, "out.om") },
		"--output: cannot write " + dir + "/gone/out.om (a temporary file beside it)": func(c *Config) { c.Output = filepath.Join(dir, "gone", "out.om") },
		"--label: content_guid is a label of the counters themselves":                 func(c *Config) { c.Labels = []Label{{"content_guid", "x"}} },
		"--label: job is given twice":                                                 func(c *Config) { c.Labels = []Label{{"job", "a"}, {"job", "b"}} },
		"--state.file: usage: the state file exists already: " + existing:             func(c *Config) { c.Usage.StateFile = existing },
	}
	for want, change := range cases {
		c := ok
		change(&c)
		_, err := Run(context.Background(), c)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error containing %q, got %v", want, err)
		}
	}
	if got := left(t, dir); len(got) != 2 {
		t.Errorf("files left: %v", got)
	}
}

func TestParseSinceAndLabel(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	good := map[string]time.Time{
		"365d":                      now.Add(-365 * 24 * time.Hour),
		"2w":                        now.Add(-14 * 24 * time.Hour),
		"36h":                       now.Add(-36 * time.Hour),
		"2025-01-31":                time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC),
		"2025-01-31T08:00:00+02:00": time.Date(2025, 1, 31, 6, 0, 0, 0, time.UTC),
	}
	for in, want := range good {
		got, err := ParseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "yesterday", "0d", "2025-13-01", "-5d"} {
		if _, err := ParseSince(in, now); err == nil {
			t.Errorf("ParseSince(%q) succeeded", in)
		}
	}
	if l, err := ParseLabel("instance=connect.example.com:10233"); err != nil || l != (Label{"instance", "connect.example.com:10233"}) {
		t.Errorf("ParseLabel: %v, %v", l, err)
	}
	for _, in := range []string{"job", "job=", "=x", "1job=x", "__name__=x", "a-b=x"} {
		if _, err := ParseLabel(in); err == nil {
			t.Errorf("ParseLabel(%q) succeeded", in)
		}
	}
}

// TestConnectFailuresLeaveNothing: Connect down from the start, a key
// rejected mid-run, a run interrupted mid-run: a clear error, and neither
// the output nor the state file exists afterwards; a run after them
// succeeds.
func TestConnectFailuresLeaveNothing(t *testing.T) {
	clk := testutil.NewClock(end)
	sim, client := newSim(t, clk, 20*24*time.Hour, 20_000, 20_000, 2_000)
	dir := t.TempDir()
	base := Config{Since: end.Add(-15 * 24 * time.Hour), Now: clk.Now, RetryBackoff: time.Millisecond,
		Output: filepath.Join(dir, "out.om"), Usage: usage.Config{StateFile: filepath.Join(dir, "state.json")}}
	run := func(c usage.Client, ctx context.Context) error {
		cfg := base
		cfg.Client = c
		_, err := Run(ctx, cfg)
		return err
	}

	sim.SetFault(connecttest.Fault{Kind: connecttest.FaultDown})
	err := run(client, context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot reach Connect") || !strings.Contains(err.Error(), "5 attempts") {
		t.Errorf("Connect down: %v", err)
	}
	sim.ClearFaults()
	if got := left(t, dir); len(got) != 0 {
		t.Errorf("Connect down left %v", got)
	}

	for _, path := range []string{shinyPath, visitsPath, auditPath} {
		a := &armed{Client: client, sim: sim, path: path, after: 3, pages: map[string]int{},
			fault: connecttest.Fault{Kind: connecttest.FaultUnauthorized, Path: path}}
		err := run(a, context.Background())
		sim.ClearFaults()
		if err == nil || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "the API key is invalid") {
			t.Errorf("401 on %s mid-run: %v", path, err)
		}
		if got := left(t, dir); len(got) != 0 {
			t.Errorf("401 on %s mid-run left %v", path, got)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	a := &armed{Client: client, sim: sim, path: visitsPath, after: 5, pages: map[string]int{},
		fault: connecttest.Fault{Kind: connecttest.FaultSlow, Delay: time.Minute, Path: visitsPath}, ctx: cancel}
	err = run(a, ctx)
	sim.ClearFaults()
	if err == nil || !strings.Contains(err.Error(), "interrupted") || !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted: %v", err)
	}
	if got := left(t, dir); len(got) != 0 {
		t.Errorf("an interrupted run left %v", got)
	}

	if err := run(client, context.Background()); err != nil {
		t.Fatalf("a run after the failures: %v", err)
	}
	if got := left(t, dir); len(got) != 2 {
		t.Errorf("a complete run left %v; want out.om and state.json", got)
	}
}

// TestPassingFailuresAreRetried: pages that fail with 500, 429, a proxy's
// 502 or a cut connection mid-run are asked again where the walk stopped;
// the history is the same as without them.
func TestPassingFailuresAreRetried(t *testing.T) {
	clk := testutil.NewClock(end)
	sim, client := newSim(t, clk, 20*24*time.Hour, 20_000, 20_000, 4_000)
	dir := t.TempDir()
	cfg := Config{Client: client, Since: end.Add(-15 * 24 * time.Hour), Now: clk.Now, RetryBackoff: time.Millisecond, Output: filepath.Join(dir, "clean.om")}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	clean, err := os.ReadFile(cfg.Output)
	if err != nil {
		t.Fatal(err)
	}
	kinds := []connecttest.FaultKind{connecttest.FaultServerError, connecttest.FaultRateLimited, connecttest.FaultProxyHTML, connecttest.FaultConnReset, connecttest.FaultTruncatedJSON}
	for i, path := range []string{shinyPath, visitsPath, auditPath, visitsPath, shinyPath} {
		a := &armed{Client: client, sim: sim, path: path, after: 4 + i, pages: map[string]int{},
			fault: connecttest.Fault{Kind: kinds[i], Path: path, Times: maxAttempts - 1}}
		cfg.Client, cfg.Output = a, filepath.Join(dir, kinds[i].String()+".om")
		_, err := Run(context.Background(), cfg)
		sim.ClearFaults()
		if err != nil {
			t.Fatalf("%s on %s: %v", kinds[i], path, err)
		}
		got, err := os.ReadFile(cfg.Output)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(clean) {
			t.Errorf("%s on %s: the history differs from the run without failures", kinds[i], path)
		}
	}
}
