// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package demo runs the built-in simulated Connect server behind --demo: a
// small but realistic server with live activity, in one of a few
// scenarios that the dashboards and alerts are checked against.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
)

// Scenarios are the situations --demo.scenario can simulate.
var Scenarios = []string{"healthy", "license-breach", "license-expiring", "down", "unauthorized"}

// CheckScenario returns an error naming the known scenarios when s is not one.
func CheckScenario(s string) error {
	if !slices.Contains(Scenarios, s) {
		return fmt.Errorf("unknown scenario %q; choose one of %s", s, strings.Join(Scenarios, ", "))
	}
	return nil
}

// MetricsURL is where to open the metrics in a browser: the first listen
// address, an unspecified host written as localhost.
func MetricsURL(listen []string, path string) string {
	addr := ":10233"
	if len(listen) > 0 {
		addr = listen[0]
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + path
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + path
}

// Demo is a running simulated Connect server.
type Demo struct {
	Sim *connecttest.Server
	// Key is the simulator's API key, made up at start.
	Key connectapi.KeySource
	// AuditLogs is a glob matching the audit log files of the simulated
	// server's two nodes (TEXT and JSON formats), written as its audit
	// entries happen.
	AuditLogs string
	stop      func()
	closed    sync.Once
}

// URL is the simulator's address.
func (d *Demo) URL() string { return d.Sim.URL() }

// Close stops the live activity and the simulator, and removes the audit
// log files.
func (d *Demo) Close() { d.closed.Do(d.stop) }

// serverConfig is a small but realistic server: a few hundred users and a
// few dozen apps.
func serverConfig(key string) connecttest.Config {
	now := time.Now()
	// Two weeks of history at this volume keeps the live activity (which
	// continues the history's rate) busy enough that every usage panel has
	// data within seconds.
	return connecttest.Config{
		Seed: 2026, Users: 400, Content: 48, Groups: 12, History: 14 * 24 * time.Hour,
		ShinySessions: 200_000, Visits: 300_000, AuditEntries: 50_000,
		APIKey: key, Version: "2026.03.0",
		LicenseSeats: 500, LicenseExpiry: now.Add(200 * 24 * time.Hour),
	}
}

// Start runs the simulator in-process, in live mode, and applies the
// scenario.
func Start(ctx context.Context, scenario string, logger *slog.Logger) (*Demo, error) {
	if err := CheckScenario(scenario); err != nil {
		return nil, err
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	key := hex.EncodeToString(raw[:])
	sim := connecttest.New(serverConfig(key))
	if err := sim.Start(); err != nil {
		return nil, fmt.Errorf("starting the simulated Connect server: %w", err)
	}
	liveCtx, stopLive := context.WithCancel(ctx)
	go sim.RunLive(liveCtx, time.Second)
	dir, err := os.MkdirTemp("", "posit-connect-demo-audit-")
	if err != nil {
		stopLive()
		sim.Close()
		return nil, err
	}
	logs := sim.AuditLogDir(dir)
	if err := logs.Append(); err != nil {
		stopLive()
		sim.Close()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("writing the simulated audit log files: %w", err)
	}
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		if err := logs.Follow(liveCtx, time.Second); err != nil {
			logger.Warn("Cannot append to the simulated audit log files", "err", err)
		}
	}()

	now := time.Now()
	switch scenario {
	case "license-breach":
		// 93 % of the seats taken and the licence ends in 20 days.
		named := sim.Truth().NamedUsers
		sim.SetLicense(int(math.Round(float64(named)/0.93)), now.Add(20*24*time.Hour))
	case "license-expiring":
		sim.SetLicense(500, now.Add(5*24*time.Hour))
	case "down":
		sim.SetFault(connecttest.Fault{Kind: connecttest.FaultDown})
	case "unauthorized":
		sim.SetFault(connecttest.Fault{Kind: connecttest.FaultUnauthorized})
	}
	logger.Warn("DEMO MODE: serving data from a built-in simulated Connect server, not a real one",
		"simulator", sim.URL(), "scenario", scenario)
	return &Demo{
		Sim:       sim,
		Key:       connectapi.StaticKey(key),
		AuditLogs: logs.Glob(),
		stop: func() {
			stopLive()
			<-logsDone
			sim.Close()
			_ = os.RemoveAll(dir)
		},
	}, nil
}
