// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

// threeServers starts three simulated Connect servers whose users overlap
// in known ways, and returns them with a config file naming them.
func threeServers(t *testing.T) ([]*connecttest.Server, string) {
	t.Helper()
	now := time.Now()
	var sims []*connecttest.Server
	var entries []testutil.ServerEntry
	for i, name := range []string{"alpha", "beta", "gamma"} {
		sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: int64(40 + i), Users: 300 - 100*i, Content: 10, Groups: 2,
			APIKey: "key-" + name, UserPrefix: name + "-", Version: "2026.03.0", LicenseSeats: 500}))
		sims = append(sims, sim)
		entries = append(entries, testutil.ServerEntry{Name: name, URL: sim.URL(), Key: "key-" + name,
			YAML: "    collectors: {shiny: false, visits: false, audit: false}\n"})
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
	return sims, testutil.WriteServersConfig(t, "union_key: lower_email\n", entries...)
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
	mfs := testutil.ParseText(t, scrapeBody(t, hs.URL+"/metrics", nil))
	for name, want := range map[string]float64{
		"posit_connect_named_users_union":                      float64(wantUnion),
		"posit_connect_named_users_union_overlap":              float64(wantOverlap),
		"posit_connect_named_users_union_complete":             1,
		"posit_connect_exporter_config_last_reload_successful": 1,
	} {
		if got, ok := mfs.Value(name); !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	if _, ok := mfs["posit_connect_up"]; ok {
		t.Error("/metrics in multi-server mode must not carry a single server's metrics")
	}

	// Each server's own metrics, the single-server contract, on /probe.
	for i, name := range []string{"alpha", "beta", "gamma"} {
		body := scrapeBody(t, hs.URL+"/probe?target="+name, nil)
		pm := testutil.ParseText(t, body)
		if got, _ := pm.Value("posit_connect_license_named_users"); got != float64(sims[i].Truth().NamedUsers) {
			t.Errorf("%s named users %v, want %d", name, got, sims[i].Truth().NamedUsers)
		}
		if _, ok := pm.Value("posit_connect_scrape_collector_success", "collector", "shiny"); ok {
			t.Errorf("%s: the config switched shiny off", name)
		}
		promtoolCheckMetrics(t, body)
	}

	for _, q := range []string{"", "?target=", "?target=delta"} {
		resp, err := http.Get(hs.URL + "/probe" + q)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("/probe%s: %d, want 400", q, resp.StatusCode)
		}
		// An unknown target must not reveal which servers exist.
		for _, name := range []string{"alpha", "beta", "gamma"} {
			if strings.Contains(string(body), name) {
				t.Errorf("/probe%s answer names the configured server %s: %q", q, name, body)
			}
		}
	}

	// One server down: the union says it is incomplete and counts the rest;
	// the other servers are still served.
	sims[2].SetFault(connecttest.Fault{Kind: connecttest.FaultDown})
	opts2, _ := parseOpts(t, "--config.file="+path, "--connect.cache-ttl.users=0s", "--connect.cache-ttl.server-settings=0s")
	_, hs2 := startExporter(t, opts2)
	mfs = testutil.ParseText(t, scrapeBody(t, hs2.URL+"/metrics", nil))
	partial, _ := trueUnion(sims, map[int]bool{2: true})
	if got, _ := mfs.Value("posit_connect_named_users_union_complete"); got != 0 {
		t.Error("union claims to be complete with gamma down")
	}
	if got, _ := mfs.Value("posit_connect_named_users_union"); got != float64(partial) {
		t.Errorf("partial union %v, want %d", got, partial)
	}
	if got, _ := mfs.Value("posit_connect_named_users_union_server_success", "server", "gamma"); got != 0 {
		t.Error("gamma reported as read")
	}
	if got, _ := testutil.ParseText(t, scrapeBody(t, hs2.URL+"/probe?target=alpha", nil)).Value("posit_connect_up"); got != 1 {
		t.Error("alpha not served while gamma is down")
	}
	if got, _ := testutil.ParseText(t, scrapeBody(t, hs2.URL+"/probe?target=gamma", nil)).Value("posit_connect_up"); got != 0 {
		t.Error("gamma up while down")
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

// TestConnectAuditLogFiles: the audit log files of a server are served
// with its metrics, per server with --config.file and on /metrics alone
// without an API key; their counts equal the API's.
func TestConnectAuditLogFiles(t *testing.T) {
	sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: 31, Users: 50, Content: 5, APIKey: "key-alpha",
		History: 24 * time.Hour, AuditEntries: 400}))
	dir := t.TempDir()
	for node, format := range []connecttest.AuditLogFormat{connecttest.AuditLogText, connecttest.AuditLogJSON} {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("node%d.audit.log", node)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sim.WriteAuditLog(f, connecttest.AuditLogOptions{Format: format, Nodes: 2, Node: node}); err != nil {
			t.Fatal(err)
		}
		_ = f.Close()
	}
	glob := filepath.Join(dir, "*.audit.log")
	want := sim.AuditTotals(0)
	check := func(where string, mfs testutil.Families) {
		t.Helper()
		total := 0
		for action, n := range want {
			got := 0.0
			for _, m := range mfs["posit_connect_audit_log_file_events_total"].GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "action" && l.GetValue() == action {
						got += m.GetCounter().GetValue()
					}
				}
			}
			if got != float64(n) {
				t.Errorf("%s: %s = %v from the files, %d from the API", where, action, got, n)
			}
			total += n
		}
		if v, _ := mfs.Value("posit_connect_audit_log_file_files"); v != 2 || total == 0 {
			t.Errorf("%s: %v files, %d entries", where, v, total)
		}
	}

	// Files alone: no API key, no posit_connect_up.
	t.Setenv("CONNECT_SERVER", "")
	t.Setenv("CONNECT_API_KEY", "")
	opts, err := parseOpts(t, "--connect.audit-log="+glob)
	if err != nil {
		t.Fatalf("audit log files alone must be a valid configuration: %v", err)
	}
	_, hs := startExporter(t, opts)
	mfs := testutil.ParseText(t, scrapeBody(t, hs.URL+"/metrics", nil))
	check("files only", mfs)
	if _, ok := mfs["posit_connect_up"]; ok {
		t.Error("posit_connect_up without a Connect API")
	}

	// Per server in the configuration file, on /probe.
	path := testutil.WriteServersConfig(t, "", testutil.ServerEntry{Name: "alpha", URL: sim.URL(), Key: "key-alpha",
		YAML: "    collectors: {shiny: false, visits: false, audit: false}\n    audit_log: ['" + glob + "']\n"})
	opts, err = parseOpts(t, "--config.file="+path)
	if err != nil {
		t.Fatal(err)
	}
	_, hs = startExporter(t, opts)
	check("/probe", testutil.ParseText(t, scrapeBody(t, hs.URL+"/probe?target=alpha", nil)))

	// A bad pattern stops start-up naming the setting.
	bad := testutil.WriteServersConfig(t, "", testutil.ServerEntry{Name: "alpha", URL: sim.URL(), Key: "key-alpha",
		YAML: "    audit_log: ['/var/log/[connect']\n"})
	var stderr strings.Builder
	if code := run(t.Context(), []string{"--config.file=" + bad, "--config.check"}, nil, &stderr); code == 0 ||
		!strings.Contains(stderr.String(), "server alpha: audit_log") {
		t.Errorf("bad audit_log pattern: exit %d\n%s", code, stderr.String())
	}
}

// TestSIGHUPReloadsTheConfigFile: systemctl reload sends SIGHUP.
func TestSIGHUPReloadsTheConfigFile(t *testing.T) {
	_, path := threeServers(t)
	r := runExporter(t, "--config.file="+path, "--web.listen-address="+freeLoopbackPort(t))
	r.waitLog("Listening on")
	raw, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte(strings.Replace(string(raw), "  - name: gamma", "  - name: delta", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	r.waitLog("Configuration reloaded")
	if code := r.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if !strings.Contains(r.stderr.String(), `msg="Configuration reloaded" servers=alpha,beta,delta`) {
		t.Errorf("SIGHUP did not reload the configuration file:\n%s", r.stderr.String())
	}
}
