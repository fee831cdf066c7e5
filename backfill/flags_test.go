// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package backfill

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/config"
)

func TestResolveNamesEveryBadFlag(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	single := config.Target{URL: "https://c.example.com", APIKeyEnv: "CONNECT_API_KEY", StateFile: "/s.json"}
	servers := filepath.Join(t.TempDir(), "servers.yml")
	if err := os.WriteFile(servers, []byte("servers: [{name: a, url: \"https://a\", api_key_env: K, state_file: /a.json}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, spec, err := Flags{Since: "30d", Output: "h.om", Step: "1h", Labels: []string{"job=pce"}}.Resolve(now, "", single, single)
	if err != nil || !cfg.Since.Equal(now.Add(-30*24*time.Hour)) || cfg.Step != time.Hour || spec.URL != single.URL || len(cfg.Labels) != 1 {
		t.Fatalf("good flags: %+v %+v %v", cfg, spec, err)
	}
	if _, spec, err := (Flags{Since: "2026-11-01", Output: "h.om", Step: "1h", Target: "a"}).Resolve(now, servers, config.Target{}, single); err != nil || spec.Name != "a" {
		t.Fatalf("servers file: %+v %v", spec, err)
	}
	for want, f := range map[string]Flags{
		"--since: required":  {Output: "h.om", Step: "1h"},
		"is in the future":   {Since: "2027-01-01", Output: "h.om", Step: "1h"},
		"--since:":           {Since: "yesterday", Output: "h.om", Step: "1h"},
		"--output: required": {Since: "1d", Step: "1h"},
		"--step:":            {Since: "1d", Output: "h.om", Step: "hourly"},
		"--label:":           {Since: "1d", Output: "h.om", Step: "1h", Labels: []string{"no-equals"}},
		"--target: needs":    {Since: "1d", Output: "h.om", Step: "1h", Target: "a"},
	} {
		if _, _, err := f.Resolve(now, "", single, single); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want an error containing %q", f, err, want)
		}
	}
	if _, _, err := (Flags{Since: "1d", Output: "h.om", Step: "1h"}).Resolve(now, servers, config.Target{}, single); err == nil ||
		!strings.Contains(err.Error(), "--target: required with --config.file") {
		t.Errorf("no target: %v", err)
	}
	if _, _, err := (Flags{Since: "1d", Output: "h.om", Step: "1h", Target: "b"}).Resolve(now, servers, config.Target{}, single); err == nil ||
		!strings.Contains(err.Error(), `lists no server "b"`) {
		t.Errorf("unknown target: %v", err)
	}
}
