// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"net/url"
	"time"
)

// AuditEntry is one record from GET /v1/audit_logs.
type AuditEntry struct {
	// ID is an increasing integer that Connect sends as a string.
	ID              FlexString `json:"id"`
	Time            time.Time  `json:"time"`
	UserID          FlexString `json:"user_id"`
	UserGUID        string     `json:"user_guid"`
	UserDescription string     `json:"user_description"`
	Action          string     `json:"action"`
	// EventDescription is free text; it is never used as a label.
	EventDescription string `json:"event_description"`
}

// EachAuditPage walks GET /v1/audit_logs. The endpoint has no time filter;
// newestFirst walks from the newest entry back (ascOrder=false).
func (c *Client) EachAuditPage(ctx context.Context, newestFirst bool, fn func([]AuditEntry) error) error {
	q := url.Values{"ascOrder": {"true"}} // camelCase on this endpoint only
	if newestFirst {
		q.Set("ascOrder", "false")
	}
	return eachCursorPage(ctx, c, "/v1/audit_logs", q, readAuditEntry, fn)
}
