// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package target runs one Connect server the way the exporter scrapes it:
// its API client, cache, collectors, usage streams and state file.
package target

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promconfig "github.com/prometheus/common/config"

	"github.com/posit-connect-exporter/posit_connect_exporter/collector"
	"github.com/posit-connect-exporter/posit_connect_exporter/config"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectaudit"
	"github.com/posit-connect-exporter/posit_connect_exporter/redact"
	"github.com/posit-connect-exporter/posit_connect_exporter/usage"
	"github.com/posit-connect-exporter/posit_connect_exporter/window"
)

// Shared are the settings every target takes from the command line.
type Shared struct {
	// Timeout bounds one request to Connect.
	Timeout time.Duration
	// WalkTimeout bounds one complete fetch of a resource (all its pages);
	// it runs in the background, detached from any scrape.
	WalkTimeout time.Duration
	// CacheMaxAge is how long a value is still served after its TTL while
	// a refresh runs or fails.
	CacheMaxAge   time.Duration
	MaxConcurrent int
	MaxBodyBytes  int64
	// TTLs maps each cached resource (collector.Resources) to its TTL.
	TTLs          map[string]time.Duration
	ActiveWindows []window.Window
	// Collectors are the command line's switches; a server of the
	// configuration file may override them.
	Collectors map[string]bool
	// Usage configures the usage streams; Client, StateFile and Logger are
	// filled in per target.
	Usage usage.Config
	// UnionKey, when set, makes every target keep its named users'
	// identities for the distinct count across servers.
	UnionKey  config.UnionKey
	UserAgent string
	Self      *collector.SelfMetrics
	Logger    *slog.Logger
	// Key, when set, replaces the spec's key source (the demo's simulator).
	Key connectapi.KeySource
	// Secrets, when set, learns every target's key so that logs and
	// answers can be cleaned of it.
	Secrets *redact.Secrets
	// CheckOnly builds the client only, checking the URL, key and CA file,
	// and opens nothing that writes (no state file).
	CheckOnly bool
	// AuditLogWindows are the windows of the audit log files' logins.
	AuditLogWindows []window.Window
}

// Defaults are the command line's defaults: the TTLs and collector
// switches of the collector table, the usage streams' defaults, windows of
// 30, 90 and 365 days, and no logging.
func Defaults() Shared {
	ws, _ := window.Parse(DefaultWindows)
	sh := Shared{
		Timeout: 30 * time.Second, WalkTimeout: 10 * time.Minute, CacheMaxAge: 5 * time.Minute,
		MaxConcurrent: 8, MaxBodyBytes: connectapi.DefaultMaxBodyBytes,
		TTLs: map[string]time.Duration{}, ActiveWindows: ws, Collectors: map[string]bool{},
		AuditLogWindows: ws, Logger: slog.New(slog.DiscardHandler),
	}
	for _, r := range collector.Resources() {
		sh.TTLs[r.Name] = r.DefaultTTL
	}
	for _, d := range collector.Collectors {
		sh.Collectors[d.Name] = d.Default
	}
	return sh
}

// DefaultWindows are the default windows of the active and named users.
const DefaultWindows = "30d,90d,365d"

// Target is one Connect server.
type Target struct {
	Spec     config.Target
	Source   *collector.Source
	exporter *collector.Exporter
	closers  []func()
	// warmed is closed when the first read, started by New, has ended.
	warmed chan struct{}
	// files holds the collector of the server's audit log files, if any.
	files    *prometheus.Registry
	auditLog *connectaudit.Collector
}

// New builds the client, cache and collectors of one server. Errors name
// the setting the way the user wrote it: a flag for the single server of
// the command line, a key of the configuration file otherwise.
func New(spec config.Target, sh *Shared) (_ *Target, err error) {
	logger := sh.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if spec.Name != "" {
		logger = logger.With("server", spec.Name)
	}
	client, err := NewClient(spec, sh, logger)
	if err != nil {
		return nil, err
	}
	t := &Target{Spec: spec}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	health := &collector.Health{}
	cacheConfig := connectapi.CacheConfig{TTL: sh.TTLs, MaxAge: sh.CacheMaxAge, FetchTimeout: sh.WalkTimeout,
		OnFetched: health.Observe}
	if sh.Self != nil {
		cacheConfig.Observer = sh.Self.ObserveCache
	}
	t.Source = &collector.Source{
		Client: client, Cache: connectapi.NewCache(cacheConfig), Health: health,
		SeatsOverride: spec.LicenseSeats, ActiveWindows: sh.ActiveWindows, Logger: logger,
	}
	if sh.UnionKey != "" {
		t.Source.NamedKey = namedKey(sh.UnionKey, spec.Name)
	}
	if sh.CheckOnly {
		if len(spec.AuditLog) > 0 {
			if _, err := NewAuditLog(spec.AuditLog, sh, logger); err != nil { // checks the patterns, opens nothing
				return nil, fmt.Errorf("%s: %w", field(spec, "--connect.audit-log", "audit_log"), err)
			}
		}
		return t, nil
	}
	env := &collector.Env{Source: t.Source, Usage: t.usageOpener(client, spec, sh, logger)}
	collectors, err := collector.Build(env, func(name string) bool { return enabled(sh, spec, name) })
	if err != nil {
		return nil, err
	}
	t.exporter = collector.NewExporter(t.Source, collectors, logger)
	if len(spec.AuditLog) > 0 {
		if t.auditLog, err = NewAuditLog(spec.AuditLog, sh, logger); err != nil {
			return nil, fmt.Errorf("%s: %w", field(spec, "--connect.audit-log", "audit_log"), err)
		}
		t.closers = append(t.closers, func() { _ = t.auditLog.Close() })
		t.files = prometheus.NewRegistry()
		t.files.MustRegister(t.auditLog)
		go t.auditLog.Refresh()
	}
	t.warm(sh.WalkTimeout)
	return t, nil
}

// NewAuditLog reads Connect's audit log files at paths (globs allowed).
// The exporter reads them once at start-up in the background and closes
// them with the server.
func NewAuditLog(paths []string, sh *Shared, logger *slog.Logger) (*connectaudit.Collector, error) {
	return connectaudit.NewCollector(connectaudit.Config{Paths: paths, Windows: sh.AuditLogWindows,
		Logger: logger.With("component", "connect_audit_log")})
}

// Files gathers what the server's files say (its audit log files), beside
// its API metrics; none when no file is configured.
func (t *Target) Files() []prometheus.Gatherer {
	if t.files == nil {
		return nil
	}
	return []prometheus.Gatherer{t.files}
}

// warm reads everything once in the background, as a scrape would, so the
// first scrape finds the caches filled and the usage streams baselined.
func (t *Target) warm(bound time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), max(bound, time.Second))
	t.warmed = make(chan struct{})
	done := t.warmed
	go func() {
		defer close(done)
		defer cancel()
		c := t.exporter.Scrape(ctx)
		ch := make(chan prometheus.Metric, 256)
		go func() {
			c.Collect(ch)
			close(ch)
		}()
		for range ch {
		}
	}()
	t.closers = append(t.closers, func() {
		cancel()
		<-done
	})
}

// Ready reports whether the first read of the server has ended, with
// whatever outcome: until then there is nothing to serve but failures.
func (t *Target) Ready() bool {
	if t.warmed == nil {
		return true // built only to be checked
	}
	if t.auditLog != nil && !t.auditLog.Ready() {
		return false
	}
	select {
	case <-t.warmed:
		return true
	default:
		return false
	}
}

// Scrape returns the server's metrics for one scrape, bounded by ctx.
func (t *Target) Scrape(ctx context.Context) prometheus.Collector { return t.exporter.Scrape(ctx) }

// Close stops the usage streams and saves the state file.
func (t *Target) Close() {
	for _, c := range slices.Backward(t.closers) {
		c()
	}
	t.closers = nil
}

// NewClient builds the API client of one server: its key source, TLS
// settings, timeouts and request limits.
func NewClient(spec config.Target, sh *Shared, logger *slog.Logger) (*connectapi.Client, error) {
	key := sh.Key
	if key == nil {
		var err error
		if key, err = keySource(spec); err != nil {
			if spec.APIKeyFile != "" {
				return nil, fmt.Errorf("%s: %w", field(spec, "--connect.api-key-file", "api_key_file"), err)
			}
			return nil, fmt.Errorf("%s: %w", field(spec, "CONNECT_API_KEY", "api_key_env"), err)
		}
	}
	sh.Secrets.Set(spec.Name, key)
	if PlainTextToRemote(spec.URL) {
		logger.Warn("The API key will be sent unencrypted over plain HTTP to a remote host; use https://", "url", spec.URL)
	}
	tlsConfig, err := promconfig.NewTLSConfig(&promconfig.TLSConfig{CAFile: spec.CAFile, InsecureSkipVerify: spec.InsecureSkipVerify})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field(spec, "--connect.ca-file", "ca_file"), err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	transport.MaxIdleConnsPerHost = sh.MaxConcurrent
	opts := []connectapi.Option{
		connectapi.WithHTTPClient(&http.Client{Transport: transport, Timeout: sh.Timeout}),
		connectapi.WithAPIKey(key),
		connectapi.WithUserAgent(sh.UserAgent),
		connectapi.WithMaxBodyBytes(sh.MaxBodyBytes),
		connectapi.WithMaxConcurrentRequests(sh.MaxConcurrent),
	}
	if sh.Self != nil {
		opts = append(opts, connectapi.WithRequestObserver(sh.Self.ObserveRequest))
	}
	client, err := connectapi.NewClient(spec.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field(spec, "--connect.url", "url"), err)
	}
	return client, nil
}

// usageOpener opens the usage streams the first time a usage collector
// asks; the streams, closed with the target, save the state file.
func (t *Target) usageOpener(client *connectapi.Client, spec config.Target, sh *Shared, logger *slog.Logger) func() (*usage.Streams, error) {
	var streams *usage.Streams
	return func() (*usage.Streams, error) {
		if streams != nil {
			return streams, nil
		}
		cfg := sh.Usage
		cfg.Client, cfg.StateFile, cfg.ServerURL, cfg.Logger = client, spec.StateFile, spec.URL, logger.With("collector", "usage")
		s, err := usage.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field(spec, "--state.file", "state_file"), err)
		}
		streams = s
		t.closers = append(t.closers, func() {
			if err := s.Close(); err != nil {
				logger.Error("Saving the usage state failed", "err", err)
			}
		})
		return s, nil
	}
}

// keySource returns the configured API key source; it checks at start-up
// (and reload) that the key is there, without ever printing it.
func keySource(spec config.Target) (connectapi.KeySource, error) {
	if spec.APIKeyFile != "" {
		return connectapi.NewFileKey(spec.APIKeyFile)
	}
	k := connectapi.EnvKey(spec.APIKeyEnv)
	if _, err := k.Key(); err != nil {
		return nil, err
	}
	return k, nil
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
func field(spec config.Target, flag, yamlKey string) string {
	if spec.Name == "" {
		return flag
	}
	return fmt.Sprintf("server %s: %s", spec.Name, yamlKey)
}

// enabled reports whether a collector runs for this server: the config
// file's per-server switch wins over the command line.
func enabled(sh *Shared, spec config.Target, name string) bool {
	if on, ok := spec.Collectors[name]; ok {
		return on
	}
	return sh.Collectors[name]
}

// PlainTextToRemote reports whether the key would cross the network
// unencrypted: http:// to a host that is not loopback.
func PlainTextToRemote(raw string) bool {
	u, err := connectapi.ParseServerURL(raw)
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}
