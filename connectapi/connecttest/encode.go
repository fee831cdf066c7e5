// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"strconv"
	"time"
)

// A timestamp style fixes how one stored time is written: its zone and its
// precision. Stored times are truncated to the style's precision when they
// are created, so what a client parses is exactly what the truth functions
// use.
type tstyle uint8

const (
	styleUTCSec tstyle = iota
	styleUTCMicro
	styleUTCNano
	styleUTCMilli
	stylePlus2Sec
	styleMinus5Micro
	stylePlus530Nano
	styleUTCMicro2 // weight Connect's usual µs-precision UTC more
	numStyles
)

var (
	zonePlus2   = time.FixedZone("", 2*3600)
	zoneMinus5  = time.FixedZone("", -5*3600)
	zonePlus530 = time.FixedZone("", 5*3600+1800)
)

func (st tstyle) precision() int64 {
	switch st {
	case styleUTCSec, stylePlus2Sec:
		return int64(time.Second)
	case styleUTCMilli:
		return int64(time.Millisecond)
	case styleUTCMicro, styleMinus5Micro, styleUTCMicro2:
		return int64(time.Microsecond)
	default:
		return 1
	}
}

func (st tstyle) zone() *time.Location {
	switch st {
	case stylePlus2Sec:
		return zonePlus2
	case styleMinus5Micro:
		return zoneMinus5
	case stylePlus530Nano:
		return zonePlus530
	default:
		return time.UTC
	}
}

// trunc rounds ns down to the style's precision.
func (st tstyle) trunc(ns int64) int64 {
	p := st.precision()
	if p == 1 {
		return ns
	}
	r := ns % p
	if r < 0 {
		r += p
	}
	return ns - r
}

// appendTime writes ns as a quoted RFC3339 string in style st.
func appendTime(b []byte, ns int64, st tstyle) []byte {
	b = append(b, '"')
	b = time.Unix(0, ns).In(st.zone()).AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendTimeOrNull(b []byte, ns int64, st tstyle) []byte {
	if ns == 0 {
		return append(b, "null"...)
	}
	return appendTime(b, ns, st)
}

// appendJSONString writes s as a JSON string (quotes, backslashes and
// control characters escaped; other bytes, including UTF-8, as they are).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			return appendJSONStringEscaped(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendJSONStringEscaped(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func appendStrOrNull(b []byte, s string, null bool) []byte {
	if null {
		return append(b, "null"...)
	}
	return appendJSONString(b, s)
}

func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

func appendQuotedInt(b []byte, v int64) []byte {
	b = append(b, '"')
	b = strconv.AppendInt(b, v, 10)
	return append(b, '"')
}

func appendBool(b []byte, v bool) []byte { return strconv.AppendBool(b, v) }
