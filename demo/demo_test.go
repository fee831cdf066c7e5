// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package demo

import (
	"context"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

func start(t *testing.T, scenario string) (*Demo, *connectapi.Client, *testutil.LockedBuffer) {
	t.Helper()
	logs := &testutil.LockedBuffer{}
	d, err := Start(t.Context(), scenario, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	client, err := connectapi.NewClient(d.URL(), connectapi.WithAPIKey(d.Key))
	if err != nil {
		t.Fatal(err)
	}
	return d, client, logs
}

func TestScenariosShapeTheSimulatedServer(t *testing.T) {
	ctx := context.Background()
	d, client, logs := start(t, "healthy")
	s, err := client.ServerSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.License.Seats != 500 || time.Until(s.License.Expiration) < 199*24*time.Hour {
		t.Errorf("healthy licence: %d seats, expires %s", s.License.Seats, s.License.Expiration)
	}
	if !strings.Contains(logs.String(), "DEMO MODE") || !strings.Contains(logs.String(), "scenario=healthy") {
		t.Errorf("the demo did not say it is one: %s", logs.String())
	}
	named := d.Sim.Truth().NamedUsers
	if named < 100 {
		t.Errorf("only %d named users: too small to show anything", named)
	}

	_, client, _ = start(t, "license-breach")
	s, err = client.ServerSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ratio := float64(named) / float64(s.License.Seats); math.Abs(ratio-0.93) > 0.01 {
		t.Errorf("license-breach: %d named of %d seats (%.3f), want 93 %%", named, s.License.Seats, ratio)
	}
	if left := time.Until(s.License.Expiration); left > 20*24*time.Hour || left < 19*24*time.Hour {
		t.Errorf("license-breach: licence ends in %s, want 20 days", left)
	}

	_, client, _ = start(t, "license-expiring")
	if s, err = client.ServerSettings(ctx); err != nil || time.Until(s.License.Expiration) > 5*24*time.Hour {
		t.Errorf("license-expiring: %v, %+v", err, s)
	}

	_, client, _ = start(t, "unauthorized")
	if _, err := client.ServerSettings(ctx); !connectapi.IsAuthError(err) {
		t.Errorf("unauthorized: %v", err)
	}
	_, client, _ = start(t, "down")
	if _, err := client.ServerSettings(ctx); !connectapi.IsUnreachable(err) {
		t.Errorf("down: %v", err)
	}
}

func TestUnknownScenarioIsRefusedNamingTheKnownOnes(t *testing.T) {
	_, err := Start(t.Context(), "apocalypse", slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), `unknown scenario "apocalypse"`) || !strings.Contains(err.Error(), "license-breach") {
		t.Errorf("err %v", err)
	}
	if err := CheckScenario("healthy"); err != nil {
		t.Error(err)
	}
	if CheckScenario("x") == nil {
		t.Error("x accepted")
	}
}

func TestMetricsURL(t *testing.T) {
	for listen, want := range map[string]string{
		":10233": "http://localhost:10233/metrics", "0.0.0.0:9": "http://localhost:9/metrics", "[::]:9": "http://localhost:9/metrics",
		"127.0.0.1:8080": "http://127.0.0.1:8080/metrics", "[::1]:7": "http://[::1]:7/metrics", "exporter.local:1": "http://exporter.local:1/metrics",
	} {
		if got := MetricsURL([]string{listen, ":1"}, "/metrics"); got != want {
			t.Errorf("MetricsURL(%s) = %s, want %s", listen, got, want)
		}
	}
	if got := MetricsURL(nil, "/m"); got != "http://localhost:10233/m" {
		t.Errorf("no listen address: %s", got)
	}
}
