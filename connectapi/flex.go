// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// FlexString decodes a JSON string, number or null into a string. Connect
// has sent ids as numbers in some versions and strings in others.
type FlexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = FlexString(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("want a string or number, got %.40s", b)
		}
		*f = FlexString(n.String())
	}
	return nil
}

// FlexValue holds a licence value that some Connect versions send as a
// string ("20", "1", "true") and others as a number or a boolean.
type FlexValue struct {
	raw string
	set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (v *FlexValue) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*v = FlexValue{}
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = FlexValue{raw: strings.TrimSpace(s), set: true}
		return nil
	}
	if len(b) > 0 && (b[0] == '{' || b[0] == '[') {
		return fmt.Errorf("want a string, number or boolean, got %.40s", b)
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*v = FlexValue{raw: string(b), set: true}
	return nil
}

// Set reports whether the value was present and not null.
func (v FlexValue) Set() bool { return v.set }

// String returns the value as text.
func (v FlexValue) String() string { return v.raw }

// Int64 parses the value as a whole number ("20", 20 or 20.0).
func (v FlexValue) Int64() (int64, bool) {
	if !v.set {
		return 0, false
	}
	if n, err := strconv.ParseInt(v.raw, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(v.raw, 64)
	if err != nil || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}
