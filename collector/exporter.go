// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posit-connect-exporter/posit_connect_exporter/exposition"
)

// Versioned is a collector whose output depends only on data that carries
// a version (cached Connect answers, say). Version brings the data up to
// date, through the cache, and says which version a scrape would show;
// while it stays the same, the exporter serves the output it built before,
// metrics and their encoding alike, instead of running Update again.
type Versioned interface {
	Collector
	Version(ctx context.Context) (Version, error)
}

// Version identifies the data behind a collector's output; it is made of
// the cache versions of the resources the collector reads.
type Version [2]uint64

// Exporter runs collectors for one Connect server.
type Exporter struct {
	source     *Source
	collectors []Enabled
	memos      []*memo // one per collector; nil for collectors that are not Versioned
	logger     *slog.Logger
	alarms     *alarm
}

// NewExporter returns an exporter over the given collectors. source is
// used to check that Connect answers (posit_connect_up).
func NewExporter(source *Source, collectors []Enabled, logger *slog.Logger) *Exporter {
	e := &Exporter{source: source, collectors: collectors, logger: logger, alarms: newAlarm(),
		memos: make([]*memo, len(collectors))}
	for i, c := range collectors {
		if _, ok := c.Collector.(Versioned); ok && source.keepsAll(c.Name) {
			e.memos[i] = &memo{}
		}
	}
	return e
}

// Scrape returns the collector of one scrape, bound to ctx, whose deadline
// bounds every collector. It also writes itself (see WriteExposition).
func (e *Exporter) Scrape(ctx context.Context) prometheus.Collector {
	return &scrape{e: e, ctx: ctx}
}

// keepsAll reports whether the cache keeps every resource the named
// collector reads: only then is keeping its output worth a Version call
// (with TTL 0, Version and Update would each fetch).
func (s *Source) keepsAll(collector string) bool {
	if s.Cache == nil {
		return false
	}
	for _, d := range Collectors {
		if d.Name != collector {
			continue
		}
		for _, r := range d.Reads {
			if !s.Cache.Keeps(r.Name) {
				return false
			}
		}
		return true
	}
	return false
}

// memo keeps a Versioned collector's last output and the version it shows.
// Concurrent scrapes of a new version wait for one build.
type memo struct {
	mu      sync.Mutex
	version Version
	out     *output
}

// output is one collector's metrics, immutable once built. A kept output
// (of a Versioned collector) has its encoding made on first use and reused
// while it is kept; its families are its own, so its encoding can be
// written as it is.
type output struct {
	metrics []prometheus.Metric
	kept    bool
	once    sync.Once
	chunk   *exposition.Chunk
	err     error
}

func (o *output) encoded() (*exposition.Chunk, error) {
	o.once.Do(func() {
		text, err := exposition.Encode(o.metrics)
		if err != nil {
			o.err = err
			return
		}
		o.chunk, o.err = exposition.NewChunk(text)
	})
	return o.chunk, o.err
}

type scrape struct {
	e    *Exporter
	ctx  context.Context
	once sync.Once
	res  result
}

// result is what one scrape found: each collector's output (or failure)
// and the scrape's own metrics (up, success, duration, cache ages).
type result struct {
	outputs []*output
	own     []prometheus.Metric
}

// Describe sends every descriptor the enabled collectors can produce.
func (s *scrape) Describe(ch chan<- *prometheus.Desc) {
	ch <- upDesc
	ch <- successDesc
	ch <- durationDesc
	ch <- cacheAgeDesc
	for _, c := range s.e.collectors {
		c.Collector.Describe(ch)
	}
}

// Collect sends the scrape's metrics.
func (s *scrape) Collect(ch chan<- prometheus.Metric) {
	res := s.result()
	for _, o := range res.outputs {
		if o == nil {
			continue
		}
		for _, m := range o.metrics {
			ch <- m
		}
	}
	for _, m := range res.own {
		ch <- m
	}
}

// WriteExposition writes the scrape's metrics: the encodings kept for
// unchanged collectors as they are, the rest (which may share families, as
// the usage streams do) encoded together now.
func (s *scrape) WriteExposition(w *exposition.Writer) error {
	res := s.result()
	rest := append([]prometheus.Metric(nil), res.own...)
	for _, o := range res.outputs {
		if o == nil {
			continue
		}
		if !o.kept {
			rest = append(rest, o.metrics...)
			continue
		}
		chunk, err := o.encoded()
		if err != nil {
			return err
		}
		if err := w.WriteChunk(chunk); err != nil {
			return err
		}
	}
	text, err := exposition.Encode(rest)
	if err != nil {
		return err
	}
	_, err = w.Write(text)
	return err
}

func (s *scrape) result() result {
	s.once.Do(func() { s.res = s.e.run(s.ctx) })
	return s.res
}

type outcome struct {
	name     string
	out      *output
	err      error
	duration time.Duration
}

// run runs every collector once, concurrently, and builds the scrape's own
// metrics.
func (e *Exporter) run(ctx context.Context) result {
	_, settingsErr := e.source.Settings(ctx)

	outcomes := make([]outcome, len(e.collectors))
	var wg sync.WaitGroup
	for i, c := range e.collectors {
		wg.Go(func() {
			start := time.Now()
			out, err := e.output(ctx, i)
			outcomes[i] = outcome{name: c.Name, out: out, err: err, duration: time.Since(start)}
		})
	}
	wg.Wait()

	up := settingsErr == nil
	health, known := e.source.Health.Up()
	if known {
		up = health
	}
	var failures []namedErr
	if settingsErr != nil {
		failures = append(failures, namedErr{"server_settings", settingsErr})
	}
	res := result{outputs: make([]*output, len(outcomes))}
	for i, o := range outcomes {
		success := 0.0
		if o.err == nil {
			success = 1
			res.outputs[i] = o.out
		} else {
			failures = append(failures, namedErr{o.name, o.err})
			if !known && answeredBadly(o.err) {
				up = false
			}
		}
		res.own = append(res.own,
			prometheus.MustNewConstMetric(successDesc, prometheus.GaugeValue, success, o.name),
			prometheus.MustNewConstMetric(durationDesc, prometheus.GaugeValue, o.duration.Seconds(), o.name))
	}
	res.own = append(res.own, prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, boolFloat(up)))
	if e.source.Cache != nil {
		for _, r := range Resources() {
			if age, ok := e.source.Cache.Age(r.Name); ok {
				res.own = append(res.own, prometheus.MustNewConstMetric(cacheAgeDesc, prometheus.GaugeValue, age.Seconds(), r.Name))
			}
		}
	}
	e.alarms.scrape(e.logger, failures)
	return res
}

// output returns collector i's output for this scrape: the kept one while
// its data has not changed, else a fresh one from Update.
func (e *Exporter) output(ctx context.Context, i int) (*output, error) {
	c, m := e.collectors[i].Collector, e.memos[i]
	if m == nil {
		return update(ctx, c)
	}
	version, err := safeVersion(ctx, c.(Versioned))
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.out != nil && m.version == version {
		return m.out, nil
	}
	out, err := update(ctx, c)
	if err != nil {
		return nil, err
	}
	out.kept = true
	m.version, m.out = version, out
	return out, nil
}

// update runs c.Update and gathers what it sends.
func update(ctx context.Context, c Collector) (*output, error) {
	buf := make(chan prometheus.Metric, 256)
	out := &output{}
	done := make(chan struct{})
	go func() {
		for m := range buf {
			out.metrics = append(out.metrics, m)
		}
		close(done)
	}()
	err := safeUpdate(ctx, c, buf)
	close(buf)
	<-done
	if err != nil {
		return nil, err
	}
	return out, nil
}

// safeVersion is Version with a panic turned into an error.
func safeVersion(ctx context.Context, v Versioned) (version Version, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r}
		}
	}()
	return v.Version(ctx)
}
