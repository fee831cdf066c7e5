// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectaudit

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
)

// jsonValues holds the raw JSON values (quotes included for strings) of the
// keys of interest in either JSON format.
type jsonValues struct {
	typ, entryID, actorID, role, time, action, id, userID []byte
	set                                                   uint16
}

const (
	setType uint16 = 1 << iota
	setEntryID
	setActorID
	setRole
	setTime
	setAction
	setID
	setUserID
)

func (v *jsonValues) put(key string, raw []byte) {
	switch key {
	case keyType:
		v.typ, v.set = raw, v.set|setType
	case keyEntryID:
		v.entryID, v.set = raw, v.set|setEntryID
	case keyActorID:
		v.actorID, v.set = raw, v.set|setActorID
	case keyRole:
		v.role, v.set = raw, v.set|setRole
	case keyTime:
		v.time, v.set = raw, v.set|setTime
	case keyAction:
		v.action, v.set = raw, v.set|setAction
	case keyLegacyID:
		v.id, v.set = raw, v.set|setID
	case keyUserID:
		v.userID, v.set = raw, v.set|setUserID
	}
}

// parseJSON parses a line holding one JSON object: a current entry when it
// has a "type" key ("audit"; any other type is lineOther), a legacy entry
// (the API's audit log object) when it has no "type" but "id" and
// "action", anything else lineOther. Invalid JSON is an error.
func parseJSON(s []byte) (entry, lineKind, error) {
	v, ok := scanJSONFast(s)
	if !ok {
		var err error
		if v, err = scanJSONSlow(s); err != nil {
			return entry{}, lineEntry, err
		}
	}
	return v.entry()
}

// scanJSONSlow reads the top-level keys with encoding/json, which has the
// last word on what is valid JSON. Duplicate keys: the last one wins.
func scanJSONSlow(s []byte) (jsonValues, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(s, &m); err != nil || m == nil {
		return jsonValues{}, errJSON
	}
	var v jsonValues
	for k, raw := range m {
		v.put(k, bytes.TrimSpace(raw))
	}
	return v, nil
}

// scanJSONFast reads the shape Connect writes without allocating: a flat
// object whose keys need no unescaping and whose values are strings,
// numbers, true, false or null. For anything else (nested values, escaped
// keys, and every invalid line) ok is false and scanJSONSlow decides.
func scanJSONFast(s []byte) (v jsonValues, ok bool) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return v, false
	}
	i := skipWS(s, 1)
	if s[i] == '}' {
		return v, i == len(s)-1
	}
	for {
		if s[i] != '"' {
			return v, false
		}
		end, esc, ok := jsonStringEnd(s, i)
		if !ok || esc {
			return v, false
		}
		key := s[i+1 : end-1]
		i = skipWS(s, end)
		if i >= len(s) || s[i] != ':' {
			return v, false
		}
		i = skipWS(s, i+1)
		if i >= len(s) {
			return v, false
		}
		vs := i
		switch c := s[i]; {
		case c == '"':
			end, _, ok := jsonStringEnd(s, i)
			if !ok {
				return v, false
			}
			i = end
		case c == '-' || isDigit(c):
			end, ok := jsonNumberEnd(s, i)
			if !ok {
				return v, false
			}
			i = end
		case bytes.HasPrefix(s[i:], []byte("true")):
			i += 4
		case bytes.HasPrefix(s[i:], []byte("false")):
			i += 5
		case bytes.HasPrefix(s[i:], []byte("null")):
			i += 4
		default: // objects, arrays, garbage
			return v, false
		}
		v.put(string(key), s[vs:i])
		i = skipWS(s, i)
		if i >= len(s) {
			return v, false
		}
		switch s[i] {
		case ',':
			i = skipWS(s, i+1)
			if i >= len(s) {
				return v, false
			}
		case '}':
			return v, i == len(s)-1
		default:
			return v, false
		}
	}
}

func skipWS(s []byte, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// jsonStringEnd returns the index just past the JSON string starting at
// s[i], and whether it holds escapes. It fails on what JSON forbids in a
// string: control characters and unknown escapes. Bytes of 0x80 and above
// pass as they are, as encoding/json lets them (replacing invalid UTF-8).
func jsonStringEnd(s []byte, i int) (end int, esc, ok bool) {
	// The usual string holds neither escapes nor control characters: find
	// its closing quote and check the bytes before it 8 at a time.
	if k := bytes.IndexByte(s[i+1:], '"'); k >= 0 && plainBytes(s[i+1:i+1+k]) {
		return i + 2 + k, false, true
	}
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return j + 1, esc, true
		case c == '\\':
			esc = true
			j++
			if j >= len(s) {
				return 0, false, false
			}
			switch s[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(s) || !isHex(s[j+1]) || !isHex(s[j+2]) || !isHex(s[j+3]) || !isHex(s[j+4]) {
					return 0, false, false
				}
				j += 4
			default:
				return 0, false, false
			}
		case c < 0x20:
			return 0, false, false
		}
	}
	return 0, false, false
}

// plainBytes reports whether b holds no control character (below 0x20) and
// no backslash, testing 8 bytes at a time.
func plainBytes(b []byte) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		// A byte below 0x20: (x - 0x20…) & ^x has its high bit set; a
		// backslash: x ^ 0x5c… has a zero byte.
		y := x ^ (0x5c * ones)
		if ((x-0x20*ones)&^x|(y-ones)&^y)&highs != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c < 0x20 || c == '\\' {
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// jsonNumberEnd returns the index just past the JSON number at s[i].
func jsonNumberEnd(s []byte, i int) (int, bool) {
	j := i
	if s[j] == '-' {
		j++
	}
	if j >= len(s) || !isDigit(s[j]) {
		return 0, false
	}
	if s[j] == '0' {
		j++
	} else {
		for j < len(s) && isDigit(s[j]) {
			j++
		}
	}
	if j < len(s) && s[j] == '.' {
		j++
		k := j
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == k {
			return 0, false
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		j++
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := j
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == k {
			return 0, false
		}
	}
	return j, true
}

// jsonString returns the value of a raw JSON string; ok is false for any
// other JSON value.
func jsonString(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, true
	}
	var out string
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, false
	}
	return []byte(out), true
}

// jsonInt reads a non-negative integer from a JSON number, or a string
// holding decimal digits (the API and legacy files send ids as strings). A
// number written with a fraction or exponent is accepted when it is
// integral.
func jsonInt(raw []byte) (int64, bool) {
	if s, ok := jsonString(raw); ok {
		return parseUint(s)
	}
	if v, ok := parseUint(raw); ok {
		return v, true
	}
	if len(raw) == 0 || (raw[0] != '-' && !isDigit(raw[0])) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}

// entry validates the values of a JSON line.
func (v *jsonValues) entry() (entry, lineKind, error) {
	var e entry
	var ok bool
	switch {
	case v.set&setType != 0:
		if typ, ok := jsonString(v.typ); !ok || string(typ) != typeAudit {
			return entry{}, lineOther, nil
		}
		if e.id, ok = jsonInt(v.entryID); !ok {
			return entry{}, lineEntry, errID
		}
		if e.actorID, ok = jsonInt(v.actorID); !ok {
			return entry{}, lineEntry, errActor
		}
		e.hasActor = true
		if v.set&setRole != 0 && string(v.role) != "null" {
			if e.role, ok = jsonString(v.role); !ok {
				return entry{}, lineEntry, errSyntax
			}
		}
	case v.set&setID != 0 && v.set&setAction != 0:
		e.legacy = true
		if e.id, ok = jsonInt(v.id); !ok {
			return entry{}, lineEntry, errID
		}
		if v.set&setUserID != 0 && string(v.userID) != "null" && string(v.userID) != `""` {
			if e.actorID, ok = jsonInt(v.userID); !ok {
				return entry{}, lineEntry, errUserID
			}
			e.hasActor = true
		}
	default:
		return entry{}, lineOther, nil
	}
	t, ok := jsonString(v.time)
	if !ok {
		return entry{}, lineEntry, errTime
	}
	if e.time, ok = parseTime(t); !ok {
		return entry{}, lineEntry, errTime
	}
	if e.action, ok = jsonString(v.action); !ok || len(e.action) == 0 {
		return entry{}, lineEntry, errAction
	}
	return e, lineEntry, nil
}
