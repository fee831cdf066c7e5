// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Content is one item from GET /v1/content. AppMode is an open set: new
// runtimes appear with new Connect versions.
type Content struct {
	GUID            string     `json:"guid"`
	Name            string     `json:"name"`
	Title           *string    `json:"title"`
	AppMode         string     `json:"app_mode"`
	AccessType      string     `json:"access_type"`
	ContentCategory string     `json:"content_category"`
	Locked          bool       `json:"locked"`
	OwnerGUID       string     `json:"owner_guid"`
	ID              FlexString `json:"id"`
	BundleID        FlexString `json:"bundle_id"`
	CreatedTime     time.Time  `json:"created_time"`
	// LastDeployedTime is nil on items never deployed.
	LastDeployedTime *time.Time `json:"last_deployed_time"`
}

// EachContent streams GET /v1/content, a single bare JSON array of every
// item, decoding one element at a time so the whole array is never held.
func (c *Client) EachContent(ctx context.Context, fn func(*Content) error) error {
	return c.get(ctx, "/v1/content", nil, func(body io.Reader, _ *exchange) error {
		dec := json.NewDecoder(body)
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			return fmt.Errorf("want a JSON array, got %v", tok)
		}
		for dec.More() {
			var item Content
			if err := dec.Decode(&item); err != nil {
				return err
			}
			if err := fn(&item); err != nil {
				if errors.Is(err, ErrStopPaging) {
					return nil
				}
				return &callbackError{err}
			}
		}
		if _, err := dec.Token(); err != nil { // the closing ']'
			return err
		}
		return nil
	})
}
