// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package workbench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/csvline"
)

func TestParseCSVLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		kind lineKind
		ok   bool
		want event
	}{
		{"documented separator", "4217, alice, 1700000000123, session_start, ", lineEvent, true,
			event{pid: 4217, username: []byte("alice"), timestamp: 1700000000123, typ: []byte("session_start")}},
		{"no data field", "4217, alice, 1700000000123, auth_login", lineEvent, true,
			event{pid: 4217, username: []byte("alice"), timestamp: 1700000000123, typ: []byte("auth_login")}},
		{"plain commas", "1,bob,2,session_exit,", lineEvent, true,
			event{pid: 1, username: []byte("bob"), timestamp: 2, typ: []byte("session_exit")}},
		{"data with commas and quotes", `9, carol, 3, session_admin_terminate, admin, "x, y", z`, lineEvent, true,
			event{pid: 9, username: []byte("carol"), timestamp: 3, typ: []byte("session_admin_terminate")}},
		{"quoted fields", `"9", "o""neil", "3", "auth_login", "admin"`, lineEvent, true,
			event{pid: 9, username: []byte(`o"neil`), timestamp: 3, typ: []byte("auth_login")}},
		{"quoted username with comma", `9, "doe, jane", 3, auth_login, `, lineEvent, true,
			event{pid: 9, username: []byte("doe, jane"), timestamp: 3, typ: []byte("auth_login")}},
		{"tabs and CR", "\t9 ,\tdan , 3 , session_start , \r", lineEvent, true,
			event{pid: 9, username: []byte("dan"), timestamp: 3, typ: []byte("session_start")}},
		{"unknown type", "9, erin, 3, session_file_upload, /home/erin/x.csv", lineEvent, true,
			event{pid: 9, username: []byte("erin"), timestamp: 3, typ: []byte("session_file_upload")}},
		{"header", "pid, username, timestamp, type, data", lineHeader, true, event{}},
		{"header without data", "pid,username,timestamp,type", lineHeader, true, event{}},
		{"header after a byte order mark", "\xef\xbb\xbfpid, username, timestamp, type, data", lineHeader, true, event{}},
		{"blank", "  \r", lineBlank, true, event{}},
		{"three fields", "9, erin, 3", lineEvent, false, event{}},
		{"pid not a number", "x9, erin, 3, session_start, ", lineEvent, false, event{}},
		{"negative timestamp", "9, erin, -3, session_start, ", lineEvent, false, event{}},
		{"timestamp with fraction", "9, erin, 3.5, session_start, ", lineEvent, false, event{}},
		{"timestamp overflows", "9, erin, 99999999999999999999, session_start, ", lineEvent, false, event{}},
		{"empty username", "9, , 3, session_start, ", lineEvent, false, event{}},
		{"empty type", "9, erin, 3, , ", lineEvent, false, event{}},
		{"unterminated quote", `9, "erin, 3, session_start, `, lineEvent, false, event{}},
		{"stray quote", `9, er"in, 3, session_start, `, lineEvent, false, event{}},
		{"garbage after quote", `9, "erin"x, 3, session_start, `, lineEvent, false, event{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, kind, err := parseLine([]byte(tt.line))
			if (err == nil) != tt.ok {
				t.Fatalf("parseLine(%q) err = %v, want ok=%v", tt.line, err, tt.ok)
			}
			if kind != tt.kind {
				t.Fatalf("parseLine(%q) kind = %v, want %v", tt.line, kind, tt.kind)
			}
			if tt.ok && kind == lineEvent {
				assertEvent(t, ev, tt.want)
			}
		})
	}
}

func TestParseJSONLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		ok   bool
		want event
	}{
		{"numbers", `{"pid":4217,"username":"alice","timestamp":1700000000123,"type":"session_start","data":""}`, true,
			event{pid: 4217, username: []byte("alice"), timestamp: 1700000000123, typ: []byte("session_start")}},
		{"strings", ` {"pid":"4217","username":" alice ","timestamp":"1700000000123","type":"auth_login"}`, true,
			event{pid: 4217, username: []byte("alice"), timestamp: 1700000000123, typ: []byte("auth_login")}},
		{"exponent", `{"pid":1,"username":"bob","timestamp":1.7e12,"type":"auth_login","data":{"admin":"root"}}`, true,
			event{pid: 1, username: []byte("bob"), timestamp: 1700000000000, typ: []byte("auth_login")}},
		{"extra keys, other order", `{"type":"session_exit","extra":[1,2],"timestamp":5,"username":"c","pid":2}`, true,
			event{pid: 2, username: []byte("c"), timestamp: 5, typ: []byte("session_exit")}},
		{"fractional timestamp", `{"pid":1,"username":"bob","timestamp":1.5,"type":"auth_login"}`, false, event{}},
		{"missing type", `{"pid":1,"username":"bob","timestamp":1}`, false, event{}},
		{"null username", `{"pid":1,"username":null,"timestamp":1,"type":"auth_login"}`, false, event{}},
		{"username not a string", `{"pid":1,"username":7,"timestamp":1,"type":"auth_login"}`, false, event{}},
		{"missing pid", `{"username":"bob","timestamp":1,"type":"auth_login"}`, false, event{}},
		{"bool timestamp", `{"pid":1,"username":"bob","timestamp":true,"type":"auth_login"}`, false, event{}},
		{"truncated", `{"pid":1,"username":"bob","timestamp":1,"type":"auth_lo`, false, event{}},
		{"trailing garbage", `{"pid":1,"username":"bob","timestamp":1,"type":"auth_login"} x`, false, event{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, kind, err := parseLine([]byte(tt.line))
			if (err == nil) != tt.ok {
				t.Fatalf("parseLine(%q) err = %v, want ok=%v", tt.line, err, tt.ok)
			}
			if kind != lineEvent {
				t.Fatalf("parseLine(%q) kind = %v, want event", tt.line, kind)
			}
			if tt.ok {
				assertEvent(t, ev, tt.want)
			}
		})
	}
}

func assertEvent(t *testing.T, got, want event) {
	t.Helper()
	if got.pid != want.pid || got.timestamp != want.timestamp ||
		!bytes.Equal(got.username, want.username) || !bytes.Equal(got.typ, want.typ) {
		t.Errorf("event = {pid %d user %q ts %d type %q}, want {pid %d user %q ts %d type %q}",
			got.pid, got.username, got.timestamp, got.typ, want.pid, want.username, want.timestamp, want.typ)
	}
}

// csvQuote quotes a field the way a CSV writer would when needed.
func csvQuote(s string) string {
	if s == "" || bytes.ContainsAny([]byte(s), "\",") || s != string(csvline.TrimBlanks([]byte(s))) {
		return `"` + string(bytes.ReplaceAll([]byte(s), []byte(`"`), []byte(`""`))) + `"`
	}
	return s
}

func FuzzParseCSVLine(f *testing.F) {
	for _, s := range []string{
		"pid, username, timestamp, type, data",
		"4217, alice, 1700000000123, session_start, ",
		"4217, alice, 1700000000123, auth_login, admin",
		`9, "doe, jane", 3, auth_login, "x, ""y"""`,
		"1,bob,2,session_exit",
		"9, erin, 99999999999999999999, session_start, ",
		"\t9 ,\tdan , 3 , session_start , \r",
		`9, "erin, 3, session_start, `,
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.IndexByte(line, '\n') >= 0 {
			t.Skip("lines never contain a newline")
		}
		ev, kind, err := parseCSVLine(csvline.TrimBlanks(line))
		if err != nil || kind != lineEvent {
			return
		}
		if len(ev.username) == 0 || len(ev.typ) == 0 || ev.pid < 0 || ev.timestamp < 0 {
			t.Fatalf("accepted %q as an invalid event %+v", line, ev)
		}
		if !bytes.Equal(csvline.TrimBlanks(ev.typ), ev.typ) || !bytes.Equal(csvline.TrimBlanks(ev.username), ev.username) {
			t.Fatalf("fields of %q keep blanks: %+v", line, ev)
		}
		// Writing the event back out and parsing it gives the same event.
		again := fmt.Sprintf("%d, %s, %d, %s, x", ev.pid, csvQuote(string(ev.username)), ev.timestamp, csvQuote(string(ev.typ)))
		ev2, kind2, err := parseLine([]byte(again))
		if err != nil || kind2 != lineEvent {
			if kind2 == lineHeader {
				return
			}
			t.Fatalf("re-encoded %q (from %q) does not parse: %v", again, line, err)
		}
		assertEvent(t, ev2, ev)
	})
}

func FuzzParseJSONLine(f *testing.F) {
	for _, s := range []string{
		`{"pid":4217,"username":"alice","timestamp":1700000000123,"type":"session_start","data":""}`,
		`{"pid":"4217","username":" alice ","timestamp":"1700000000123","type":"auth_login"}`,
		`{"pid":1,"username":"bob","timestamp":1.7e12,"type":"auth_login","data":{"admin":"root"}}`,
		`{"pid":1,"username":null,"timestamp":1,"type":"auth_login"}`,
		`{"pid":1,"username":"bob","timestamp":1,"type":"auth_lo`,
		`{}`,
		`{ "pid" : 1 , "username" : "b\\u00e9" , "timestamp" : 1 , "type" : "t" , "data" : "x" }`,
		`{"PID":1,"username":"b","timestamp":1,"type":"t"}`,
		`{"pid":1,"username":"b","timestamp":1,"type":"t","username":"c"}`,
		`{"pid":01,"username":"b","timestamp":1,"type":"t"}`,
		`{"pid":1e400,"username":"b","timestamp":-0,"type":"t"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		// The fast path never disagrees with encoding/json.
		if fast, ok := parseJSONFast(line); ok {
			slow, err := parseJSONSlow(line)
			if err != nil {
				t.Fatalf("fast path accepted %q, encoding/json says %v", line, err)
			}
			assertEvent(t, fast, slow)
		}
		ev, err := parseJSONLine(line)
		if err != nil {
			return
		}
		if !json.Valid(line) {
			t.Fatalf("accepted invalid JSON %q", line)
		}
		if len(ev.username) == 0 || len(ev.typ) == 0 || ev.pid < 0 || ev.timestamp < 0 {
			t.Fatalf("accepted %q as an invalid event %+v", line, ev)
		}
		// Writing the event back out and parsing it gives the same event.
		u, _ := json.Marshal(string(ev.username))
		ty, _ := json.Marshal(string(ev.typ))
		again := `{"pid":` + strconv.FormatInt(ev.pid, 10) + `,"username":` + string(u) +
			`,"timestamp":` + strconv.FormatInt(ev.timestamp, 10) + `,"type":` + string(ty) + `}`
		ev2, err := parseJSONLine([]byte(again))
		if err != nil {
			t.Fatalf("re-encoded %q (from %q) does not parse: %v", again, line, err)
		}
		assertEvent(t, ev2, ev)
	})
}

func TestTypeLabel(t *testing.T) {
	for s, want := range map[string]bool{
		"session_start": true, "session_file_upload": true, "a.b-c": true,
		"": false, "has space": false, "é": false, "x{y}": false,
		string(bytes.Repeat([]byte("a"), 65)): false,
	} {
		if got := typeLabel([]byte(s)); got != want {
			t.Errorf("typeLabel(%q) = %v, want %v", s, got, want)
		}
	}
}
