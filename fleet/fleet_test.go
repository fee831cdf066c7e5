// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package fleet

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
	"github.com/posit-connect-exporter/posit_connect_exporter/target"
)

// servers starts one simulator per name and writes a configuration file
// naming them, with the usage collectors switched off.
func servers(t *testing.T, names ...string) ([]*connecttest.Server, string) {
	t.Helper()
	var sims []*connecttest.Server
	var entries []testutil.ServerEntry
	for i, name := range names {
		sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: int64(40 + i), Users: 300 - 100*i, Content: 10, Groups: 2,
			APIKey: "key-" + name, UserPrefix: name + "-", Version: "2026.03.0", LicenseSeats: 500}))
		sims = append(sims, sim)
		entries = append(entries, testutil.ServerEntry{Name: name, URL: sim.URL(), Key: "key-" + name,
			YAML: "    collectors: {shiny: false, visits: false, audit: false}\n"})
	}
	return sims, testutil.WriteServersConfig(t, "", entries...)
}

func shared(usageInterval time.Duration) target.Shared {
	sh := target.Defaults()
	sh.Timeout, sh.Usage.Interval = 5*time.Second, usageInterval
	return sh
}

// load starts a fleet with its reload gauges in reg and its reload route
// on a loopback server.
func load(t *testing.T, path string, usageInterval time.Duration) (*Fleet, *prometheus.Registry, func() int) {
	t.Helper()
	reg := prometheus.NewRegistry()
	f, err := Load(path, shared(usageInterval), reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	post := func() int {
		resp, err := http.Post(hs.URL, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	return f, reg, post
}

// probe scrapes one server of the fleet, as /probe?target= does.
func probe(t *testing.T, f *Fleet, name string) testutil.Families {
	t.Helper()
	tg, ok := f.Get(name)
	if !ok {
		t.Fatalf("no server %s; have %v", name, f.Names())
	}
	return testutil.Gather(t, tg.Scrape(t.Context()))
}

func TestReloadKeepsTheOldConfigOnError(t *testing.T) {
	sims, path := servers(t, "alpha", "beta", "gamma")
	f, reg, post := load(t, path, 0)
	good, _ := os.ReadFile(path)
	reloadOK := func() float64 {
		v, _ := testutil.Gather(t, reg).Value("posit_connect_exporter_config_last_reload_successful")
		return v
	}

	// A typo: rejected, old servers still served.
	if err := os.WriteFile(path, append(good, []byte("  - name: delta\n    url: https://d\n    api_key: plain\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := post(); code != http.StatusInternalServerError || reloadOK() != 0 {
		t.Errorf("bad reload: %d, last_reload_successful %v", code, reloadOK())
	}
	if len(f.Names()) != 3 {
		t.Errorf("servers after a bad reload: %v", f.Names())
	}
	// A server dropped and one added: applied.
	alpha, _ := f.Get("alpha")
	trimmed := strings.Replace(string(good), "  - name: gamma", "  - name: delta", 1)
	if err := os.WriteFile(path, []byte(trimmed), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := post(); code != http.StatusOK || reloadOK() != 1 {
		t.Errorf("good reload: %d, last_reload_successful %v", code, reloadOK())
	}
	if got := strings.Join(f.Names(), ","); got != "alpha,beta,delta" {
		t.Errorf("servers after reload: %s", got)
	}
	if again, _ := f.Get("alpha"); again != alpha {
		t.Error("an unchanged server was rebuilt (its cache and counters would be lost)")
	}
	if got, _ := probe(t, f, "delta").Value("posit_connect_license_named_users"); got != float64(sims[2].Truth().NamedUsers) {
		t.Errorf("delta (gamma's URL) named users %v", got)
	}
	if got := len(f.Members()); got != 3 {
		t.Errorf("%d union members after reload, want 3", got)
	}
	hs := httptest.NewServer(f)
	defer hs.Close()
	resp, err := http.Get(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d", resp.StatusCode)
	}
}

func TestUnionKeyCannotChangeOnReload(t *testing.T) {
	_, path := servers(t, "alpha")
	f, _, post := load(t, path, 0)
	raw, _ := os.ReadFile(path)
	_ = os.WriteFile(path, append([]byte("union_key: username\n"), raw...), 0o600)
	if code := post(); code != http.StatusInternalServerError {
		t.Errorf("reload changing the union key: %d", code)
	}
	if err := f.Reload(); err == nil || !strings.Contains(err.Error(), "union_key cannot change") {
		t.Errorf("reload error %v", err)
	}
}

func TestReloadWithStateFile(t *testing.T) {
	_, path := servers(t, "alpha", "beta", "gamma")
	state := filepath.Join(t.TempDir(), "alpha.json")
	base, _ := os.ReadFile(path)
	withState := strings.Replace(string(base), "  - name: alpha\n", "  - name: alpha\n    state_file: "+state+"\n", 1)
	withState = strings.Replace(withState, "collectors: {shiny: false, visits: false, audit: false}", "collectors: {}", 1)
	if err := os.WriteFile(path, []byte(withState), 0o600); err != nil {
		t.Fatal(err)
	}
	f, _, post := load(t, path, time.Millisecond)
	probe(t, f, "alpha") // baseline read; the state file is written
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("state file not written: %v", err)
	}
	// alpha changes but keeps its state file: the old streams must let go
	// of the file before the new ones open it.
	changed := strings.Replace(withState, "    state_file: "+state+"\n", "    state_file: "+state+"\n    license_seats: 777\n", 1)
	_ = os.WriteFile(path, []byte(changed), 0o600)
	if code := post(); code != http.StatusOK {
		t.Fatalf("reload with a changed server keeping its state file: %d", code)
	}
	pm := probe(t, f, "alpha")
	if v, _ := pm.Value("posit_connect_license_user_seats"); v != 777 {
		t.Errorf("seats after reload %v, want 777", v)
	}
	for _, c := range []string{"shiny", "visits", "audit"} {
		if v, ok := pm.Value("posit_connect_scrape_collector_success", "collector", c); !ok || v != 1 {
			t.Errorf("%s after reload: success %v (present %v)", c, v, ok)
		}
	}
	// A failing reload that would also move alpha keeps alpha working.
	broken := strings.Replace(changed, "license_seats: 777", "license_seats: 778", 1) +
		"  - name: broken\n    url: https://x\n    api_key_file: /does/not/exist\n"
	_ = os.WriteFile(path, []byte(broken), 0o600)
	if code := post(); code != http.StatusInternalServerError {
		t.Fatalf("broken reload: %d", code)
	}
	pm = probe(t, f, "alpha")
	if v, _ := pm.Value("posit_connect_license_user_seats"); v != 777 {
		t.Errorf("seats after a failed reload %v, want the old 777", v)
	}
	if v, ok := pm.Value("posit_connect_scrape_collector_success", "collector", "shiny"); !ok || v != 1 {
		t.Errorf("shiny after a failed reload: %v (present %v)", v, ok)
	}
}

// TestReloadUnderScrapesLogsNothingAlarming: scrapes in flight while a
// reload closes their server end quietly; they are not "Cannot reach
// Connect" (an ERROR) nor a failed collector (a WARN).
func TestReloadUnderScrapesLogsNothingAlarming(t *testing.T) {
	_, path := servers(t, "alpha", "beta")
	raw, _ := os.ReadFile(path)
	withUsage := strings.ReplaceAll(string(raw), "collectors: {shiny: false, visits: false, audit: false}", "collectors: {}")
	changed := strings.Replace(withUsage, "  - name: alpha\n", "  - name: alpha\n    license_seats: 9\n", 1)
	logs := &testutil.LockedBuffer{}
	sh := shared(time.Millisecond)
	sh.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sh.TTLs = map[string]time.Duration{} // every scrape asks Connect
	if err := os.WriteFile(path, []byte(withUsage), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path, sh, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var scrapes atomic.Int64
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if tg, ok := f.Get("alpha"); ok {
					reg := prometheus.NewRegistry()
					_ = reg.Register(tg.Scrape(context.Background()))
					_, _ = reg.Gather()
					scrapes.Add(1)
				}
			}
		})
	}
	for i := range 20 {
		body := withUsage
		if i%2 == 0 {
			body = changed
		}
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := f.Reload(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(15 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if scrapes.Load() < 20 {
		t.Fatalf("only %d scrapes ran during the reloads; the check proves nothing", scrapes.Load())
	}
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
			t.Errorf("reload under scrapes logged: %s", line)
		}
	}
}
