// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package workbench

import (
	"bytes"
	"compress/gzip"
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
)

const day = 24 * time.Hour

// testNow is the fake "now" every test starts at.
var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// ago returns the epoch milliseconds of testNow minus d.
func ago(d time.Duration) int64 { return testNow.Add(-d).UnixMilli() }

func csvLine(pid int, user string, ts int64, typ string) string {
	return fmt.Sprintf("%d, %s, %d, %s, \n", pid, user, ts, typ)
}

func jsonLine(pid int, user string, ts int64, typ string) string {
	return fmt.Sprintf(`{"pid":%d,"username":%q,"timestamp":%d,"type":%q,"data":""}`+"\n", pid, user, ts, typ)
}

const csvHeader = "pid, username, timestamp, type, data\n"

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

func named(w string) string { return `posit_workbench_named_users{window="` + w + `"}` }
func events(typ string) string {
	return `posit_workbench_audit_events_total{type="` + typ + `"}`
}

const (
	parseErrors = "posit_workbench_audit_log_parse_errors_total"
	filesGauge  = "posit_workbench_audit_log_files"
	readSuccess = "posit_workbench_audit_log_read_success"
	oldestGauge = "posit_workbench_audit_log_oldest_event_timestamp_seconds"
)

func TestNodesUnionedAcrossFormats(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteFile(t, filepath.Join(dir, "node1-r-sessions.csv"), csvHeader+
		csvLine(100, "alice", ago(1*day), "auth_login")+
		csvLine(101, "alice", ago(1*day), "session_start")+
		csvLine(102, "bob", ago(40*day), "session_start")+
		csvLine(102, "bob", ago(40*day), "session_exit"))
	testutil.WriteFile(t, filepath.Join(dir, "node2-r-sessions.jsonl"),
		jsonLine(200, "alice", ago(2*day), "session_start")+
			jsonLine(201, "carol", ago(100*day), "auth_login")+
			jsonLine(202, "dave", ago(400*day), "session_start")+
			jsonLine(203, "erin", ago(1*day), "auth_login_failed"))
	c := newTestCollector(t, Config{Paths: []string{filepath.Join(dir, "node1-*.csv"), filepath.Join(dir, "node2-*")}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{
		named("30d"):                         1, // alice (on both nodes, counted once)
		named("90d"):                         2, // + bob
		named("365d"):                        3, // + carol; dave is older; erin only failed to log in
		events("session_start"):              4,
		events("auth_login"):                 2,
		events("auth_login_failed"):          1,
		events("session_exit"):               1,
		events("other"):                      0,
		parseErrors:                          0,
		filesGauge:                           2,
		readSuccess:                          1,
		oldestGauge:                          float64(ago(400*day)) / 1e3,
		"posit_workbench_license_user_seats": -1,
	})
}

func TestWindowEdges(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r-sessions.csv")
	testutil.WriteFile(t, path, csvHeader+
		csvLine(1, "exactly30d", ago(30*day), "session_start")+
		csvLine(2, "justOver30d", ago(30*day)-1, "session_start")+
		csvLine(3, "exactly365d", ago(365*day), "auth_login")+
		csvLine(4, "justOver365d", ago(365*day)-1, "auth_login")+
		csvLine(5, "future", ago(-time.Hour), "session_start"))
	c := newTestCollector(t, Config{Paths: []string{path}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{
		named("30d"):  2, // exactly30d, future
		named("90d"):  3, // + justOver30d
		named("365d"): 4, // + exactly365d
	})
}

func TestLastSeenIsTheNewestEvent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r-sessions.csv")
	// Out of order (two nodes' lines merged): the newest start wins.
	testutil.WriteFile(t, path, csvLine(1, "alice", ago(10*day), "session_start")+
		csvLine(1, "alice", ago(200*day), "session_start")+
		csvLine(1, "bob", ago(200*day), "session_start"))
	c := newTestCollector(t, Config{Paths: []string{path}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{named("30d"): 1, named("365d"): 2})
}

func TestPIDReuse(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r-sessions.csv")
	// pid 777 serves alice, then bob; exits carry no meaning for the count.
	testutil.WriteFile(t, path, csvHeader+
		csvLine(777, "alice", ago(50*day), "session_start")+
		csvLine(777, "alice", ago(50*day)+1000, "session_exit")+
		csvLine(777, "bob", ago(5*day), "session_start")+
		csvLine(777, "alice", ago(1*day), "session_exit"))
	c := newTestCollector(t, Config{Paths: []string{path}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{
		named("30d"):           1, // bob only: alice's later exit on a reused pid is not a start
		named("90d"):           2,
		events("session_exit"): 2,
	})
}

func TestIncrementalReadsAndPartialLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r-sessions.csv")
	full := csvLine(2, "bob", ago(1*day), "session_start")
	testutil.WriteFile(t, path, csvHeader+csvLine(1, "alice", ago(1*day), "session_start")+full[:9])
	c := newTestCollector(t, Config{Paths: []string{path}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{named("30d"): 1, parseErrors: 0, events("session_start"): 1})

	// Completed, but the next scrape comes before MinInterval: not read yet.
	testutil.AppendFile(t, path, full[9:])
	testutil.ExpectSeries(t, values(t, c), map[string]float64{named("30d"): 1, events("session_start"): 1})

	c.clock.Advance(DefaultMinInterval)
	testutil.ExpectSeries(t, values(t, c), map[string]float64{named("30d"): 2, parseErrors: 0, events("session_start"): 2})

	// Only appended bytes are read: counters do not double.
	c.clock.Advance(DefaultMinInterval)
	testutil.AppendFile(t, path, csvLine(3, "carol", ago(1*day), "auth_login"))
	testutil.ExpectSeries(t, values(t, c), map[string]float64{
		named("30d"): 3, events("session_start"): 2, events("auth_login"): 1,
		"posit_workbench_audit_log_read_bytes_total": float64(fileSize(t, path)),
	})
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestRotation(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pattern string // relative to the temp dir
		files   float64
	}{
		{"rotated name still matches", "r-sessions.csv*", 2},
		{"rotated name no longer matches", "r-sessions.csv", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "r-sessions.csv")
			testutil.WriteFile(t, path, csvHeader+csvLine(1, "alice", ago(1*day), "session_start"))
			c := newTestCollector(t, Config{Paths: []string{filepath.Join(dir, tc.pattern)}})
			testutil.ExpectSeries(t, values(t, c), map[string]float64{named("30d"): 1, events("session_start"): 1})

			// Rotate: rename, the writer still appends to its open file,
			// then a new file appears at the old name.
			if err := os.Rename(path, path+".1"); err != nil {
				t.Fatal(err)
			}
			testutil.AppendFile(t, path+".1", csvLine(2, "bob", ago(1*day), "session_start"))
			testutil.WriteFile(t, path, csvHeader+csvLine(3, "carol", ago(1*day), "session_start"))
			c.clock.Advance(DefaultMinInterval)
			testutil.ExpectSeries(t, values(t, c), map[string]float64{
				named("30d"): 3, events("session_start"): 3, filesGauge: tc.files, readSuccess: 1, parseErrors: 0,
			})

			// Nothing new: counts stay; an unmatched old file is closed.
			c.clock.Advance(DefaultMinInterval)
			testutil.ExpectSeries(t, values(t, c), map[string]float64{named("30d"): 3, events("session_start"): 3})
			if got := c.tail.Tracked(); got != int(tc.files) {
				t.Errorf("%d files open, want %v", got, tc.files)
			}
		})
	}
}

func TestDeletedFileIsDrainedAndClosed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r-sessions.csv")
	testutil.WriteFile(t, path, csvLine(1, "alice", ago(1*day), "session_start"))
	c := newTestCollector(t, Config{Paths: []string{path}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{named("30d"): 1})
	// Appended and then deleted before the next read; its last line has no
	// newline and is parsed when the file is closed.
	testutil.AppendFile(t, path, strings.TrimSuffix(csvLine(2, "bob", ago(1*day), "session_start"), "\n"))
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	c.clock.Advance(DefaultMinInterval)
	testutil.ExpectSeries(t, values(t, c), map[string]float64{named("30d"): 1, filesGauge: 0, readSuccess: 0})
	c.clock.Advance(DefaultMinInterval)
	testutil.ExpectSeries(t, values(t, c), map[string]float64{named("30d"): 2, parseErrors: 0})
	if got := c.tail.Tracked(); got != 0 {
		t.Errorf("%d files open, want 0", got)
	}
}

func TestTruncation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r-sessions.csv")
	testutil.WriteFile(t, path, csvHeader+
		csvLine(1, "alice", ago(1*day), "session_start")+
		csvLine(2, "bob", ago(1*day), "session_start"))
	c := newTestCollector(t, Config{Paths: []string{path}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{named("30d"): 2, events("session_start"): 2})

	// copytruncate: same file, shorter content.
	testutil.WriteFile(t, path, csvLine(3, "carol", ago(1*day), "auth_login"))
	c.clock.Advance(DefaultMinInterval)
	testutil.ExpectSeries(t, values(t, c), map[string]float64{
		named("30d"): 3, events("session_start"): 2, events("auth_login"): 1, parseErrors: 0, filesGauge: 1,
	})
	if !strings.Contains(c.logs.String(), "truncated") {
		t.Errorf("truncation not logged; logs:\n%s", c.logs)
	}
}

func TestMalformedLinesAndUnknownTypes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r-sessions.csv")
	testutil.WriteFile(t, path, csvHeader+
		"garbage\n"+
		"1, alice, yesterday, session_start, \n"+
		`{"pid":1,"username":"x"`+"\n"+
		"\n"+
		csvLine(1, "alice", ago(1*day), "session_file_upload")+
		csvLine(1, "alice", ago(1*day), "weird type!")+
		csvHeader+
		csvLine(2, "bob", ago(1*day), "session_start")+
		strings.Repeat("x", maxLineBytes+10)+"\n"+
		csvLine(3, "carol", ago(1*day), "auth_login"))
	c := newTestCollector(t, Config{Paths: []string{path}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{
		parseErrors:                   4,
		events("session_file_upload"): 1,
		events("other"):               1,
		events("session_start"):       1,
		events("auth_login"):          1,
		named("30d"):                  2, // bob and carol; alice had no start or login
		readSuccess:                   1,
	})
	if !strings.Contains(c.logs.String(), "Skipped malformed Workbench audit log lines") {
		t.Errorf("malformed lines not logged; logs:\n%s", c.logs)
	}
	if strings.Contains(c.logs.String(), "alice") {
		t.Errorf("a username reached the logs:\n%s", c.logs)
	}
}

func TestOverlongPartialLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r-sessions.csv")
	testutil.WriteFile(t, path, strings.Repeat("y", maxLineBytes-5))
	c := newTestCollector(t, Config{Paths: []string{path}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{parseErrors: 0})
	testutil.AppendFile(t, path, strings.Repeat("y", 10))
	c.clock.Advance(DefaultMinInterval)
	testutil.ExpectSeries(t, values(t, c), map[string]float64{parseErrors: 1})
	testutil.AppendFile(t, path, strings.Repeat("y", 10)+"\n"+csvLine(1, "alice", ago(1*day), "session_start"))
	c.clock.Advance(DefaultMinInterval)
	testutil.ExpectSeries(t, values(t, c), map[string]float64{parseErrors: 1, named("30d"): 1})
}

func TestTypeCap(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r-sessions.csv")
	var b strings.Builder
	for i := range 60 {
		b.WriteString(csvLine(1, "alice", ago(1*day), fmt.Sprintf("custom_%02d", i)))
	}
	testutil.WriteFile(t, path, b.String())
	c := newTestCollector(t, Config{Paths: []string{path}})
	got := values(t, c)
	n := 0
	for k := range got {
		if strings.HasPrefix(k, "posit_workbench_audit_events_total{") {
			n++
		}
	}
	custom := maxTypes - len(knownTypes)
	if want := maxTypes + 1; n != want {
		t.Errorf("%d type series, want %d", n, want)
	}
	testutil.ExpectSeries(t, got, map[string]float64{
		events("custom_00"):                          1,
		events(fmt.Sprintf("custom_%02d", custom-1)): 1,
		events(fmt.Sprintf("custom_%02d", custom)):   -1,
		events("other"):                              float64(60 - custom),
	})
}

func TestReadSuccess(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.csv")
	testutil.WriteFile(t, a, csvLine(1, "alice", ago(1*day), "session_start"))
	c := newTestCollector(t, Config{Paths: []string{a, filepath.Join(dir, "node2", "*.csv")}})
	// One path matches nothing: counts still come from the other, but the
	// read is not a success.
	testutil.ExpectSeries(t, values(t, c), map[string]float64{readSuccess: 0, filesGauge: 1, named("30d"): 1})
	if !strings.Contains(c.logs.String(), "No Workbench audit log file matches") {
		t.Errorf("unmatched path not logged; logs:\n%s", c.logs)
	}
	if err := os.Mkdir(filepath.Join(dir, "node2"), 0o700); err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, filepath.Join(dir, "node2", "r-sessions.csv"), csvLine(1, "bob", ago(1*day), "session_start"))
	c.clock.Advance(DefaultMinInterval)
	testutil.ExpectSeries(t, values(t, c), map[string]float64{readSuccess: 1, filesGauge: 2, named("30d"): 2})
}

func TestDirectoryIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	c := newTestCollector(t, Config{Paths: []string{dir}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{readSuccess: 0, filesGauge: 0, named("30d"): 0, oldestGauge: -1})
}

func TestRetentionWarning(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r-sessions.csv")
	testutil.WriteFile(t, path, csvLine(1, "alice", ago(10*day), "session_start"))
	c := newTestCollector(t, Config{Paths: []string{path}})
	const msg = "retention is shorter than the window"
	values(t, c)
	if n := strings.Count(c.logs.String(), msg); n != 1 {
		t.Fatalf("retention warning logged %d times, want 1; logs:\n%s", n, c.logs)
	}
	c.clock.Advance(DefaultMinInterval)
	testutil.AppendFile(t, path, csvLine(1, "bob", ago(1*day), "session_start"))
	values(t, c)
	if n := strings.Count(c.logs.String(), msg); n != 1 {
		t.Fatalf("retention warning repeated without change: %d; logs:\n%s", n, c.logs)
	}
	// An older event moves the oldest timestamp: warn again with it.
	c.clock.Advance(DefaultMinInterval)
	testutil.AppendFile(t, path, csvLine(1, "carol", ago(100*day), "session_start"))
	values(t, c)
	if n := strings.Count(c.logs.String(), msg); n != 2 {
		t.Fatalf("retention warning logged %d times after a change, want 2; logs:\n%s", n, c.logs)
	}
	// Once the log reaches back past the largest window, no more warnings.
	c.clock.Advance(DefaultMinInterval)
	testutil.AppendFile(t, path, csvLine(1, "dave", ago(400*day), "session_start"))
	values(t, c)
	if n := strings.Count(c.logs.String(), msg); n != 2 {
		t.Fatalf("retention warning logged although the log covers the window; logs:\n%s", c.logs)
	}
}

func TestGolden(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteFile(t, filepath.Join(dir, "node1.csv"), csvHeader+
		csvLine(10, "alice", ago(1*day), "auth_login")+
		csvLine(11, "alice", ago(1*day), "session_start")+
		csvLine(11, "alice", ago(1*day)+60_000, "session_quit")+
		csvLine(12, "bob", ago(60*day), "session_start")+
		"not a line\n")
	testutil.WriteFile(t, filepath.Join(dir, "node2.jsonl"),
		jsonLine(20, "carol", ago(200*day), "auth_login")+
			jsonLine(21, "alice", ago(3*day), "session_file_upload"))
	c := newTestCollector(t, Config{
		Paths:   []string{filepath.Join(dir, "node*")},
		Windows: []time.Duration{30 * day, 90 * day, 365 * day},
		Seats:   25,
	})
	golden, err := os.ReadFile(filepath.Join("testdata", "golden.prom"))
	if err != nil {
		t.Fatal(err)
	}
	// ago(200 days) = 2025-11-13T12:00:00Z = 1763035200 s.
	if err := promtestutil.CollectAndCompare(c, bytes.NewReader(golden)); err != nil {
		t.Error(err)
	}
	problems, err := promtestutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestNewCollectorValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no paths", Config{}, "no audit log path"},
		{"empty path", Config{Paths: []string{" "}}, "empty audit log path"},
		{"bad glob", Config{Paths: []string{"/var/lib/[audit"}}, `"/var/lib/[audit" is not a valid glob`},
		{"zero window", Config{Paths: []string{"x"}, Windows: []time.Duration{0}}, "not positive"},
		{"duplicate window", Config{Paths: []string{"x"}, Windows: []time.Duration{30 * day, 720 * time.Hour}}, "30d given twice"},
		{"negative seats", Config{Paths: []string{"x"}, Seats: -1}, "negative"},
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

func TestConcurrentScrapes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r-sessions.csv")
	testutil.WriteFile(t, path, csvLine(1, "alice", ago(1*day), "session_start"))
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
	testutil.ExpectSeries(t, values(t, c), map[string]float64{named("30d"): 1, events("session_start"): 1})
}

func TestClockSteppedBack(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r-sessions.csv")
	testutil.WriteFile(t, path, csvLine(1, "alice", ago(1*day), "session_start"))
	c := newTestCollector(t, Config{Paths: []string{path}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{named("30d"): 1})
	c.clock.Advance(-time.Hour)
	testutil.AppendFile(t, path, csvLine(2, "bob", ago(1*day), "session_start"))
	testutil.ExpectSeries(t, values(t, c), map[string]float64{named("30d"): 2})
}

func TestSameFileMatchedTwice(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r-sessions.csv")
	testutil.WriteFile(t, path, csvLine(1, "alice", ago(1*day), "session_start"))
	if err := os.Symlink(path, filepath.Join(dir, "link.csv")); err != nil {
		t.Fatal(err)
	}
	c := newTestCollector(t, Config{Paths: []string{path, filepath.Join(dir, "*.csv")}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{
		filesGauge: 1, readSuccess: 1, named("30d"): 1, events("session_start"): 1,
	})
}

// Issue 12, item 8: with the README's glob r-sessions.*, copytruncate
// rotation must not count the rotated copy again (210 instead of 110), and
// a compressed rotation must not be parsed as text.
func TestCopytruncateAndCompressedRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r-sessions.csv")
	var b strings.Builder
	b.WriteString(csvHeader)
	for i := range 110 {
		b.WriteString(csvLine(1000+i, fmt.Sprintf("user%03d", i), ago(1*day)+int64(i), "session_start"))
	}
	testutil.WriteFile(t, path, b.String())
	c := newTestCollector(t, Config{Paths: []string{filepath.Join(dir, "r-sessions.*")}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{events("session_start"): 110})

	// logrotate copytruncate: copy to r-sessions.csv.1, truncate, and
	// Workbench goes on writing to the truncated file.
	testutil.WriteFile(t, path+".1", b.String())
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	testutil.AppendFile(t, path, csvHeader+csvLine(2000, "new", ago(1*day), "session_start"))
	c.clock.Advance(DefaultMinInterval)
	testutil.ExpectSeries(t, values(t, c), map[string]float64{
		events("session_start"): 111, named("30d"): 111, filesGauge: 2, parseErrors: 0, readSuccess: 1,
	})

	// The next cycle compresses the copy (delaycompress): r-sessions.csv.2.gz
	// appears; its bytes are never read as lines.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".2.gz", gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path + ".1"); err != nil {
		t.Fatal(err)
	}
	c.clock.Advance(DefaultMinInterval)
	testutil.ExpectSeries(t, values(t, c), map[string]float64{
		events("session_start"): 111, parseErrors: 0, filesGauge: 1, readSuccess: 1,
	})
	if !strings.Contains(c.logs.String(), "Skipping compressed files") {
		t.Errorf("compressed file not logged:\n%s", c.logs)
	}
}

func TestDirectoryPathNamed(t *testing.T) {
	dir := t.TempDir()
	c := newTestCollector(t, Config{Paths: []string{dir}})
	testutil.ExpectSeries(t, values(t, c), map[string]float64{readSuccess: 0})
	want := dir + " is a directory; give a file or a glob such as " + filepath.Join(dir, "r-sessions.*")
	if !strings.Contains(c.logs.String(), want) {
		t.Errorf("logs lack %q:\n%s", want, c.logs)
	}
	if strings.Contains(c.logs.String(), "No Workbench audit log file matches") {
		t.Errorf("a directory reported as matching no file:\n%s", c.logs)
	}
}
