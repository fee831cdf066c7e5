// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"context"
	"errors"
	"sync"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

// Health remembers whether the last fetch from Connect that completed was
// answered with valid credentials: that, not whether a whole walk fitted
// in one scrape, is what posit_connect_up reports. Feed it every fetch's
// outcome (it fits connectapi.FetchObserver).
type Health struct {
	mu    sync.Mutex
	known bool
	up    bool
}

// Observe records a completed fetch. A server error or an answer that
// did not decode still means Connect answered with a valid key; no answer
// at all, or a rejected key, means it did not. A fetch cancelled by the
// exporter itself says nothing.
func (h *Health) Observe(_ string, err error) {
	if err != nil && errors.Is(err, context.Canceled) {
		return
	}
	up := err == nil || (!connectapi.IsUnreachable(err) && !connectapi.IsAuthError(err))
	h.mu.Lock()
	defer h.mu.Unlock()
	h.known, h.up = true, up
}

// Up reports the last observation; known is false before the first.
func (h *Health) Up() (up, known bool) {
	if h == nil {
		return false, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.up, h.known
}
