// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// backfill scrapes the exporter once and writes synthetic history for the
// series it exposes (the same names and labels, plus job and instance) in
// OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`.
// Only series the live exporter exposes get history, so a panel can never
// show data that only the backfill invented.
func backfill(args []string) error {
	fs := flag.NewFlagSet("backfill", flag.ExitOnError)
	exporter := fs.String("exporter", "", "exporter /metrics URL")
	job := fs.String("job", "", "job label")
	instance := fs.String("instance", "", "instance label (host:port as Prometheus scrapes it)")
	days := fs.Float64("days", 14, "history of the gauges time series panels and rules read over time, days")
	usageDays := fs.Float64("usage-days", 3, "history of counters, days (0: none)")
	counters := fs.String("counters", ".*", "regex: the counter families that get history")
	step := fs.Duration("step", time.Minute, "sample spacing")
	growth := fs.Float64("growth", 0, "named and active users grew by this fraction over the history (0.25: from 75 % to today's value)")
	endUnix := fs.Int64("end", 0, "last sample, Unix seconds (default now - step)")
	continues := fs.String("continue", "", "regex: counter families that count everything there is (not from the exporter's start), whose history ends at the scraped value")
	withHistograms := fs.Bool("histograms", false, "also give history to histograms (_bucket, _sum and _count series: many series, so only where a panel shows them)")
	ruleHistory := fs.Bool("rule-history", true, "also write the history of the recording rule the seat forecast alert reads (once per job: false for all but one instance of a job)")
	out := fs.String("out", "", "output file")
	_ = fs.Parse(args)
	if *exporter == "" || *job == "" || *instance == "" || *out == "" {
		return errors.New("-exporter, -job, -instance and -out are required")
	}
	counterRE, err := regexp.Compile("^(?:" + *counters + ")$")
	if err != nil {
		return err
	}
	scraped, err := scrape(*exporter)
	if err != nil {
		return err
	}
	end := time.Now().Add(-*step).Truncate(time.Second)
	if *endUnix != 0 {
		end = time.Unix(*endUnix, 0)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	g := &gen{w: w, end: end, step: *step, growth: *growth}
	if *continues != "" {
		if g.continues, err = regexp.Compile("^(?:" + *continues + ")$"); err != nil {
			return err
		}
	}

	extra := labelSet{{"job", *job}, {"instance", *instance}}
	families := map[string][]sample{}
	var names []string
	histograms := map[string]bool{} // base names
	for _, s := range scraped {
		if base, ok := strings.CutSuffix(s.name, "_bucket"); ok {
			histograms[base] = true
		}
	}
	for _, s := range scraped {
		if !wanted(s.name) {
			continue
		}
		if _, ok := families[s.name]; !ok {
			names = append(names, s.name)
		}
		s.labels = append(s.labels, extra...)
		families[s.name] = append(families[s.name], s)
	}
	families["up"] = []sample{{name: "up", labels: extra, value: 1}}
	names = append(names, "up")
	sort.Strings(names)

	var named float64
	for _, name := range names {
		d := *days
		counter, family := strings.HasSuffix(name, "_total"), name
		if base := histogramBase(name); base != "" && histograms[base] {
			if !*withHistograms {
				continue
			}
			counter, family = true, base
		}
		switch {
		case counter && counterRE.MatchString(family):
			d = *usageDays
		case counter:
			continue
		case !trendFamilies[name]:
			continue
		}
		if d <= 0 {
			continue
		}
		start := end.Add(-time.Duration(d * 24 * float64(time.Hour)))
		if err := g.family(name, families[name], start); err != nil {
			return err
		}
		if name == "posit_connect_license_named_users" {
			named = families[name][0].value
		}
	}
	// History of the recording rule the forecast alert reads (examples/alerts.yml).
	if named > 0 && *ruleHistory {
		start := end.Add(-time.Duration(*days * 24 * float64(time.Hour)))
		rec := sample{name: "job:posit_connect_license_named_users:max", labels: labelSet{{"job", *job}}, value: named}
		if err := g.family(rec.name, []sample{rec}, start); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(w, "# EOF\n"); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "backfill: %s: %d samples in %d families\n", *job, g.samples, g.families)
	return f.Close()
}

func wanted(name string) bool {
	return strings.HasPrefix(name, "posit_connect_") || strings.HasPrefix(name, "posit_workbench_")
}

// histogramBase returns the histogram name of a _bucket, _sum or _count
// series name, else "".
func histogramBase(name string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			return base
		}
	}
	return ""
}

// trendFamilies are the gauges that a time series panel or a rule reads over
// time; the other gauges are only read at "now" and get no history (the live
// scrape has them). Counters (usage) get history of their own length.
var trendFamilies = map[string]bool{
	"up":                                true,
	"posit_connect_up":                  true,
	"posit_connect_license_named_users": true,
	"posit_connect_license_user_seats":  true,
	"posit_connect_users_active":        true,
	"posit_connect_scrape_collector_duration_seconds": true,
	"posit_connect_cache_age_seconds":                 true,
	"posit_connect_named_users_union":                 true,
	"posit_connect_named_users_union_overlap":         true,
	"posit_workbench_named_users":                     true,
	"posit_workbench_license_user_seats":              true,
}

// growing are the gauges that -growth makes grow towards their scraped value.
var growing = map[string]bool{
	"posit_connect_license_named_users":         true,
	"posit_connect_users_active":                true,
	"job:posit_connect_license_named_users:max": true,
	"posit_connect_named_users_union":           true,
	"posit_connect_named_users_union_overlap":   true,
	"posit_workbench_named_users":               true,
}

type label struct{ k, v string }
type labelSet []label

func (ls labelSet) get(k string) string {
	for _, l := range ls {
		if l.k == k {
			return l.v
		}
	}
	return ""
}

func (ls labelSet) String() string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.k + `="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(l.v) + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}

type sample struct {
	name   string
	labels labelSet
	value  float64
}

type gen struct {
	w         *bufio.Writer
	end       time.Time
	step      time.Duration
	growth    float64
	continues *regexp.Regexp // counters that end at their scraped value
	samples   int
	families  int
}

// family writes one metric family: every series from start to end.
func (g *gen) family(name string, ss []sample, start time.Time) error {
	if _, err := fmt.Fprintf(g.w, "# TYPE %s gauge\n", name); err != nil {
		return err
	}
	g.families++
	n := int(g.end.Sub(start)/g.step) + 1
	for _, s := range ss {
		values := g.series(s, start, n)
		ls := s.labels.String()
		for i, v := range values {
			t := start.Add(time.Duration(i) * g.step)
			if _, err := fmt.Fprintf(g.w, "%s%s %s %d\n", name, ls, strconv.FormatFloat(v, 'g', -1, 64), t.Unix()); err != nil {
				return err
			}
		}
		g.samples += n
	}
	return nil
}

// series models the history of one series ending near its scraped value.
func (g *gen) series(s sample, start time.Time, n int) []float64 {
	out := make([]float64, n)
	h := hash(s.name + s.labels.String())
	at := func(i int) time.Time { return start.Add(time.Duration(i) * g.step) }
	frac := func(i int) float64 {
		if n == 1 {
			return 1
		}
		return float64(i) / float64(n-1)
	}
	switch {
	case strings.HasSuffix(s.name, "_total"), histogramBase(s.name) != "":
		g.counter(s, at, out)
		// A counter that counts everything there is (a Workbench log read
		// whole at start-up) continues into its scraped value: the history is
		// shifted up to end there, or scaled down when it counted more, so the
		// live scrapes do not look like a burst or a reset. Other counters
		// count from the exporter's start and begin again as after a restart.
		if g.continues != nil && g.continues.MatchString(s.name) {
			last := out[n-1]
			for i := range out {
				if s.value >= last {
					out[i] += s.value - last
				} else {
					out[i] = math.Floor(out[i] * s.value / last)
				}
			}
		}
	case growing[s.name]:
		for i := range out {
			out[i] = math.Round(s.value * (1 - g.growth + g.growth*frac(i)))
		}
	case s.name == "posit_connect_scrape_collector_duration_seconds":
		for i := range out {
			out[i] = s.value * (0.7 + 0.6*noise(h, i))
		}
	case s.name == "posit_connect_cache_age_seconds":
		// Scrapes land anywhere within the cache's TTL: a sawtooth below it.
		for i := range out {
			out[i] = math.Max(s.value, 1) * 2 * noise(h, i)
		}
	case s.name == "posit_connect_usage_last_event_timestamp_seconds":
		for i := range out {
			out[i] = float64(at(i).Unix() - int64(30+60*noise(h, i)))
		}
	default:
		for i := range out {
			out[i] = s.value
		}
	}
	return out
}

// counter integrates a rate: usage follows a working-day rhythm, the
// exporter's own requests are steady. Series of a family get Zipf-like shares
// from a hash of their labels. Related series are derived from one
// accumulator, so that they stay consistent: sessions ended and their summed
// length follow the sessions started of the same content, cache hits are
// 85 % of the cache requests of the same resource (never more), and a
// histogram's buckets, count and sum of one endpoint share their requests
// (buckets grow with le and end at the count).
func (g *gen) counter(s sample, at func(int) time.Time, out []float64) {
	hist := histogramBase(s.name)
	perHour, known := map[string]float64{
		// Problems that a healthy history never has.
		"posit_connect_license_parse_errors_total": 0,
		"posit_connect_usage_rebaselines_total":    0,

		"posit_connect_shiny_sessions_total":                 40,
		"posit_connect_shiny_sessions_ended_total":           40,
		"posit_connect_shiny_session_duration_seconds_total": 40,
		"posit_connect_content_visits_total":                 90,
		"posit_connect_audit_events_total":                   25,
		"posit_connect_exporter_api_requests_total":          60,
		"posit_connect_exporter_cache_requests_total":        240,
		"posit_connect_exporter_cache_hits_total":            240,
		"posit_workbench_audit_events_total":                 40,
		"posit_workbench_audit_log_read_bytes_total":         2400,
		"posit_workbench_audit_log_parse_errors_total":       0.2,
	}[s.name]
	if hist != "" {
		perHour = 60
	}
	if !known {
		perHour = 10
	}
	steady := strings.HasPrefix(s.name, "posit_connect_exporter_")
	key := s.labels.get("content_guid") + s.labels.get("resource") + s.labels.get("action") + s.labels.get("type")
	if hist != "" {
		key = hist + s.labels.get("endpoint")
	}
	if key == "" {
		key = s.labels.String()
	}
	share := 1 / math.Pow(float64(1+hash(key)%12), 1.2)
	meanLen := 120 + float64(hash(key)%1500)
	// Request latency: exponential with a mean of 5 to 55 ms per endpoint.
	meanLatency := 0.005 + float64(hash(key)%50)/1000
	bucketShare := 1.0
	if le := s.labels.get("le"); le != "" && le != "+Inf" {
		v, _ := strconv.ParseFloat(le, 64)
		bucketShare = 1 - math.Exp(-v/meanLatency)
	}
	acc := 0.0
	for i := range out {
		level := 1.0
		if !steady {
			level = rhythm(at(i))
		}
		acc += perHour * share * level * g.step.Hours()
		switch {
		case hist != "" && strings.HasSuffix(s.name, "_bucket"):
			out[i] = math.Floor(math.Floor(acc) * bucketShare)
			continue
		case hist != "" && strings.HasSuffix(s.name, "_sum"):
			out[i] = math.Floor(acc) * meanLatency
			continue
		}
		switch s.name {
		case "posit_connect_shiny_sessions_ended_total":
			out[i] = math.Floor(acc * 0.98)
		case "posit_connect_shiny_session_duration_seconds_total":
			out[i] = math.Floor(acc*0.98) * meanLen
		case "posit_connect_exporter_cache_hits_total":
			out[i] = math.Floor(0.85 * math.Floor(acc))
		default:
			out[i] = math.Floor(acc)
		}
	}
}

// rhythm is the activity level at t: office hours on weekdays, little else.
func rhythm(t time.Time) float64 {
	t = t.UTC()
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return 0.1
	}
	hour := float64(t.Hour()) + float64(t.Minute())/60
	return 0.1 + 0.9*math.Max(0, math.Sin(math.Pi*(hour-7)/11))
}

func hash(s string) uint64 {
	f := fnv.New64a()
	_, _ = f.Write([]byte(s))
	return f.Sum64()
}

func noise(h uint64, i int) float64 {
	x := h ^ uint64(i)*0x9E3779B97F4A7C15
	x ^= x >> 31
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 29
	return float64(x%1000) / 1000
}

// scrape fetches and parses a text exposition (format 0.0.4).
func scrape(url string) ([]sample, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	var out []sample
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", url, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseSample(line string) (sample, error) {
	var s sample
	i := strings.IndexAny(line, "{ ")
	if i < 0 {
		return s, fmt.Errorf("bad sample line %q", line)
	}
	s.name = line[:i]
	rest := line[i:]
	if rest[0] == '{' {
		j := 1
		for {
			for j < len(rest) && rest[j] == ',' || j < len(rest) && rest[j] == ' ' {
				j++
			}
			if j < len(rest) && rest[j] == '}' {
				j++
				break
			}
			eq := strings.IndexByte(rest[j:], '=')
			if eq < 0 || j+eq+1 >= len(rest) || rest[j+eq+1] != '"' {
				return s, fmt.Errorf("bad labels in %q", line)
			}
			k := rest[j : j+eq]
			j += eq + 2
			var v strings.Builder
			for ; j < len(rest) && rest[j] != '"'; j++ {
				if rest[j] == '\\' && j+1 < len(rest) {
					j++
					switch rest[j] {
					case 'n':
						v.WriteByte('\n')
					default:
						v.WriteByte(rest[j])
					}
					continue
				}
				v.WriteByte(rest[j])
			}
			if j >= len(rest) {
				return s, fmt.Errorf("unterminated label value in %q", line)
			}
			j++
			s.labels = append(s.labels, label{k, v.String()})
		}
		rest = rest[j:]
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return s, fmt.Errorf("no value in %q", line)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, fmt.Errorf("bad value in %q: %w", line, err)
	}
	s.value = v
	return s, nil
}
