// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package target

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
