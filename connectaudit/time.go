// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectaudit

import (
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/timestamp"
)

// parseTime reads an RFC 3339 timestamp ("2022-10-18T20:07:39.813Z", any
// number of fractional digits, Z or a numeric offset) as milliseconds since
// the Unix epoch, truncating finer digits. The usual shape is read without
// allocating; anything else goes to time.Parse, which has the last word.
func parseTime(b []byte) (int64, bool) {
	if ms, ok := parseTimeFast(b); ok {
		return ms, true
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return 0, false
	}
	return t.UnixMilli(), true
}

// parseTimeFast handles YYYY-MM-DDTHH:MM:SS[.f...](Z|±HH:MM) with years
// 1970 to 9999 and valid calendar fields; it returns ok false for anything
// else.
func parseTimeFast(b []byte) (int64, bool) {
	p, ok := timestamp.Parse(b)
	if !ok || p.Year < 1970 {
		return 0, false
	}
	return p.UnixMilli(), true
}
