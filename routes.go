// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/posit-connect-exporter/posit_connect_exporter/collector"
	"github.com/posit-connect-exporter/posit_connect_exporter/demo"
	"github.com/posit-connect-exporter/posit_connect_exporter/fleet"
	"github.com/posit-connect-exporter/posit_connect_exporter/redact"
	"github.com/posit-connect-exporter/posit_connect_exporter/scrape"
	"github.com/posit-connect-exporter/posit_connect_exporter/target"
	"github.com/posit-connect-exporter/posit_connect_exporter/workbench"
)

// routes are the exporter's HTTP handlers and what they read from: one
// Connect target (the command line's), a fleet (--config.file), or
// neither (Workbench only).
type routes struct {
	mux     *http.ServeMux
	single  *target.Target
	fleet   *fleet.Fleet
	demo    *demo.Demo
	closers []func()
	// sources are read once at start-up; /-/ready waits for them.
	sources map[string]interface{ Ready() bool }
}

func (rt *routes) close() {
	if rt.fleet != nil {
		rt.fleet.Close()
	}
	if rt.single != nil {
		rt.single.Close()
	}
	for _, c := range slices.Backward(rt.closers) {
		c()
	}
}

func newRoutes(ctx context.Context, opts *options, logger *slog.Logger, secrets *redact.Secrets) (_ *routes, err error) {
	rt := &routes{mux: http.NewServeMux(), sources: map[string]interface{ Ready() bool }{}}
	defer func() {
		if err != nil {
			rt.close() // whatever started before the error
		}
	}()
	selfReg := selfRegistry(opts.disableExporterStats)
	shared, err := opts.shared(collector.NewSelfMetrics(selfReg), logger)
	if err != nil {
		return nil, err
	}
	shared.Secrets = secrets
	scrapes := scrape.NewHandler(opts.maxRequests, opts.timeoutOffset, opts.sh.Timeout, slog.NewLogLogger(logger.Handler(), slog.LevelError))
	static := prometheus.Gatherers{selfReg}
	if len(opts.workbenchLogs) > 0 {
		wb, err := workbench.NewCollector(opts.workbench(logger))
		if err != nil {
			return nil, fmt.Errorf("--workbench.audit-log: %w", err)
		}
		rt.closers = append(rt.closers, func() { _ = wb.Close() })
		rt.sources["the Workbench audit logs"] = wb
		go wb.Refresh()
		wbReg := prometheus.NewRegistry()
		if err := wbReg.Register(wb); err != nil {
			return nil, err
		}
		static = append(static, wbReg)
	}

	var connect scrape.Func
	switch {
	case opts.configFile != "":
		if rt.fleet, err = fleet.Load(opts.configFile, *shared, selfReg); err != nil {
			return nil, err
		}
		connect = collector.NewUnion(rt.fleet.Members, logger).Scrape
		rt.sources["the configured Connect servers"] = rt.fleet
		rt.mux.HandleFunc("/probe", func(w http.ResponseWriter, r *http.Request) {
			rt.fleet.ServeProbe(w, r, func(w http.ResponseWriter, r *http.Request, t *target.Target) {
				scrapes.Serve(w, r, t.Scrape, t.Files()...)
			})
		})
		rt.mux.Handle("/-/reload", rt.fleet)
	case opts.filesOnly():
		logger.Info("No Connect API configured: serving what the log files say only")
		if len(opts.spec.AuditLog) > 0 {
			files, err := target.NewAuditLog(opts.spec.AuditLog, shared, logger)
			if err != nil {
				return nil, fmt.Errorf("--connect.audit-log: %w", err)
			}
			rt.closers = append(rt.closers, func() { _ = files.Close() })
			rt.sources["the Connect audit log files"] = files
			go files.Refresh()
			reg := prometheus.NewRegistry()
			reg.MustRegister(files)
			static = append(static, reg)
		}
	default:
		spec := opts.single()
		if opts.demo {
			if rt.demo, err = demo.Start(ctx, opts.demoScenario, logger); err != nil {
				return nil, err
			}
			rt.closers = append(rt.closers, rt.demo.Close)
			spec.URL, shared.Key = rt.demo.URL(), rt.demo.Key
			if len(spec.AuditLog) == 0 {
				spec.AuditLog = []string{rt.demo.AuditLogs}
			}
		}
		if rt.single, err = target.New(spec, shared); err != nil {
			return nil, err
		}
		rt.sources["Connect"] = rt.single
		connect = rt.single.Scrape
		static = append(static, rt.single.Files()...)
	}

	go onSIGHUP(ctx, func() {
		if rt.fleet == nil { // systemctl reload must not end the exporter
			logger.Info("Reload requested (SIGHUP); only --config.file can be reloaded, so nothing changes")
			return
		}
		_ = rt.fleet.Reload() // it logs its outcome
	})
	var metrics http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scrapes.Serve(w, r, connect, static...)
	})
	if !opts.disableExporterStats {
		metrics = promhttp.InstrumentMetricHandler(selfReg, metrics)
	}
	rt.mux.Handle(opts.metricsPath, metrics)
	rt.mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("Healthy\n"))
	})
	rt.mux.HandleFunc("/-/ready", rt.serveReady)
	if opts.metricsPath != "/" {
		landing, err := landingPage(opts)
		if err != nil {
			return nil, fmt.Errorf("landing page: %w", err)
		}
		rt.mux.Handle("/", landing)
	}
	return rt, nil
}

// onSIGHUP calls reload on every SIGHUP until ctx ends.
func onSIGHUP(ctx context.Context, reload func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			reload()
		}
	}
}

// serveReady answers 200 once the first read of every source (Connect,
// each server of the configuration file, the Workbench logs) has ended,
// whatever its outcome, and 503 with the reason before.
func (rt *routes) serveReady(w http.ResponseWriter, _ *http.Request) {
	var waiting []string
	for name, src := range rt.sources {
		if !src.Ready() {
			waiting = append(waiting, "the first read of "+name)
		}
	}
	if len(waiting) > 0 {
		slices.Sort(waiting)
		http.Error(w, "Not ready: waiting for "+strings.Join(waiting, " and "), http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("Ready\n"))
}
