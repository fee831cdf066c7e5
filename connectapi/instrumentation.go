// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"net/url"
	"time"
)

// ShinySession is one record from GET /v1/instrumentation/shiny/usage.
type ShinySession struct {
	ContentGUID string `json:"content_guid"`
	// UserGUID is empty when Connect could not tell who the user was.
	UserGUID string    `json:"user_guid"`
	Started  time.Time `json:"started"`
	// Ended is nil while the session is open.
	Ended       *time.Time `json:"ended"`
	DataVersion int        `json:"data_version"`
}

// Visit is one record from GET /v1/instrumentation/content/visits: a view
// of any content other than a Shiny application.
type Visit struct {
	ContentGUID string     `json:"content_guid"`
	UserGUID    string     `json:"user_guid"`
	VariantKey  string     `json:"variant_key"`
	Time        time.Time  `json:"time"`
	RenderingID FlexString `json:"rendering_id"`
	BundleID    FlexString `json:"bundle_id"`
	Path        string     `json:"path"`
	DataVersion int        `json:"data_version"`
	UserAgent   string     `json:"user_agent"`
}

// UsageQuery filters the instrumentation streams. Zero times are omitted.
type UsageQuery struct {
	// From excludes Shiny sessions that ended before it (open sessions are
	// always returned) and visits before it.
	From time.Time
	To   time.Time
	// Descending asks for newest first; the default is oldest first.
	Descending bool
}

func (q UsageQuery) values() url.Values {
	v := url.Values{}
	if !q.From.IsZero() {
		v.Set("from", q.From.UTC().Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.UTC().Format(time.RFC3339Nano))
	}
	if q.Descending {
		v.Set("asc_order", "false")
	} else {
		v.Set("asc_order", "true")
	}
	return v
}

// EachShinySessionPage walks GET /v1/instrumentation/shiny/usage.
func (c *Client) EachShinySessionPage(ctx context.Context, q UsageQuery, fn func([]ShinySession) error) error {
	return eachCursorPage(ctx, c, "/v1/instrumentation/shiny/usage", q.values(), readShinySession, fn)
}

// EachVisitPage walks GET /v1/instrumentation/content/visits.
func (c *Client) EachVisitPage(ctx context.Context, q UsageQuery, fn func([]Visit) error) error {
	return eachCursorPage(ctx, c, "/v1/instrumentation/content/visits", q.values(), readVisit, fn)
}
