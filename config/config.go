// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package config reads the exporter's YAML configuration file, which lists
// several Connect servers for one exporter. Unknown keys are rejected so a
// typo cannot silently switch something off.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

// UnionKey names how users are matched across servers.
type UnionKey string

// The ways to match a user across servers.
const (
	UnionByUsername   UnionKey = "username"
	UnionByEmail      UnionKey = "email"
	UnionByLowerEmail UnionKey = "lower_email"
)

// Config is the whole file.
type Config struct {
	// UnionKey matches users across servers for the distinct named-user
	// count; default lower_email.
	UnionKey UnionKey `yaml:"union_key"`
	Servers  []Target `yaml:"servers"`
}

// Target is one Connect server of the file (the target of
// /probe?target=<name>).
type Target struct {
	// Name is the value of /probe?target= and of the server label.
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
	// APIKeyFile is read on every change; APIKeyEnv names an environment
	// variable instead. Exactly one must be set.
	APIKeyFile         string `yaml:"api_key_file"`
	APIKeyEnv          string `yaml:"api_key_env"`
	CAFile             string `yaml:"ca_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	// LicenseSeats overrides the licence's seat limit when > 0.
	LicenseSeats int64 `yaml:"license_seats"`
	// StateFile keeps this server's usage counters across restarts.
	StateFile string `yaml:"state_file"`
	// Collectors switches collectors on or off for this server; unlisted
	// collectors keep the command line's setting.
	Collectors map[string]bool `yaml:"collectors"`
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// Load reads and validates a configuration file.
func Load(path string, knownCollectors []string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	c, err := Parse(raw, knownCollectors)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes and validates configuration text.
func Parse(raw []byte, knownCollectors []string) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty")
		}
		return nil, err
	}
	// A second document ("---") would otherwise be ignored without a word.
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, errors.New("the file holds more than one YAML document (a line \"---\"); put every server in the first")
	}
	if err := c.validate(knownCollectors); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) validate(knownCollectors []string) error {
	if c.UnionKey == "" {
		c.UnionKey = UnionByLowerEmail
	}
	var errs []error
	switch c.UnionKey {
	case UnionByUsername, UnionByEmail, UnionByLowerEmail:
	default:
		errs = append(errs, fmt.Errorf("union_key: %q is not one of username, email, lower_email", c.UnionKey))
	}
	if len(c.Servers) == 0 {
		errs = append(errs, errors.New("servers: list at least one Connect server"))
	}
	names := map[string]bool{}
	stateFiles := map[string]string{}
	for i, s := range c.Servers {
		where := fmt.Sprintf("servers[%d]", i)
		if s.Name != "" {
			where = fmt.Sprintf("servers[%d] (%s)", i, s.Name)
		}
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
		}
		switch {
		case !namePattern.MatchString(s.Name):
			bad("name %q must be 1-63 letters, digits, '.', '_' or '-'", s.Name)
		case names[s.Name]:
			bad("name %q is used twice", s.Name)
		}
		names[s.Name] = true
		if _, err := connectapi.ParseServerURL(s.URL); err != nil {
			bad("url: %v", err)
		}
		switch {
		case s.APIKeyFile == "" && s.APIKeyEnv == "":
			bad("set api_key_file or api_key_env (keys are never written in this file)")
		case s.APIKeyFile != "" && s.APIKeyEnv != "":
			bad("set only one of api_key_file and api_key_env")
		}
		if s.LicenseSeats < 0 {
			bad("license_seats must not be negative")
		}
		if s.StateFile != "" {
			if other, ok := stateFiles[s.StateFile]; ok {
				bad("state_file %s is also used by %s", s.StateFile, other)
			}
			stateFiles[s.StateFile] = s.Name
		}
		for name := range s.Collectors {
			if !slices.Contains(knownCollectors, name) {
				bad("collectors: unknown collector %q (known: %s)", name, strings.Join(knownCollectors, ", "))
			}
		}
	}
	return errors.Join(errs...)
}

// Key returns the function that identifies a user across servers.
func (k UnionKey) Key(u *connectapi.User) string {
	switch k {
	case UnionByUsername:
		return u.Username
	case UnionByEmail:
		return u.Email
	default:
		return strings.ToLower(strings.TrimSpace(u.Email))
	}
}
