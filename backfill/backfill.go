// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package backfill rebuilds the history of the usage counters (Shiny
// sessions, visits, audit events) from what Connect keeps, and writes it as
// OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`, with
// the state file that lets the exporter go on counting from there.
//
// It replays history through the exporter's own usage streams
// (usage.Replay), so every rule of theirs (de-duplication, the health
// monitor's visits, excluded users, the minimum session length, sessions
// open across reads) applies unchanged: the history counts what an exporter
// started at the first sample would have counted, read once per step. The
// replay's clock moves from the first sample to the last in steps; at each
// step the streams read a view of Connect as it was then (see view), built
// from one oldest-first walk of the Shiny sessions and of the visits, and
// one newest-first walk of the audit log spooled to disk. Memory holds the
// sessions open at the clock, the records of one step plus the overlap, and
// one entry per series; the samples go to a temporary file, series by
// series, before the output is written.
package backfill

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/model"

	"github.com/posit-connect-exporter/posit_connect_exporter/usage"
)

// Label is one extra label of every series written (job, instance).
type Label struct{ Name, Value string }

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// ParseLabel parses name=value.
func ParseLabel(s string) (Label, error) {
	name, value, ok := strings.Cut(s, "=")
	switch {
	case !ok:
		return Label{}, fmt.Errorf("%q is not name=value", s)
	case !labelName.MatchString(name) || strings.HasPrefix(name, "__"):
		return Label{}, fmt.Errorf("%q is not a label name (letters, digits and _, not starting with a digit or __)", name)
	case value == "":
		return Label{}, fmt.Errorf("label %s has no value", name)
	}
	return Label{name, value}, nil
}

// ParseSince parses a duration before now (365d, 12w, 36h: Prometheus'
// units) or an RFC 3339 date (2025-01-31, in UTC) or time
// (2025-01-31T08:00:00Z).
func ParseSince(s string, now time.Time) (time.Time, error) {
	if d, err := model.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("%q is not a positive duration", s)
		}
		return now.Add(-time.Duration(d)), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (365d, 12w, 36h) nor an RFC 3339 date (2025-01-31) or time (2025-01-31T08:00:00Z)", s)
}

// MaxSteps bounds the steps of one backfill (a year at one minute is
// 525,600), against a typo that would write terabytes.
const MaxSteps = 1_000_000

// Defaults of Config fields left zero.
const (
	DefaultStep          = time.Hour
	DefaultProgressEvery = 5 * time.Second
	DefaultRetryBackoff  = time.Second
)

// Config is one backfill. Errors name the backfill command's flags.
type Config struct {
	// Client reads Connect.
	Client usage.Client
	// Usage holds the streams' rules (Overlap, IgnoreUserAgent,
	// MinSessionDuration, ExcludeUsers) as the exporter has them, and
	// StateFile and ServerURL: with StateFile, the state file to write
	// (it must not exist), recording ServerURL. Client and Logger are
	// set by Run.
	Usage usage.Config
	// Since is where counting starts: the first sample is the first step
	// at or after it, with every counter at 0.
	Since time.Time
	// End is the last sample, where the state file leaves off; zero means
	// now, to the second. Samples are End minus whole steps.
	End time.Time
	// Step is the time between samples, a whole number of seconds; zero
	// means DefaultStep.
	Step time.Duration
	// Labels are added to every series.
	Labels []Label
	// Output is the OpenMetrics file, written to a temporary file beside
	// it and renamed when complete.
	Output string
	// Logger gets the progress (at most every ProgressEvery) and the
	// summary.
	Logger        *slog.Logger
	ProgressEvery time.Duration
	// RetryBackoff is the first wait before a walk that failed for a
	// passing reason starts again (it doubles; DefaultRetryBackoff).
	RetryBackoff time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Result describes a completed backfill.
type Result struct {
	// First and Last are the first and last samples' times.
	First, Last time.Time
	Steps       int
	Series      int
	Samples     int64
	// Events are the records read from Connect, Pages its pages.
	Events, Pages int64
	Bytes         int64
	Elapsed       time.Duration
}

// phase is what the backfill is doing, since when.
type phase struct {
	name  string
	since time.Time
}

func (r *run) setPhase(name string) { r.phase.Store(phase{name, r.cfg.Now()}) }

// run is one backfill in progress.
type run struct {
	cfg    Config
	logger *slog.Logger
	first  time.Time
	steps  int // samples per series: the first, then one per step
	v      *view
	// phase and reached are what the progress reports.
	phase   atomic.Value // phase
	reached atomic.Int64 // Unix nanoseconds
	written atomic.Int64 // series written, in millionths of all
	started time.Time
}

// Run reads Connect's usage history from cfg.Since and writes the
// OpenMetrics file and, with cfg.Usage.StateFile, the state file. It
// leaves nothing under either name when it fails or ctx ends.
func Run(ctx context.Context, cfg Config) (_ *Result, err error) {
	r := &run{cfg: cfg}
	if err := r.setup(); err != nil {
		return nil, err
	}
	dir, base := filepath.Dir(cfg.Output), filepath.Base(cfg.Output)
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("--output: cannot write %s (a temporary file beside it): %w", cfg.Output, err)
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	smp, err := newSamples(dir, "."+base+".samples-*")
	if err != nil {
		return nil, fmt.Errorf("--output: cannot write %s (a temporary file beside it): %w", cfg.Output, err)
	}
	defer smp.close()

	r.v = &view{client: cfg.Client}
	r.v.audit.spool = auditSpool{dir: dir, prefix: "." + base + ".audit-*"}
	defer r.v.close()
	ucfg := cfg.Usage
	ucfg.Client, ucfg.Logger = r.v, r.logger.With("collector", "usage")
	replay, err := usage.NewReplay(ucfg)
	if err != nil {
		return nil, fmt.Errorf("--state.file: %w", err)
	}
	defer replay.Close()

	stop := r.progress()
	defer stop()
	if err := r.replay(ctx, replay, smp); err != nil {
		return nil, r.interrupted(ctx, err)
	}
	if err := smp.finish(); err != nil {
		return nil, fmt.Errorf("--output: writing the samples beside %s: %w", cfg.Output, err)
	}
	r.setPhase("writing")
	res := &Result{First: r.first, Last: r.cfg.End, Steps: r.steps - 1, Series: smp.series(), Events: r.v.events.Load(), Pages: r.v.pages.Load()}
	if res.Samples, res.Bytes, err = r.write(tmp, smp); err != nil {
		return nil, r.interrupted(ctx, fmt.Errorf("--output: writing %s: %w", tmp.Name(), err))
	}
	stop()
	if cfg.Usage.StateFile != "" {
		if err := replay.Save(ctx); err != nil {
			return nil, r.interrupted(ctx, fmt.Errorf("--state.file: %w", err))
		}
	}
	if err := publish(tmp, cfg.Output); err != nil {
		if cfg.Usage.StateFile != "" {
			os.Remove(cfg.Usage.StateFile) // still locked: no exporter has read it
		}
		return nil, fmt.Errorf("--output: %w", err)
	}
	tmp = nil
	res.Elapsed = r.cfg.Now().Sub(r.started)
	r.logger.Info("Backfill written", "file", cfg.Output, "first", res.First.UTC().Format(time.RFC3339), "last", res.Last.UTC().Format(time.RFC3339),
		"steps", res.Steps, "series", res.Series, "samples", res.Samples, "bytes", res.Bytes, "events", res.Events, "pages", res.Pages,
		"elapsed", res.Elapsed.Round(time.Millisecond), "state_file", cfg.Usage.StateFile)
	return res, nil
}

// setup checks the configuration and fills in the defaults.
func (r *run) setup() error {
	c := &r.cfg
	if c.Client == nil {
		return errors.New("backfill: no Client")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	r.logger = c.Logger
	if c.Step == 0 {
		c.Step = DefaultStep
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = DefaultProgressEvery
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.Usage.Overlap == 0 {
		c.Usage.Overlap = usage.DefaultOverlap
	}
	r.started = c.Now()
	if c.End.IsZero() {
		c.End = r.started.Truncate(time.Second)
	}
	var errs []error
	if c.Step < time.Second || c.Step%time.Second != 0 {
		errs = append(errs, fmt.Errorf("--step: must be a whole number of seconds, at least 1s; got %s", c.Step))
	}
	switch {
	case c.Since.IsZero():
		errs = append(errs, errors.New("--since: required"))
	case !c.Since.Before(c.End):
		errs = append(errs, fmt.Errorf("--since: %s is not in the past (the backfill ends at %s)", c.Since.UTC().Format(time.RFC3339), c.End.UTC().Format(time.RFC3339)))
	case c.Step >= time.Second && c.End.Sub(c.Since) < c.Step:
		errs = append(errs, fmt.Errorf("--since: %s is less than one --step (%s) before the end (%s)", c.Since.UTC().Format(time.RFC3339), c.Step, c.End.UTC().Format(time.RFC3339)))
	}
	if c.Step >= time.Second && c.Since.Before(c.End) {
		if n := c.End.Sub(c.Since) / c.Step; n > MaxSteps {
			errs = append(errs, fmt.Errorf("--step: %s from --since is %d samples per series, more than %d: choose a longer step", c.Step, n+1, MaxSteps))
		}
	}
	seen := map[string]bool{}
	for _, l := range c.Labels {
		switch {
		case !labelName.MatchString(l.Name) || strings.HasPrefix(l.Name, "__") || l.Value == "":
			errs = append(errs, fmt.Errorf("--label: %s=%q is not a label", l.Name, l.Value))
		case l.Name == "content_guid" || l.Name == "action":
			errs = append(errs, fmt.Errorf("--label: %s is a label of the counters themselves", l.Name))
		case seen[l.Name]:
			errs = append(errs, fmt.Errorf("--label: %s is given twice", l.Name))
		}
		seen[l.Name] = true
	}
	if c.Output == "" {
		errs = append(errs, errors.New("--output: required"))
	} else if fi, err := os.Stat(c.Output); err == nil && fi.IsDir() {
		errs = append(errs, fmt.Errorf("--output: %s is a directory", c.Output))
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("--output: cannot write %s: %w", c.Output, errors.Unwrap(err)))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if !seen["job"] || !seen["instance"] {
		r.logger.Warn("Without --label=job=… and --label=instance=… as Prometheus scrapes the exporter, the backfilled series will not join the live ones")
	}
	n := int(c.End.Sub(c.Since) / c.Step)
	r.first = c.End.Add(-time.Duration(n) * c.Step)
	r.steps = n + 1
	return nil
}

// replay reads Connect and steps the streams from the first sample to the
// last, recording the counters after each step.
func (r *run) replay(ctx context.Context, replay *usage.Replay, smp *samples) error {
	c, v := &r.cfg, r.v
	r.setPhase("reading the audit log")
	r.reached.Store(c.End.UnixNano())
	audit := startFeed(ctx, "the audit log", c.RetryBackoff, &v.pages, auditWalk(c.Client, r.first, &v.events))
	if err := v.audit.load(audit, r.first, &r.reached); err != nil {
		return err
	}
	from := r.first.Add(-c.Usage.Overlap)
	v.shiny.feed = startFeed(ctx, "Shiny sessions", c.RetryBackoff, &v.pages, shinyWalk(c.Client, from, c.End, &v.events))
	v.visits.feed = startFeed(ctx, "visits", c.RetryBackoff, &v.pages, visitWalk(c.Client, from, c.End, &v.events))
	r.setPhase("replaying")
	for k := range r.steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := r.first.Add(time.Duration(k) * c.Step)
		if err := v.advance(t); err != nil {
			return err
		}
		if err := replay.Read(ctx, t); err != nil {
			return err
		}
		if k > 0 {
			replay.Counters(func(family int, label string, value float64) {
				smp.observe(uint32(k), family, label, value)
			})
		}
		r.reached.Store(t.UnixNano())
	}
	return nil
}

// write writes the OpenMetrics text to f and syncs it.
func (r *run) write(f *os.File, smp *samples) (samples, size int64, err error) {
	c := &r.cfg
	var extra strings.Builder
	for _, l := range c.Labels {
		fmt.Fprintf(&extra, `,%s="%s"`, l.Name, escapeLabel(l.Value))
	}
	w := &countingWriter{w: bufio.NewWriterSize(f, 1<<20)}
	first, step := r.first.Unix(), int64(c.Step/time.Second)
	samples, err = smp.writeTo(w, usage.CounterFamilies(), extra.String(), r.steps,
		func(k int) int64 { return first + int64(k)*step },
		func(done, total int) { r.written.Store(int64(done) * 1e6 / int64(max(total, 1))) })
	if err != nil {
		return 0, 0, err
	}
	if _, err := w.Write([]byte("# EOF\n")); err != nil {
		return 0, 0, err
	}
	if err := w.w.Flush(); err != nil {
		return 0, 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, 0, err
	}
	return samples, w.n, nil
}

type countingWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// publish gives the complete temporary file its final name.
func publish(tmp *os.File, path string) error {
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// interrupted says so when ctx ended the run.
func (r *run) interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted (%w); nothing was written, run it again", context.Cause(ctx))
	}
	return err
}

// progress logs how far the backfill got, every ProgressEvery, until the
// returned function is called.
func (r *run) progress() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(r.cfg.ProgressEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			now := r.cfg.Now()
			p, _ := r.phase.Load().(phase)
			reached := time.Unix(0, r.reached.Load()).UTC()
			events := r.v.events.Load()
			elapsed := now.Sub(r.started)
			attrs := []any{"phase", p.name, "events", events, "pages", r.v.pages.Load(),
				"events_per_second", int64(float64(events) / max(elapsed.Seconds(), 1e-3))}
			var frac float64
			span := r.cfg.End.Sub(r.first)
			switch p.name {
			case "reading the audit log":
				frac = float64(r.cfg.End.Sub(reached)) / float64(span)
				attrs = append(attrs, "reached", reached.Format(time.RFC3339))
			case "replaying":
				frac = float64(reached.Sub(r.first)) / float64(span)
				attrs = append(attrs, "reached", reached.Format(time.RFC3339))
			case "writing":
				frac = float64(r.written.Load()) / 1e6
				attrs = append(attrs, "done", fmt.Sprintf("%.0f%%", 100*frac))
			}
			if frac > 0.001 && frac < 1 {
				eta := time.Duration(float64(now.Sub(p.since)) * (1 - frac) / frac)
				attrs = append(attrs, "phase_eta", roughly(eta))
			}
			r.logger.Info("Backfill progress", attrs...)
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
}

// roughly rounds d for people: to the second from 10 seconds, to the tenth
// below.
func roughly(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}
