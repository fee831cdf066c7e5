// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

var (
	contentDesc = prometheus.NewDesc(namespace+"_content",
		"Content items by app mode and access type. Cached for up to --connect.cache-ttl.content.",
		[]string{"app_mode", "access_type"}, nil)
	contentInfoDesc = prometheus.NewDesc(namespace+"_content_info",
		"One series per content item (always 1) carrying its name and title; join per-content series on content_guid. Cached for up to --connect.cache-ttl.content.",
		[]string{"content_guid", "name", "title", "app_mode"}, nil)
)

// ResourceContent is the content list.
var ResourceContent = Resource{"content", "content", 60 * time.Second, "How long the content list is cached."}

// ContentItem is the part of a content item the exporter keeps.
type ContentItem struct {
	GUID, Name, Title, AppMode, AccessType string
}

// Content lists every content item, cached.
func (s *Source) Content(ctx context.Context) ([]ContentItem, error) {
	return connectapi.Cached(ctx, s.Cache, ResourceContent.Name, func(ctx context.Context) ([]ContentItem, error) {
		var items []ContentItem
		err := s.Client.EachContent(ctx, func(c *connectapi.Content) error {
			it := ContentItem{GUID: c.GUID, Name: c.Name, AppMode: c.AppMode, AccessType: c.AccessType}
			if c.Title != nil {
				it.Title = *c.Title
			}
			if it.AppMode == "" {
				it.AppMode = "unknown"
			}
			items = append(items, it)
			return nil
		})
		return items, err
	})
}

// contentCollector reports the content inventory.
type contentCollector struct{ src *Source }

type modeAccess struct{ mode, access string }

// Describe implements Collector.
func (c *contentCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- contentDesc
	ch <- contentInfoDesc
}

// Update implements Collector.
func (c *contentCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	items, err := c.src.Content(ctx)
	if err != nil {
		return err
	}
	counts := map[modeAccess]int{}
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		counts[modeAccess{it.AppMode, it.AccessType}]++
		if it.GUID == "" || seen[it.GUID] {
			continue // a duplicated row must not make a duplicate series
		}
		seen[it.GUID] = true
		ch <- prometheus.MustNewConstMetric(contentInfoDesc, prometheus.GaugeValue, 1, it.GUID, it.Name, it.Title, it.AppMode)
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(contentDesc, prometheus.GaugeValue, float64(n), k.mode, k.access)
	}
	return nil
}
