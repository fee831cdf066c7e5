// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Latency models a Connect server whose database takes time to answer.
// Every answer waits PerRequest, plus PerRow for each row it returns (the
// results of a paged endpoint, the items of /v1/content), before its first
// byte is sent. The wait ends early when the client gives up on the request.
// The zero value adds nothing.
type Latency struct {
	PerRequest time.Duration
	PerRow     time.Duration
}

func (l Latency) wait(rows int) time.Duration {
	return l.PerRequest + time.Duration(rows)*l.PerRow
}

// SetLatency changes the latency of the answers that follow (answers already
// waiting keep theirs). It is safe to call while clients are reading.
func (s *Server) SetLatency(l Latency) {
	s.hmu.Lock()
	s.latency = l
	s.hmu.Unlock()
}

// Hook changes the server while a client reads it, at a chosen point of a
// walk: Fn runs once, for the first request that matches, after the answer
// to that request has been built and before it is sent (and before any
// latency). So a client cannot see the answer before the change is made,
// which makes "insert users after page 1" deterministic even when the
// client fetches pages in parallel. Requests already in flight for other
// pages may be answered before or after the change.
type Hook struct {
	// Path is a path prefix the request must have, e.g. "/__api__/v1/users".
	Path string
	// Page, if not 0, also requires page_number=Page (offset paging; a
	// request without page_number is page 1).
	Page int
	// Fn makes the change. It runs with no lock of the server held and may
	// call any method (AddUser, RemoveUsers, SetOffsetQuirks, SetLatency...).
	Fn func()
}

// AddHook registers h. Hooks are matched in the order they were added and
// each runs at most once.
func (s *Server) AddHook(h Hook) {
	s.hmu.Lock()
	s.hooks = append(s.hooks, h)
	s.hmu.Unlock()
}

// OffsetQuirks make the offset-paged lists (/v1/users and /v1/groups) wrong
// in ways proxies, caches and other implementations have been seen to be.
type OffsetQuirks struct {
	// OmitTotal leaves the "total" member out.
	OmitTotal bool
	// ZeroTotal sends "total": 0.
	ZeroTotal bool
	// TotalString sends the total as a JSON string ("total": "1200").
	TotalString bool
	// RepeatRows makes every page after the first begin with the last
	// RepeatRows rows of the page before it (a page holds up to page_size
	// plus RepeatRows rows); every row is still sent at least once.
	RepeatRows int
}

// SetOffsetQuirks changes how the offset-paged lists answer from now on.
func (s *Server) SetOffsetQuirks(q OffsetQuirks) {
	s.hmu.Lock()
	s.quirks = q
	s.hmu.Unlock()
}

func (s *Server) offsetQuirks() OffsetQuirks {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	return s.quirks
}

// PageRequests returns how many requests for page_number=page were
// received on path (an exact path such as "/__api__/v1/users"; a request
// without page_number is page 1), faulted requests included.
func (s *Server) PageRequests(path string, page int) int {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	return s.pageReqs[pageKey{path, page}]
}

type pageKey struct {
	path string
	page int
}

// requestPage is the page_number of r, 1 when absent or unreadable.
func requestPage(r *http.Request) int {
	if v := r.URL.Query().Get("page_number"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return 1
}

// runHooks runs the first not yet used hook that matches r, and any further
// ones, in order.
func (s *Server) runHooks(r *http.Request) {
	s.hmu.Lock()
	var run []func()
	kept := s.hooks[:0]
	for _, h := range s.hooks {
		if strings.HasPrefix(r.URL.Path, h.Path) && (h.Page == 0 || h.Page == requestPage(r)) {
			run = append(run, h.Fn)
			continue
		}
		kept = append(kept, h)
	}
	clear(s.hooks[len(kept):])
	s.hooks = kept
	s.hmu.Unlock()
	for _, fn := range run {
		fn()
	}
}

// delay waits the latency for an answer of rows rows, or until the request
// is canceled.
func (s *Server) delay(r *http.Request, rows int) {
	s.hmu.Lock()
	d := s.latency.wait(rows)
	s.hmu.Unlock()
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.Context().Done():
	case <-t.C:
	}
}
