// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectaudit

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
	"github.com/posit-connect-exporter/posit_connect_exporter/window"
)

const day = 24 * time.Hour

var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// at formats testNow minus d as Connect writes times.
func at(d time.Duration) string {
	return testNow.Add(-d).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

func logfmtEntry(id int, d time.Duration, actor int, role, action string) string {
	guid := ""
	if role != "system" {
		guid = fmt.Sprintf(" actor_guid=0000-%d", actor)
	}
	return fmt.Sprintf(`time=%q level=info msg="Did %s" action=%s actor_description="User %d (u%d)"%s actor_id=%d actor_role=%s entry_id=%d type=audit`+"\n",
		at(d), action, action, actor, actor, guid, actor, role, id)
}

func jsonEntry(id int, d time.Duration, actor int, role, action string) string {
	return fmt.Sprintf(`{"action":%q,"actor_description":"User %d (u%d)","actor_id":%d,"actor_role":%q,"entry_id":%d,"level":"info","msg":"Did it","time":%q,"type":"audit"}`+"\n",
		action, actor, actor, actor, role, id, at(d))
}

func legacyCSVEntry(id int, d time.Duration, user int, action string) string {
	return fmt.Sprintf(`%d,%s,%d,"User %d, (u%d)",%s,"Did ""%s"", really"`+"\n", id, at(d), user, user, user, action, action)
}

func legacyJSONEntry(id int, d time.Duration, user int, action string) string {
	return fmt.Sprintf(`{"id":"%d","time":%q,"user_id":"%d","user_guid":"g","user_description":"User %d","action":%q,"event_description":"x"}`+"\n",
		id, at(d), user, user, action)
}

type testCollector struct {
	*Collector
	clock *testutil.Clock
	logs  *bytes.Buffer
}

func newTestCollector(t *testing.T, cfg Config) *testCollector {
	t.Helper()
	clock := testutil.NewClock(testNow)
	logs := &bytes.Buffer{}
	cfg.Now = clock.Now
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := NewCollector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return &testCollector{Collector: c, clock: clock, logs: logs}
}

// values gathers the collector and returns "name{l="v",...}" → value.
func values(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	return testutil.Gather(t, c).Flat()
}

func events(action, role string) string {
	return `posit_connect_audit_log_file_events_total{action="` + action + `",actor_role="` + role + `"}`
}

func logins(w string) string { return `posit_connect_audit_log_file_logins{window="` + w + `"}` }

const (
	filesGauge  = "posit_connect_audit_log_file_files"
	parseErrors = "posit_connect_audit_log_file_parse_errors_total"
	skipped     = "posit_connect_audit_log_file_skipped_lines_total"
	duplicates  = "posit_connect_audit_log_file_duplicate_entries_total"
	readSuccess = "posit_connect_audit_log_file_read_success"
	oldestGauge = "posit_connect_audit_log_file_oldest_event_timestamp_seconds"
	newestGauge = "posit_connect_audit_log_file_newest_event_timestamp_seconds"
	bytesRead   = "posit_connect_audit_log_file_read_bytes_total"
)

func secs(d time.Duration) float64 { return float64(testNow.Add(-d).UnixMilli()) / 1e3 }

func TestFourFormatsOneCount(t *testing.T) {
	dir := t.TempDir()
	// Node 1 on the current TEXT format, node 2 on JSON in a journal, and
	// the files the same site wrote before upgrading (legacy CSV and JSON).
	testutil.WriteFile(t, filepath.Join(dir, "node1.audit.log"),
		logfmtEntry(101, 1*day, 7, "publisher", "deploy_application")+
			logfmtEntry(103, 2*day, 8, "viewer", "user_login")+
			logfmtEntry(104, 0, 0, "system", "remove_bundle"))
	testutil.WriteFile(t, filepath.Join(dir, "node2.audit.log"),
		`{"level":"info","msg":"Starting content build","time":"2026-05-31T10:00:00.000Z"}`+"\n"+
			jsonEntry(102, 40*day, 7, "publisher", "user_login")+
			`time="2026-05-31T10:00:00.000Z" level=info msg="Request" type=access`+"\n"+
			jsonEntry(105, 3*day, 9, "administrator", "add_user")+
			jsonEntry(101, 1*day, 7, "publisher", "deploy_application")) // also in node1's file
	testutil.WriteFile(t, filepath.Join(dir, "legacy.audit.log"),
		legacyCSVEntry(10, 400*day, 3, "add_user")+
			legacyCSVEntry(11, 200*day, 3, "user_login")+
			legacyJSONEntry(12, 100*day, 4, "user_login")+
			"not an audit line at all\n"+
			`12,2025-01-01T00:00:00Z,x,y,edit_user,z`+"\n") // malformed: bad user id
	c := newTestCollector(t, Config{Paths: []string{filepath.Join(dir, "*.audit.log")}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{
		events("deploy_application", "publisher"): 1, // read twice, counted once
		events("user_login", "viewer"):            1,
		events("user_login", "publisher"):         1,
		events("remove_bundle", "system"):         1,
		events("add_user", "administrator"):       1,
		events("add_user", ""):                    1,
		events("user_login", ""):                  2,
		events("edit_user", ""):                   -1,
		logins("30d"):                             1, // actor 8
		logins("90d"):                             2, // + actor 7
		logins("365d"):                            4, // + legacy users 3 and 4
		duplicates:                                1,
		skipped:                                   3,
		parseErrors:                               1,
		filesGauge:                                3,
		readSuccess:                               1,
		oldestGauge:                               secs(400 * day),
		newestGauge:                               secs(0),
	})
}

func TestIncrementalTruncationAndReRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rstudio-connect.audit.log")
	full := logfmtEntry(3, day, 1, "viewer", "user_login")
	testutil.WriteFile(t, path, logfmtEntry(1, day, 1, "viewer", "add_user")+logfmtEntry(2, day, 1, "viewer", "add_user")+full[:40])
	c := newTestCollector(t, Config{Paths: []string{path}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{events("add_user", "viewer"): 2, parseErrors: 0})

	testutil.AppendFile(t, path, full[40:])
	c.clock.Advance(DefaultMinInterval)
	testutil.ExpectSeries(t, values(t, c), map[string]float64{events("user_login", "viewer"): 1, logins("30d"): 1, parseErrors: 0})

	// Truncated and written again with the same entries and one more: the
	// re-read entries are duplicates, not new events.
	testutil.WriteFile(t, path, logfmtEntry(1, day, 1, "viewer", "add_user")+logfmtEntry(4, day, 2, "viewer", "add_user"))
	c.clock.Advance(DefaultMinInterval)
	got := values(t, c)
	testutil.ExpectSeries(t, got, map[string]float64{events("add_user", "viewer"): 3, duplicates: 1, parseErrors: 0, readSuccess: 1})
	if got[bytesRead] <= 0 {
		t.Errorf("%s = %v", bytesRead, got[bytesRead])
	}
}

func TestLoginWindows(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	testutil.WriteFile(t, path,
		logfmtEntry(1, 30*day, 1, "viewer", "user_login")+ // exactly 30 days old: in 30d
			logfmtEntry(2, 30*day+time.Millisecond, 2, "viewer", "user_login")+
			logfmtEntry(3, 200*day, 3, "viewer", "user_login")+
			logfmtEntry(4, 5*day, 3, "viewer", "user_login")+ // actor 3's newest login wins
			logfmtEntry(5, -time.Hour, 4, "viewer", "user_login")+ // in the future: every window
			logfmtEntry(6, 1*day, 5, "viewer", "add_user")+ // not a login
			legacyCSVEntry(7, 2*day, 6, "user_login"))
	c := newTestCollector(t, Config{Paths: []string{path}, Windows: []window.Window{window.New(30 * day), window.New(36 * time.Hour)}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{
		logins("30d"):     4, // actors 1, 3, 4, 6
		logins("36h0m0s"): 1, // actor 4
		logins("365d"):    -1,
	})
}

func TestActionAndRoleCaps(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	id := 1
	for i := range maxExtraActions + 10 {
		b.WriteString(logfmtEntry(id, day, 1, "viewer", fmt.Sprintf("custom_%02d", i)))
		id++
	}
	b.WriteString(logfmtEntry(id, day, 1, "viewer", "add_user")) // known: named after the cap
	id++
	fmt.Fprintf(&b, `time=%q action="weird action!" actor_id=1 actor_role=viewer entry_id=%d type=audit`+"\n", at(day), id)
	id++
	for i := range maxExtraRoles + 3 {
		b.WriteString(logfmtEntry(id, day, 1, fmt.Sprintf("role%d", i), "add_user"))
		id++
	}
	testutil.WriteFile(t, filepath.Join(dir, "a.log"), b.String())
	c := newTestCollector(t, Config{Paths: []string{filepath.Join(dir, "a.log")}})
	got := values(t, c)
	testutil.ExpectSeries(t, got, map[string]float64{
		events("custom_00", "viewer"):                                   1,
		events(fmt.Sprintf("custom_%02d", maxExtraActions-1), "viewer"): 1,
		events(fmt.Sprintf("custom_%02d", maxExtraActions), "viewer"):   -1,
		events("other", "viewer"):                                       11,
		events("add_user", "viewer"):                                    1,
		events("add_user", "role0"):                                     1,
		events("add_user", fmt.Sprintf("role%d", maxExtraRoles-1)):      1,
		events("add_user", fmt.Sprintf("role%d", maxExtraRoles)):        -1,
		events("add_user", "other"):                                     3,
		parseErrors:                                                     0,
	})
}

func TestProblemsReported(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	testutil.WriteFile(t, a, logfmtEntry(1, day, 1, "viewer", "add_user"))
	c := newTestCollector(t, Config{Paths: []string{a, dir, filepath.Join(dir, "node2", "*.log")}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{readSuccess: 0, filesGauge: 1, events("add_user", "viewer"): 1})
	logs := c.logs.String()
	for _, want := range []string{
		dir + " is a directory; give a file or a glob such as " + filepath.Join(dir, "*.log*"),
		"no file matches " + filepath.Join(dir, "node2", "*.log"),
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	// Logged once while nothing changes.
	c.clock.Advance(DefaultMinInterval)
	values(t, c)
	if n := strings.Count(c.logs.String(), "give a file or a glob"); n != 1 {
		t.Errorf("directory problem logged %d times, want 1:\n%s", n, c.logs)
	}
}

func TestRetentionWarning(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	testutil.WriteFile(t, path, logfmtEntry(1, 10*day, 1, "viewer", "user_login"))
	c := newTestCollector(t, Config{Paths: []string{path}})
	const msg = "do not reach back as far as the largest window"
	values(t, c)
	c.clock.Advance(DefaultMinInterval)
	testutil.AppendFile(t, path, logfmtEntry(2, day, 1, "viewer", "user_login"))
	values(t, c)
	if n := strings.Count(c.logs.String(), msg); n != 1 {
		t.Fatalf("retention warning logged %d times, want 1:\n%s", n, c.logs)
	}
	c.clock.Advance(DefaultMinInterval)
	testutil.AppendFile(t, path, logfmtEntry(3, 400*day, 1, "viewer", "user_login"))
	values(t, c)
	if n := strings.Count(c.logs.String(), msg); n != 1 {
		t.Fatalf("retention warning logged although the files cover the window:\n%s", c.logs)
	}
}

// Descriptions, names and GUIDs never reach labels or logs, and log keys
// never use "source" (promslog's key for the caller).
func TestNothingPersonalInLabelsOrLogs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	testutil.WriteFile(t, path, logfmtEntry(1, day, 42, "viewer", "user_login")+
		`time="x" action=a actor_description="Secret Person (sperson)" actor_id=1 entry_id=2 type=audit`+"\n")
	c := newTestCollector(t, Config{Paths: []string{path}})
	var exposition bytes.Buffer
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		exposition.WriteString(mf.String())
	}
	for _, s := range []string{"User 42", "u42", "0000-42", "Secret", "sperson"} {
		if strings.Contains(exposition.String(), s) || strings.Contains(c.logs.String(), s) {
			t.Errorf("%q reached the metrics or logs", s)
		}
	}
	if strings.Contains(c.logs.String(), " source=") {
		t.Errorf("a log line uses the key source:\n%s", c.logs)
	}
}

func TestGolden(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteFile(t, filepath.Join(dir, "node1.log"),
		logfmtEntry(1, 1*day, 7, "publisher", "user_login")+
			logfmtEntry(2, 1*day, 7, "publisher", "deploy_application")+
			logfmtEntry(3, 100*day, 0, "system", "remove_bundle")+
			"junk\n")
	testutil.WriteFile(t, filepath.Join(dir, "node2.log"),
		jsonEntry(4, 50*day, 8, "viewer", "user_login")+
			legacyCSVEntry(0, 200*day, 9, "add_user"))
	c := newTestCollector(t, Config{Paths: []string{filepath.Join(dir, "node*")}})
	golden, err := os.ReadFile(filepath.Join("testdata", "golden.prom"))
	if err != nil {
		t.Fatal(err)
	}
	// testNow - 200 days = 2025-11-13T12:00:00Z = 1763035200 s;
	// testNow - 1 day = 2026-05-31T12:00:00Z = 1780228800 s.
	if err := promtestutil.CollectAndCompare(c, bytes.NewReader(golden)); err != nil {
		t.Error(err)
	}
	// The 829 bytes of the golden file are the two files, whole.
	var size int64
	for _, n := range []string{"node1.log", "node2.log"} {
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		size += fi.Size()
	}
	if size != 829 {
		t.Errorf("the files hold %d bytes; the golden file says 829", size)
	}
	problems, err := promtestutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestConstLabels(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	testutil.WriteFile(t, path, logfmtEntry(1, day, 1, "viewer", "add_user"))
	c := newTestCollector(t, Config{Paths: []string{path}, ConstLabels: prometheus.Labels{"server": "prod"}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{
		`posit_connect_audit_log_file_events_total{action="add_user",actor_role="viewer",server="prod"}`: 1,
		`posit_connect_audit_log_file_files{server="prod"}`:                                              1,
	})
}

func TestNewCollectorValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no paths", Config{}, "no path configured"},
		{"empty path", Config{Paths: []string{" "}}, "empty path"},
		{"bad glob", Config{Paths: []string{"/var/log/[audit"}}, `"/var/log/[audit" is not a valid glob`},
		{"zero window", Config{Paths: []string{"x"}, Windows: []window.Window{{Label: "0d"}}}, "not positive"},
		{"unlabelled window", Config{Paths: []string{"x"}, Windows: []window.Window{{Duration: day}}}, "no label"},
		{"duplicate window", Config{Paths: []string{"x"}, Windows: []window.Window{window.New(30 * day), window.New(720 * time.Hour)}}, "30d given twice"},
		{"negative interval", Config{Paths: []string{"x"}, MinInterval: -time.Second}, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewCollector(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewCollector() error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestConcurrentScrapesReadOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	testutil.WriteFile(t, path, logfmtEntry(1, day, 1, "viewer", "add_user"))
	c := newTestCollector(t, Config{Paths: []string{path}})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if i%2 == 0 {
				c.clock.Advance(DefaultMinInterval)
			}
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	testutil.ExpectSeries(t, values(t, c), map[string]float64{events("add_user", "viewer"): 1, duplicates: 0})
}

func TestRefreshBeforeTheFirstScrape(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	testutil.WriteFile(t, path, logfmtEntry(1, day, 1, "viewer", "add_user"))
	c := newTestCollector(t, Config{Paths: []string{path}})
	if c.Ready() {
		t.Fatal("ready before any read")
	}
	c.Refresh()
	if !c.Ready() {
		t.Fatal("not ready after Refresh")
	}
	// The scrape within MinInterval serves what Refresh read, without
	// reading again.
	testutil.AppendFile(t, path, logfmtEntry(2, day, 1, "viewer", "add_user"))
	testutil.ExpectSeries(t, values(t, c), map[string]float64{events("add_user", "viewer"): 1})
	c.clock.Advance(DefaultMinInterval)
	testutil.ExpectSeries(t, values(t, c), map[string]float64{events("add_user", "viewer"): 2})
}
