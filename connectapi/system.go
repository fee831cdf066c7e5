// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"errors"
)

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
