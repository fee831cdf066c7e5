// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
)

// demoScenarios are the situations --demo.scenario can simulate; the
// dashboard and alert checks use them.
var demoScenarios = []string{"healthy", "license-breach", "license-expiring", "down", "unauthorized"}

type demo struct {
	sim   *connecttest.Server
	url   string
	key   connectapi.KeySource
	close func()
}

// demoConfig is a small but realistic server: a few hundred users and a
// few dozen apps.
func demoConfig(key string) connecttest.Config {
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

// startDemo runs the simulator in-process, in live mode, and applies the
// scenario.
func startDemo(ctx context.Context, scenario string, logger *slog.Logger) (*demo, error) {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	key := hex.EncodeToString(raw[:])
	sim := connecttest.New(demoConfig(key))
	if err := sim.Start(); err != nil {
		return nil, fmt.Errorf("starting the simulated Connect server: %w", err)
	}
	liveCtx, stopLive := context.WithCancel(ctx)
	go sim.RunLive(liveCtx, time.Second)

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
	return &demo{
		sim: sim,
		url: sim.URL(),
		key: connectapi.StaticKey(key),
		close: func() {
			stopLive()
			sim.Close()
		},
	}, nil
}
