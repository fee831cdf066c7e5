// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Command posit_connect_exporter exports Posit Connect licence, user,
// content and usage data, and Posit Workbench named users, as Prometheus
// metrics.
//
// This package is flags, logging, HTTP and wiring; docs/ARCHITECTURE.md
// describes the packages it wires together.
package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/posit-connect-exporter/posit_connect_exporter/demo"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/buildinfo"
	"github.com/posit-connect-exporter/posit_connect_exporter/redact"
)

const exporterName = "posit_connect_exporter"

// versionFile is VERSION, the version reported when neither -ldflags nor
// Go's build info gives one.
//
//go:embed VERSION
var versionFile string

// The version fields are set once, before any run (tests run several at
// once).
func init() { buildinfo.Init(versionFile) }

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
	cmd, err := app.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %v\n", exporterName, err)
		return 2
	}
	if opts.exited {
		return 0 // --help or --version printed
	}
	if cmd == backfillCommand {
		return runBackfill(ctx, app, args, opts, stderr)
	}
	opts.log.Writer = stderr
	secrets := &redact.Secrets{}
	logger := newLogger(opts.log, secrets)
	if err := opts.validate(); err != nil {
		fmt.Fprintf(stderr, "%s: error: %v\n", exporterName, err)
		return 2
	}
	logger.Info("Starting "+exporterName, "version", version.Info())
	logger.Info("Build context", "build_context", version.BuildContext())

	rt, err := newRoutes(ctx, opts, logger, secrets)
	if err != nil {
		logger.Error("Cannot start", "err", err)
		return 1
	}
	defer rt.close()
	if opts.configCheck {
		logger.Info("Configuration is valid")
		return 0
	}
	if opts.demo {
		logger.Info("Demo ready: open the metrics, then see the README's \"Local Prometheus and Grafana\" for dashboards and alerts",
			"metrics", demo.MetricsURL(*opts.web.WebListenAddresses, opts.metricsPath), "next", "examples/local/")
	}

	httpServer := &http.Server{Handler: rt.mux, ReadHeaderTimeout: 10 * time.Second}
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

// newLogger is promslog's logger, cleaned of every API key the exporter
// holds, whatever echoed it.
func newLogger(cfg *promslog.Config, secrets *redact.Secrets) *slog.Logger {
	return slog.New(secrets.Handler(promslog.New(cfg).Handler()))
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

func landingPage(opts *options) (http.Handler, error) {
	return web.NewLandingPage(web.LandingConfig{
		Name:        "Posit Connect Exporter",
		Description: "Prometheus exporter for Posit Connect licences, users, content and usage, and Posit Workbench named users",
		Version:     version.Info(),
		Links: []web.LandingLinks{
			{Address: opts.metricsPath, Text: "Metrics"},
			{Address: "/-/healthy", Text: "Health"},
			{Address: "/-/ready", Text: "Readiness"},
		},
		Profiling: "false", // no /debug/pprof routes are served
	})
}
