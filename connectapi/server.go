// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// DefaultActivityDays is the licence activity window when the server does
// not state one: users idle for longer are not named users.
const DefaultActivityDays = 365

// ServerSettings is the part of GET /__api__/server_settings the exporter
// reads. The endpoint is unversioned and is the only place Connect states
// its version and licence.
type ServerSettings struct {
	// Version is empty when the server does not expose it.
	Version  string `json:"version"`
	Build    string `json:"build"`
	Hostname string `json:"hostname"`
	License  License
	// GroupsEnabled is false when the server runs without groups; nil
	// when the server did not say.
	GroupsEnabled          *bool
	MetricsInstrumentation *bool `json:"metrics_instrumentation"`
}

// License is the licence block, with values normalised: Connect sends them
// as strings in some versions and as numbers or booleans in others.
type License struct {
	// Seats is the named-user limit (licence "users"); 0 means not enforced.
	Seats    int64
	HasSeats bool
	// ActivityDays is the window in which a user counts as named.
	ActivityDays int
	// Expiration is the zero time when the licence states none.
	Expiration time.Time
	Tier       string
	Status     string
	Type       string
}

type serverSettingsWire struct {
	Version                string               `json:"version"`
	Build                  string               `json:"build"`
	Hostname               string               `json:"hostname"`
	License                map[string]FlexValue `json:"license"`
	MetricsInstrumentation *bool                `json:"metrics_instrumentation"`
	Authentication         *struct {
		GroupsEnabled *bool `json:"groups_enabled"`
	} `json:"authentication"`
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *ServerSettings) UnmarshalJSON(b []byte) error {
	var w serverSettingsWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	lic, err := parseLicense(w.License)
	if err != nil {
		return err
	}
	*s = ServerSettings{
		Version: w.Version, Build: w.Build, Hostname: w.Hostname, License: lic,
		MetricsInstrumentation: w.MetricsInstrumentation,
	}
	if w.Authentication != nil {
		s.GroupsEnabled = w.Authentication.GroupsEnabled
	}
	return nil
}

func parseLicense(m map[string]FlexValue) (License, error) {
	l := License{ActivityDays: DefaultActivityDays}
	if v, ok := m["users"]; ok && v.Set() {
		n, ok := v.Int64()
		if !ok || n < 0 {
			return l, fmt.Errorf("licence field users is not a seat count: %q", v.String())
		}
		l.Seats, l.HasSeats = n, true
	}
	if v, ok := m["user-activity-days"]; ok && v.Set() {
		n, ok := v.Int64()
		if !ok || n <= 0 || n > 100*365 {
			return l, fmt.Errorf("licence field user-activity-days is not a day count: %q", v.String())
		}
		l.ActivityDays = int(n)
	}
	if v, ok := m["expiration"]; ok && v.Set() {
		ms, ok := v.Int64()
		if !ok || ms < 0 {
			return l, fmt.Errorf("licence field expiration is not epoch milliseconds: %q", v.String())
		}
		if ms > 0 {
			l.Expiration = time.UnixMilli(ms).UTC()
		}
	}
	l.Tier, l.Status, l.Type = m["tier"].String(), m["status"].String(), m["type"].String()
	return l, nil
}

// ServerSettings fetches GET /__api__/server_settings.
func (c *Client) ServerSettings(ctx context.Context) (*ServerSettings, error) {
	var s ServerSettings
	if err := c.getJSON(ctx, "/server_settings", nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}
