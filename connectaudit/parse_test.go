// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectaudit

import (
	"errors"
	"testing"
	"time"
)

func ms(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

// The example line of Connect's audited events documentation.
const docLine = `time="2022-10-18T20:07:39.813Z" level=info msg="Added group Publishers" action=add_group actor_description="admin n (admin)" actor_guid=8c1c6df6-16bf-4901-b52c-50de0b1da233 actor_id=1 actor_role=administrator entry_id=73 group_guid=1b2c1790-c95f-4df3-9363-6563475070d0 group_id=2 group_name=Publishers type=audit`

func TestParseLine(t *testing.T) {
	type want struct {
		kind     lineKind
		err      error
		id       int64
		time     int64
		actor    int64
		hasActor bool
		action   string
		role     string
		legacy   bool
	}
	entry := func(id int64, ts string, actor int64, action, role string) want {
		return want{kind: lineEntry, id: id, time: ms(ts), actor: actor, hasActor: true, action: action, role: role}
	}
	legacy := func(w want) want { w.legacy = true; return w }
	other := want{kind: lineOther}
	for _, tc := range []struct {
		name, line string
		want       want
	}{
		{"logfmt, documented example", docLine, entry(73, "2022-10-18T20:07:39.813Z", 1, "add_group", "administrator")},
		{"logfmt, system actor", `time="2023-01-02T03:04:05.000Z" level=info msg="Sent scheduled email" action=send_email actor_description="Scheduled email checker" actor_id=0 actor_role=system entry_id=9 type=audit`,
			entry(9, "2023-01-02T03:04:05Z", 0, "send_email", "system")},
		{"logfmt, escapes and quoted action", `time="2023-01-02T03:04:05.5Z" level=info msg="He said \"hi\" \\ and: left\n" action="user_login" actor_id="12" actor_role=viewer entry_id=10 type="audit" empty= bare`,
			entry(10, "2023-01-02T03:04:05.5Z", 12, "user_login", "viewer")},
		{"logfmt, unicode escape in a wanted value", `time="2023-01-02T03:04:05Z" action="caf\u00e9" actor_id=1 actor_role=viewer entry_id=11 type=audit`,
			entry(11, "2023-01-02T03:04:05Z", 1, "café", "viewer")},
		{"logfmt, no role", `time="2023-01-02T03:04:05Z" action=x actor_id=1 entry_id=12 type=audit`,
			entry(12, "2023-01-02T03:04:05Z", 1, "x", "")},
		{"logfmt, service log line", `time="2023-01-02T03:04:05Z" level=info msg="Starting content build" pid=1000`, other},
		{"logfmt, access log line", `time="2023-01-02T03:04:05Z" level=info type=access path=/`, other},
		{"logfmt, unterminated quote", `time="2023-01-02T03:04:05Z level=info type=audit`, want{err: errQuote}},
		{"logfmt, quote inside a bare value", `time=2023 action=a"b type=audit`, want{err: errQuote}},
		{"logfmt, text after a quoted value", `time="2023"x type=audit`, want{err: errQuote}},
		{"logfmt, empty key", `time=1 =x type=audit`, want{err: errSyntax}},
		{"logfmt, bad escape", `time="\q" action=a actor_id=1 entry_id=1 type=audit`, want{err: errEscape}},
		{"logfmt, no entry id", `time="2023-01-02T03:04:05Z" action=a actor_id=1 type=audit`, want{err: errID}},
		{"logfmt, negative entry id", `time="2023-01-02T03:04:05Z" action=a actor_id=1 entry_id=-3 type=audit`, want{err: errID}},
		{"logfmt, bad time", `time="yesterday" action=a actor_id=1 entry_id=3 type=audit`, want{err: errTime}},
		{"logfmt, no action", `time="2023-01-02T03:04:05Z" actor_id=1 entry_id=3 type=audit`, want{err: errAction}},
		{"logfmt, no actor", `time="2023-01-02T03:04:05Z" action=a entry_id=3 type=audit`, want{err: errActor}},
		{"logfmt after a syslog prefix", `Oct 18 20:07:39 node1 rstudio-connect[812]: ` + docLine,
			entry(73, "2022-10-18T20:07:39.813Z", 1, "add_group", "administrator")},
		{"logfmt after an ISO syslog prefix", `2022-10-18T20:07:39.813+00:00 node1 rstudio-connect[812]: ` + docLine,
			entry(73, "2022-10-18T20:07:39.813Z", 1, "add_group", "administrator")},

		{"JSON", `{"action":"add_group","actor_description":"admin n (admin)","actor_guid":"8c1c","actor_id":1,"actor_role":"administrator","entry_id":73,"group_id":2,"level":"info","msg":"Added group Publishers","time":"2022-10-18T20:07:39.813Z","type":"audit"}`,
			entry(73, "2022-10-18T20:07:39.813Z", 1, "add_group", "administrator")},
		{"JSON, any key order, blanks, non-ASCII", ` { "type" : "audit", "entry_id" : 5, "msg":"Zoë \"q\"", "time":"2022-10-18T22:07:39+02:00" , "actor_id":0,"actor_role":"system","action":"x" } `,
			entry(5, "2022-10-18T20:07:39Z", 0, "x", "system")},
		{"JSON, nested field", `{"type":"audit","entry_id":6,"time":"2022-10-18T20:07:39Z","actor_id":3,"actor_role":"viewer","action":"y","extra":{"a":[1,2]}}`,
			entry(6, "2022-10-18T20:07:39Z", 3, "y", "viewer")},
		{"JSON, escaped key and action", `{"typ\u0065":"audit","entry_id":7,"time":"2022-10-18T20:07:39Z","actor_id":3,"action":"a\u005fb"}`,
			entry(7, "2022-10-18T20:07:39Z", 3, "a_b", "")},
		{"JSON, ids as strings", `{"type":"audit","entry_id":"8","time":"2022-10-18T20:07:39Z","actor_id":"3","action":"z"}`,
			entry(8, "2022-10-18T20:07:39Z", 3, "z", "")},
		{"JSON, service log line", `{"level":"info","msg":"Starting","time":"2022-10-18T20:07:39Z"}`, other},
		{"JSON, other type", `{"type":"access","entry_id":1,"action":"x"}`, other},
		{"JSON, invalid", `{"type":"audit","entry_id":1`, want{err: errJSON}},
		{"JSON, trailing comma", `{"type":"audit",}`, want{err: errJSON}},
		{"JSON, bad escape in an unwanted value", `{"type":"audit","msg":"\q","entry_id":1}`, want{err: errJSON}},
		{"JSON, float id", `{"type":"audit","entry_id":7.5,"time":"2022-10-18T20:07:39Z","actor_id":3,"action":"z"}`, want{err: errID}},
		{"JSON, role not a string", `{"type":"audit","entry_id":7,"time":"2022-10-18T20:07:39Z","actor_id":3,"action":"z","actor_role":3}`, want{err: errSyntax}},

		{"legacy JSON (the API's object)", `{"id":"230","time":"2025-12-15T09:13:15.923372Z","user_id":"11","user_guid":"1b17","user_description":"Quentin King (qking)","action":"update_user","event_description":"Updated user admin"}`,
			legacy(entry(230, "2025-12-15T09:13:15.923Z", 11, "update_user", ""))},
		{"legacy JSON, numbers, no user", `{"id":231,"time":"2025-12-15T09:13:15Z","user_id":null,"action":"a","event_description":"x"}`,
			legacy(want{kind: lineEntry, id: 231, time: ms("2025-12-15T09:13:15Z"), action: "a"})},
		{"legacy JSON, bad user id", `{"id":231,"time":"2025-12-15T09:13:15Z","user_id":"x","action":"a"}`, want{err: errUserID}},

		{"legacy CSV", `230,2025-12-15T09:13:15.923372Z,11,Quentin King (qking),update_user,"Updated user admin, by ""Quentin King (qking)"""`,
			legacy(entry(230, "2025-12-15T09:13:15.923Z", 11, "update_user", ""))},
		{"legacy CSV, quoted fields, offset time", `"231","2025-12-15T04:13:15-05:00","4","King, Quentin","user_login",Logged in`,
			legacy(entry(231, "2025-12-15T09:13:15Z", 4, "user_login", ""))},
		{"legacy CSV, no user, empty description", `232,2025-12-15T09:13:15Z,,System,add_user,`,
			legacy(want{kind: lineEntry, id: 232, time: ms("2025-12-15T09:13:15Z"), action: "add_user"})},
		{"legacy CSV, description broken across lines", `233,2025-12-15T09:13:15Z,4,Q,edit_user,"first line`,
			legacy(entry(233, "2025-12-15T09:13:15Z", 4, "edit_user", ""))},
		{"legacy CSV header", `id,time,user_id,user_description,action,event_description`, want{kind: lineHeader}},
		{"legacy CSV, five fields", `234,2025-12-15T09:13:15Z,4,Q,edit_user`, want{err: errFieldCount}},
		{"legacy CSV, four fields", `234,2025-12-15T09:13:15Z,4,Q`, want{err: errFieldCount}},
		{"legacy CSV, bad time", `234,2025-13-15T09:13:15Z,4,Q,edit_user,x`, want{err: errTime}},
		{"legacy CSV, bad user", `234,2025-12-15T09:13:15Z,four,Q,edit_user,x`, want{err: errUserID}},
		{"legacy CSV, empty action", `234,2025-12-15T09:13:15Z,4,Q,,x`, want{err: errAction}},
		{"legacy CSV, bad quoting", `234,2025-12-15T09:13:15Z,4,"Q"x,edit_user,x`, want{err: errQuote}},

		{"blank", " \t\r", want{kind: lineBlank}},
		{"byte order mark", "\xef\xbb\xbf" + docLine, entry(73, "2022-10-18T20:07:39.813Z", 1, "add_group", "administrator")},
		{"plain text", "Starting Posit Connect v2024.09.0", other},
		{"a stack trace", "goroutine 1 [running]:", other},
		{"continuation of a CSV description", `second line of a description",`, other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, kind, err := parseLine([]byte(tc.line))
			w := tc.want
			if w.err != nil {
				if !errors.Is(err, w.err) {
					t.Fatalf("error %v, want %v", err, w.err)
				}
				return
			}
			if err != nil || kind != w.kind {
				t.Fatalf("kind %d, error %v; want kind %d", kind, err, w.kind)
			}
			if kind != lineEntry {
				return
			}
			if e.id != w.id || e.time != w.time || e.actorID != w.actor || e.hasActor != w.hasActor ||
				string(e.action) != w.action || string(e.role) != w.role || e.legacy != w.legacy {
				t.Errorf("got id %d time %d actor %d/%v action %q role %q legacy %v\nwant %+v",
					e.id, e.time, e.actorID, e.hasActor, e.action, e.role, e.legacy, w)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{
		"2022-10-18T20:07:39Z", "2022-10-18T20:07:39.8Z", "2022-10-18T20:07:39.81Z", "2022-10-18T20:07:39.813Z",
		"2022-10-18T20:07:39.813999999Z", "2024-02-29T23:59:59.999+05:30", "1970-01-01T00:00:00Z",
		"1970-01-01T00:30:00+01:00", "2022-10-18T20:07:39-11:59", "9999-12-31T23:59:59Z",
		"2022-10-18T20:07:39.1234567890123Z", "1969-12-31T23:59:59.5Z", "2022-10-18t20:07:39z",
		"2022-10-18T20:07:39+24:00", // time.Parse allows it: the slow path decides
	} {
		want, err := time.Parse(time.RFC3339Nano, s)
		got, ok := parseTime([]byte(s))
		if (err == nil) != ok || (ok && got != want.UnixMilli()) {
			t.Errorf("parseTime(%q) = %d, %v; time.Parse: %d, %v", s, got, ok, want.UnixMilli(), err)
		}
	}
	for _, s := range []string{
		"", "2022-10-18", "2022-10-18T20:07:39", "2022-02-30T00:00:00Z", "2023-02-29T00:00:00Z",
		"2022-10-18T24:00:00Z", "2022-10-18T20:60:00Z", "2022-10-18T20:07:60Z", "2022-10-18T20:07:39.Z",
		"2022-10-18T20:07:39+0100", "2022-10-18 20:07:39Z", "yesterday",
	} {
		if got, ok := parseTime([]byte(s)); ok {
			t.Errorf("parseTime(%q) = %d, want an error", s, got)
		}
	}
}
