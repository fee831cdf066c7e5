// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
)

// threeServers starts three simulated Connect servers whose users overlap
// in known ways, and returns them with a config file naming them.
func threeServers(t *testing.T) ([]*connecttest.Server, string) {
	t.Helper()
	now := time.Now()
	dir := t.TempDir()
	var sims []*connecttest.Server
	var cfg strings.Builder
	cfg.WriteString("union_key: lower_email\nservers:\n")
	for i, name := range []string{"alpha", "beta", "gamma"} {
		sim := connecttest.New(connecttest.Config{Seed: int64(40 + i), Users: 300 - 100*i, Content: 10, Groups: 2,
			APIKey: "key-" + name, UserPrefix: name + "-", Version: "2026.03.0", LicenseSeats: 500})
		if err := sim.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sim.Close)
		sims = append(sims, sim)
		keyFile := filepath.Join(dir, name+".key")
		if err := os.WriteFile(keyFile, []byte("key-"+name+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&cfg, "  - name: %s\n    url: %s\n    api_key_file: %s\n    collectors: {shiny: false, visits: false, audit: false}\n",
			name, sim.URL(), keyFile)
	}
	recent, old := now.Add(-10*24*time.Hour), now.Add(-500*24*time.Hour)
	shared := func(n int, email string, on []int, locked map[int]bool, inactive map[int]bool) {
		for _, i := range on {
			active := recent
			if inactive[i] {
				active = old
			}
			addr := email
			if i == 1 {
				addr = strings.ToUpper(email) // lower_email must match across case
			}
			sims[i].AddUser(connecttest.UserSpec{Username: fmt.Sprintf("shared%d-%d", n, i), Email: addr,
				ActiveTime: active, Locked: locked[i]})
		}
	}
	for n := range 20 {
		shared(n, fmt.Sprintf("ab%d@example.test", n), []int{0, 1}, nil, nil)
	}
	for n := range 5 {
		shared(100+n, fmt.Sprintf("abc%d@example.test", n), []int{0, 1, 2}, nil, nil)
	}
	for n := range 10 {
		shared(200+n, fmt.Sprintf("bc%d@example.test", n), []int{1, 2}, nil, nil)
	}
	// Named on one server only: locked on beta, idle for 500 days on gamma.
	for n := range 4 {
		shared(300+n, fmt.Sprintf("lock%d@example.test", n), []int{0, 1}, map[int]bool{1: true}, nil)
		shared(400+n, fmt.Sprintf("idle%d@example.test", n), []int{0, 2}, nil, map[int]bool{2: true})
	}
	path := filepath.Join(dir, "servers.yml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return sims, path
}

// trueUnion computes the distinct and overlapping named users from the
// simulators' own account lists, independently of the exporter.
func trueUnion(sims []*connecttest.Server, skip map[int]bool) (union, overlap int) {
	servers := map[string]int{}
	for i, sim := range sims {
		if skip[i] {
			continue
		}
		seen := map[string]bool{}
		for _, u := range sim.Users() {
			if !u.Named {
				continue
			}
			key := strings.ToLower(strings.TrimSpace(u.Email))
			if key == "" {
				key = fmt.Sprintf("%d/%s", i, u.GUID)
			}
			if !seen[key] {
				seen[key] = true
				servers[key]++
			}
		}
	}
	for _, n := range servers {
		if n > 1 {
			overlap++
		}
	}
	return len(servers), overlap
}

func TestSeveralServersUnionAndProbe(t *testing.T) {
	sims, path := threeServers(t)
	opts, err := parseOpts(t, "--config.file="+path)
	if err != nil {
		t.Fatal(err)
	}
	_, hs := startExporter(t, opts)

	wantUnion, wantOverlap := trueUnion(sims, nil)
	if wantOverlap != 35 { // 20 ab + 5 abc + 10 bc; lock* and idle* are named on one server only
		t.Fatalf("test setup: overlap %d, want 35", wantOverlap)
	}
	mfs := parseExposition(t, scrapeBody(t, hs.URL+"/metrics", nil))
	for name, want := range map[string]float64{
		"posit_connect_named_users_union":                      float64(wantUnion),
		"posit_connect_named_users_union_overlap":              float64(wantOverlap),
		"posit_connect_named_users_union_complete":             1,
		"posit_connect_exporter_config_last_reload_successful": 1,
	} {
		if got, ok := value(mfs, name); !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	if _, ok := mfs["posit_connect_up"]; ok {
		t.Error("/metrics in multi-server mode must not carry a single server's metrics")
	}

	// Each server's own metrics, the single-server contract, on /probe.
	for i, name := range []string{"alpha", "beta", "gamma"} {
		body := scrapeBody(t, hs.URL+"/probe?target="+name, nil)
		pm := parseExposition(t, body)
		if got, _ := value(pm, "posit_connect_license_named_users"); got != float64(sims[i].Truth().NamedUsers) {
			t.Errorf("%s named users %v, want %d", name, got, sims[i].Truth().NamedUsers)
		}
		if _, ok := value(pm, "posit_connect_scrape_collector_success", "collector", "shiny"); ok {
			t.Errorf("%s: the config switched shiny off", name)
		}
		promtoolCheckMetrics(t, body)
	}

	for _, q := range []string{"", "?target=", "?target=delta"} {
		resp, err := http.Get(hs.URL + "/probe" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("/probe%s: %d, want 400", q, resp.StatusCode)
		}
	}

	// One server down: the union says it is incomplete and counts the rest;
	// the other servers are still served.
	sims[2].SetFault(connecttest.Fault{Kind: connecttest.FaultDown})
	opts2, _ := parseOpts(t, "--config.file="+path, "--connect.cache-ttl.users=0s", "--connect.cache-ttl.server-settings=0s")
	_, hs2 := startExporter(t, opts2)
	mfs = parseExposition(t, scrapeBody(t, hs2.URL+"/metrics", nil))
	partial, _ := trueUnion(sims, map[int]bool{2: true})
	if got, _ := value(mfs, "posit_connect_named_users_union_complete"); got != 0 {
		t.Error("union claims to be complete with gamma down")
	}
	if got, _ := value(mfs, "posit_connect_named_users_union"); got != float64(partial) {
		t.Errorf("partial union %v, want %d", got, partial)
	}
	if got, _ := value(mfs, "posit_connect_named_users_union_server_success", "server", "gamma"); got != 0 {
		t.Error("gamma reported as read")
	}
	if got, _ := value(parseExposition(t, scrapeBody(t, hs2.URL+"/probe?target=alpha", nil)), "posit_connect_up"); got != 1 {
		t.Error("alpha not served while gamma is down")
	}
	if got, _ := value(parseExposition(t, scrapeBody(t, hs2.URL+"/probe?target=gamma", nil)), "posit_connect_up"); got != 0 {
		t.Error("gamma up while down")
	}
}

func TestReloadKeepsTheOldConfigOnError(t *testing.T) {
	sims, path := threeServers(t)
	opts, err := parseOpts(t, "--config.file="+path)
	if err != nil {
		t.Fatal(err)
	}
	s, hs := startExporter(t, opts)
	good, _ := os.ReadFile(path)

	post := func() int {
		resp, err := http.Post(hs.URL+"/-/reload", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	reloadOK := func() float64 {
		v, _ := value(parseExposition(t, scrapeBody(t, hs.URL+"/metrics", nil)), "posit_connect_exporter_config_last_reload_successful")
		return v
	}

	// A typo: rejected, old servers still served.
	if err := os.WriteFile(path, append(good, []byte("  - name: delta\n    url: https://d\n    api_key: plain\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := post(); code != http.StatusInternalServerError || reloadOK() != 0 {
		t.Errorf("bad reload: %d, last_reload_successful %v", code, reloadOK())
	}
	if len(s.targets.names()) != 3 {
		t.Errorf("servers after a bad reload: %v", s.targets.names())
	}
	// A server dropped and one added: applied.
	alpha, _ := s.targets.get("alpha")
	trimmed := strings.Replace(string(good), "  - name: gamma", "  - name: delta", 1)
	if err := os.WriteFile(path, []byte(trimmed), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := post(); code != http.StatusOK || reloadOK() != 1 {
		t.Errorf("good reload: %d, last_reload_successful %v", code, reloadOK())
	}
	if got := strings.Join(s.targets.names(), ","); got != "alpha,beta,delta" {
		t.Errorf("servers after reload: %s", got)
	}
	if again, _ := s.targets.get("alpha"); again != alpha {
		t.Error("an unchanged server was rebuilt (its cache and counters would be lost)")
	}
	if got, _ := value(parseExposition(t, scrapeBody(t, hs.URL+"/probe?target=delta", nil)), "posit_connect_license_named_users"); got != float64(sims[2].Truth().NamedUsers) {
		t.Errorf("delta (gamma's URL) named users %v", got)
	}
	resp, _ := http.Get(hs.URL + "/-/reload")
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d", resp.StatusCode)
	}
}

func TestConfigCheck(t *testing.T) {
	_, path := threeServers(t)
	var stderr strings.Builder
	if code := run(t.Context(), []string{"--config.file=" + path, "--config.check"}, nil, &stderr); code != 0 {
		t.Errorf("valid config: exit %d\n%s", code, stderr.String())
	}
	// A state file named in the config is left alone by the check.
	state := filepath.Join(t.TempDir(), "state.json")
	withState := filepath.Join(t.TempDir(), "state.yml")
	raw, _ := os.ReadFile(path)
	_ = os.WriteFile(withState, []byte(strings.Replace(strings.Replace(string(raw), "  - name: alpha\n", "  - name: alpha\n    state_file: "+state+"\n", 1),
		"collectors: {shiny: false, visits: false, audit: false}", "collectors: {}", 1)), 0o600)
	if code := run(t.Context(), []string{"--config.file=" + withState, "--config.check"}, nil, &stderr); code != 0 {
		t.Errorf("config with a state file: exit %d\n%s", code, stderr.String())
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("--config.check wrote the state file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yml")
	_ = os.WriteFile(bad, []byte("servers:\n  - name: x\n    url: https://x\n    api_key_file: /does/not/exist\n"), 0o600)
	stderr.Reset()
	if code := run(t.Context(), []string{"--config.file=" + bad, "--config.check"}, nil, &stderr); code == 0 ||
		!strings.Contains(stderr.String(), "server x: api_key_file") {
		t.Errorf("missing key file: exit %d\n%s", code, stderr.String())
	}
}

func TestReloadWithStateFile(t *testing.T) {
	_, path := threeServers(t)
	state := filepath.Join(t.TempDir(), "alpha.json")
	base, _ := os.ReadFile(path)
	withState := strings.Replace(string(base), "  - name: alpha\n", "  - name: alpha\n    state_file: "+state+"\n", 1)
	withState = strings.Replace(withState, "collectors: {shiny: false, visits: false, audit: false}", "collectors: {}", 1)
	if err := os.WriteFile(path, []byte(withState), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := parseOpts(t, "--config.file="+path, "--collector.usage.interval=1ms")
	if err != nil {
		t.Fatal(err)
	}
	_, hs := startExporter(t, opts)
	scrapeBody(t, hs.URL+"/probe?target=alpha", nil) // baseline read; the state file is written
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("state file not written: %v", err)
	}
	post := func() int {
		resp, err := http.Post(hs.URL+"/-/reload", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// alpha changes but keeps its state file: the old streams must let go
	// of the file before the new ones open it.
	changed := strings.Replace(withState, "    state_file: "+state+"\n", "    state_file: "+state+"\n    license_seats: 777\n", 1)
	_ = os.WriteFile(path, []byte(changed), 0o600)
	if code := post(); code != http.StatusOK {
		t.Fatalf("reload with a changed server keeping its state file: %d", code)
	}
	pm := parseExposition(t, scrapeBody(t, hs.URL+"/probe?target=alpha", nil))
	if v, _ := value(pm, "posit_connect_license_user_seats"); v != 777 {
		t.Errorf("seats after reload %v, want 777", v)
	}
	for _, c := range []string{"shiny", "visits", "audit"} {
		if v, ok := value(pm, "posit_connect_scrape_collector_success", "collector", c); !ok || v != 1 {
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
	pm = parseExposition(t, scrapeBody(t, hs.URL+"/probe?target=alpha", nil))
	if v, _ := value(pm, "posit_connect_license_user_seats"); v != 777 {
		t.Errorf("seats after a failed reload %v, want the old 777", v)
	}
	if v, ok := value(pm, "posit_connect_scrape_collector_success", "collector", "shiny"); !ok || v != 1 {
		t.Errorf("shiny after a failed reload: %v (present %v)", v, ok)
	}
}
