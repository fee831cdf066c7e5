// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
	"github.com/posit-connect-exporter/posit_connect_exporter/redact"
)

const testAPIKey = "main-test-key-5f0c1e9a7b"

// parseOpts parses args the way run does and validates them.
func parseOpts(t *testing.T, args ...string) (*options, error) {
	t.Helper()
	app, opts := newApp()
	app.UsageWriter(io.Discard)
	app.ErrorWriter(io.Discard)
	if _, err := app.Parse(args); err != nil {
		return nil, err
	}
	return opts, opts.validate()
}

func TestBadFlagsStopStartUpNamingTheFlag(t *testing.T) {
	t.Setenv("CONNECT_API_KEY", "")
	t.Setenv("CONNECT_SERVER", "")
	cases := map[string][]string{
		"connect.url":                           {},
		"connect.url: the Connect server URL":   {"--connect.url=connect.example.com"},
		"connect.api-key-file":                  {"--connect.url=https://connect.example.com"},
		"connect.timeout":                       {"--demo", "--connect.timeout=0s"},
		"collector.users.active-windows":        {"--demo", "--collector.users.active-windows=30d,thirty"},
		"connect.max-concurrent-requests":       {"--demo", "--connect.max-concurrent-requests=0"},
		"connect.cache-ttl.users":               {"--demo", "--connect.cache-ttl.users=-1s"},
		"connect.license-seats":                 {"--demo", "--connect.license-seats=-5"},
		"web.telemetry-path":                    {"--demo", "--web.telemetry-path=metrics"},
		"demo.scenario":                         {"--demo", "--demo.scenario=apocalypse"},
		"unknown long flag '--connect.api-key'": {"--demo", "--connect.api-key=abc"},
	}
	for want, args := range cases {
		var stderr bytes.Buffer
		code := run(context.Background(), args, io.Discard, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), want) {
			t.Errorf("args %v: exit %d, stderr %q; want non-zero and a message naming %q", args, code, stderr.String(), want)
		}
	}
}

func TestAPIKeyComesFromFileOrEnvironment(t *testing.T) {
	t.Setenv("CONNECT_API_KEY", "from-env")
	if _, err := parseOpts(t, "--connect.url=https://c.example.com"); err != nil {
		t.Errorf("CONNECT_API_KEY should satisfy the key requirement: %v", err)
	}
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"--connect.url=https://c.example.com", "--connect.api-key-file=/nonexistent/key",
		"--web.listen-address=127.0.0.1:0"}, io.Discard, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "--connect.api-key-file") || !strings.Contains(stderr.String(), "/nonexistent/key") {
		t.Errorf("missing key file: exit %d, %s", code, stderr.String())
	}
}

// running is the exporter running as a process would, through run, until
// stop: its log, and its exit code once stopped.
type running struct {
	stderr testutil.LockedBuffer
	cancel context.CancelFunc
	exited chan int
}

// runExporter runs the exporter with args until the test stops it.
func runExporter(t *testing.T, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, exited: make(chan int, 1)}
	go func() { r.exited <- run(ctx, args, io.Discard, &r.stderr) }()
	return r
}

// waitLog waits, at most 20 seconds, until the log holds text.
func (r *running) waitLog(text string) bool {
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(r.stderr.String(), text) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// stop ends the exporter and returns its exit code.
func (r *running) stop() int {
	r.cancel()
	return <-r.exited
}

// startExporter serves the exporter's routes for opts on loopback.
func startExporter(t *testing.T, opts *options) (*routes, *httptest.Server) {
	t.Helper()
	logger := promslog.New(&promslog.Config{Writer: io.Discard})
	rt, err := newRoutes(context.Background(), opts, logger, &redact.Secrets{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.close)
	hs := httptest.NewServer(rt.mux)
	t.Cleanup(hs.Close)
	return rt, hs
}

func scrapeBody(t *testing.T, url string, header http.Header) []byte {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	maps.Copy(req.Header, header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return body
}

// checkAgainstTruth compares a scrape with what the simulator says is true.
func checkAgainstTruth(t *testing.T, mfs testutil.Families, truth connecttest.Truth, windows []string) {
	t.Helper()
	expect := func(want float64, name string, labels ...string) {
		t.Helper()
		got, ok := mfs.Value(name, labels...)
		if !ok || got != want {
			t.Errorf("%s%v = %v (present %v), want %v", name, labels, got, ok, want)
		}
	}
	expect(1, "posit_connect_up")
	expect(float64(truth.NamedUsers), "posit_connect_license_named_users")
	expect(float64(truth.Seats), "posit_connect_license_user_seats")
	expect(float64(truth.Expiry.UnixMilli())/1000, "posit_connect_license_expiry_timestamp_seconds")
	expect(1, "posit_connect_version_info", "version", truth.Version)
	expect(float64(truth.Groups), "posit_connect_groups")
	for k, n := range truth.Users {
		expect(float64(n), "posit_connect_users", "role", k.Role, "locked", strconv.FormatBool(k.Locked))
	}
	for k, n := range truth.ActiveUsers {
		for _, w := range windows {
			if w == strconv.Itoa(k.Days)+"d" {
				expect(float64(n), "posit_connect_users_active", "role", k.Role, "window", w)
			}
		}
	}
	total := 0
	for k, n := range truth.Content {
		expect(float64(n), "posit_connect_content", "app_mode", k.AppMode, "access_type", k.AccessType)
		total += n
	}
	if got := len(mfs["posit_connect_content_info"].GetMetric()); got != total {
		t.Errorf("%d content_info series, want %d", got, total)
	}
	for _, c := range []string{"server", "users", "groups", "content"} {
		expect(1, "posit_connect_scrape_collector_success", "collector", c)
	}
	if _, ok := mfs["posit_connect_exporter_build_info"]; !ok {
		t.Error("posit_connect_exporter_build_info missing")
	}
	if _, ok := mfs.Value("posit_connect_exporter_api_requests_total", "endpoint", "/v1/users", "code", "200"); !ok {
		t.Error("API request counter missing")
	}
}

func TestEndToEndAgainstSimulator(t *testing.T) {
	sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: 11, Users: 2345, Content: 120, Groups: 9, Version: "2025.12.1",
		APIKey: testAPIKey, LicenseSeats: 3000, LicenseExpiry: time.Now().Add(40 * 24 * time.Hour)}))
	t.Setenv("CONNECT_API_KEY", testAPIKey)
	opts, err := parseOpts(t, "--connect.url="+sim.URL(), "--collector.users.active-windows=30d,90d,365d")
	if err != nil {
		t.Fatal(err)
	}
	_, hs := startExporter(t, opts)
	body := scrapeBody(t, hs.URL+"/metrics", nil)
	checkAgainstTruth(t, testutil.ParseText(t, body), sim.Truth(), []string{"30d", "90d", "365d"})
	promtoolCheckMetrics(t, body)
	if bytes.Contains(body, []byte(testAPIKey)) {
		t.Error("the API key appears in /metrics")
	}
	landing := scrapeBody(t, hs.URL+"/", nil)
	if !bytes.Contains(landing, []byte(`href="/metrics"`)) || bytes.Contains(landing, []byte(testAPIKey)) {
		t.Errorf("landing page: %s", landing)
	}
	if h := scrapeBody(t, hs.URL+"/-/healthy", nil); string(h) != "Healthy\n" {
		t.Errorf("/-/healthy: %q", h)
	}
}

func TestDemoServesTheSimulatorsTruth(t *testing.T) {
	opts, err := parseOpts(t, "--demo")
	if err != nil {
		t.Fatal(err)
	}
	s, hs := startExporter(t, opts)
	body := scrapeBody(t, hs.URL+"/metrics", nil)
	checkAgainstTruth(t, testutil.ParseText(t, body), s.demo.Sim.Truth(), []string{"30d", "90d", "365d"})
	promtoolCheckMetrics(t, body)
}

func TestScrapeTimeoutHeaderBoundsTheScrape(t *testing.T) {
	sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: 1, Users: 10, APIKey: testAPIKey}))
	sim.SetFault(connecttest.Fault{Kind: connecttest.FaultSlow, Delay: 20 * time.Second})
	t.Setenv("CONNECT_API_KEY", testAPIKey)
	opts, err := parseOpts(t, "--connect.url="+sim.URL(), "--timeout-offset=100ms")
	if err != nil {
		t.Fatal(err)
	}
	_, hs := startExporter(t, opts)
	body := scrapeBody(t, hs.URL+"/metrics", http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"0.6"}})
	if v, ok := testutil.ParseText(t, body).Value("posit_connect_up"); !ok || v != 0 {
		t.Errorf("up = %v (present %v) against a server slower than the scrape timeout", v, ok)
	}
}

// promtoolCheckMetrics lints an exposition with the real promtool. Under CI
// a missing promtool fails the test; .ci/run installs it.
func promtoolCheckMetrics(t *testing.T, body []byte) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is not installed (Debian package prometheus)")
		}
		t.Skip("promtool not installed")
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestStateFileFlagKeepsTheUsageCounters(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	opts, err := parseOpts(t, "--demo", "--state.file="+state, "--collector.usage.interval=1ms")
	if err != nil {
		t.Fatal(err)
	}
	rt, hs := startExporter(t, opts)
	mfs := testutil.ParseText(t, scrapeBody(t, hs.URL+"/metrics", nil))
	for _, c := range []string{"shiny", "visits", "audit"} {
		if v, ok := mfs.Value("posit_connect_scrape_collector_success", "collector", c); !ok || v != 1 {
			t.Errorf("%s: success %v (present %v)", c, v, ok)
		}
	}
	rt.close() // saves the state file
	raw, err := os.ReadFile(state)
	if err != nil {
		t.Fatalf("--state.file was not written: %v", err)
	}
	for _, stream := range []string{`"shiny"`, `"visits"`, `"audit"`} {
		if !bytes.Contains(raw, []byte(stream)) {
			t.Errorf("the state file has no %s part: %.300s", stream, raw)
		}
	}
}

func TestReadyOnceTheFirstReadEnded(t *testing.T) {
	sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: 3, Users: 30, APIKey: testAPIKey}))
	sim.SetFault(connecttest.Fault{Kind: connecttest.FaultSlow, Path: "/__api__/server_settings", Delay: 700 * time.Millisecond, Times: 1})
	t.Setenv("CONNECT_API_KEY", testAPIKey)
	opts, err := parseOpts(t, "--connect.url="+sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	_, hs := startExporter(t, opts)
	status := func() (int, string) {
		resp, err := http.Get(hs.URL + "/-/ready")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := status(); code != http.StatusServiceUnavailable || !strings.Contains(body, "waiting for the first read of Connect") {
		t.Errorf("before the first read: %d %q", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := status()
		if code == http.StatusOK && body == "Ready\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready: %d %q", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	landing := string(scrapeBody(t, hs.URL+"/", nil))
	if strings.Contains(landing, "debug/pprof") || !strings.Contains(landing, `href="/-/ready"`) {
		t.Errorf("landing page links: %s", landing)
	}
}

func TestReadyEvenWhenConnectIsDown(t *testing.T) {
	t.Setenv("CONNECT_API_KEY", testAPIKey)
	opts, err := parseOpts(t, "--connect.url=http://"+freeLoopbackPort(t))
	if err != nil {
		t.Fatal(err)
	}
	_, hs := startExporter(t, opts)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(hs.URL + "/-/ready")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break // the read ended (in failure): the exporter serves up 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready with Connect refusing connections: %d", resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDemoSaysWhereToLookNext(t *testing.T) {
	r := runExporter(t, "--demo", "--web.listen-address="+freeLoopbackPort(t))
	r.waitLog("Demo ready")
	if code := r.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	log := r.stderr.String()
	if !strings.Contains(log, "metrics=http://127.0.0.1:") || !strings.Contains(log, "/metrics") || !strings.Contains(log, "examples/local/") {
		t.Errorf("the demo did not say where to look:\n%s", log)
	}
}

// TestSIGHUPWithoutAConfigFileIsLoggedNotFatal: systemctl reload sends
// SIGHUP; without --config.file it must not end the process.
func TestSIGHUPWithoutAConfigFileIsLoggedNotFatal(t *testing.T) {
	r := runExporter(t, "--demo", "--web.listen-address="+freeLoopbackPort(t))
	r.waitLog("Demo ready")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	r.waitLog("Reload requested")
	select {
	case code := <-r.exited:
		t.Fatalf("the exporter ended on SIGHUP (exit %d)", code)
	default:
	}
	if code := r.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if !strings.Contains(r.stderr.String(), "only --config.file can be reloaded") {
		t.Errorf("SIGHUP not logged:\n%s", r.stderr.String())
	}
}
