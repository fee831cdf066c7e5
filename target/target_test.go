// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package target

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/collector"
	"github.com/posit-connect-exporter/posit_connect_exporter/config"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

const testAPIKey = "target-test-key-8d1f0a"

// testShared is the command line's defaults.
func testShared() *Shared {
	sh := Defaults()
	sh.Timeout = 5 * time.Second
	return &sh
}

func newTarget(t *testing.T, spec config.Target, sh *Shared) *Target {
	t.Helper()
	tg, err := New(spec, sh)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tg.Close)
	return tg
}

func TestPlainTextToRemote(t *testing.T) {
	for url, want := range map[string]bool{
		"http://connect.example.com": true, "http://10.0.0.5:3939": true,
		"https://connect.example.com": false, "http://127.0.0.1:3939": false, "http://localhost:3939": false, "http://[::1]:3939": false,
	} {
		if got := PlainTextToRemote(url); got != want {
			t.Errorf("PlainTextToRemote(%q) = %v", url, got)
		}
	}
}

func TestErrorsNameTheSettingAsTheUserWroteIt(t *testing.T) {
	t.Setenv("NO_SUCH_KEY_VAR", "")
	missing := filepath.Join(t.TempDir(), "missing.key")
	cases := []struct {
		spec config.Target
		want string
	}{
		{config.Target{URL: "https://c.example.com", APIKeyFile: missing}, "--connect.api-key-file"},
		{config.Target{Name: "prod", URL: "https://c.example.com", APIKeyFile: missing}, "server prod: api_key_file"},
		{config.Target{Name: "prod", URL: "https://c.example.com", APIKeyEnv: "NO_SUCH_KEY_VAR"}, "server prod: api_key_env"},
		{config.Target{URL: "https://c.example.com", APIKeyEnv: "NO_SUCH_KEY_VAR"}, "CONNECT_API_KEY"},
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("k\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases = append(cases,
		struct {
			spec config.Target
			want string
		}{config.Target{Name: "b", URL: "https://c.example.com", APIKeyFile: keyFile, CAFile: missing}, "server b: ca_file"},
		struct {
			spec config.Target
			want string
		}{config.Target{URL: "ftp://c.example.com", APIKeyFile: keyFile}, "--connect.url"},
	)
	for _, c := range cases {
		_, err := New(c.spec, testShared())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %q", c.spec, err, c.want)
		}
	}
}

func TestPerServerCollectorSwitchesWinOverTheCommandLine(t *testing.T) {
	sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: 3, Users: 20, Content: 4, Groups: 2, APIKey: testAPIKey}))
	t.Setenv("CONNECT_API_KEY", testAPIKey)
	sh := testShared()
	sh.Collectors["groups"] = false
	spec := config.Target{Name: "a", URL: sim.URL(), APIKeyEnv: "CONNECT_API_KEY",
		Collectors: map[string]bool{"groups": true, "shiny": false, "visits": false, "audit": false, "content": false}}
	mfs := testutil.Gather(t, newTarget(t, spec, sh).Scrape(t.Context()))
	for c, want := range map[string]bool{"server": true, "users": true, "groups": true, "content": false, "shiny": false} {
		if _, ok := mfs.Value("posit_connect_scrape_collector_success", "collector", c); ok != want {
			t.Errorf("collector %s ran: %v, want %v", c, ok, want)
		}
	}
	if v, ok := mfs.Value("posit_connect_groups"); !ok || v != 2 {
		t.Errorf("groups %v (present %v)", v, ok)
	}
}

func TestCheckOnlyOpensNoStateFile(t *testing.T) {
	t.Setenv("CONNECT_API_KEY", testAPIKey)
	state := filepath.Join(t.TempDir(), "state.json")
	sh := testShared()
	sh.CheckOnly = true
	tg := newTarget(t, config.Target{URL: "https://c.example.com", APIKeyEnv: "CONNECT_API_KEY", StateFile: state}, sh)
	tg.Close()
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("a checked target touched its state file: %v", err)
	}
}

// TestSlowUsersWalkNeverFailsAScrapeOnceItCompleted: every users page takes
// 160 ms, so a walk takes longer than a scrape may; once one walk has
// completed, scrapes are answered from it while the next walks run in the
// background, and Connect, which answers every request, is up.
func TestSlowUsersWalkNeverFailsAScrapeOnceItCompleted(t *testing.T) {
	sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: 5, Users: 4000, Content: 10, Groups: 2, APIKey: testAPIKey}))
	sim.SetFault(connecttest.Fault{Kind: connecttest.FaultSlow, Path: "/__api__/v1/users", Delay: 160 * time.Millisecond})
	t.Setenv("CONNECT_API_KEY", testAPIKey)
	sh := testShared()
	sh.TTLs[collector.ResourceUsers.Name] = 300 * time.Millisecond
	sh.CacheMaxAge, sh.WalkTimeout = time.Minute, 30*time.Second
	for _, c := range []string{"shiny", "visits", "audit"} {
		sh.Collectors[c] = false
	}
	tg := newTarget(t, config.Target{URL: sim.URL(), APIKeyEnv: "CONNECT_API_KEY"}, sh)
	scrape := func() testutil.Families {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		return testutil.Gather(t, tg.Scrape(ctx))
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if v, _ := scrape().Value("posit_connect_scrape_collector_success", "collector", "users"); v == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first users walk never completed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	walkRequests := sim.Requests("/__api__/v1/users")
	for i := range 25 {
		mfs := scrape()
		if v, _ := mfs.Value("posit_connect_scrape_collector_success", "collector", "users"); v != 1 {
			t.Errorf("scrape %d: users failed while Connect is healthy", i)
		}
		if v, _ := mfs.Value("posit_connect_up"); v != 1 {
			t.Errorf("scrape %d: up %v while Connect answers", i, v)
		}
		if v, ok := mfs.Value("posit_connect_license_named_users"); !ok || v != float64(sim.Truth().NamedUsers) {
			t.Errorf("scrape %d: named users %v (present %v), want %d", i, v, ok, sim.Truth().NamedUsers)
		}
		if _, ok := mfs.Value("posit_connect_cache_age_seconds", "resource", "users"); !ok {
			t.Errorf("scrape %d: no cache age for users", i)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if sim.Requests("/__api__/v1/users") <= walkRequests {
		t.Error("no refresh walk ran in the background; the test proves nothing")
	}
}
