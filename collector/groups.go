// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

var groupsDesc = prometheus.NewDesc(namespace+"_groups",
	"Groups on the server; absent when the server runs without groups. Cached for up to --connect.cache-ttl.groups.",
	nil, nil)

// ResourceGroups is the number of groups.
var ResourceGroups = Resource{"groups", "groups", 60 * time.Second, "How long the group count is cached."}

// groupCount returns the number of groups, cached.
func (s *Source) groupCount(ctx context.Context, settings *connectapi.ServerSettings) (int, error) {
	return connectapi.Cached(ctx, s.Cache, ResourceGroups.Name, func(ctx context.Context) (int, error) {
		return s.Client.CountGroups(ctx, settings)
	})
}

// groupsCollector reports the number of groups.
type groupsCollector struct{ src *Source }

// Describe implements Collector.
func (c *groupsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- groupsDesc
}

// Update implements Collector. A server without groups is an answer, not a
// failure: the collector succeeds and emits nothing.
func (c *groupsCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	settings, err := c.src.Settings(ctx)
	if err != nil {
		return err
	}
	n, err := c.src.groupCount(ctx, settings)
	if errors.Is(err, connectapi.ErrGroupsDisabled) {
		return nil
	}
	if err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(groupsDesc, prometheus.GaugeValue, float64(n))
	return nil
}
