// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectaudit

import (
	"bytes"
	"encoding/csv"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/csvline"
)

// Seeds run in every go test; run the fuzzers with, e.g.,
//
//	go test -run '^$' -fuzz '^FuzzParseLogfmt$' -fuzztime 15s ./connectaudit/

var logfmtSeeds = []string{
	docLine,
	`time="2023-01-02T03:04:05.000Z" level=info msg="Sent" action=send_email actor_description="Scheduled email checker" actor_id=0 actor_role=system entry_id=9 type=audit`,
	`time="2023-01-02T03:04:05.5Z" msg="a \"b\" \\ c" action="user_login" actor_id="12" actor_role=viewer entry_id=10 type="audit" empty= bare`,
	`time="2023-01-02T03:04:05Z" action="caf\u00e9" actor_id=1 entry_id=11 type=audit`,
	`time="2023-01-02T03:04:05Z" level=info msg="Starting" pid=1000`,
	`time="x level=info type=audit`,
	`a=b"c type=audit`,
	`=x`,
	`type=audit type=access`,
	`time="\q" action=a actor_id=1 entry_id=1 type=audit`,
	`Oct 18 20:07:39 node1 rstudio-connect[812]: ` + docLine,
}

// logfmtToken is one key, optionally with a bare or quoted value, as a
// regular expression: the oracle FuzzParseLogfmt compares parseLogfmt with.
var logfmtToken = regexp.MustCompile(`(?s)^([^ \t\r="]+)(?:=("(?:[^"\\]|\\.)*"|[^ \t\r"]*))?(?:[ \t\r]+|$)`)

// refLogfmt parses s with logfmtToken and validates the entry with the
// standard library only.
func refLogfmt(s string) (e entry, kind lineKind, ok bool) {
	vals := map[string]string{}
	rest := strings.TrimLeft(s, " \t\r")
	for rest != "" {
		m := logfmtToken.FindStringSubmatchIndex(rest)
		if m == nil {
			return entry{}, 0, false
		}
		if m[4] >= 0 { // has a value
			vals[rest[m[2]:m[3]]] = rest[m[4]:m[5]]
		}
		rest = rest[m[1]:]
	}
	get := func(k string) (string, bool) {
		v, ok := vals[k]
		if !ok || !strings.HasPrefix(v, `"`) {
			return v, true
		}
		u, err := strconv.Unquote(v)
		return u, err == nil
	}
	for _, k := range []string{"time", "type", "action", "actor_id", "actor_role", "entry_id"} {
		if _, ok := get(k); !ok {
			return entry{}, 0, false // a wanted value with a bad escape
		}
	}
	if typ, _ := get("type"); typ != "audit" {
		return entry{}, lineOther, true
	}
	num := func(k string) (int64, bool) {
		v, _ := get(k)
		if v == "" || strings.TrimLeft(v, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	var good bool
	if e.id, good = num("entry_id"); !good {
		return entry{}, 0, false
	}
	ts, _ := get("time")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return entry{}, 0, false
	}
	e.time = t.UnixMilli()
	a, _ := get("action")
	if a == "" {
		return entry{}, 0, false
	}
	e.action = []byte(a)
	if e.actorID, good = num("actor_id"); !good {
		return entry{}, 0, false
	}
	r, _ := get("actor_role")
	e.role, e.hasActor = []byte(r), true
	return e, lineEntry, true
}

func sameEntry(a, b entry) bool {
	return a.id == b.id && a.time == b.time && a.actorID == b.actorID && a.hasActor == b.hasActor &&
		bytes.Equal(a.action, b.action) && bytes.Equal(a.role, b.role) && a.legacy == b.legacy
}

func FuzzParseLogfmt(f *testing.F) {
	for _, s := range logfmtSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\n") {
			return // lines never hold a newline
		}
		e, kind, err := parseLogfmt([]byte(s))
		re, rkind, rok := refLogfmt(s)
		if (err == nil) != rok {
			t.Fatalf("parseLogfmt(%q): error %v; the reference says ok=%v", s, err, rok)
		}
		if err != nil {
			return
		}
		if kind != rkind || (kind == lineEntry && !sameEntry(e, re)) {
			t.Fatalf("parseLogfmt(%q) = %+v kind %d; the reference: %+v kind %d", s, e, kind, re, rkind)
		}
	})
}

var jsonSeeds = []string{
	`{"action":"add_group","actor_description":"admin n (admin)","actor_guid":"8c1c","actor_id":1,"actor_role":"administrator","entry_id":73,"group_id":2,"level":"info","msg":"Added group Publishers","time":"2022-10-18T20:07:39.813Z","type":"audit"}`,
	` { "type" : "audit", "entry_id" : 5, "msg":"Zoë \"q\"", "time":"2022-10-18T22:07:39+02:00" , "actor_id":0,"actor_role":"system","action":"x" } `,
	`{"type":"audit","entry_id":6,"extra":{"a":[1,2]},"time":"2022-10-18T20:07:39Z","actor_id":3,"action":"y"}`,
	`{"typ\u0065":"audit","entry_id":7,"time":"2022-10-18T20:07:39Z","actor_id":3,"action":"a\u005fb"}`,
	`{"type":"audit","entry_id":"8","time":"2022-10-18T20:07:39Z","actor_id":-0.0e1,"action":"z","actor_role":null}`,
	`{"id":"230","time":"2025-12-15T09:13:15.923372Z","user_id":"11","user_guid":"1b17","user_description":"Q","action":"update_user","event_description":"x"}`,
	`{"id":231,"time":"2025-12-15T09:13:15Z","user_id":null,"action":"a"}`,
	`{"level":"info","msg":"Starting","time":"2022-10-18T20:07:39Z"}`,
	`{"type":"audit","entry_id":1`,
	`{"type":"audit",}`,
	`{"type":"audit","msg":"\q"}`,
	`{"a":1,"a":2,"type":"audit","type":"x"}`,
	`{}`,
	`{"\ud800":1}`,
}

// FuzzParseJSON checks the fast scanner against encoding/json: whenever it
// accepts a line, encoding/json must read the same values.
func FuzzParseJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := csvline.TrimBlanks([]byte(s))
		if len(b) == 0 || b[0] != '{' {
			return
		}
		fast, ok := scanJSONFast(b)
		slow, err := scanJSONSlow(b)
		if ok {
			if err != nil {
				t.Fatalf("fast scanner accepts %q, encoding/json does not: %v", s, err)
			}
			if fast.set != slow.set {
				t.Fatalf("%q: keys %b (fast) vs %b (encoding/json)", s, fast.set, slow.set)
			}
			for i, pair := range [][2][]byte{
				{fast.typ, slow.typ}, {fast.entryID, slow.entryID}, {fast.actorID, slow.actorID},
				{fast.role, slow.role}, {fast.time, slow.time}, {fast.action, slow.action},
				{fast.id, slow.id}, {fast.userID, slow.userID},
			} {
				if !bytes.Equal(pair[0], pair[1]) {
					t.Fatalf("%q: value %d is %q (fast) vs %q (encoding/json)", s, i, pair[0], pair[1])
				}
			}
		}
		// The full parse never panics and is consistent.
		e, kind, perr := parseJSON(b)
		if perr == nil && kind == lineEntry && (len(e.action) == 0 || e.id < 0) {
			t.Fatalf("%q: entry without an action or with a negative id: %+v", s, e)
		}
		if err != nil && perr == nil {
			t.Fatalf("%q: invalid JSON accepted", s)
		}
	})
}

var csvSeeds = []string{
	`230,2025-12-15T09:13:15.923372Z,11,Quentin King (qking),update_user,"Updated user admin, by ""Quentin King (qking)"""`,
	`"231","2025-12-15T04:13:15-05:00","4","King, Quentin","user_login",Logged in`,
	`232,2025-12-15T09:13:15Z,,System,add_user,`,
	`233,2025-12-15T09:13:15Z,4,Q,edit_user,"first line`,
	`id,time,user_id,user_description,action,event_description`,
	`234,2025-12-15T09:13:15Z,4,Q,edit_user`,
	`234,2025-12-15T09:13:15Z,4,"Q"x,edit_user,x`,
	`1,"",2,"a""b","",x`,
}

// FuzzParseLegacyCSV checks the field splitter against encoding/csv:
// whenever encoding/csv reads the line as one record of six or more fields,
// the first five must be the same.
func FuzzParseLegacyCSV(f *testing.F) {
	for _, s := range csvSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\r\n") || !utf8.ValidString(s) || len(s) > 1024 {
			// Lines hold no newline; encoding/csv rewrites invalid UTF-8 and
			// \r; longer inputs add nothing but slow minimization down.
			return
		}
		f5, sixth, err := csvFields([]byte(s))
		r := csv.NewReader(strings.NewReader(s))
		r.FieldsPerRecord = -1
		recs, cerr := r.ReadAll()
		if cerr == nil && len(recs) == 1 && len(recs[0]) >= 6 {
			if err != nil || !sixth {
				t.Fatalf("csvFields(%q): error %v, sixth %v; encoding/csv reads %q", s, err, sixth, recs[0])
			}
			for i := range f5 {
				if string(f5[i]) != recs[0][i] {
					t.Fatalf("csvFields(%q) field %d = %q; encoding/csv: %q", s, i, f5[i], recs[0][i])
				}
			}
		}
		if e, kind, perr := parseLegacyCSV([]byte(s)); perr == nil && kind == lineEntry &&
			(len(e.action) == 0 || e.id < 0 || !e.legacy) {
			t.Fatalf("%q: bad entry %+v", s, e)
		}
	})
}

// FuzzParseTime checks the fast timestamp path against time.Parse.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2022-10-18T20:07:39.813Z", "2024-02-29T23:59:59.999+05:30", "1970-01-01T00:00:00Z",
		"2022-10-18T20:07:39-11:59", "2022-02-30T00:00:00Z", "2022-10-18T20:07:39.Z", "9999-12-31T23:59:59.123456789Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTimeFast([]byte(s))
		if !ok {
			return
		}
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || want.UnixMilli() != got {
			t.Fatalf("parseTimeFast(%q) = %d; time.Parse: %d, %v", s, got, want.UnixMilli(), err)
		}
	})
}

// FuzzParseLine feeds any line to the format detection: never a panic, and
// an entry always has an action and a non-negative id.
func FuzzParseLine(f *testing.F) {
	for _, seeds := range [][]string{logfmtSeeds, jsonSeeds, csvSeeds} {
		for _, s := range seeds {
			f.Add(s)
		}
	}
	f.Add("\xef\xbb\xbf" + docLine)
	f.Add("Starting Posit Connect")
	f.Fuzz(func(t *testing.T, s string) {
		e, kind, err := parseLine([]byte(s))
		if err == nil && kind == lineEntry && (len(e.action) == 0 || e.id < 0 || e.actorID < 0) {
			t.Fatalf("%q: bad entry %+v", s, e)
		}
		a := newAggregate()
		_ = a.Line([]byte(s))
		if a.entries+a.parseErrors+a.skipped > 1 {
			t.Fatalf("%q counted more than once", s)
		}
	})
}
