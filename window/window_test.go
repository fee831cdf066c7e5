// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package window

import (
	"strings"
	"testing"
	"time"
)

func TestParseLabelsWholeDaysAndGoDurations(t *testing.T) {
	ws, err := Parse(" 30d, 12h,1y,2w , 36h,90m")
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, w := range ws {
		labels = append(labels, w.Label)
	}
	if got, want := strings.Join(labels, ","), "30d,12h0m0s,365d,14d,36h0m0s,1h30m0s"; got != want {
		t.Errorf("labels %s, want %s", got, want)
	}
	if ws[3].Duration != 14*day {
		t.Errorf("2w lasts %s", ws[3].Duration)
	}
}

func TestParseRejectsBadLists(t *testing.T) {
	for bad, want := range map[string]string{
		"":         "no windows",
		",":        "no windows",
		"30":       `"30" is not a positive duration`,
		"30x":      `"30x" is not a positive duration`,
		"0d":       `"0d" is not a positive duration`,
		"-1d":      `"-1d" is not a positive duration`,
		"abc":      `"abc" is not a positive duration`,
		"30d,30d":  `"30d" is listed twice`,
		"1y,365d":  `"365d" is listed twice`,
		"24h,1d,7": "listed twice",
	} {
		_, err := Parse(bad)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", bad, err, want)
		}
	}
}

func TestLabel(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * day: "30d", 365 * day: "365d", 12 * time.Hour: "12h0m0s", 36 * time.Hour: "36h0m0s",
		90 * time.Minute: "1h30m0s", 45 * time.Second: "45s",
	} {
		if got := Label(d); got != want {
			t.Errorf("Label(%v) = %q, want %q", d, got, want)
		}
	}
}
