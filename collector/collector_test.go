// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/exposition"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
	"github.com/posit-connect-exporter/posit_connect_exporter/window"
)

const testKey = "collector-test-key-0123456789"

var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// scraped are the metrics the golden file pins; durations vary by run.
var scraped = []string{
	"posit_connect_up", "posit_connect_scrape_collector_success", "posit_connect_version_info",
	"posit_connect_license_user_seats", "posit_connect_license_named_users", "posit_connect_license_expiry_timestamp_seconds",
	"posit_connect_users", "posit_connect_users_active", "posit_connect_groups", "posit_connect_content", "posit_connect_content_info",
}

// fixtureServer serves collector/testdata like a small Connect server.
func fixtureServer(t *testing.T) *httptest.Server {
	t.Helper()
	return fixtureServerWith(t, nil)
}

// fixtureServerWith serves collector/testdata, with the bodies of bodies
// (by path) instead of the files'; a body can be changed while it runs.
func fixtureServerWith(t *testing.T, bodies *sync.Map) *httptest.Server {
	t.Helper()
	files := map[string]string{
		"/__api__/server_settings": "server_settings.json",
		"/__api__/v1/users":        "users.json",
		"/__api__/v1/groups":       "groups.json",
		"/__api__/v1/content":      "content.json",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := files[r.URL.Path]
		if !ok || r.Header.Get("Authorization") != "Key "+testKey {
			http.NotFound(w, r)
			return
		}
		if bodies != nil {
			if b, ok := bodies.Load(r.URL.Path); ok {
				_, _ = w.Write([]byte(b.(string)))
				return
			}
		}
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Error(err)
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

type testSetup struct {
	src      *Source
	exporter *Exporter
	logs     *testutil.LockedBuffer
}

func newTestExporter(t *testing.T, url, key string, ttl time.Duration, now func() time.Time) *testSetup {
	t.Helper()
	client, err := connectapi.NewClient(url, connectapi.WithAPIKey(connectapi.StaticKey(key)),
		connectapi.WithHTTPClient(&http.Client{Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	windows, err := window.Parse("30d,90d,365d")
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.LockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	src := &Source{
		Client:        client,
		Cache:         connectapi.NewCache(connectapi.CacheConfig{DefaultTTL: ttl, FetchTimeout: 5 * time.Second}),
		ActiveWindows: windows, Now: now, Logger: logger,
	}
	return &testSetup{src: src, exporter: NewExporter(src, apiCollectors(t, src), logger), logs: logs}
}

func TestGoldenScrape(t *testing.T) {
	srv := fixtureServer(t)
	s := newTestExporter(t, srv.URL, testKey, time.Minute, func() time.Time { return testNow })
	golden, err := os.Open("testdata/scrape.prom")
	if err != nil {
		t.Fatal(err)
	}
	defer golden.Close()
	c := s.exporter.Scrape(context.Background())
	if err := promtestutil.CollectAndCompare(c, golden, scraped...); err != nil {
		t.Fatal(err)
	}
	problems, err := promtestutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestSeatsOverrideAndUnlimitedLicence(t *testing.T) {
	srv := fixtureServer(t)
	s := newTestExporter(t, srv.URL, testKey, time.Minute, func() time.Time { return testNow })
	s.src.SeatsOverride = 200
	want := "# HELP posit_connect_license_user_seats Named-user seat limit of the licence, or --connect.license-seats when set; absent when the licence enforces no limit. Cached for up to --connect.cache-ttl.server-settings.\n" +
		"# TYPE posit_connect_license_user_seats gauge\nposit_connect_license_user_seats 200\n"
	if err := promtestutil.CollectAndCompare(s.exporter.Scrape(context.Background()), strings.NewReader(want), "posit_connect_license_user_seats"); err != nil {
		t.Error(err)
	}
	if seats, ok := (&Source{}).seats(0); ok {
		t.Errorf("a licence with users=0 enforces no limit, got seats %d", seats)
	}
}

// newSim starts a simulated Connect server on loopback.
func newSim(t *testing.T, cfg connecttest.Config) *connecttest.Server {
	t.Helper()
	cfg.APIKey = testKey
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	return testutil.Start(t, connecttest.New(cfg))
}

func gather(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	return testutil.Gather(t, c).Flat()
}

func TestMatchesSimulatorTruth(t *testing.T) {
	sim := newSim(t, connecttest.Config{Seed: 7, Users: 1234, Content: 90, Groups: 17, Version: "2026.01.0",
		LicenseSeats: 1500, LicenseExpiry: testNow.Add(90 * 24 * time.Hour), LicenseStyle: connecttest.LicenseStrings})
	s := newTestExporter(t, sim.URL(), testKey, time.Minute, func() time.Time { return testNow })
	got := gather(t, s.exporter.Scrape(context.Background()))
	truth := sim.Truth()
	check := func(key string, want int) {
		t.Helper()
		if got[key] != float64(want) {
			t.Errorf("%s = %v, want %d", key, got[key], want)
		}
	}
	check("posit_connect_up", 1)
	check("posit_connect_license_named_users", truth.NamedUsers)
	check("posit_connect_license_user_seats", truth.Seats)
	check("posit_connect_groups", truth.Groups)
	check("posit_connect_version_info{version=\"2026.01.0\"}", 1)
	if got["posit_connect_license_expiry_timestamp_seconds"] != float64(truth.Expiry.UnixMilli())/1000 {
		t.Errorf("expiry %v, want %v", got["posit_connect_license_expiry_timestamp_seconds"], truth.Expiry)
	}
	for k, n := range truth.Users {
		check(fmt.Sprintf("posit_connect_users{locked=%q,role=%q}", boolString(k.Locked), k.Role), n)
	}
	for k, n := range truth.ActiveUsers {
		if k.Days == 30 || k.Days == 90 || k.Days == 365 {
			check(fmt.Sprintf("posit_connect_users_active{role=%q,window=\"%dd\"}", k.Role, k.Days), n)
		}
	}
	contentTotal := 0
	for k, n := range truth.Content {
		check(fmt.Sprintf("posit_connect_content{access_type=%q,app_mode=%q}", k.AccessType, k.AppMode), n)
		contentTotal += n
	}
	infos := 0
	for k := range got {
		if strings.HasPrefix(k, "posit_connect_content_info{") {
			infos++
		}
	}
	if infos != contentTotal {
		t.Errorf("%d content_info series, want %d", infos, contentTotal)
	}
	if strings.Contains(s.logs.String(), "disagree") {
		t.Errorf("cross-check against /v1/metrics/users/active disagreed:\n%s", s.logs.String())
	}
}

func TestConcurrentColdScrapesShareOneFetch(t *testing.T) {
	sim := newSim(t, connecttest.Config{Seed: 3, Users: 1200, Content: 30, Groups: 5, Version: "2026.01.0", LicenseSeats: 2000})
	s := newTestExporter(t, sim.URL(), testKey, time.Minute, func() time.Time { return testNow })
	sim.ResetRequests()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			got := gather(t, s.exporter.Scrape(context.Background()))
			if got["posit_connect_up"] != 1 {
				t.Error("a concurrent scrape saw up 0")
			}
		})
	}
	wg.Wait()
	for path, want := range map[string]int{
		"/__api__/server_settings":          1,
		"/__api__/v1/users":                 3, // 1200 users: three pages of 500, fetched once
		"/__api__/v1/groups":                1,
		"/__api__/v1/content":               1,
		"/__api__/v1/metrics/users/active":  1,
		"/__api__/v1/instrumentation":       0,
		"/__api__/v1/audit_logs":            0,
		"/__api__/v1/system/hosts":          0,
		"/__api__/v1/users/" + "not-a-guid": 0,
	} {
		if n := sim.Requests(path); n != want {
			t.Errorf("%s: %d requests, want %d", path, n, want)
		}
	}
}

func TestConnectDownGivesUpZeroWithinTheDeadline(t *testing.T) {
	sim := newSim(t, connecttest.Config{Seed: 1, Users: 20, Content: 5})
	sim.SetFault(connecttest.Fault{Kind: connecttest.FaultDown})
	s := newTestExporter(t, sim.URL(), testKey, time.Minute, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got := gather(t, s.exporter.Scrape(ctx))
	if ctx.Err() != nil {
		t.Error("the scrape outlived its deadline")
	}
	if got["posit_connect_up"] != 0 {
		t.Errorf("up = %v, want 0", got["posit_connect_up"])
	}
	for k, v := range got {
		if strings.HasPrefix(k, "posit_connect_scrape_collector_success") && v != 0 {
			t.Errorf("%s = %v, want 0", k, v)
		}
		if strings.HasPrefix(k, "posit_connect_users") || strings.HasPrefix(k, "posit_connect_content") {
			t.Errorf("a failed collector emitted %s", k)
		}
	}
}

func TestSlowConnectHitsTheScrapeDeadline(t *testing.T) {
	sim := newSim(t, connecttest.Config{Seed: 1, Users: 20, Content: 5})
	sim.SetFault(connecttest.Fault{Kind: connecttest.FaultSlow, Delay: 3 * time.Second})
	s := newTestExporter(t, sim.URL(), testKey, time.Minute, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	got := gather(t, s.exporter.Scrape(ctx))
	if got["posit_connect_up"] != 0 || got["posit_connect_scrape_collector_success{collector=\"users\"}"] != 0 {
		t.Errorf("slow Connect: up %v users success %v", got["posit_connect_up"], got["posit_connect_scrape_collector_success{collector=\"users\"}"])
	}
}

func TestUnauthorizedLogsOneClearLineWithoutTheKey(t *testing.T) {
	sim := newSim(t, connecttest.Config{Seed: 1, Users: 20, Content: 5})
	s := newTestExporter(t, sim.URL(), "wrong-"+testKey, time.Minute, nil)
	for range 3 {
		got := gather(t, s.exporter.Scrape(context.Background()))
		if got["posit_connect_up"] != 0 {
			t.Fatalf("up = %v with a rejected key", got["posit_connect_up"])
		}
	}
	logs := s.logs.String()
	if strings.Contains(logs, testKey) {
		t.Fatalf("the key leaked into the logs:\n%s", logs)
	}
	var errorLines []string
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
			errorLines = append(errorLines, line)
		}
	}
	if len(errorLines) != 1 || !strings.Contains(errorLines[0], "rejected the API key") || !strings.Contains(errorLines[0], "401") {
		t.Fatalf("want one clear error line about the key over three scrapes, got:\n%s", strings.Join(errorLines, "\n"))
	}
}

func TestGroupsDisabledIsAnAnswer(t *testing.T) {
	sim := newSim(t, connecttest.Config{Seed: 1, Users: 20, Content: 5, Groups: 3})
	sim.SetGroupsEnabled(false)
	s := newTestExporter(t, sim.URL(), testKey, time.Minute, nil)
	got := gather(t, s.exporter.Scrape(context.Background()))
	if _, ok := got["posit_connect_groups"]; ok {
		t.Error("groups series present with groups disabled")
	}
	if got["posit_connect_scrape_collector_success{collector=\"groups\"}"] != 1 || got["posit_connect_up"] != 1 {
		t.Errorf("groups disabled: success %v up %v", got["posit_connect_scrape_collector_success{collector=\"groups\"}"], got["posit_connect_up"])
	}
	if n := sim.Requests("/__api__/v1/groups"); n != 0 {
		t.Errorf("asked for groups %d times although the server said they are off", n)
	}
}

func TestOneFailingCollectorLeavesTheOthers(t *testing.T) {
	sim := newSim(t, connecttest.Config{Seed: 1, Users: 20, Content: 5, Groups: 2})
	sim.SetFault(connecttest.Fault{Kind: connecttest.FaultTruncatedJSON, Path: "/__api__/v1/content"})
	s := newTestExporter(t, sim.URL(), testKey, time.Minute, nil)
	got := gather(t, s.exporter.Scrape(context.Background()))
	if got["posit_connect_scrape_collector_success{collector=\"content\"}"] != 0 || got["posit_connect_scrape_collector_success{collector=\"users\"}"] != 1 {
		t.Errorf("success: content %v users %v", got["posit_connect_scrape_collector_success{collector=\"content\"}"], got["posit_connect_scrape_collector_success{collector=\"users\"}"])
	}
	if got["posit_connect_up"] != 1 {
		t.Error("a bad body on one endpoint is not Connect being down")
	}
	for k := range got {
		if strings.HasPrefix(k, "posit_connect_content") {
			t.Errorf("failed collector emitted %s", k)
		}
	}
	sim.ClearFaults()
	got = gather(t, s.exporter.Scrape(context.Background()))
	if got["posit_connect_scrape_collector_success{collector=\"content\"}"] != 1 {
		t.Error("the failure was cached")
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestRetryAfterIsHonouredAcrossScrapes(t *testing.T) {
	sim := newSim(t, connecttest.Config{Seed: 1, Users: 40, Content: 5, Groups: 2})
	sim.SetFault(connecttest.Fault{Kind: connecttest.FaultRateLimited, Path: "/__api__/v1/users", RetryAfter: time.Hour})
	s := newTestExporter(t, sim.URL(), testKey, 0, nil) // TTL 0: without the rest, every scrape would ask
	for range 10 {
		got := gather(t, s.exporter.Scrape(context.Background()))
		if got["posit_connect_scrape_collector_success{collector=\"users\"}"] != 0 {
			t.Fatal("users succeeded while rate limited")
		}
		if got["posit_connect_up"] != 1 {
			t.Fatal("a 429 on one endpoint is not Connect being down")
		}
	}
	if n := sim.Requests("/__api__/v1/users"); n != 1 {
		t.Errorf("asked for users %d times during Retry-After, want 1", n)
	}
	if n := sim.Requests("/__api__/v1/content"); n != 10 {
		t.Errorf("other resources must not rest: content asked %d times, want 10", n)
	}
}

func TestCrossCheckWarnsWhenConnectDisagrees(t *testing.T) {
	srv := fixtureServer(t)
	// The fixture has one active administrator in 30d and four users in
	// 365d; Connect's own counts below agree on 30d and disagree on 365d.
	active := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/__api__/v1/metrics/users/active" {
			_, _ = w.Write([]byte(`{"windows":{"30d":{"total":1,"admin":1},"365d":{"total":40,"viewer":40}}}`))
			return
		}
		proxy, _ := http.NewRequestWithContext(r.Context(), r.Method, srv.URL+r.URL.RequestURI(), nil)
		proxy.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(proxy)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	defer active.Close()
	s := newTestExporter(t, active.URL, testKey, time.Minute, func() time.Time { return testNow })
	gather(t, s.exporter.Scrape(context.Background()))
	logs := s.logs.String()
	if !strings.Contains(logs, "Active users disagree") || !strings.Contains(logs, "window=365d") ||
		!strings.Contains(logs, "exporter=4") || !strings.Contains(logs, "connect=40") {
		t.Errorf("want one warning for 365d (4 vs 40), got:\n%s", logs)
	}
	if strings.Contains(logs, "window=30d") {
		t.Errorf("30d agrees and must not warn:\n%s", logs)
	}
}

// apiCollectors builds the collectors that read only the API (not the
// usage streams), as the exporter's table does.
func apiCollectors(t testing.TB, src *Source) []Enabled {
	t.Helper()
	enabled, err := Build(&Env{Source: src}, func(name string) bool {
		return name == "server" || name == "users" || name == "groups" || name == "content"
	})
	if err != nil {
		t.Fatal(err)
	}
	return enabled
}

func TestBuildFollowsTheTableAndReportsConstructorErrors(t *testing.T) {
	src := &Source{}
	all, err := Build(&Env{Source: src}, func(name string) bool { return name != "shiny" && name != "visits" && name != "audit" })
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range all {
		names = append(names, e.Name)
	}
	if got := strings.Join(names, ","); got != "server,users,groups,content" {
		t.Errorf("built %s", got)
	}
	// A usage collector on a server without usage streams is an error
	// naming the collector, not a nil collector.
	if _, err := Build(&Env{Source: src}, func(name string) bool { return name == "visits" }); err == nil ||
		!strings.Contains(err.Error(), "collector visits") {
		t.Errorf("visits without streams: %v", err)
	}
	if got := strings.Join(Names(), ","); got != "server,users,groups,content,shiny,visits,audit" {
		t.Errorf("Names() = %s", got)
	}
}

func TestResourcesComeFromTheCollectorTable(t *testing.T) {
	var names []string
	defaults := map[string]time.Duration{}
	for _, r := range Resources() {
		names = append(names, r.Name)
		if d, ok := defaults[r.TTLFlag]; ok && d != r.DefaultTTL {
			t.Errorf("resources sharing --connect.cache-ttl.%s disagree on its default: %s and %s", r.TTLFlag, d, r.DefaultTTL)
		}
		defaults[r.TTLFlag] = r.DefaultTTL
	}
	if got := strings.Join(names, ","); got != "server_settings,users,active_users,groups,content" {
		t.Errorf("resources %s", got)
	}
	var flags []string
	for _, r := range TTLFlags() {
		flags = append(flags, r.TTLFlag)
		if r.TTLHelp == "" {
			t.Errorf("--connect.cache-ttl.%s has no help", r.TTLFlag)
		}
	}
	if got := strings.Join(flags, ","); got != "server-settings,users,groups,content" {
		t.Errorf("TTL flags %s", got)
	}
	ttls := TTLs(map[string]time.Duration{"server-settings": time.Second, "users": 2 * time.Second, "groups": 3 * time.Second, "content": 4 * time.Second})
	if ttls["active_users"] != 2*time.Second || ttls["server_settings"] != time.Second || len(ttls) != 5 {
		t.Errorf("TTLs %v", ttls)
	}
}

func TestOddLicenceFieldsLeaveOnlyTheirSeriesOut(t *testing.T) {
	const settings = `{"version": "2025.09.1", "authentication": {"groups_enabled": true}, "license": %s}`
	bodies := &sync.Map{}
	srv := fixtureServerWith(t, bodies)
	for _, tc := range []struct {
		licence       string
		field         string // the unreadable field, "" for none
		seats, expiry bool
	}{
		{`{"users": 50, "expiration": "2027-01-01T00:00:00Z"}`, "", true, true},
		{`{"users": -5, "expiration": 1798761600000}`, "users", false, true},
		{`{"users": "unlimited"}`, "users", false, false},
		{`{"users": 1.5}`, "users", false, false},
		{`{"users": true, "expiration": "someday"}`, "users", false, false},
		{`{"users": 50, "user-activity-days": 0}`, "user-activity-days", true, false},
	} {
		bodies.Store("/__api__/server_settings", fmt.Sprintf(settings, tc.licence))
		s := newTestExporter(t, srv.URL, testKey, time.Minute, func() time.Time { return testNow })
		got := gather(t, s.exporter.Scrape(context.Background()))
		for _, c := range []string{"server", "users", "groups", "content"} {
			if got[`posit_connect_scrape_collector_success{collector="`+c+`"}`] != 1 {
				t.Errorf("%s: collector %s failed", tc.licence, c)
			}
		}
		if got["posit_connect_up"] != 1 {
			t.Errorf("%s: up %v; an odd licence field is not an unreachable Connect", tc.licence, got["posit_connect_up"])
		}
		_, seats := got["posit_connect_license_user_seats"]
		_, expiry := got["posit_connect_license_expiry_timestamp_seconds"]
		if seats != tc.seats || expiry != tc.expiry {
			t.Errorf("%s: seats present %v, expiry present %v; want %v, %v", tc.licence, seats, expiry, tc.seats, tc.expiry)
		}
		if tc.expiry && got["posit_connect_license_expiry_timestamp_seconds"] != 1798761600 {
			t.Errorf("%s: expiry %v", tc.licence, got["posit_connect_license_expiry_timestamp_seconds"])
		}
		for _, f := range []string{"users", "user-activity-days", "expiration"} {
			want := 0.0
			if f == tc.field || (f == "expiration" && strings.Contains(tc.licence, "someday")) {
				want = 1
			}
			if v, ok := got[`posit_connect_license_parse_errors_total{field="`+f+`"}`]; !ok || v != want {
				t.Errorf("%s: parse errors of %s = %v (present %v), want %v", tc.licence, f, v, ok, want)
			}
		}
		if tc.field != "" && !strings.Contains(s.logs.String(), "field="+tc.field) && !strings.Contains(s.logs.String(), "user-activity-days") {
			t.Errorf("%s: nothing logged about %s:\n%s", tc.licence, tc.field, s.logs.String())
		}
		if tc.field == "user-activity-days" {
			// Named users fall back to 365 days: the fixture's users active
			// within 365 days, not within the licence's unreadable 0.
			if got["posit_connect_license_named_users"] != got[`posit_connect_users_active{role="administrator",window="365d"}`]+
				got[`posit_connect_users_active{role="publisher",window="365d"}`]+got[`posit_connect_users_active{role="viewer",window="365d"}`] {
				t.Errorf("named users %v do not fall back to the 365-day window", got["posit_connect_license_named_users"])
			}
		}
	}
}

func TestHealthFollowsTheLastCompletedFetch(t *testing.T) {
	h := &Health{}
	if _, known := h.Up(); known {
		t.Fatal("known before any fetch")
	}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, true},
		{&connectapi.TransportError{Endpoint: "/v1/users", Err: errors.New("connection refused")}, false},
		{&connectapi.APIError{StatusCode: 500, Endpoint: "/v1/users"}, true}, // answered, with a valid key
		{&connectapi.DecodeError{Endpoint: "/server_settings", Err: errors.New("bad")}, true},
		{&connectapi.APIError{StatusCode: 401, Code: 30, Endpoint: "/v1/users"}, false},
	} {
		h.Observe("users", c.err)
		if up, known := h.Up(); !known || up != c.want {
			t.Errorf("after %v: up %v (known %v), want %v", c.err, up, known, c.want)
		}
	}
	// Cancelled by the exporter itself: no news about Connect.
	h.Observe("users", fmt.Errorf("GET /v1/users: %w", context.Canceled))
	if up, _ := h.Up(); up {
		t.Error("a cancellation changed the verdict")
	}
}

// countingCollector is Versioned: its version is whatever the test sets,
// and it counts the builds of its output.
type countingCollector struct {
	version atomic.Uint64
	builds  atomic.Int32
}

var countingDesc = prometheus.NewDesc("posit_connect_test_items", "Test items.", []string{"n"}, nil)

func (c *countingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- countingDesc }

func (c *countingCollector) Version(context.Context) (Version, error) {
	return Version{c.version.Load()}, nil
}

func (c *countingCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	c.builds.Add(1)
	time.Sleep(20 * time.Millisecond) // a build takes a while: concurrent scrapes pile up
	for i := range 1000 {
		ch <- prometheus.MustNewConstMetric(countingDesc, prometheus.GaugeValue, float64(c.version.Load()), strconv.Itoa(i))
	}
	return nil
}

func TestConcurrentScrapesShareOneBuildPerVersion(t *testing.T) {
	srv := fixtureServer(t)
	s := newTestExporter(t, srv.URL, testKey, time.Hour, func() time.Time { return testNow })
	c := &countingCollector{}
	c.version.Store(1)
	e := NewExporter(s.src, []Enabled{{"test", c}}, s.src.Logger)
	e.memos[0] = &memo{} // the test collector reads no cached resource of the table
	var wg sync.WaitGroup
	texts := make([]string, 40)
	for i := range 40 {
		wg.Go(func() {
			var buf bytes.Buffer
			w := exposition.NewWriter(&buf, false)
			if err := e.Scrape(context.Background()).(*scrape).WriteExposition(w); err != nil {
				t.Error(err)
			}
			texts[i] = buf.String()
		})
	}
	wg.Wait()
	if n := c.builds.Load(); n != 1 {
		t.Errorf("40 concurrent scrapes of one version built the output %d times, want 1", n)
	}
	for i, text := range texts {
		if strings.Count(text, "posit_connect_test_items{") != 1000 {
			t.Fatalf("scrape %d wrote %d items", i, strings.Count(text, "posit_connect_test_items{"))
		}
	}
	c.version.Store(2)
	got := gather(t, e.Scrape(context.Background()))
	if c.builds.Load() != 2 || got[`posit_connect_test_items{n="7"}`] != 2 {
		t.Errorf("a new version was not rebuilt: builds %d, value %v", c.builds.Load(), got[`posit_connect_test_items{n="7"}`])
	}
}

func TestKeptOutputFollowsTheData(t *testing.T) {
	bodies := &sync.Map{}
	srv := fixtureServerWith(t, bodies)
	s := newTestExporter(t, srv.URL, testKey, 100*time.Millisecond, func() time.Time { return testNow })
	infos := func() int {
		var buf bytes.Buffer
		if err := s.exporter.Scrape(context.Background()).(*scrape).WriteExposition(exposition.NewWriter(&buf, false)); err != nil {
			t.Fatal(err)
		}
		return strings.Count(buf.String(), "posit_connect_content_info{")
	}
	before := infos()
	if before < 3 {
		t.Fatalf("%d content items in the fixture", before)
	}
	bodies.Store("/__api__/v1/content", `[{"guid": "only-one", "name": "solo", "app_mode": "shiny", "access_type": "acl"}]`)
	deadline := time.Now().Add(5 * time.Second)
	for infos() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the kept content output never followed the new content list")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWalkTimeoutsAreOneAlarmNotConnectDown(t *testing.T) {
	logs := &testutil.LockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a := newAlarm()
	for done := range 5 { // the message changes as pages complete
		err := &connectapi.IncompleteWalkError{Endpoint: "/v1/users", PagesDone: done * 10, Pages: 200, Err: context.DeadlineExceeded}
		if !connectapi.IsWalkTimeout(err) || answeredBadly(err) {
			t.Fatalf("a walk timeout must not mean Connect is down: %v", err)
		}
		a.scrape(logger, []namedErr{{"users", err}})
	}
	out := logs.String()
	if strings.Count(out, "did not finish within --connect.walk-timeout") != 1 || strings.Contains(out, "Cannot reach Connect") {
		t.Errorf("walk timeouts logged as:\n%s", out)
	}
	a.scrape(logger, nil)
	if !strings.Contains(logs.String(), "Recovered") {
		t.Error("the end of the walk timeouts was not logged")
	}
}
