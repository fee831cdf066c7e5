// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package window parses the look-back windows of the active and named
// user counts (Connect and Workbench alike) and names them with one rule:
// whole days as "30d", anything else as Go writes the duration ("36h0m0s").
package window

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

const day = 24 * time.Hour

// Window is a look-back period and its label value.
type Window struct {
	Label    string
	Duration time.Duration
}

// Label names a window: "365d" for whole days (as Connect and its licence
// name them, rather than Prometheus' "1y"), otherwise Go's duration string.
func Label(d time.Duration) string {
	if d > 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}

// New returns the window of duration d.
func New(d time.Duration) Window { return Window{Label: Label(d), Duration: d} }

// Parse reads a comma-separated list in Prometheus duration syntax, such
// as "30d,90d,365d". Every window must be positive and listed once (two
// spellings of one length, "1y" and "365d", are the same window).
func Parse(list string) ([]Window, error) {
	var ws []Window
	seen := map[time.Duration]bool{}
	for part := range strings.SplitSeq(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := model.ParseDuration(part)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("window %q is not a positive duration like 30d", part)
		}
		if seen[time.Duration(d)] {
			return nil, fmt.Errorf("window %q is listed twice", part)
		}
		seen[time.Duration(d)] = true
		ws = append(ws, New(time.Duration(d)))
	}
	if len(ws) == 0 {
		return nil, fmt.Errorf("no windows in %q", list)
	}
	return ws, nil
}
