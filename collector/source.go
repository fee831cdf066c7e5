// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

// Cache resource names, also the values of the cache metrics' resource label.
const (
	ResourceServerSettings = "server_settings"
	ResourceUsers          = "users"
	ResourceActiveUsers    = "active_users"
	ResourceGroups         = "groups"
	ResourceContent        = "content"
)

// Source is one Connect server's data, fetched through the shared cache.
type Source struct {
	Client *connectapi.Client
	Cache  *connectapi.Cache
	// SeatsOverride replaces the licence's seat limit when > 0.
	SeatsOverride int64
	// ActiveWindows are the windows of posit_connect_users_active.
	ActiveWindows []Window
	// NamedKey, when set, makes the users summary keep the identity of
	// every named user, for a distinct count across servers.
	NamedKey UserKeyFunc
	Now      func() time.Time
	Logger   *slog.Logger
}

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Settings returns the server settings, cached.
func (s *Source) Settings(ctx context.Context) (*connectapi.ServerSettings, error) {
	return connectapi.Cached(ctx, s.Cache, ResourceServerSettings, s.Client.ServerSettings)
}

// Window is a look-back window for active users, labelled like "30d".
type Window struct {
	Label    string
	Duration time.Duration
}

// ParseWindows reads a comma-separated list such as "30d,90d,365d".
func ParseWindows(list string) ([]Window, error) {
	var ws []Window
	seen := map[time.Duration]bool{}
	for part := range strings.SplitSeq(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := model.ParseDuration(part)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("window %q is not a positive duration like 30d", part)
		}
		if seen[time.Duration(d)] {
			return nil, fmt.Errorf("window %q is listed twice", part)
		}
		seen[time.Duration(d)] = true
		ws = append(ws, Window{Label: windowLabel(time.Duration(d)), Duration: time.Duration(d)})
	}
	if len(ws) == 0 {
		return nil, fmt.Errorf("no windows in %q", list)
	}
	return ws, nil
}

// windowLabel writes whole days as "365d" (not Prometheus' "1y"), matching
// how Connect and the licence name their windows.
func windowLabel(d time.Duration) string {
	const day = 24 * time.Hour
	if d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return model.Duration(d).String()
}
