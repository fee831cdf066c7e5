// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package csvline splits one line of comma-separated values without
// allocating for unquoted fields, for the log readers: Workbench's session
// audit log (", " between fields, blanks around them) and Connect's legacy
// audit log (strict CSV).
package csvline

import (
	"bytes"
	"errors"
)

// ErrQuote is a quote that is not closed, or not where a field begins.
var ErrQuote = errors.New("unterminated or misplaced quote")

// Next returns the next field of s, quotes undone ("" is a quote), and
// what follows its comma; sep is false when the field runs to the end of
// s. With blanks, spaces, tabs and carriage returns around a field, and
// inside its quotes, are dropped; without, every byte counts.
func Next(s []byte, blanks bool) (field, rest []byte, sep bool, err error) {
	if blanks {
		s = TrimLeftBlanks(s)
	}
	if len(s) > 0 && s[0] == '"' {
		// Quoted field: find the closing quote, skipping "" escapes.
		var unq []byte
		i := 1
		for {
			j := bytes.IndexByte(s[i:], '"')
			if j < 0 {
				return nil, nil, false, ErrQuote
			}
			j += i
			if j+1 < len(s) && s[j+1] == '"' {
				unq = append(unq, s[i:j+1]...)
				i = j + 2
				continue
			}
			if unq != nil {
				field = append(unq, s[i:j]...)
			} else {
				field = s[i:j]
			}
			s = s[j+1:]
			if blanks {
				field, s = TrimBlanks(field), TrimLeftBlanks(s)
			}
			break
		}
		if len(s) == 0 {
			return field, nil, false, nil
		}
		if s[0] != ',' {
			return nil, nil, false, ErrQuote
		}
		return field, s[1:], true, nil
	}
	i := bytes.IndexByte(s, ',')
	if i < 0 {
		field = s
	} else {
		field, rest, sep = s[:i], s[i+1:], true
	}
	if blanks {
		field = TrimBlanks(field)
	}
	if bytes.IndexByte(field, '"') >= 0 {
		return nil, nil, false, ErrQuote
	}
	return field, rest, sep, nil
}

// IsBlank reports a space, a tab or a carriage return.
func IsBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

// TrimLeftBlanks drops the blanks that start b.
func TrimLeftBlanks(b []byte) []byte {
	for len(b) > 0 && IsBlank(b[0]) {
		b = b[1:]
	}
	return b
}

// TrimBlanks drops the blanks around b.
func TrimBlanks(b []byte) []byte {
	b = TrimLeftBlanks(b)
	for len(b) > 0 && IsBlank(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
