// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

var collectors = []string{"server", "users", "groups", "content", "shiny", "visits", "audit"}

func TestParseValid(t *testing.T) {
	c, err := Parse([]byte(`
servers:
  - name: prod
    url: https://connect.example.com
    api_key_file: /etc/pce/prod.key
    license_seats: 250
    state_file: /var/lib/pce/prod.json
    collectors: {audit: false}
  - name: client-b.eu
    url: http://127.0.0.1:3939
    api_key_env: CLIENT_B_KEY
    ca_file: /etc/ssl/b.pem
`), collectors)
	if err != nil {
		t.Fatal(err)
	}
	if c.UnionKey != UnionByLowerEmail || len(c.Servers) != 2 {
		t.Fatalf("%+v", c)
	}
	prod, b := c.Servers[0], c.Servers[1]
	if prod.Name != "prod" || prod.LicenseSeats != 250 || prod.Collectors["audit"] || prod.APIKeyFile != "/etc/pce/prod.key" ||
		prod.StateFile != "/var/lib/pce/prod.json" {
		t.Errorf("prod: %+v", prod)
	}
	if b.Name != "client-b.eu" || b.APIKeyEnv != "CLIENT_B_KEY" || b.CAFile != "/etc/ssl/b.pem" || b.URL != "http://127.0.0.1:3939" {
		t.Errorf("client-b.eu: %+v", b)
	}
}

func TestParseRejectsMistakesNamingThem(t *testing.T) {
	cases := map[string]string{
		"field api_key not found": `servers: [{name: a, url: "https://a", api_key: "sekrit"}]`,
		"field unoin_key not found": `unoin_key: email
servers: [{name: a, url: "https://a", api_key_env: K}]`,
		"union_key: \"guid\"":                      `{union_key: guid, servers: [{name: a, url: "https://a", api_key_env: K}]}`,
		"list at least one":                        `servers: []`,
		"the file is empty":                        ``,
		"more than one YAML document":              "servers: [{name: a, url: \"https://a\", api_key_env: K}]\n---\nservers: [{name: b, url: \"https://b\", api_key_env: K}]\n",
		"servers[1] (a): name \"a\" is used twice": `servers: [{name: a, url: "https://a", api_key_env: K}, {name: a, url: "https://b", api_key_env: K}]`,
		"servers[0] (a): url":                      `servers: [{name: a, url: "a.example.com", api_key_env: K}]`,
		"set api_key_file or api_key_env":          `servers: [{name: a, url: "https://a"}]`,
		"set only one":                             `servers: [{name: a, url: "https://a", api_key_env: K, api_key_file: /k}]`,
		"unknown collector \"jobs\"":               `servers: [{name: a, url: "https://a", api_key_env: K, collectors: {jobs: true}}]`,
		"name \"a b\" must be":                     `servers: [{name: "a b", url: "https://a", api_key_env: K}]`,
		"license_seats must not be negative":       `servers: [{name: a, url: "https://a", api_key_env: K, license_seats: -1}]`,
		"state_file /s is also used by a":          `servers: [{name: a, url: "https://a", api_key_env: K, state_file: /s}, {name: b, url: "https://b", api_key_env: K, state_file: /s}]`,
	}
	for want, text := range cases {
		_, err := Parse([]byte(text), collectors)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error containing %q", text, err, want)
		}
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pce.yml")
	if err := os.WriteFile(path, []byte("servers: [{name: a}]"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, collectors); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error should name the file: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yml"), collectors); err == nil {
		t.Error("a missing file was accepted")
	}
}

func TestUnionKeys(t *testing.T) {
	u := &connectapi.User{Username: "Ada", Email: " Ada@Example.COM "}
	for k, want := range map[UnionKey]string{UnionByUsername: "Ada", UnionByEmail: " Ada@Example.COM ", UnionByLowerEmail: "ada@example.com"} {
		if got := k.Key(u); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}
