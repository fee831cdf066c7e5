// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Command posit_connect_exporter exports Posit Connect licence, user,
// content and usage data, and Posit Workbench named users, as Prometheus
// metrics.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
)

const exporterName = "posit_connect_exporter"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run parses flags, builds the exporter and serves until ctx ends. It
// returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app, opts := newApp()
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(stderr, "%s: error: %v\n", exporterName, err)
		return 2
	}
	if opts.exited {
		return 0 // --help or --version printed
	}
	opts.log.Writer = stderr
	logger := promslog.New(opts.log)
	if err := opts.validate(); err != nil {
		fmt.Fprintf(stderr, "%s: error: %v\n", exporterName, err)
		return 2
	}
	logger.Info("Starting "+exporterName, "version", version.Info())
	logger.Info("Build context", "build_context", version.BuildContext())

	srv, err := newServer(ctx, opts, logger)
	if err != nil {
		logger.Error("Cannot start", "err", err)
		return 1
	}
	defer srv.close()
	if opts.configCheck {
		logger.Info("Configuration is valid")
		return 0
	}

	httpServer := &http.Server{Handler: srv.mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- web.ListenAndServe(httpServer, opts.web, logger) }()
	select {
	case err := <-served:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("HTTP server failed", "err", err)
			return 1
		}
		return 0
	case <-ctx.Done():
	}
	logger.Info("Shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		logger.Warn("Shutdown was not clean", "err", err)
	}
	return 0
}

// selfRegistry holds the exporter's own metrics: build info, Go and
// process metrics, API and cache counters.
func selfRegistry(disableRuntimeMetrics bool) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(versioncollector.NewCollector(exporterName))
	if !disableRuntimeMetrics {
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return reg
}

// scrapeServer serves scrapes: a fresh registry per request binds the
// collectors to the request's deadline, taken from Prometheus'
// X-Prometheus-Scrape-Timeout-Seconds minus the offset.
type scrapeServer struct {
	opts     *options
	logger   *slog.Logger
	errorLog *log.Logger
	inFlight chan struct{}
}

func (s *scrapeServer) serve(w http.ResponseWriter, r *http.Request, scrape func(context.Context) prometheus.Collector, static prometheus.Gatherers) {
	if s.opts.maxRequests > 0 {
		select {
		case s.inFlight <- struct{}{}:
			defer func() { <-s.inFlight }()
		default:
			http.Error(w, "too many concurrent scrapes; see --web.max-requests", http.StatusServiceUnavailable)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), scrapeTimeout(r, s.opts.timeoutOffset, s.opts.connectTimeout))
	defer cancel()
	// The scrape is gathered first so that the exporter's own counters
	// include the API calls this scrape made.
	var gatherers prometheus.Gatherers
	if scrape != nil {
		reg := prometheus.NewRegistry()
		if err := reg.Register(scrape(ctx)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		gatherers = append(gatherers, reg)
	}
	gatherers = append(gatherers, static...)
	promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{
		ErrorLog:      s.errorLog,
		ErrorHandling: promhttp.ContinueOnError,
	}).ServeHTTP(w, r.WithContext(ctx))
}

// scrapeTimeout is Prometheus' scrape timeout minus the offset, or the
// fallback when Prometheus did not say.
func scrapeTimeout(r *http.Request, offset, fallback time.Duration) time.Duration {
	v := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds")
	if v == "" {
		return fallback
	}
	var secs float64
	if _, err := fmt.Sscanf(v, "%g", &secs); err != nil || secs <= 0 {
		return fallback
	}
	t := time.Duration(secs * float64(time.Second))
	if t-offset > 0 {
		return t - offset
	}
	return t
}

func landingPage(opts *options) (http.Handler, error) {
	links := []web.LandingLinks{
		{Address: opts.metricsPath, Text: "Metrics"},
		{Address: "/-/healthy", Text: "Health"},
	}
	return web.NewLandingPage(web.LandingConfig{
		Name:        "Posit Connect Exporter",
		Description: "Prometheus exporter for Posit Connect licences, users, content and usage, and Posit Workbench named users",
		Version:     version.Info(),
		Links:       links,
	})
}
