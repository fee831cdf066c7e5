// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"sync"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/timestamp"
)

// parseTime reads the text of an RFC 3339 timestamp exactly as time.Time's
// UnmarshalJSON does, faster for the form Connect sends
// (2006-01-02T15:04:05[.fraction](Z|±07:00), fraction of 1 to 9 digits):
// the same instant, the same offset, and the local zone when the offset is
// the local one. Anything else goes to UnmarshalJSON itself.
func parseTime(raw []byte, quoted []byte) (time.Time, error) {
	if t, ok := parseTimeFast(raw); ok {
		return t, nil
	}
	var t time.Time
	err := t.UnmarshalJSON(quoted)
	return t, err
}

func parseTimeFast(s []byte) (time.Time, bool) {
	p, ok := timestamp.Parse(s)
	if !ok || p.FracDigits > 9 { // more digits: UnmarshalJSON decides
		return time.Time{}, false
	}
	t := time.Date(p.Year, time.Month(p.Month), p.Day, p.Hour, p.Minute, p.Second, p.Nanosecond, time.UTC)
	if p.Offset == 0 && s[len(s)-1] == 'Z' {
		return t, true
	}
	t = t.Add(-time.Duration(p.Offset) * time.Second)
	// As time.Parse does: the local zone when it has this offset then.
	if local := t.In(time.Local); zoneOffset(local) == p.Offset {
		return local, true
	}
	return t.In(fixedZone(p.Offset)), true
}

func zoneOffset(t time.Time) int {
	_, off := t.Zone()
	return off
}

// fixedZones holds one unnamed fixed zone per offset, as time.Parse makes
// (FixedZone("", offset)), so that each timestamp does not allocate one.
var fixedZones sync.Map

func fixedZone(offset int) *time.Location {
	if z, ok := fixedZones.Load(offset); ok {
		return z.(*time.Location)
	}
	z, _ := fixedZones.LoadOrStore(offset, time.FixedZone("", offset))
	return z.(*time.Location)
}
