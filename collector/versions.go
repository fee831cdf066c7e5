// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"context"
	"errors"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

// The API collectors are Versioned: their output changes only when a fetch
// replaces a cached resource they read. Each Version reads the data
// through the cache first (which fetches or refreshes it as a scrape
// would) and then takes the versions of what is cached, so a collector's
// kept output is never older than the version it is kept under.

// versionOf combines the cache versions of up to two resources. The
// exporter keeps nothing for a Source without a cache.
func (s *Source) versionOf(a, b Resource) Version {
	var v Version
	v[0] = s.Cache.Version(a.Name)
	if b.Name != "" {
		v[1] = s.Cache.Version(b.Name)
	}
	return v
}

// Version implements Versioned.
func (c *serverCollector) Version(ctx context.Context) (Version, error) {
	if _, err := c.src.Settings(ctx); err != nil {
		return Version{}, err
	}
	return c.src.versionOf(ResourceServerSettings, Resource{}), nil
}

// Version implements Versioned.
func (c *usersCollector) Version(ctx context.Context) (Version, error) {
	if _, err := c.src.Users(ctx); err != nil {
		return Version{}, err
	}
	return c.src.versionOf(ResourceServerSettings, ResourceUsers), nil
}

// Version implements Versioned.
func (c *groupsCollector) Version(ctx context.Context) (Version, error) {
	settings, err := c.src.Settings(ctx)
	if err != nil {
		return Version{}, err
	}
	if _, err := c.src.groupCount(ctx, settings); err != nil && !errors.Is(err, connectapi.ErrGroupsDisabled) {
		return Version{}, err
	}
	return c.src.versionOf(ResourceServerSettings, ResourceGroups), nil
}

// Version implements Versioned.
func (c *contentCollector) Version(ctx context.Context) (Version, error) {
	if _, err := c.src.Content(ctx); err != nil {
		return Version{}, err
	}
	return c.src.versionOf(ResourceContent, Resource{}), nil
}
