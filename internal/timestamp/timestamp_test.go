// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package timestamp

import (
	"testing"
	"time"
)

func TestParseAgreesWithTime(t *testing.T) {
	for _, s := range []string{
		"2022-10-18T20:07:39.813Z", "2022-10-18T20:07:39Z", "2024-02-29T23:59:59.123456789+05:30",
		"1969-12-31T23:59:59.9-00:30", "2026-03-10T14:30:00.1234567891234Z", "0001-01-01T00:00:00Z",
	} {
		p, ok := Parse([]byte(s))
		want, err := time.Parse(time.RFC3339Nano, s)
		if !ok || err != nil {
			t.Fatalf("%s: ok %v, time.Parse %v", s, ok, err)
		}
		if got := p.UnixMilli(); got != want.UnixMilli() {
			t.Errorf("%s: %d ms, time says %d", s, got, want.UnixMilli())
		}
		if _, off := want.Zone(); off != p.Offset || p.Nanosecond != want.Nanosecond() {
			t.Errorf("%s: offset %d ns %d, time says %d %d", s, p.Offset, p.Nanosecond, off, want.Nanosecond())
		}
	}
	for _, s := range []string{"", "2022-10-18", "2022-02-30T00:00:00Z", "2022-10-18T24:00:00Z", "2022-10-18T20:07:39.Z",
		"2022-10-18T20:07:39+0530", "2022-10-18T20:07:39+24:00", "2022-10-18 20:07:39Z", "2022-10-18T20:07:39ZZ"} {
		if _, ok := Parse([]byte(s)); ok {
			t.Errorf("%q accepted", s)
		}
	}
}
