// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectaudit

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/posit-connect-exporter/posit_connect_exporter/tail"
	"github.com/posit-connect-exporter/posit_connect_exporter/window"
)

const namespace = "posit_connect_audit_log_file"

// DefaultWindows are the login windows used when Config.Windows is empty:
// 30d, 90d and 365d.
var DefaultWindows = []window.Window{
	window.New(30 * 24 * time.Hour), window.New(90 * 24 * time.Hour), window.New(365 * 24 * time.Hour),
}

// DefaultMinInterval is the default for Config.MinInterval.
const DefaultMinInterval = 10 * time.Second

// maxLineBytes bounds one line; longer lines are skipped as malformed.
const maxLineBytes = 1 << 20

// Config configures a Collector.
type Config struct {
	// Paths are audit log files or filepath.Match glob patterns, one or
	// more per Connect node, e.g.
	// "/var/log/rstudio/rstudio-connect/rstudio-connect.audit.log" or
	// "/mnt/nodes/*/rstudio-connect.audit.log*". Required. Patterns are
	// expanded again on every refresh.
	Paths []string
	// Windows are the login windows, DefaultWindows when empty.
	Windows []window.Window
	// MinInterval is the shortest time between two reads of the files;
	// scrapes in between see the previous values. DefaultMinInterval when
	// 0.
	MinInterval time.Duration
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Logger receives warnings and debug messages; discarded when nil. The
	// caller names the component: logger.With("component", ...).
	Logger *slog.Logger
	// ConstLabels are added to every series (e.g. the server's name when
	// several servers' collectors share one registry); none when nil.
	ConstLabels prometheus.Labels
}

// Collector exposes the audited events read from Connect's audit log files.
// It is safe for concurrent use: scrapes are serialized and at most one
// reads the files.
type Collector struct {
	paths       []string
	windows     []window.Window
	largest     time.Duration
	minInterval time.Duration
	now         func() time.Time
	logger      *slog.Logger

	events, logins, files, bytesRead, parseErrors, skipped, duplicates,
	oldest, newest, readSuccess *prometheus.Desc

	mu        sync.Mutex
	agg       *aggregate
	tail      *tail.Tailer
	follow    *tail.Follower
	warnedFor int64
	warned    bool
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector validates cfg and returns a Collector. Nothing is read until
// the first Collect.
func NewCollector(cfg Config) (*Collector, error) {
	if len(cfg.Paths) == 0 {
		return nil, errors.New("connect audit log: no path configured: give the audit log file of each node, or a glob matching them")
	}
	c := &Collector{minInterval: cfg.MinInterval, now: cfg.Now, logger: cfg.Logger, agg: newAggregate()}
	for _, p := range cfg.Paths {
		if err := tail.ValidatePattern(p); err != nil {
			return nil, fmt.Errorf("connect audit log path: %w", err)
		}
		c.paths = append(c.paths, p)
	}
	c.windows = cfg.Windows
	if len(c.windows) == 0 {
		c.windows = DefaultWindows
	}
	labels := map[string]bool{}
	for _, w := range c.windows {
		if w.Duration <= 0 {
			return nil, fmt.Errorf("connect audit log: window %s is not positive", w.Duration)
		}
		if w.Label == "" {
			return nil, fmt.Errorf("connect audit log: window %s has no label (use window.New)", w.Duration)
		}
		if labels[w.Label] {
			return nil, fmt.Errorf("connect audit log: window %s given twice", w.Label)
		}
		labels[w.Label] = true
		c.largest = max(c.largest, w.Duration)
	}
	switch {
	case c.minInterval < 0:
		return nil, fmt.Errorf("connect audit log: minimum refresh interval %s is negative", c.minInterval)
	case c.minInterval == 0:
		c.minInterval = DefaultMinInterval
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	c.tail = tail.New(tail.Config{Logger: c.logger, MaxLineBytes: maxLineBytes, DirHint: "*.log*"}, c.agg)
	c.follow = tail.NewFollower(c.tail, c.paths, c.minInterval, c.logger,
		tail.Names{One: "Connect audit log", All: "Connect audit log files"})

	every := fmt.Sprintf(" The files are read at most once every %s.", model.Duration(c.minInterval))
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(namespace+"_"+name, help, labels, cfg.ConstLabels)
	}
	c.events = desc("events_total",
		"Connect audit log entries read from the audit log files since the exporter started, each entry id once, by action and actor role (empty for the legacy formats); actions beyond the known ones and the first "+
			strconv.Itoa(maxExtraActions)+" others, or not plain identifiers, are counted as other.",
		"action", "actor_role")
	c.logins = desc("logins",
		"Distinct actors with a user_login entry in the audit log files within the window before now, old edge included."+every,
		"window")
	c.files = desc("files", "Connect audit log files matched by the configured paths at the last read (compressed files, which are skipped, not included).")
	c.bytesRead = desc("read_bytes_total", "Bytes read from the Connect audit log files since the exporter started.")
	c.parseErrors = desc("parse_errors_total", "Connect audit log file lines that could not be parsed, or that look like audit entries but lack a valid field, and were skipped.")
	c.skipped = desc("skipped_lines_total", "Lines of the Connect audit log files that are not audit entries (other log lines of a mixed journal) and were skipped.")
	c.duplicates = desc("duplicate_entries_total", "Audit entries read again (same entry id, from another file or a re-read) and not counted again.")
	c.oldest = desc("oldest_event_timestamp_seconds", "Time of the oldest audit entry read from the files since the exporter started; logins are undercounted for windows reaching further back.")
	c.newest = desc("newest_event_timestamp_seconds", "Time of the newest audit entry read from the files since the exporter started.")
	c.readSuccess = desc("read_success", "1 if at the last read every configured path matched a file and every file was read without error, else 0."+every)
	return c, nil
}

// Describe sends every metric description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.events, c.logins, c.files, c.bytesRead, c.parseErrors, c.skipped,
		c.duplicates, c.oldest, c.newest, c.readSuccess} {
		ch <- d
	}
}

// Collect reads what was appended to the files (at most once per
// MinInterval) and sends the metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.follow.Due(now) {
		c.refresh(now)
	}
	a := c.agg
	for _, s := range a.eventSeries() {
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.CounterValue, float64(s.n), s.action, s.role)
	}
	nowMs := now.UnixMilli()
	for _, w := range c.windows {
		n := a.loginsSince(nowMs - w.Duration.Milliseconds())
		ch <- prometheus.MustNewConstMetric(c.logins, prometheus.GaugeValue, float64(n), w.Label)
	}
	ch <- prometheus.MustNewConstMetric(c.files, prometheus.GaugeValue, float64(c.follow.Files()))
	ch <- prometheus.MustNewConstMetric(c.bytesRead, prometheus.CounterValue, float64(a.bytesRead))
	ch <- prometheus.MustNewConstMetric(c.parseErrors, prometheus.CounterValue, float64(a.parseErrors))
	ch <- prometheus.MustNewConstMetric(c.skipped, prometheus.CounterValue, float64(a.skipped))
	ch <- prometheus.MustNewConstMetric(c.duplicates, prometheus.CounterValue, float64(a.duplicates))
	if a.haveTimes {
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, float64(a.oldest)/1e3)
		ch <- prometheus.MustNewConstMetric(c.newest, prometheus.GaugeValue, float64(a.newest)/1e3)
	}
	ch <- prometheus.MustNewConstMetric(c.readSuccess, prometheus.GaugeValue, boolFloat(c.follow.OK()))
}

// refresh reads the files. c.mu is held.
func (c *Collector) refresh(now time.Time) {
	a := c.agg
	errsBefore, skippedBefore := a.parseErrors, a.skipped
	res := c.follow.Read(now)
	a.bytesRead += uint64(res.BytesRead)

	if n := a.parseErrors - errsBefore; n > 0 {
		c.logger.Warn("Skipped malformed Connect audit log lines", "count", n)
	}
	if n := a.skipped - skippedBefore; n > 0 {
		c.logger.Debug("Skipped lines that are not audit entries", "count", n)
	}
	if a.haveTimes && a.oldest > now.Add(-c.largest).UnixMilli() && (!c.warned || c.warnedFor != a.oldest) {
		c.warned, c.warnedFor = true, a.oldest
		c.logger.Warn("Connect audit log files do not reach back as far as the largest window: logins may be undercounted",
			"oldest_event", time.UnixMilli(a.oldest).UTC().Format(time.RFC3339),
			"window", window.Label(c.largest))
	}
}

// Ready reports whether the files have been read once.
func (c *Collector) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.follow.Ready()
}

// Refresh reads what was appended to the files now, without a scrape: the
// exporter calls it once at start-up, in the background, so that large
// files do not hold up the first scrape for long.
func (c *Collector) Refresh() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh(c.now())
}

// Close closes the files held open. The Collector must not be used
// afterwards.
func (c *Collector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tail.Close()
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
