// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/version"

	"github.com/posit-connect-exporter/posit_connect_exporter/collector"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
)

// server is everything the exporter runs: the HTTP routes and what they
// read from.
type server struct {
	mux      *http.ServeMux
	exporter *collector.Exporter
	closers  []func()
	// demoSim is the simulated Connect server in --demo mode.
	demoSim *connecttest.Server
}

func (s *server) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

func newServer(ctx context.Context, opts *options, logger *slog.Logger) (*server, error) {
	s := &server{mux: http.NewServeMux()}
	self := selfRegistry(opts.disableExporterStats)
	selfMetrics := collector.NewSelfMetrics(self)

	connectURL, key := opts.connectURL, connectapi.KeySource(nil)
	if opts.demo {
		demo, err := startDemo(ctx, opts.demoScenario, logger)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, demo.close)
		connectURL, key, s.demoSim = demo.url, demo.key, demo.sim
	} else {
		var err error
		if key, err = keySource(opts); err != nil {
			return nil, err
		}
		if plainTextToRemote(connectURL) {
			logger.Warn("The API key will be sent unencrypted over plain HTTP to a remote host; use https://", "url", connectURL)
		}
	}

	src, err := newSource(opts, connectURL, key, selfMetrics, logger)
	if err != nil {
		return nil, err
	}
	s.exporter = collector.NewExporter(src, enabledUpdaters(opts, src), logger)

	var scrape func(context.Context) prometheus.Collector = s.exporter.Scrape
	var h http.Handler = metricsHandler(scrape, prometheus.Gatherers{self}, opts, logger)
	if !opts.disableExporterStats {
		h = promhttp.InstrumentMetricHandler(self, h)
	}
	s.mux.Handle(opts.metricsPath, h)
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

// keySource picks the API key: the file when given, else CONNECT_API_KEY.
func keySource(opts *options) (connectapi.KeySource, error) {
	if opts.apiKeyFile != "" {
		k, err := connectapi.NewFileKey(opts.apiKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--connect.api-key-file: %w", err)
		}
		return k, nil
	}
	return connectapi.EnvKey("CONNECT_API_KEY"), nil
}

func newSource(opts *options, connectURL string, key connectapi.KeySource, m *collector.SelfMetrics, logger *slog.Logger) (*collector.Source, error) {
	tlsConfig, err := config.NewTLSConfig(&config.TLSConfig{CAFile: opts.caFile, InsecureSkipVerify: opts.insecureSkip})
	if err != nil {
		return nil, fmt.Errorf("--connect.ca-file: %w", err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	transport.MaxIdleConnsPerHost = opts.maxConcurrent
	client, err := connectapi.NewClient(connectURL,
		connectapi.WithHTTPClient(&http.Client{Transport: transport, Timeout: opts.connectTimeout}),
		connectapi.WithAPIKey(key),
		connectapi.WithUserAgent(version.ComponentUserAgent(exporterName)),
		connectapi.WithMaxBodyBytes(opts.maxBodyBytes),
		connectapi.WithMaxConcurrentRequests(opts.maxConcurrent),
		connectapi.WithRequestObserver(m.ObserveRequest),
	)
	if err != nil {
		return nil, fmt.Errorf("--connect.url: %w", err)
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
		Observer:     m.ObserveCache,
	})
	return &collector.Source{
		Client: client, Cache: cache, SeatsOverride: opts.licenseSeats,
		ActiveWindows: opts.activeWindows, Logger: logger,
	}, nil
}

// enabledUpdaters builds the switched-on collectors in table order.
func enabledUpdaters(opts *options, src *collector.Source) []collector.NamedUpdater {
	builders := map[string]func() collector.Updater{
		"server":  func() collector.Updater { return collector.NewServerCollector(src) },
		"users":   func() collector.Updater { return collector.NewUsersCollector(src) },
		"groups":  func() collector.Updater { return collector.NewGroupsCollector(src) },
		"content": func() collector.Updater { return collector.NewContentCollector(src) },
	}
	var out []collector.NamedUpdater
	for _, d := range collector.Definitions {
		build, ok := builders[d.Name]
		if !ok || !*opts.collectors[d.Name] {
			continue
		}
		out = append(out, collector.NamedUpdater{Name: d.Name, Updater: build()})
	}
	return out
}
