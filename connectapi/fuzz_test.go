// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// addTestdata seeds a fuzz corpus with every testdata file.
func addTestdata(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, p := range files {
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			continue // the fuzzers' own corpora
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"license":{"users":"1e3","user-activity-days":365.0,"expiration":"-1"}}`))
	f.Add([]byte(`{"license":{"users":true,"user-activity-days":"","expiration":null}}`))
	f.Add([]byte(`{"results":[{"active_time":"2026-13-40T25:61:61Z"}],"total":-1}`))
	f.Add([]byte(`[{"id":1e400,"bundle_id":{"x":1}}]`))
}

// FuzzServerSettings: any body decodes or fails cleanly; a decoded licence
// is sane.
func FuzzServerSettings(f *testing.F) {
	addTestdata(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var s ServerSettings
		if json.Unmarshal(body, &s) != nil {
			return
		}
		l := s.License
		if l.Seats < 0 || l.ActivityDays <= 0 || l.ActivityDays > 100*365 {
			t.Fatalf("insane licence accepted: %+v", l)
		}
		if !l.Expiration.IsZero() && l.Expiration.Before(time.Unix(0, 0)) {
			t.Fatalf("expiry before 1970: %v", l.Expiration)
		}
	})
}

// FuzzFlexValue: numbers written as strings and as JSON numbers agree.
func FuzzFlexValue(f *testing.F) {
	for _, s := range []string{"20", "0", "-1", "1.5", "1e3", "true", "1", "yes", "", " 7 ", "9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		quoted, _ := json.Marshal(s)
		var v FlexValue
		if err := json.Unmarshal(quoted, &v); err != nil {
			t.Fatalf("a JSON string must always decode: %v", err)
		}
		n, ok := v.Int64()
		if !ok {
			return
		}
		var w FlexValue
		if err := json.Unmarshal([]byte(strconv.FormatInt(n, 10)), &w); err != nil {
			t.Fatal(err)
		}
		if m, ok := w.Int64(); !ok || m != n {
			t.Fatalf("%q → %d, but the number decodes to %d, %v", s, n, m, ok)
		}
	})
}

// FuzzFlexString never fails on strings or numbers and keeps their text.
func FuzzFlexString(f *testing.F) {
	for _, s := range []string{`"583"`, `583`, `null`, `1.5e3`, `"x"`, `{}`, `[1]`, `true`, `"\u0000"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v FlexString
		err := json.Unmarshal(b, &v)
		var n json.Number
		if json.Unmarshal(b, &n) == nil && err != nil {
			t.Fatalf("a JSON number was rejected: %s: %v", b, err)
		}
	})
}

// FuzzContentStream: the streaming array decoder agrees with a whole-body
// decode on what it accepts.
func FuzzContentStream(f *testing.F) {
	addTestdata(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
		defer srv.Close()
		c, _ := NewClient(srv.URL, WithMaxBodyBytes(1<<20))
		n := 0
		streamErr := c.EachContent(context.Background(), func(*Content) error { n++; return nil })
		var whole []Content
		wholeErr := json.Unmarshal(body, &whole)
		if wholeErr == nil && streamErr == nil && n != len(whole) {
			t.Fatalf("stream saw %d items, whole decode %d", n, len(whole))
		}
		if wholeErr == nil && whole != nil && streamErr != nil {
			t.Fatalf("whole decode accepted what the stream rejected: %v", streamErr)
		}
	})
}

// FuzzTimestamps: every RFC 3339 form Connect sends (Z or offset, 0–9
// fractional digits) decodes to the same instant as time.Parse.
func FuzzTimestamps(f *testing.F) {
	for _, s := range []string{"2019-09-09T15:24:32Z", "2025-04-30T13:01:47.40738Z", "2023-07-24T18:49:28.584906476Z",
		"2018-09-15T18:00:00-05:00", "2026-11-23T10:00:01.1+01:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, perr := time.Parse(time.RFC3339Nano, s)
		body, _ := json.Marshal(map[string]any{"started": s, "content_guid": "c"})
		var got ShinySession
		jerr := json.Unmarshal(body, &got)
		if jerr == nil && perr == nil && !got.Started.Equal(want) {
			t.Fatalf("%q: JSON %v, Parse %v", s, got.Started, want)
		}
	})
}
