// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/usage"
)

// alarm logs a failure when it starts or changes, and its recovery, rather
// than once per scrape: an expired key would otherwise fill the log every
// scrape interval. Failures that hit every collector alike (a rejected key,
// Connect unreachable) are reported once, not once per collector.
type alarm struct {
	mu   sync.Mutex
	last map[string]string // key → fingerprint of the failure
}

func newAlarm() *alarm { return &alarm{last: map[string]string{}} }

type namedErr struct {
	name string
	err  error
}

// scrape takes every failure of one scrape; keys absent now have recovered.
// A scrape cut short by its own client, or by a reload closing the server,
// says nothing about Connect: it is logged at debug level and changes
// nothing.
func (a *alarm) scrape(logger *slog.Logger, failures []namedErr) {
	for _, f := range failures {
		if errors.Is(f.err, context.Canceled) || errors.Is(f.err, usage.ErrClosed) {
			logger.Debug("Scrape cut short: its client went away or the server is being reloaded", "collector", f.name, "err", f.err)
			return
		}
	}
	current := map[string]string{}
	first := map[string]namedErr{}
	for _, f := range failures {
		key, fp := classify(f.name, f.err)
		if _, ok := current[key]; !ok {
			current[key], first[key] = fp, f
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for key, fp := range current {
		if a.last[key] == fp {
			logger.Debug("Connect API still failing", "problem", key, "err", first[key].err)
			continue
		}
		f := first[key]
		switch {
		case strings.HasPrefix(key, "walk/"):
			logger.Warn("A walk of Connect did not finish within --connect.walk-timeout; the next refresh continues with the pages still missing",
				"collector", f.name, "err", f.err)
		case strings.HasPrefix(key, "pending/"):
			logger.Info("Still fetching from Connect; the collector reports failure until the first fetch completes",
				"collector", f.name, "err", f.err)
		case key == "auth":
			logger.Error("Connect rejected the API key: check that it is valid, not expired, and an administrator's",
				"collector", f.name, "err", f.err)
		case key == "unreachable":
			logger.Error("Cannot reach Connect", "collector", f.name, "err", f.err)
		default:
			logger.Warn("Collector failed", "collector", f.name, "err", f.err)
		}
	}
	for key := range a.last {
		if _, ok := current[key]; !ok {
			logger.Info("Recovered", "problem", key)
		}
	}
	a.last = current
}

// classify groups a failure under a key, with a fingerprint that stays the
// same while the failure does.
func classify(name string, err error) (key, fingerprint string) {
	var ae *connectapi.APIError
	switch {
	case connectapi.IsAuthError(err) && errors.As(err, &ae):
		return "auth", fmt.Sprintf("%d/%d", ae.StatusCode, ae.Code)
	case connectapi.IsUnreachable(err):
		return "unreachable", "unreachable"
	}
	if connectapi.IsWalkTimeout(err) {
		// Its text changes as pages complete: one key for as long as it lasts.
		return "walk/" + name, "walk-timeout"
	}
	if _, ok := errors.AsType[*connectapi.PendingError](err); ok {
		return "pending/" + name, "pending"
	}
	if be, ok := errors.AsType[*connectapi.BackoffError](err); ok {
		err = be.Last
	}
	return name, err.Error()
}
