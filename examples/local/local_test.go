// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package local

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// maxSchemaVersion is the newest dashboard schemaVersion that the README's
// minimum Grafana version reads: 39 is Grafana 10.3's.
const (
	maxSchemaVersion  = 39
	minGrafanaVersion = "Grafana 10.3"
)

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestPrometheusConfig(t *testing.T) {
	var cfg struct {
		Global        map[string]string `yaml:"global"`
		RuleFiles     []string          `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "prometheus.yml", &cfg)
	// Prometheus resolves rule files against the config file's folder.
	var rules []string
	for _, rf := range cfg.RuleFiles {
		rules = append(rules, filepath.Clean(rf))
	}
	if !slices.Equal(rules, []string{filepath.Join("..", "alerts.yml")}) {
		t.Errorf("rule_files %v, want the repository's examples/alerts.yml", cfg.RuleFiles)
	}
	if len(cfg.ScrapeConfigs) != 1 || cfg.ScrapeConfigs[0].JobName != "posit_connect" ||
		len(cfg.ScrapeConfigs[0].StaticConfigs) != 1 || !slices.Equal(cfg.ScrapeConfigs[0].StaticConfigs[0].Targets, []string{"localhost:10233"}) {
		t.Errorf("want one job posit_connect scraping localhost:10233 (the exporter's default port), got %+v", cfg.ScrapeConfigs)
	}
}

func TestGrafanaDataSource(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name      string            `yaml:"name"`
			UID       string            `yaml:"uid"`
			Type      string            `yaml:"type"`
			Access    string            `yaml:"access"`
			URL       string            `yaml:"url"`
			IsDefault bool              `yaml:"isDefault"`
			JSONData  map[string]string `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	readYAML(t, "grafana/datasources/prometheus.yml", &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 {
		t.Fatalf("want apiVersion 1 and one data source, got %+v", ds)
	}
	d := ds.Datasources[0]
	// The dashboards pick a data source of type prometheus; the default one
	// is selected first.
	if d.Type != "prometheus" || !d.IsDefault || d.URL != "http://localhost:9090" {
		t.Errorf("data source %+v: want the default, of type prometheus, at http://localhost:9090 (README's Prometheus)", d)
	}
}

// TestGrafanaDashboardProviders checks that the providers name every
// dashboard in dashboards/, resolving GF_PATHS_PROVISIONING as Grafana
// does, and that every dashboard is readable by the minimum Grafana.
func TestGrafanaDashboardProviders(t *testing.T) {
	var p struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name                  string `yaml:"name"`
			Folder                string `yaml:"folder"`
			Type                  string `yaml:"type"`
			DisableDeletion       bool   `yaml:"disableDeletion"`
			AllowUIUpdates        bool   `yaml:"allowUiUpdates"`
			UpdateIntervalSeconds int    `yaml:"updateIntervalSeconds"`
			Options               struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "grafana/dashboards/posit-connect.yml", &p)
	prov, err := filepath.Abs("grafana")
	if err != nil {
		t.Fatal(err)
	}
	var provided []string
	names := map[string]bool{}
	for _, pr := range p.Providers {
		if pr.Type != "file" || names[pr.Name] {
			t.Errorf("provider %q: want type file and a unique name", pr.Name)
		}
		names[pr.Name] = true
		path := os.Expand(pr.Options.Path, func(v string) string {
			if v == "GF_PATHS_PROVISIONING" {
				return prov
			}
			t.Errorf("provider %q: unexpected variable %s", pr.Name, v)
			return ""
		})
		provided = append(provided, filepath.Clean(path))
	}
	dashboards, err := filepath.Glob("../../dashboards/*.json")
	if err != nil || len(dashboards) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	var want []string
	for _, d := range dashboards {
		abs, err := filepath.Abs(d)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, abs)

		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		var dash struct {
			SchemaVersion int `json:"schemaVersion"`
		}
		if err := json.Unmarshal(b, &dash); err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if dash.SchemaVersion == 0 || dash.SchemaVersion > maxSchemaVersion {
			t.Errorf("%s: schemaVersion %d; the README promises %s, which reads up to %d: update both",
				d, dash.SchemaVersion, minGrafanaVersion, maxSchemaVersion)
		}
	}
	slices.Sort(provided)
	slices.Sort(want)
	if !slices.Equal(provided, want) {
		t.Errorf("providers load\n  %v\nwant every dashboard in dashboards/:\n  %v", provided, want)
	}

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), minGrafanaVersion+" or later") {
		t.Errorf("README.md does not say %q or later", minGrafanaVersion)
	}
}
