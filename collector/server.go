// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	versionDesc = prometheus.NewDesc(namespace+"_version_info",
		"Connect server version (always 1); absent when the server does not expose its version. Cached for up to --connect.cache-ttl.server-settings.",
		[]string{"version"}, nil)
	seatsDesc = prometheus.NewDesc(namespace+"_license_user_seats",
		"Named-user seat limit of the licence, or --connect.license-seats when set; absent when the licence enforces no limit. Cached for up to --connect.cache-ttl.server-settings.",
		nil, nil)
	licenceErrorsDesc = prometheus.NewDesc(namespace+"_license_parse_errors_total",
		"Server settings fetched whose licence field could not be read (the field's series is then left out; an unreadable user-activity-days counts named users over 365 days).",
		[]string{"field"}, nil)
	expiryDesc = prometheus.NewDesc(namespace+"_license_expiry_timestamp_seconds",
		"When the licence expires, in seconds since the epoch; absent when it states no expiry. Cached for up to --connect.cache-ttl.server-settings.",
		nil, nil)
)

// serverCollector reports the server version and licence terms.
type serverCollector struct{ src *Source }

// Describe implements Collector.
func (c *serverCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- versionDesc
	ch <- seatsDesc
	ch <- expiryDesc
	ch <- licenceErrorsDesc
}

// Update implements Collector.
func (c *serverCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	s, err := c.src.Settings(ctx)
	if err != nil {
		return err
	}
	if s.Version != "" {
		ch <- prometheus.MustNewConstMetric(versionDesc, prometheus.GaugeValue, 1, s.Version)
	}
	for field, n := range c.src.licence.snapshot() {
		ch <- prometheus.MustNewConstMetric(licenceErrorsDesc, prometheus.CounterValue, float64(n), field)
	}
	if seats, ok := c.src.seats(s.License.Seats); ok {
		ch <- prometheus.MustNewConstMetric(seatsDesc, prometheus.GaugeValue, float64(seats))
	}
	if !s.License.Expiration.IsZero() {
		ch <- prometheus.MustNewConstMetric(expiryDesc, prometheus.GaugeValue, float64(s.License.Expiration.UnixMilli())/1000)
	}
	return nil
}

// seats is the seat limit to report: the override, else the licence's
// limit when it enforces one (0 means none).
func (s *Source) seats(licensed int64) (int64, bool) {
	if s.SeatsOverride > 0 {
		return s.SeatsOverride, true
	}
	return licensed, licensed > 0
}
