// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package workbench

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/posit-connect-exporter/posit_connect_exporter/tail"
	"github.com/posit-connect-exporter/posit_connect_exporter/window"
)

const namespace = "posit_workbench"

// DefaultWindows are the named-user windows used when Config.Windows is empty.
var DefaultWindows = []time.Duration{30 * 24 * time.Hour, 90 * 24 * time.Hour, 365 * 24 * time.Hour}

// DefaultMinInterval is the default for Config.MinInterval.
const DefaultMinInterval = 10 * time.Second

// maxLineBytes bounds one line; longer lines are skipped as malformed so
// that a file without newlines cannot grow memory without limit.
const maxLineBytes = 1 << 20

// Config configures a Collector.
type Config struct {
	// Paths are audit log files or filepath.Match glob patterns, e.g.
	// "/var/lib/rstudio-server/audit/r-sessions/r-sessions.csv" or
	// "/mnt/nodes/*/audit/r-sessions/r-sessions.*". Required. Patterns are
	// expanded again on every refresh.
	Paths []string
	// Windows are the named-user windows, DefaultWindows when empty.
	Windows []time.Duration
	// Seats is the licensed named-user seat count; 0 means unset and the
	// seat metric is not exported.
	Seats int
	// MinInterval is the shortest time between two reads of the logs;
	// scrapes in between see the previous values. DefaultMinInterval when 0.
	MinInterval time.Duration
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Logger receives warnings and debug messages; discarded when nil.
	Logger *slog.Logger
}

type namedWindow struct {
	d     time.Duration
	label string
}

// Collector exposes Workbench named users and audit log health. It is safe
// for concurrent use: scrapes are serialized and at most one reads the logs.
type Collector struct {
	paths       []string
	windows     []namedWindow
	largest     time.Duration
	seats       int
	minInterval time.Duration
	now         func() time.Time
	logger      *slog.Logger

	namedUsers, events, oldest, parseErrors, seatsDesc, files, readSuccess, bytesRead *prometheus.Desc

	mu        sync.Mutex
	agg       *aggregate
	tail      *tail.Tailer
	follow    *tail.Follower
	warnedFor int64 // oldest timestamp the retention warning was logged for
	warned    bool
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector validates cfg and returns a Collector. Nothing is read until
// the first Collect.
func NewCollector(cfg Config) (*Collector, error) {
	if len(cfg.Paths) == 0 {
		return nil, errors.New("workbench: no audit log path configured: give the session audit log file (r-sessions.csv) or a glob matching the per-node files")
	}
	paths := make([]string, 0, len(cfg.Paths))
	for _, p := range cfg.Paths {
		if strings.TrimSpace(p) == "" {
			return nil, errors.New("workbench: empty audit log path")
		}
		if err := tail.ValidatePattern(p); err != nil {
			return nil, fmt.Errorf("workbench: audit log path: %w", err)
		}
		paths = append(paths, p)
	}
	ws := cfg.Windows
	if len(ws) == 0 {
		ws = DefaultWindows
	}
	c := &Collector{
		paths:       paths,
		seats:       cfg.Seats,
		minInterval: cfg.MinInterval,
		now:         cfg.Now,
		logger:      cfg.Logger,
		agg:         newAggregate(),
	}
	labels := make(map[string]bool)
	for _, d := range ws {
		if d <= 0 {
			return nil, fmt.Errorf("workbench: window %s is not positive", d)
		}
		l := window.Label(d)
		if labels[l] {
			return nil, fmt.Errorf("workbench: window %s given twice", l)
		}
		labels[l] = true
		c.windows = append(c.windows, namedWindow{d: d, label: l})
		c.largest = max(c.largest, d)
	}
	if c.seats < 0 {
		return nil, fmt.Errorf("workbench: license seats %d is negative", c.seats)
	}
	switch {
	case c.minInterval < 0:
		return nil, fmt.Errorf("workbench: minimum refresh interval %s is negative", c.minInterval)
	case c.minInterval == 0:
		c.minInterval = DefaultMinInterval
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	c.tail = tail.New(tail.Config{Logger: c.logger, MaxLineBytes: maxLineBytes, DirHint: "r-sessions.*"}, c.agg)
	c.follow = tail.NewFollower(c.tail, c.paths, c.minInterval, c.logger,
		tail.Names{One: "Workbench audit log", All: "Workbench audit logs"})

	every := fmt.Sprintf(" The audit logs are read at most once every %s.", model.Duration(c.minInterval))
	c.namedUsers = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "named_users"),
		"Distinct Workbench users with a session_start or auth_login event in the session audit log within the window before now, old edge included."+every,
		[]string{"window"}, nil)
	c.events = prometheus.NewDesc(prometheus.BuildFQName(namespace, "audit", "events_total"),
		"Workbench session audit log events read since the exporter started, by event type; types beyond the first "+strconv.Itoa(maxTypes)+" distinct ones, or not plain identifiers, are counted as other.",
		[]string{"type"}, nil)
	c.oldest = prometheus.NewDesc(prometheus.BuildFQName(namespace, "audit_log", "oldest_event_timestamp_seconds"),
		"Timestamp of the oldest event read from the Workbench session audit logs since the exporter started; named users are undercounted for windows reaching further back.",
		nil, nil)
	c.parseErrors = prometheus.NewDesc(prometheus.BuildFQName(namespace, "audit_log", "parse_errors_total"),
		"Workbench session audit log lines that could not be parsed and were skipped.",
		nil, nil)
	c.seatsDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "license", "user_seats"),
		"Workbench named-user seats licensed, as configured on the exporter.",
		nil, nil)
	c.files = prometheus.NewDesc(prometheus.BuildFQName(namespace, "audit_log", "files"),
		"Workbench session audit log files matched by the configured paths at the last read.",
		nil, nil)
	c.readSuccess = prometheus.NewDesc(prometheus.BuildFQName(namespace, "audit_log", "read_success"),
		"1 if at the last read every configured audit log path matched a file and every file was read without error, else 0."+every,
		nil, nil)
	c.bytesRead = prometheus.NewDesc(prometheus.BuildFQName(namespace, "audit_log", "read_bytes_total"),
		"Bytes read from the Workbench session audit logs since the exporter started.",
		nil, nil)
	return c, nil
}

// Describe sends every metric description, the seat limit's included.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.namedUsers
	ch <- c.events
	ch <- c.oldest
	ch <- c.parseErrors
	ch <- c.seatsDesc
	ch <- c.files
	ch <- c.readSuccess
	ch <- c.bytesRead
}

// Collect reads what was appended to the logs (at most once per
// MinInterval) and sends the metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.follow.Due(now) {
		c.refresh(now)
	}

	nowMs := now.UnixMilli()
	for _, w := range c.windows {
		n := c.agg.namedUsers(nowMs - w.d.Milliseconds())
		ch <- prometheus.MustNewConstMetric(c.namedUsers, prometheus.GaugeValue, float64(n), w.label)
	}
	names, counts := c.agg.typeCounts()
	for i, t := range names {
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.CounterValue, float64(counts[i]), t)
	}
	if c.agg.haveOldest {
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, float64(c.agg.oldest)/1e3)
	}
	ch <- prometheus.MustNewConstMetric(c.parseErrors, prometheus.CounterValue, float64(c.agg.parseErrors))
	if c.seats > 0 {
		ch <- prometheus.MustNewConstMetric(c.seatsDesc, prometheus.GaugeValue, float64(c.seats))
	}
	ch <- prometheus.MustNewConstMetric(c.files, prometheus.GaugeValue, float64(c.follow.Files()))
	ch <- prometheus.MustNewConstMetric(c.readSuccess, prometheus.GaugeValue, boolFloat(c.follow.OK()))
	ch <- prometheus.MustNewConstMetric(c.bytesRead, prometheus.CounterValue, float64(c.agg.bytesRead))
}

// refresh reads the logs. c.mu is held.
func (c *Collector) refresh(now time.Time) {
	errsBefore := c.agg.parseErrors
	res := c.follow.Read(now)
	c.agg.bytesRead += uint64(res.BytesRead)
	if n := c.agg.parseErrors - errsBefore; n > 0 {
		c.logger.Warn("Skipped malformed Workbench audit log lines", "count", n)
	}

	if c.agg.haveOldest && c.agg.oldest > now.Add(-c.largest).UnixMilli() &&
		(!c.warned || c.warnedFor != c.agg.oldest) {
		c.warned, c.warnedFor = true, c.agg.oldest
		c.logger.Warn("Workbench audit log retention is shorter than the window: named users may be undercounted",
			"oldest_event", time.UnixMilli(c.agg.oldest).UTC().Format(time.RFC3339),
			"window", window.Label(c.largest))
	}
}

// Close closes the audit log files held open. The Collector must not be
// used afterwards.
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

// Ready reports whether the logs have been read once.
func (c *Collector) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.follow.Ready()
}

// Refresh reads what was appended to the logs now, without a scrape: the
// exporter calls it once at start-up, in the background, so that a large
// log does not hold up the first scrape for long.
func (c *Collector) Refresh() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.refresh(now)
}
