// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package target

import (
	stdgzip "compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posit-connect-exporter/posit_connect_exporter/collector"
	"github.com/posit-connect-exporter/posit_connect_exporter/config"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
	"github.com/posit-connect-exporter/posit_connect_exporter/scrape"
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

// TestKeptEncodingsAnswerWhatARegistryWould: the text path (kept chunks,
// plain and gzip) and the registry path give the same series, scrape after
// scrape, while data changes underneath.
func TestKeptEncodingsAnswerWhatARegistryWould(t *testing.T) {
	sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: 8, Users: 700, Content: 60, Groups: 4, APIKey: testAPIKey,
		Version: "2026.03.0", LicenseSeats: 900, History: time.Hour, ShinySessions: 2000, Visits: 2000, AuditEntries: 500}))
	t.Setenv("CONNECT_API_KEY", testAPIKey)
	sh := testShared()
	// The usage counters change between iterations, not within one; the
	// API data is cached throughout (kept outputs following changed data
	// are tested in the collector package).
	sh.Usage.Interval = time.Millisecond
	tg := newTarget(t, config.Target{URL: sim.URL(), APIKeyEnv: "CONNECT_API_KEY"}, sh)
	h := scrape.NewHandler(0, 0, 10*time.Second, nil)
	get := func(s scrape.Func, gzip bool) map[string]float64 {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept", prometheusAccept)
		if gzip {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		rec := httptest.NewRecorder()
		h.Serve(rec, req, s)
		body := rec.Body.Bytes()
		if gzip {
			if rec.Header().Get("Content-Encoding") != "gzip" {
				t.Fatal("gzip asked for, not given")
			}
			zr, err := stdgzip.NewReader(rec.Body)
			if err != nil {
				t.Fatal(err)
			}
			zr.Multistream(false)
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		flat := testutil.ParseText(t, body).Flat()
		for k := range flat {
			if strings.Contains(k, "_duration_seconds") || strings.HasPrefix(k, "posit_connect_cache_age_seconds") {
				delete(flat, k) // timings differ between two scrapes
			}
		}
		return flat
	}
	registry := func(ctx context.Context) prometheus.Collector { return hideText{tg.Scrape(ctx)} }
	for i := range 6 {
		sim.Step(time.Minute) // new sessions, visits and audit entries
		text := get(tg.Scrape, false)
		zipped := get(tg.Scrape, true)
		viaRegistry := get(registry, false)
		if len(text) < 100 {
			t.Fatalf("scrape %d: only %d series; the check proves little", i, len(text))
		}
		for k, v := range viaRegistry {
			if text[k] != v || zipped[k] != v {
				t.Errorf("scrape %d: %s = %v (text) / %v (gzip), registry %v", i, k, text[k], zipped[k], v)
			}
		}
		if len(text) != len(viaRegistry) || len(zipped) != len(viaRegistry) {
			t.Errorf("scrape %d: %d / %d / %d series", i, len(text), len(zipped), len(viaRegistry))
		}
		if i == 5 && !hasPrefix(text, "posit_connect_shiny_sessions_total{") {
			t.Error("no usage series by the last scrape; the streams were not compared")
		}
	}
}

func hasPrefix(flat map[string]float64, prefix string) bool {
	for k := range flat {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}
