// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package testutil holds what the tests of every package share: a fake
// clock, a log buffer safe for concurrent writers, metric lookups, a heap
// sampler and server start-up. Production code never imports it.
package testutil

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Clock is a settable clock, safe for concurrent use; pass its Now where a
// package takes a clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock showing t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d (backwards when d is negative) and returns
// the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// LockedBuffer is a bytes.Buffer that several goroutines (a logger and the
// test) may use at once.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Start starts a server (a simulated Connect, say) and stops it when the
// test ends.
func Start[S interface {
	Start() error
	Close()
}](t testing.TB, s S) S {
	t.Helper()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Families maps metric family names to families.
type Families map[string]*dto.MetricFamily

// ParseText reads a text exposition.
func ParseText(t testing.TB, body []byte) Families {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// Gather collects c through a pedantic registry, which fails on metrics
// that c did not describe, and returns the families.
func Gather(t testing.TB, c prometheus.Collector) Families {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	list, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	mfs := Families{}
	for _, mf := range list {
		mfs[mf.GetName()] = mf
	}
	return mfs
}

// Value finds the sample of family name whose labels include every
// name/value pair of want.
func (mfs Families) Value(name string, want ...string) (float64, bool) {
next:
	for _, m := range mfs[name].GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if have[want[i]] != want[i+1] {
				continue next
			}
		}
		return SampleValue(m), true
	}
	return 0, false
}

// Flat maps every sample to its value, keyed as name{label="value",...}
// with labels in the exposition's order: handy to compare whole scrapes.
func (mfs Families) Flat() map[string]float64 {
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := name
			if len(ls) > 0 {
				key += "{" + strings.Join(ls, ",") + "}"
			}
			out[key] = SampleValue(m)
		}
	}
	return out
}

// SampleValue is a gauge's, counter's or untyped sample's value.
func SampleValue(m *dto.Metric) float64 {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}

// ServerEntry is one Connect server of a configuration file written by
// WriteServersConfig.
type ServerEntry struct {
	Name, URL, Key string
	// YAML is added to the server's entry as is, e.g.
	// "    collectors: {shiny: false}\n".
	YAML string
}

// WriteServersConfig writes a --config.file listing the servers, each
// with its key in a key file of its own, and returns its path. head comes
// first (e.g. "union_key: lower_email\n").
func WriteServersConfig(t testing.TB, head string, servers ...ServerEntry) string {
	t.Helper()
	dir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString(head + "servers:\n")
	for _, s := range servers {
		keyFile := filepath.Join(dir, s.Name+".key")
		if err := os.WriteFile(keyFile, []byte(s.Key+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&cfg, "  - name: %s\n    url: %s\n    api_key_file: %s\n%s", s.Name, s.URL, keyFile, s.YAML)
	}
	path := filepath.Join(dir, "servers.yml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
