// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"context"
	"log/slog"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/window"
)

// Source is one Connect server's data, fetched through the shared cache.
type Source struct {
	Client *connectapi.Client
	Cache  *connectapi.Cache
	// SeatsOverride replaces the licence's seat limit when > 0.
	SeatsOverride int64
	// ActiveWindows are the windows of posit_connect_users_active.
	ActiveWindows []window.Window
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

// ResourceServerSettings is the version and licence, and how quickly
// posit_connect_up notices an outage.
var ResourceServerSettings = Resource{"server_settings", "server-settings", 15 * time.Second,
	"How long server settings (version, licence) are cached; also how quickly posit_connect_up notices an outage."}

// Settings returns the server settings, cached.
func (s *Source) Settings(ctx context.Context) (*connectapi.ServerSettings, error) {
	return connectapi.Cached(ctx, s.Cache, ResourceServerSettings.Name, s.Client.ServerSettings)
}
