// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package backfill

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

// e2eEnv names the exporter binary the end-to-end test runs; without it
// the test does not run (scripts/test.d/25-backfill.sh sets it).
const e2eEnv = "BACKFILL_E2E_EXPORTER"

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs a process until the test ends, its output in a log file.
func start(t *testing.T, dir, name string, args ...string) *exec.Cmd {
	t.Helper()
	log, err := os.Create(filepath.Join(dir, filepath.Base(name)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		log.Close()
		if t.Failed() {
			out, _ := os.ReadFile(log.Name())
			t.Logf("%s:\n%s", name, out)
		}
	})
	return cmd
}

// eventually retries check every 200ms until it returns nil, for at most
// d; the last error fails the test.
func eventually(t *testing.T, d time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s (after %s): %v", what, d, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// promQuery evaluates expr at when and returns the values by the given
// label.
func promQuery(base, expr string, when time.Time, by string) (map[string]float64, error) {
	q := url.Values{"query": {expr}, "time": {strconv.FormatInt(when.Unix(), 10)}}
	resp, err := http.Get(base + "/api/v1/query?" + q.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s: %s", expr, body.Error)
	}
	out := map[string]float64{}
	for _, r := range body.Data.Result {
		v, err := strconv.ParseFloat(r.Value[1].(string), 64)
		if err != nil {
			return nil, err
		}
		out[r.Metric[by]] = v
	}
	return out, nil
}

// same compares counters exactly (durations to within rounding), absent
// and 0 alike.
func same(name string, got, want map[string]float64) error {
	var diffs []string
	for k, w := range want {
		if g := got[k]; g != w && !(strings.Contains(name, "duration") && math.Abs(g-w) <= 1e-6*math.Max(1, w)) {
			diffs = append(diffs, fmt.Sprintf("%s{%s} = %v, want %v", name, k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok && g != 0 {
			diffs = append(diffs, fmt.Sprintf("%s{%s} = %v, want 0", name, k, g))
		}
	}
	if len(want) == 0 {
		diffs = append(diffs, name+": no truth to compare with")
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%d differences: %s", len(diffs), strings.Join(diffs[:min(len(diffs), 5)], "; "))
	}
	return nil
}

// byLabel is the label each counter family is keyed by.
var byLabel = map[string]string{mStarted: "content_guid", mEnded: "content_guid", mDuration: "content_guid", mVisits: "content_guid", mAudit: "action"}

// TestEndToEndWithPrometheus is the backfill as the README runs it: the
// exporter's backfill command over a simulated Connect with 30 days of
// history, promtool's blocks, a real Prometheus on them; then the exporter
// started with the state file, live activity, and Prometheus scraping it.
// The history at its last sample and over its last 7 days, and the live
// counters after it, equal the simulator's truth per series.
func TestEndToEndWithPrometheus(t *testing.T) {
	exporter := os.Getenv(e2eEnv)
	if exporter == "" {
		t.Skip(e2eEnv + " is not set: scripts/test.d/25-backfill.sh runs this test")
	}
	for _, tool := range []string{"promtool", "prometheus"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed: %v", tool, err)
		}
	}
	dir := t.TempDir()
	sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: 11, Users: 400, Content: 80, History: 40 * 24 * time.Hour,
		ShinySessions: 30_000, Visits: 60_000, AuditEntries: 10_000}))
	client, err := connectapi.NewClient(sim.URL(), connectapi.WithAPIKey(connectapi.StaticKey(connecttest.DefaultAPIKey)))
	if err != nil {
		t.Fatal(err)
	}
	key, out, state := filepath.Join(dir, "key"), filepath.Join(dir, "history.om"), filepath.Join(dir, "state.json")
	if err := os.WriteFile(key, []byte(connecttest.DefaultAPIKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conn := []string{"--connect.url=" + sim.URL(), "--connect.api-key-file=" + key}

	// 1. The backfill command.
	t0 := time.Now()
	cmd := exec.Command(exporter, append([]string{"backfill", "--since=30d", "--step=1h", "--output=" + out, "--state.file=" + state,
		"--label=job=posit_connect", "--label=instance=sim"}, conn...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("backfill: %v\n%s", err, b)
	}
	all, _ := readOpenMetrics(t, out)
	var last int64
	for _, s := range all {
		last = s.ts[len(s.ts)-1]
		break
	}
	end := time.Unix(last, 0)
	first := end.Add(-30 * 24 * time.Hour)
	t.Logf("backfill: %d series to %s in %s", len(all), end.UTC().Format(time.RFC3339), time.Since(t0).Round(time.Millisecond))
	log := auditLog(t, client)
	history, week := simTruth(t, sim, log, first), simTruth(t, sim, log, end.Add(-7*24*time.Hour))

	// 2. Prometheus (scraping the exporter to come), 3. the blocks, moved
	// into its data directory while it runs: it loads them within a minute.
	exporterPort, promPort := freePort(t), freePort(t)
	promCfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(promCfg, fmt.Appendf(nil, `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: posit_connect
    static_configs:
      - targets: ["127.0.0.1:%d"]
        labels: {instance: sim}
`, exporterPort), 0o600); err != nil {
		t.Fatal(err)
	}
	data, blocks := filepath.Join(dir, "data"), filepath.Join(dir, "blocks")
	start(t, dir, "prometheus", "--config.file="+promCfg, "--storage.tsdb.path="+data, "--storage.tsdb.retention.time=400d",
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(promPort), "--log.level=warn")
	prom := "http://127.0.0.1:" + strconv.Itoa(promPort)
	eventually(t, 30*time.Second, "Prometheus ready", func() error {
		resp, err := http.Get(prom + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s", resp.Status)
		}
		return nil
	})
	if b, err := exec.Command("promtool", "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=486h", out, blocks).CombinedOutput(); err != nil {
		t.Fatalf("promtool: %v\n%s", err, b)
	}
	entries, err := os.ReadDir(blocks)
	if err != nil || len(entries) == 0 {
		t.Fatalf("promtool made no blocks: %v", err)
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(blocks, e.Name()), filepath.Join(data, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	moved := time.Now()
	sel := `{job="posit_connect",instance="sim"}`
	eventually(t, 90*time.Second, "Prometheus loads the blocks moved into its data directory", func() error {
		got, err := promQuery(prom, "count("+mStarted+sel+")", end, "")
		if err == nil && got[""] == 0 {
			err = fmt.Errorf("no history yet")
		}
		return err
	})
	t.Logf("%d blocks loaded %s after they were moved in", len(entries), time.Since(moved).Round(time.Second))
	for name, want := range history {
		got, err := promQuery(prom, name+sel, end, byLabel[name])
		if err == nil {
			err = same(name, got, want)
		}
		if err != nil {
			t.Errorf("history at its last sample: %v", err)
		}
	}
	for _, name := range []string{mStarted, mVisits, mAudit} {
		got, err := promQuery(prom, name+sel+" - "+name+sel+" offset 7d", end, byLabel[name])
		if err == nil {
			err = same(name, got, week[name])
		}
		if err != nil {
			t.Errorf("x - x offset 7d at the last sample: %v", err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// 4. The exporter with the state file, while Connect lives on.
	start(t, dir, exporter, append([]string{"--state.file=" + state, "--web.listen-address=127.0.0.1:" + strconv.Itoa(exporterPort),
		"--collector.usage.interval=1s"}, conn...)...)
	// Each step records 3 minutes' worth of activity dated up to 3 minutes
	// back, as a Connect that writes records late: within the overlap, so
	// the exporter counts each once, including those dated before the
	// backfill's end.
	for range 20 {
		sim.Step(3 * time.Minute)
		time.Sleep(300 * time.Millisecond)
	}
	live := simTruth(t, sim, log, first)
	added := func(name string) (n float64) {
		for k, v := range live[name] {
			n += v - history[name][k]
		}
		return n
	}
	t.Logf("live: %.0f sessions started, %.0f ended, %.0f visits, %.0f audit entries", added(mStarted), added(mEnded), added(mVisits), added(mAudit))
	if added(mStarted) == 0 || added(mVisits) == 0 || added(mAudit) == 0 {
		t.Fatal("too little live activity to mean much")
	}
	metrics := "http://127.0.0.1:" + strconv.Itoa(exporterPort) + "/metrics"
	eventually(t, 30*time.Second, "the exporter's counters equal history plus live", func() error {
		resp, err := http.Get(metrics)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var body bytes.Buffer
		if _, err := body.ReadFrom(resp.Body); err != nil {
			return err
		}
		mfs := testutil.ParseText(t, body.Bytes())
		for name, want := range live {
			got := map[string]float64{}
			for _, m := range mfs[name].GetMetric() {
				got[m.GetLabel()[0].GetValue()] = testutil.SampleValue(m)
			}
			if err := same(name, got, want); err != nil {
				return err
			}
		}
		if v, _ := mfs.Value("posit_connect_usage_rebaselines_total"); v != 0 {
			return fmt.Errorf("rebaselines %v", v)
		}
		return nil
	})
	// Prometheus has the join: the latest samples are history plus live,
	// and no counter went down anywhere since the first backfilled sample.
	eventually(t, 30*time.Second, "Prometheus' latest samples equal history plus live", func() error {
		for name, want := range live {
			got, err := promQuery(prom, name+sel, time.Now(), byLabel[name])
			if err == nil {
				err = same(name, got, want)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	for name := range live {
		window := time.Since(first).Truncate(time.Second) + time.Minute
		resets, err := promQuery(prom, fmt.Sprintf("resets(%s%s[%ds])", name, sel, int(window.Seconds())), time.Now(), byLabel[name])
		if err != nil {
			t.Fatal(err)
		}
		for k, n := range resets {
			if n != 0 {
				t.Errorf("%s{%s} was reset %v times between the history and now", name, k, n)
			}
		}
		if len(resets) == 0 {
			t.Errorf("%s: no series over the whole range", name)
		}
	}
	// The history is there before the join and the live samples after it.
	got, err := promQuery(prom, "count(count_over_time("+mStarted+sel+"[31d]))", time.Now(), "")
	if err != nil || got[""] == 0 {
		t.Errorf("no series over 31 days: %v %v", got, err)
	}
}
