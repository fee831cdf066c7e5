// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package workbench

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/csvline"
)

// event is one parsed audit log line. username and typ may alias the line's
// bytes: copy them before the line's buffer is reused.
type event struct {
	pid       int64
	username  []byte
	timestamp int64 // milliseconds since the Unix epoch
	typ       []byte
}

// lineKind says what a line was.
type lineKind int

const (
	lineEvent  lineKind = iota // a valid event
	lineBlank                  // empty or only blanks: ignored
	lineHeader                 // the CSV header: ignored
)

var (
	errFieldCount = errors.New("fewer than 4 fields")
	errPID        = errors.New("pid is not a decimal integer")
	errTimestamp  = errors.New("timestamp is not a decimal integer")
	errUsername   = errors.New("username is empty")
	errType       = errors.New("type is empty")
	errJSON       = errors.New("invalid JSON object")
)

// utf8BOM may start a file saved by a text editor; it is ignored.
var utf8BOM = []byte("\xef\xbb\xbf")

// parseLine parses one line without its newline, in either format: JSON when
// the first non-blank byte is '{', CSV otherwise.
func parseLine(line []byte) (event, lineKind, error) {
	s := csvline.TrimBlanks(bytes.TrimPrefix(line, utf8BOM))
	if len(s) == 0 {
		return event{}, lineBlank, nil
	}
	if s[0] == '{' {
		ev, err := parseJSONLine(s)
		return ev, lineEvent, err
	}
	return parseCSVLine(s)
}

// parseCSVLine parses a CSV line: "pid, username, timestamp, type, data".
// It splits on the first four commas only, so data may hold anything. Any of
// the first four fields may be double-quoted ("" escapes a quote); blanks
// around fields, and inside the quotes, are ignored. A missing data field is allowed. The header line
// is reported as lineHeader.
func parseCSVLine(line []byte) (event, lineKind, error) {
	var f [4][]byte
	rest := line
	for i := range f {
		field, r, ok, err := csvline.Next(rest, true)
		if err != nil {
			return event{}, lineEvent, err
		}
		if !ok && i < 3 {
			return event{}, lineEvent, errFieldCount
		}
		f[i], rest = field, r
		if !ok {
			break // four fields and no data
		}
	}
	if isHeader(f) {
		return event{}, lineHeader, nil
	}
	var ev event
	var ok bool
	if ev.pid, ok = parseDecimal(f[0]); !ok {
		return event{}, lineEvent, errPID
	}
	if ev.timestamp, ok = parseDecimal(f[2]); !ok {
		return event{}, lineEvent, errTimestamp
	}
	if ev.username = f[1]; len(ev.username) == 0 {
		return event{}, lineEvent, errUsername
	}
	if ev.typ = f[3]; len(ev.typ) == 0 {
		return event{}, lineEvent, errType
	}
	return ev, lineEvent, nil
}

func isHeader(f [4][]byte) bool {
	return string(f[0]) == "pid" && string(f[1]) == "username" &&
		string(f[2]) == "timestamp" && string(f[3]) == "type"
}

// jsonEvent is one NDJSON line. pid and timestamp are numbers in practice but
// strings holding digits are accepted too.
type jsonEvent struct {
	PID       json.RawMessage `json:"pid"`
	Username  *string         `json:"username"`
	Timestamp json.RawMessage `json:"timestamp"`
	Type      *string         `json:"type"`
}

// parseJSONLine parses a newline-delimited JSON line with the keys pid,
// username, timestamp, type (and data, which is ignored).
func parseJSONLine(line []byte) (event, error) {
	if ev, ok := parseJSONFast(line); ok {
		return ev, nil
	}
	return parseJSONSlow(line)
}

// parseJSONSlow parses a line with encoding/json.
func parseJSONSlow(line []byte) (event, error) {
	var j jsonEvent
	if err := json.Unmarshal(line, &j); err != nil {
		return event{}, errJSON
	}
	var ev event
	var ok bool
	if ev.pid, ok = jsonInt(j.PID); !ok {
		return event{}, errPID
	}
	if ev.timestamp, ok = jsonInt(j.Timestamp); !ok {
		return event{}, errTimestamp
	}
	if j.Username == nil || len(csvline.TrimBlanks([]byte(*j.Username))) == 0 {
		return event{}, errUsername
	}
	ev.username = csvline.TrimBlanks([]byte(*j.Username))
	if j.Type == nil || len(csvline.TrimBlanks([]byte(*j.Type))) == 0 {
		return event{}, errType
	}
	ev.typ = csvline.TrimBlanks([]byte(*j.Type))
	return ev, nil
}

// jsonInt reads an integer from a JSON number or a string holding one. A
// number written with a fraction or exponent is accepted when it is integral.
func jsonInt(raw json.RawMessage) (int64, bool) {
	raw = csvline.TrimBlanks(raw)
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		return parseDecimal(csvline.TrimBlanks(raw[1 : len(raw)-1]))
	}
	if v, ok := parseDecimal(raw); ok {
		return v, true
	}
	if len(raw) == 0 || raw[0] == 'n' || raw[0] == 't' || raw[0] == 'f' || raw[0] == '[' || raw[0] == '{' {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}

// parseDecimal parses a non-empty run of ASCII digits that fits in an int64.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if v > (math.MaxInt64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// typeLabel reports whether an event type may be used as a label value as it
// is: 1 to 64 bytes of ASCII letters, digits, '_', '.' or '-'.
func typeLabel(t []byte) bool {
	if len(t) == 0 || len(t) > 64 {
		return false
	}
	for _, c := range t {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

// parseJSONFast parses the line shape Workbench writes without allocating: a
// flat object whose keys are exactly pid, username, timestamp, type and data,
// whose strings are printable ASCII without escapes, and whose numbers are
// plain integers. For anything else (including every invalid line) ok is
// false and the caller falls back to encoding/json, which has the last word.
func parseJSONFast(line []byte) (ev event, ok bool) {
	s := csvline.TrimBlanks(line)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return event{}, false
	}
	s = s[1 : len(s)-1]
	var pid, ts, user, typ []byte
	for {
		s = csvline.TrimLeftBlanks(s)
		key, rest, ok := jsonSimpleString(s)
		if !ok {
			return event{}, false
		}
		s = csvline.TrimLeftBlanks(rest)
		if len(s) == 0 || s[0] != ':' {
			return event{}, false
		}
		s = csvline.TrimLeftBlanks(s[1:])
		var val []byte
		isString := len(s) > 0 && s[0] == '"'
		if isString {
			v, rest, ok := jsonSimpleString(s)
			if !ok {
				return event{}, false
			}
			val, s = v, rest
		} else {
			i := 0
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
			if i == 0 || (s[0] == '0' && i > 1) {
				return event{}, false
			}
			val, s = s[:i], s[i:]
		}
		switch string(key) {
		case "pid":
			pid = val
		case "timestamp":
			ts = val
		case "username":
			if !isString {
				return event{}, false
			}
			user = val
		case "type":
			if !isString {
				return event{}, false
			}
			typ = val
		case "data":
		default:
			return event{}, false
		}
		s = csvline.TrimLeftBlanks(s)
		if len(s) == 0 {
			break
		}
		if s[0] != ',' {
			return event{}, false
		}
		s = s[1:]
	}
	if pid == nil || ts == nil || user == nil || typ == nil {
		return event{}, false
	}
	if ev.pid, ok = parseDecimal(csvline.TrimBlanks(pid)); !ok {
		return event{}, false
	}
	if ev.timestamp, ok = parseDecimal(csvline.TrimBlanks(ts)); !ok {
		return event{}, false
	}
	ev.username, ev.typ = csvline.TrimBlanks(user), csvline.TrimBlanks(typ)
	if len(ev.username) == 0 || len(ev.typ) == 0 {
		return event{}, false
	}
	return ev, true
}

// jsonSimpleString reads a JSON string at the start of s that holds only
// printable ASCII and no escapes, returning its contents and what follows.
func jsonSimpleString(s []byte) (str, rest []byte, ok bool) {
	if len(s) == 0 || s[0] != '"' {
		return nil, nil, false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[1:i], s[i+1:], true
		case c == '\\' || c < 0x20 || c >= 0x7f:
			return nil, nil, false
		}
	}
	return nil, nil, false
}
