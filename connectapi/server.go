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
// as strings in some versions and as numbers or booleans in others. A field
// that cannot be read is left out (as if absent) and listed in Problems: one
// odd field must not hide the rest of the licence, let alone the server.
type License struct {
	// Seats is the named-user limit (licence "users"); 0 means not enforced.
	Seats    int64
	HasSeats bool
	// ActivityDays is the window in which a user counts as named;
	// DefaultActivityDays when absent or unreadable.
	ActivityDays int
	// Expiration is the zero time when the licence states none.
	Expiration time.Time
	Tier       string
	Status     string
	Type       string
	// Problems lists the licence fields that could not be read.
	Problems []LicenseProblem
}

// LicenseProblem is a licence field whose value could not be read.
type LicenseProblem struct {
	Field string
	// Value is the value as sent, cut to 40 bytes.
	Value  string
	Reason string
}

// The licence fields the exporter reads.
const (
	LicenseFieldUsers        = "users"
	LicenseFieldActivityDays = "user-activity-days"
	LicenseFieldExpiration   = "expiration"
)

type serverSettingsWire struct {
	Version                string                     `json:"version"`
	Build                  string                     `json:"build"`
	Hostname               string                     `json:"hostname"`
	License                map[string]json.RawMessage `json:"license"`
	MetricsInstrumentation *bool                      `json:"metrics_instrumentation"`
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
	*s = ServerSettings{
		Version: w.Version, Build: w.Build, Hostname: w.Hostname, License: parseLicense(w.License),
		MetricsInstrumentation: w.MetricsInstrumentation,
	}
	if w.Authentication != nil {
		s.GroupsEnabled = w.Authentication.GroupsEnabled
	}
	return nil
}

// maxActivityDays bounds user-activity-days to something a licence could
// mean (a century).
const maxActivityDays = 100 * 365

func parseLicense(raw map[string]json.RawMessage) License {
	l := License{ActivityDays: DefaultActivityDays}
	field := func(name string) (FlexValue, bool) {
		r, ok := raw[name]
		if !ok {
			return FlexValue{}, false
		}
		var v FlexValue
		if err := json.Unmarshal(r, &v); err != nil {
			l.problem(name, string(r), "not a string, number or boolean")
			return FlexValue{}, false
		}
		return v, v.Set()
	}
	if v, ok := field(LicenseFieldUsers); ok {
		if n, ok := v.Int64(); ok && n >= 0 {
			l.Seats, l.HasSeats = n, true
		} else {
			l.problem(LicenseFieldUsers, v.String(), "not a whole number of seats (0 or more)")
		}
	}
	if v, ok := field(LicenseFieldActivityDays); ok {
		if n, ok := v.Int64(); ok && n > 0 && n <= maxActivityDays {
			l.ActivityDays = int(n)
		} else {
			l.problem(LicenseFieldActivityDays, v.String(), fmt.Sprintf("not a number of days from 1 to %d", maxActivityDays))
		}
	}
	if v, ok := field(LicenseFieldExpiration); ok {
		if t, ok := parseExpiration(v); ok {
			l.Expiration = t
		} else {
			l.problem(LicenseFieldExpiration, v.String(), "neither epoch milliseconds nor an RFC 3339 date")
		}
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"tier", &l.Tier}, {"status", &l.Status}, {"type", &l.Type}} {
		if v, ok := field(f.name); ok {
			*f.dst = v.String()
		}
	}
	return l
}

func (l *License) problem(field, value, reason string) {
	if len(value) > 40 {
		value = value[:40]
	}
	l.Problems = append(l.Problems, LicenseProblem{Field: field, Value: value, Reason: reason})
}

// parseExpiration reads epoch milliseconds (0: no expiry) or an RFC 3339
// date-time or full date.
func parseExpiration(v FlexValue) (time.Time, bool) {
	if ms, ok := v.Int64(); ok {
		if ms < 0 {
			return time.Time{}, false
		}
		if ms == 0 {
			return time.Time{}, true
		}
		return time.UnixMilli(ms).UTC(), true
	}
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, v.String()); err == nil && t.Year() >= 1970 {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// ServerSettings fetches GET /__api__/server_settings.
func (c *Client) ServerSettings(ctx context.Context) (*ServerSettings, error) {
	var s ServerSettings
	if err := c.getJSON(ctx, "/server_settings", nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}
