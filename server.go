// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/version"

	"github.com/posit-connect-exporter/posit_connect_exporter/collector"
	"github.com/posit-connect-exporter/posit_connect_exporter/config"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/usage"
	"github.com/posit-connect-exporter/posit_connect_exporter/workbench"
)

// server is everything the exporter runs: the HTTP routes and what they
// read from.
type server struct {
	mux     *http.ServeMux
	closers []func()
	// single is the Connect server in single-server mode; targets holds the
	// servers of --config.file otherwise.
	single  *target
	targets *targetSet
	// demoSim is the simulated Connect server in --demo mode.
	demoSim *connecttest.Server
}

func (s *server) close() {
	if s.targets != nil {
		s.targets.closeAll()
	}
	if s.single != nil {
		s.single.close()
	}
	for _, c := range slices.Backward(s.closers) {
		c()
	}
}

// target is one Connect server with its client, cache and collectors.
type target struct {
	spec     config.Server
	src      *collector.Source
	exporter *collector.Exporter
	closers  []func()
}

func (t *target) close() {
	for _, c := range slices.Backward(t.closers) {
		c()
	}
}

// deps are what every target shares.
type deps struct {
	opts     *options
	self     *collector.SelfMetrics
	logger   *slog.Logger
	unionKey config.UnionKey
	// demoKey is the simulator's key in --demo mode.
	demoKey connectapi.KeySource
}

func newServer(ctx context.Context, opts *options, logger *slog.Logger) (_ *server, err error) {
	s := &server{mux: http.NewServeMux()}
	defer func() {
		if err != nil {
			s.close() // whatever started before the error
		}
	}()
	selfReg := selfRegistry(opts.disableExporterStats)
	d := &deps{opts: opts, self: collector.NewSelfMetrics(selfReg), logger: logger}
	scrapes := &scrapeServer{opts: opts, logger: logger, inFlight: make(chan struct{}, max(opts.maxRequests, 1)),
		errorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)}
	static := prometheus.Gatherers{selfReg}
	if len(opts.workbenchLogs) > 0 {
		wb, err := startWorkbench(opts, logger)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func() { _ = wb.Close() })
		wbReg := prometheus.NewRegistry()
		if err := wbReg.Register(wb); err != nil {
			return nil, err
		}
		static = append(static, wbReg)
	}

	var metrics http.Handler
	if opts.configFile != "" {
		cfg, err := loadConfig(opts.configFile)
		if err != nil {
			return nil, err
		}
		d.unionKey = cfg.UnionKey
		s.targets = &targetSet{}
		if err := s.targets.apply(cfg, d.buildTarget); err != nil {
			return nil, err
		}
		union := collector.NewUnion(s.targets.members, logger)
		reloads := newReloader(selfReg, opts.configFile, s.targets, d, logger)
		reloads.succeeded()
		s.mux.Handle("/probe", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.serveProbe(scrapes, w, r)
		}))
		s.mux.Handle("/-/reload", reloads)
		go reloads.onSIGHUP(ctx)
		metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			scrapes.serve(w, r, union.Scrape, static)
		})
	} else if opts.workbenchOnly() {
		logger.Info("No Connect server configured: serving Posit Workbench metrics only")
		metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			scrapes.serve(w, r, nil, static)
		})
	} else {
		spec := config.Server{URL: opts.connectURL, CAFile: opts.caFile, InsecureSkipVerify: opts.insecureSkip,
			LicenseSeats: opts.licenseSeats}
		if opts.demo {
			demo, err := startDemo(ctx, opts.demoScenario, logger)
			if err != nil {
				return nil, err
			}
			s.closers = append(s.closers, demo.close)
			s.demoSim, spec.URL = demo.sim, demo.url
			d.demoKey = demo.key
		} else if opts.apiKeyFile != "" {
			spec.APIKeyFile = opts.apiKeyFile
		} else {
			spec.APIKeyEnv = "CONNECT_API_KEY"
		}
		t, err := d.buildTarget(spec)
		if err != nil {
			return nil, err
		}
		s.single = t
		metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			scrapes.serve(w, r, t.exporter.Scrape, static)
		})
	}

	if !opts.disableExporterStats {
		metrics = promhttp.InstrumentMetricHandler(selfReg, metrics)
	}
	s.mux.Handle(opts.metricsPath, metrics)
	s.mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("Healthy\n"))
	})
	if opts.metricsPath != "/" {
		landing, err := landingPage(opts)
		if err != nil {
			return nil, fmt.Errorf("landing page: %w", err)
		}
		s.mux.Handle("/", landing)
	}
	return s, nil
}

// startWorkbench builds the Workbench collector and reads the logs once in
// the background, so a large log does not hold up the first scrape for long.
func startWorkbench(opts *options, logger *slog.Logger) (*workbench.Collector, error) {
	wb, err := workbench.NewCollector(workbench.Config{
		Paths: opts.workbenchLogs, Windows: opts.workbenchWindows, Seats: opts.workbenchSeats,
		Logger: logger.With("source", "workbench"),
	})
	if err != nil {
		return nil, fmt.Errorf("--workbench.audit-log: %w", err)
	}
	go func() {
		discard := make(chan prometheus.Metric, 64)
		go func() {
			for range discard {
			}
		}()
		wb.Collect(discard)
		close(discard)
	}()
	return wb, nil
}

func loadConfig(path string) (*config.Config, error) {
	var names []string
	for _, d := range collector.Definitions {
		names = append(names, d.Name)
	}
	return config.Load(path, names)
}

// serveProbe answers /probe?target=<name> with that server's metrics.
func (s *server) serveProbe(scrapes *scrapeServer, w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("target")
	if name == "" {
		http.Error(w, "missing the target parameter: /probe?target=<server name from the config file>", http.StatusBadRequest)
		return
	}
	t, ok := s.targets.get(name)
	if !ok {
		http.Error(w, fmt.Sprintf("unknown target %q; configured servers: %s", name, strings.Join(s.targets.names(), ", ")),
			http.StatusBadRequest)
		return
	}
	scrapes.serve(w, r, t.exporter.Scrape, nil)
}

// keySource returns the configured API key source; it checks at start-up
// (and reload) that the key is there, without ever printing it.
func keySource(spec config.Server) (connectapi.KeySource, error) {
	if spec.APIKeyFile != "" {
		return connectapi.NewFileKey(spec.APIKeyFile)
	}
	k := connectapi.EnvKey(spec.APIKeyEnv)
	if _, err := k.Key(); err != nil {
		return nil, err
	}
	return k, nil
}

// buildTarget makes the client, cache and collectors of one server.
func (d *deps) buildTarget(spec config.Server) (*target, error) {
	opts := d.opts
	logger := d.logger
	if spec.Name != "" {
		logger = logger.With("server", spec.Name)
	}
	key := d.demoKey
	if key == nil {
		var err error
		if key, err = keySource(spec); err != nil {
			if spec.APIKeyFile != "" {
				return nil, fmt.Errorf("%s: %w", field(spec, "--connect.api-key-file", "api_key_file"), err)
			}
			return nil, fmt.Errorf("%s: %w", field(spec, "CONNECT_API_KEY", "api_key_env"), err)
		}
	}
	if plainTextToRemote(spec.URL) {
		logger.Warn("The API key will be sent unencrypted over plain HTTP to a remote host; use https://", "url", spec.URL)
	}
	tlsConfig, err := promconfig.NewTLSConfig(&promconfig.TLSConfig{CAFile: spec.CAFile, InsecureSkipVerify: spec.InsecureSkipVerify})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field(spec, "--connect.ca-file", "ca_file"), err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	transport.MaxIdleConnsPerHost = opts.maxConcurrent
	client, err := connectapi.NewClient(spec.URL,
		connectapi.WithHTTPClient(&http.Client{Transport: transport, Timeout: opts.connectTimeout}),
		connectapi.WithAPIKey(key),
		connectapi.WithUserAgent(version.ComponentUserAgent(exporterName)),
		connectapi.WithMaxBodyBytes(opts.maxBodyBytes),
		connectapi.WithMaxConcurrentRequests(opts.maxConcurrent),
		connectapi.WithRequestObserver(d.self.ObserveRequest),
	)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field(spec, "--connect.url", "url"), err)
	}
	cache := connectapi.NewCache(connectapi.CacheConfig{
		TTL: map[string]time.Duration{
			collector.ResourceServerSettings: opts.ttlSettings,
			collector.ResourceUsers:          opts.ttlUsers,
			collector.ResourceActiveUsers:    opts.ttlUsers,
			collector.ResourceGroups:         opts.ttlGroups,
			collector.ResourceContent:        opts.ttlContent,
		},
		DefaultTTL:   opts.ttlUsers,
		FetchTimeout: opts.connectTimeout,
		Observer:     d.self.ObserveCache,
	})
	src := &collector.Source{
		Client: client, Cache: cache, SeatsOverride: spec.LicenseSeats,
		ActiveWindows: opts.activeWindows, Logger: logger,
	}
	if d.unionKey != "" {
		src.NamedKey = namedKey(d.unionKey, spec.Name)
	}
	t := &target{spec: spec, src: src}
	updaters, err := d.updaters(t, spec, logger)
	if err != nil {
		t.close()
		return nil, err
	}
	t.exporter = collector.NewExporter(src, updaters, logger)
	return t, nil
}

// namedKey identifies users across servers; a user without the chosen key
// (no email, say) counts as distinct rather than being left out.
func namedKey(k config.UnionKey, server string) collector.UserKeyFunc {
	return func(u *connectapi.User) string {
		if key := k.Key(u); key != "" {
			return "k:" + key
		}
		return "u:" + server + ":" + u.GUID
	}
}

// field names a setting the way the user wrote it: a flag in single-server
// mode, a key of the configuration file otherwise.
func field(spec config.Server, flag, yamlKey string) string {
	if spec.Name == "" {
		return flag
	}
	return fmt.Sprintf("server %s: %s", spec.Name, yamlKey)
}

// enabled reports whether a collector runs for this server: the config
// file's per-server switch wins over the command line.
func enabled(opts *options, spec config.Server, name string) bool {
	if on, ok := spec.Collectors[name]; ok {
		return on
	}
	return *opts.collectors[name]
}

// usageCollectors are the collectors backed by the usage streams.
var usageCollectors = map[string]func(*usage.Streams) usage.Updater{
	"shiny":  (*usage.Streams).Shiny,
	"visits": (*usage.Streams).Visits,
	"audit":  (*usage.Streams).Audit,
}

// updaters builds the switched-on collectors in table order. The usage
// streams, when any is on, share one usage.Streams per server, closed with
// the target (which saves its state file).
func (d *deps) updaters(t *target, spec config.Server, logger *slog.Logger) ([]collector.NamedUpdater, error) {
	var out []collector.NamedUpdater
	var streams *usage.Streams
	for _, def := range collector.Definitions {
		if !enabled(d.opts, spec, def.Name) {
			continue
		}
		if u, ok := collector.NewSourceUpdater(def.Name, t.src); ok {
			out = append(out, collector.NamedUpdater{Name: def.Name, Updater: u})
			continue
		}
		stream, ok := usageCollectors[def.Name]
		if !ok || d.opts.configCheck {
			// --config.check must not open state files: closing the
			// streams saves them, beside an exporter that may be running.
			continue
		}
		describe := func(chan<- *prometheus.Desc) {}
		if streams == nil {
			var err error
			if streams, err = d.newStreams(t.src.Client, spec, logger); err != nil {
				return nil, err
			}
			t.closers = append(t.closers, func() {
				if err := streams.Close(); err != nil {
					logger.Error("Saving the usage state failed", "err", err)
				}
			})
			// The streams share descriptors, so only the first describes them.
			describe = streams.Describe
		}
		out = append(out, collector.NamedUpdater{Name: def.Name, Updater: streamUpdater{stream(streams), describe}})
	}
	return out, nil
}

func (d *deps) newStreams(client *connectapi.Client, spec config.Server, logger *slog.Logger) (*usage.Streams, error) {
	opts := d.opts
	stateFile := spec.StateFile
	if spec.Name == "" {
		stateFile = opts.stateFile
	}
	streams, err := usage.New(usage.Config{
		Source: client, Interval: opts.usageInterval, Overlap: opts.usageOverlap, ReadTimeout: opts.usageReadTimeout,
		StateFile: stateFile, IgnoreUserAgent: opts.ignoreUserAgent, MinSessionDuration: opts.minSessionDuration,
		ExcludeUsers: opts.excludeUsers, Logger: logger.With("collector", "usage"),
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field(spec, "--state.file", "state_file"), err)
	}
	return streams, nil
}

// streamUpdater gives a usage stream the Describe a collector needs.
type streamUpdater struct {
	usage.Updater
	describe func(chan<- *prometheus.Desc)
}

func (s streamUpdater) Describe(ch chan<- *prometheus.Desc) { s.describe(ch) }

// targetSet holds the servers of the configuration file; a reload swaps
// it whole.
type targetSet struct {
	mu     sync.RWMutex
	byName map[string]*target
}

func (ts *targetSet) get(name string) (*target, bool) {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	t, ok := ts.byName[name]
	return t, ok
}

func (ts *targetSet) names() []string {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	return ts.namesLocked()
}

func (ts *targetSet) members() []collector.UnionMember {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	out := make([]collector.UnionMember, 0, len(ts.byName))
	for _, n := range ts.namesLocked() {
		out = append(out, collector.UnionMember{Name: n, Source: ts.byName[n].src})
	}
	return out
}

func (ts *targetSet) namesLocked() []string {
	return slices.Sorted(maps.Keys(ts.byName))
}

// apply builds the servers of cfg, reusing those whose settings did not
// change (so their caches and counters live on). If any server fails to
// build, the running set stays in force.
func (ts *targetSet) apply(cfg *config.Config, build func(config.Server) (*target, error)) error {
	ts.mu.RLock()
	old := ts.byName
	ts.mu.RUnlock()
	var toBuild []config.Server
	next := map[string]*target{}
	for _, spec := range cfg.Servers {
		if t, ok := old[spec.Name]; ok && sameSpec(t.spec, spec) {
			next[spec.Name] = t
			continue
		}
		toBuild = append(toBuild, spec)
	}
	// A state file has one writer: an outgoing server that holds a file an
	// incoming one needs is closed (saving it) before the new one opens it.
	released := ts.release(old, next, toBuild)
	var fresh []*target
	var errs []error
	for _, spec := range toBuild {
		t, err := build(spec)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		next[spec.Name], fresh = t, append(fresh, t)
	}
	if err := errors.Join(errs...); err != nil {
		for _, t := range fresh {
			t.close()
		}
		ts.restore(released, build)
		return err
	}
	ts.mu.Lock()
	ts.byName = next
	ts.mu.Unlock()
	for name, t := range old {
		if next[name] != t && !slices.Contains(released, t) {
			t.close()
		}
	}
	return nil
}

// release closes the outgoing targets whose state file an incoming spec
// uses, and returns them.
func (ts *targetSet) release(old, kept map[string]*target, incoming []config.Server) []*target {
	needed := map[string]bool{}
	for _, spec := range incoming {
		if spec.StateFile != "" {
			needed[spec.StateFile] = true
		}
	}
	var released []*target
	for name, t := range old {
		if kept[name] != t && t.spec.StateFile != "" && needed[t.spec.StateFile] {
			t.close()
			released = append(released, t)
		}
	}
	return released
}

// restore rebuilds targets released for a reload that then failed.
func (ts *targetSet) restore(released []*target, build func(config.Server) (*target, error)) {
	if len(released) == 0 {
		return
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, t := range released {
		again, err := build(t.spec)
		if err != nil {
			// Keep serving it: its usage collectors report failure until
			// the next good reload.
			continue
		}
		ts.byName[t.spec.Name] = again
	}
}

func (ts *targetSet) closeAll() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, t := range ts.byName {
		t.close()
	}
	ts.byName = nil
}

func sameSpec(a, b config.Server) bool {
	return maps.Equal(a.Collectors, b.Collectors) &&
		a.Name == b.Name && a.URL == b.URL && a.APIKeyFile == b.APIKeyFile && a.APIKeyEnv == b.APIKeyEnv &&
		a.CAFile == b.CAFile && a.InsecureSkipVerify == b.InsecureSkipVerify &&
		a.LicenseSeats == b.LicenseSeats && a.StateFile == b.StateFile
}

// reloader re-reads the configuration on SIGHUP and POST /-/reload. A bad
// file keeps the running configuration.
type reloader struct {
	mu         sync.Mutex
	path       string
	targets    *targetSet
	deps       *deps
	logger     *slog.Logger
	successful prometheus.Gauge
	lastOK     prometheus.Gauge
}

func newReloader(reg prometheus.Registerer, path string, ts *targetSet, d *deps, logger *slog.Logger) *reloader {
	r := &reloader{path: path, targets: ts, deps: d, logger: logger,
		successful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "posit_connect_exporter_config_last_reload_successful",
			Help: "1 if the last configuration reload succeeded, 0 if it failed (the previous configuration stays in force).",
		}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "posit_connect_exporter_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration was last loaded successfully.",
		}),
	}
	reg.MustRegister(r.successful, r.lastOK)
	return r
}

func (r *reloader) succeeded() {
	r.successful.Set(1)
	r.lastOK.SetToCurrentTime()
}

func (r *reloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg, err := loadConfig(r.path)
	if err == nil && cfg.UnionKey != r.deps.unionKey {
		err = fmt.Errorf("union_key cannot change on reload (from %s to %s); restart the exporter", r.deps.unionKey, cfg.UnionKey)
	}
	if err == nil {
		err = r.targets.apply(cfg, r.deps.buildTarget)
	}
	if err != nil {
		r.successful.Set(0)
		r.logger.Error("Configuration reload failed; keeping the previous configuration", "err", err)
		return err
	}
	r.succeeded()
	r.logger.Info("Configuration reloaded", "servers", strings.Join(r.targets.names(), ","))
	return nil
}

func (r *reloader) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST to reload the configuration", http.StatusMethodNotAllowed)
		return
	}
	if err := r.reload(); err != nil {
		http.Error(w, "reload failed, previous configuration kept: "+err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write([]byte("configuration reloaded\n"))
}

func (r *reloader) onSIGHUP(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = r.reload()
		}
	}
}
