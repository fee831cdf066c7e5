// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"errors"
	"time"
)

// Host is one Connect node from GET /v1/system/hosts.
type Host struct {
	Hostname string    `json:"hostname"`
	Version  string    `json:"version"`
	LastSeen time.Time `json:"last_seen"`
}

// Hosts lists the server's nodes. It returns an error matching
// ErrUnsupported on servers without the endpoint.
func (c *Client) Hosts(ctx context.Context) ([]Host, error) {
	var hosts []Host
	if err := c.getJSON(ctx, "/v1/system/hosts", nil, &hosts); err != nil {
		return nil, err
	}
	return hosts, nil
}

// ActiveUserCounts is Connect's own count of active licensed users per
// window from GET /v1/metrics/users/active. Windows are "1d", "7d", "30d"
// and "365d" (there is no 90d).
type ActiveUserCounts struct {
	Windows map[string]ActiveUserWindow `json:"windows"`
}

// ActiveUserWindow counts users active in one window; note the role key is
// "admin" here, not "administrator".
type ActiveUserWindow struct {
	Total     int `json:"total"`
	Admin     int `json:"admin"`
	Publisher int `json:"publisher"`
	Viewer    int `json:"viewer"`
}

// ActiveUsers fetches GET /v1/metrics/users/active. It returns an error
// matching ErrUnsupported on servers without the endpoint.
func (c *Client) ActiveUsers(ctx context.Context) (*ActiveUserCounts, error) {
	var a ActiveUserCounts
	if err := c.getJSON(ctx, "/v1/metrics/users/active", nil, &a); err != nil {
		return nil, err
	}
	if a.Windows == nil {
		return nil, &DecodeError{Endpoint: "/v1/metrics/users/active", Err: errors.New(`no "windows" object`)}
	}
	return &a, nil
}
