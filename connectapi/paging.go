// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
)

// offsetPage is Connect's page-number paging: users, groups.
type offsetPage[T any] struct {
	Results     []T  `json:"results"`
	CurrentPage *int `json:"current_page"`
	Total       int  `json:"total"`
}

// eachOffsetPage walks page_number = 1, 2, … and hands each non-empty page
// to fn. It stops on an empty page or once total rows were seen, and fails
// when the server answers a different page than the one asked for (a server
// that ignores page_number would otherwise repeat page 1 forever).
func eachOffsetPage[T any](ctx context.Context, c *Client, endpoint string, q url.Values, fn func([]T) error) error {
	if q == nil {
		q = url.Values{}
	}
	q.Set("page_size", strconv.Itoa(PageSize))
	seen := 0
	for page := 1; page <= maxPages; page++ {
		q.Set("page_number", strconv.Itoa(page))
		var p offsetPage[T]
		if err := c.getJSON(ctx, endpoint, q, &p); err != nil {
			return err
		}
		if p.CurrentPage != nil && *p.CurrentPage != page {
			return fmt.Errorf("GET %s: asked for page %d, got page %d", endpoint, page, *p.CurrentPage)
		}
		if more, err := handOn(p.Results, fn); !more {
			return err
		}
		seen += len(p.Results)
		if seen >= p.Total {
			return nil
		}
	}
	return fmt.Errorf("GET %s: more than %d pages", endpoint, maxPages)
}

// cursorPage is Connect's keyset paging: shiny usage, visits, audit logs.
type cursorPage[T any] struct {
	Results []T `json:"results"`
	Paging  struct {
		Cursors struct {
			Next *string `json:"next"`
		} `json:"cursors"`
	} `json:"paging"`
}

// eachCursorPage walks keyset pages. It re-issues its own request with
// next=<cursor> instead of following paging.next, which the server builds
// from its own idea of its address and which drops the filters. A next
// cursor comes back even on a short page, so it stops on an empty page or a
// missing cursor.
func eachCursorPage[T any](ctx context.Context, c *Client, endpoint string, q url.Values, fn func([]T) error) error {
	if q == nil {
		q = url.Values{}
	}
	q.Set("limit", strconv.Itoa(PageSize))
	q.Del("next")
	prev := ""
	for range maxPages {
		var p cursorPage[T]
		if err := c.getJSON(ctx, endpoint, q, &p); err != nil {
			return err
		}
		if more, err := handOn(p.Results, fn); !more {
			return err
		}
		next := p.Paging.Cursors.Next
		if next == nil || *next == "" {
			return nil
		}
		if *next == prev {
			return fmt.Errorf("GET %s: the paging cursor did not advance (%q)", endpoint, *next)
		}
		prev = *next
		q.Set("next", *next)
	}
	return fmt.Errorf("GET %s: more than %d pages", endpoint, maxPages)
}

// handOn gives a page to the caller; more is false when paging ends here:
// an empty page, the caller's ErrStopPaging, or the caller's error.
func handOn[T any](results []T, fn func([]T) error) (more bool, err error) {
	if len(results) == 0 {
		return false, nil
	}
	if err := fn(results); err != nil {
		if errors.Is(err, ErrStopPaging) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
