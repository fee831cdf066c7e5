// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package fleet holds the Connect servers of a configuration file as one
// set that reloads in place (on SIGHUP and POST /-/reload): servers whose
// settings did not change keep their caches and counters, and a file that
// fails to load or build keeps the running set.
package fleet

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posit-connect-exporter/posit_connect_exporter/collector"
	"github.com/posit-connect-exporter/posit_connect_exporter/config"
	"github.com/posit-connect-exporter/posit_connect_exporter/target"
)

// Fleet is the reloadable set of servers.
type Fleet struct {
	path   string
	shared target.Shared
	logger *slog.Logger

	reloadMu sync.Mutex // one reload at a time

	mu     sync.RWMutex
	byName map[string]*target.Target

	successful prometheus.Gauge
	lastOK     prometheus.Gauge
}

// Load reads the configuration file at path and builds its servers. The
// reload gauges are registered with reg. The union key is fixed for the
// life of the Fleet.
func Load(path string, shared target.Shared, reg prometheus.Registerer) (*Fleet, error) {
	cfg, err := config.Load(path, collector.Names())
	if err != nil {
		return nil, err
	}
	shared.UnionKey = cfg.UnionKey
	f := &Fleet{path: path, shared: shared, logger: shared.Logger,
		successful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "posit_connect_exporter_config_last_reload_successful",
			Help: "1 if the last configuration reload succeeded, 0 if it failed (the previous configuration stays in force).",
		}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "posit_connect_exporter_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration was last loaded successfully.",
		}),
	}
	if err := f.apply(cfg); err != nil {
		return nil, err
	}
	if err := errors.Join(reg.Register(f.successful), reg.Register(f.lastOK)); err != nil {
		f.Close()
		return nil, err
	}
	f.succeeded()
	return f, nil
}

// Get returns the named server.
func (f *Fleet) Get(name string) (*target.Target, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	t, ok := f.byName[name]
	return t, ok
}

// Names lists the servers, sorted.
func (f *Fleet) Names() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return slices.Sorted(maps.Keys(f.byName))
}

// Members lists the servers taking part in the distinct named-user count.
func (f *Fleet) Members() []collector.UnionMember {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]collector.UnionMember, 0, len(f.byName))
	for _, n := range slices.Sorted(maps.Keys(f.byName)) {
		out = append(out, collector.UnionMember{Name: n, Source: f.byName[n].Source})
	}
	return out
}

// Ready reports whether the first read of every server has ended.
func (f *Fleet) Ready() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, t := range f.byName {
		if !t.Ready() {
			return false
		}
	}
	return true
}

// ServeProbe answers /probe?target=<name> with that server's metrics,
// which serve writes.
func (f *Fleet) ServeProbe(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter, *http.Request, *target.Target)) {
	name := r.URL.Query().Get("target")
	if name == "" {
		http.Error(w, "missing the target parameter: /probe?target=<server name from the config file>", http.StatusBadRequest)
		return
	}
	t, ok := f.Get(name)
	if !ok {
		// The answer does not list the configured servers: anyone who can
		// reach the exporter would learn them.
		http.Error(w, fmt.Sprintf("unknown target %q: not a server name of the configuration file", name), http.StatusBadRequest)
		return
	}
	serve(w, r, t)
}

// Close closes every server, saving their state files.
func (f *Fleet) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.byName {
		t.Close()
	}
	f.byName = nil
}

// Reload re-reads the configuration file. On error the previous servers
// stay in force and the reload gauge says so.
func (f *Fleet) Reload() error {
	f.reloadMu.Lock()
	defer f.reloadMu.Unlock()
	cfg, err := config.Load(f.path, collector.Names())
	if err == nil && cfg.UnionKey != f.shared.UnionKey {
		err = fmt.Errorf("union_key cannot change on reload (from %s to %s); restart the exporter", f.shared.UnionKey, cfg.UnionKey)
	}
	if err == nil {
		err = f.apply(cfg)
	}
	if err != nil {
		f.successful.Set(0)
		f.logger.Error("Configuration reload failed; keeping the previous configuration", "err", err)
		return err
	}
	f.succeeded()
	f.logger.Info("Configuration reloaded", "servers", strings.Join(f.Names(), ","))
	return nil
}

func (f *Fleet) succeeded() {
	f.successful.Set(1)
	f.lastOK.SetToCurrentTime()
}

// ServeHTTP answers POST /-/reload.
func (f *Fleet) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST to reload the configuration", http.StatusMethodNotAllowed)
		return
	}
	if err := f.Reload(); err != nil {
		http.Error(w, "reload failed, previous configuration kept: "+f.shared.Secrets.String(err.Error()), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write([]byte("configuration reloaded\n"))
}

// apply builds the servers of cfg, reusing those whose settings did not
// change (so their caches and counters live on). If any server fails to
// build, the running set stays in force.
func (f *Fleet) apply(cfg *config.Config) error {
	f.mu.RLock()
	old := f.byName
	f.mu.RUnlock()
	var toBuild []config.Target
	next := map[string]*target.Target{}
	for _, spec := range cfg.Servers {
		if t, ok := old[spec.Name]; ok && sameSpec(t.Spec, spec) {
			next[spec.Name] = t
			continue
		}
		toBuild = append(toBuild, spec)
	}
	// A state file has one writer: an outgoing server that holds a file an
	// incoming one needs is closed (saving it) before the new one opens it.
	released := release(old, next, toBuild)
	var fresh []*target.Target
	var errs []error
	for _, spec := range toBuild {
		t, err := target.New(spec, &f.shared)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		next[spec.Name], fresh = t, append(fresh, t)
	}
	if err := errors.Join(errs...); err != nil {
		for _, t := range fresh {
			t.Close()
		}
		f.restore(released)
		return err
	}
	f.mu.Lock()
	f.byName = next
	f.mu.Unlock()
	for name, t := range old {
		if next[name] != t && !slices.Contains(released, t) {
			t.Close()
		}
	}
	return nil
}

// release closes the outgoing servers whose state file an incoming spec
// uses, and returns them.
func release(old, kept map[string]*target.Target, incoming []config.Target) []*target.Target {
	needed := func(file string) bool {
		for _, spec := range incoming {
			if config.SameFile(spec.StateFile, file) { // however either path is spelled
				return true
			}
		}
		return false
	}
	var released []*target.Target
	for name, t := range old {
		if kept[name] != t && t.Spec.StateFile != "" && needed(t.Spec.StateFile) {
			t.Close()
			released = append(released, t)
		}
	}
	return released
}

// restore rebuilds servers released for a reload that then failed.
func (f *Fleet) restore(released []*target.Target) {
	if len(released) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range released {
		again, err := target.New(t.Spec, &f.shared)
		if err != nil {
			// Keep serving it: its usage collectors report failure until
			// the next good reload.
			continue
		}
		f.byName[t.Spec.Name] = again
	}
}

// sameSpec compares every setting, so a setting added to config.Target
// later cannot be forgotten here.
func sameSpec(a, b config.Target) bool { return reflect.DeepEqual(a, b) }
