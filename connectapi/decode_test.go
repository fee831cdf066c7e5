// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// refPage is what encoding/json decodes a page into: the reference the
// scanner must agree with.
type refPage[T any] struct {
	Results []T `json:"results"`
	Paging  struct {
		Cursors struct {
			Next *string `json:"next"`
		} `json:"cursors"`
	} `json:"paging"`
	CurrentPage *int `json:"current_page"`
	Total       *int `json:"total"`
}

// decodeFast reads body with the scanner.
func decodeFast[T any](body []byte, rec recordReader[T]) (*page[T], error) {
	s := &scanner{b: body, strs: &interner{}}
	p := &page[T]{}
	readPage(s, p, rec, nil)
	return p, s.err
}

// duplicateResults reports whether the top-level object has more than one
// member whose name selects "results" (the scanner refuses such a page;
// encoding/json merges them).
func duplicateResults(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if k, ok := tok.(string); ok && strings.EqualFold(k, "results") {
			n++
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return n > 1
}

// agree decodes body both ways and fails the test on any difference: one
// accepts what the other rejects, or they accept with different values.
func agree[T any](t *testing.T, name string, body []byte, rec recordReader[T]) {
	t.Helper()
	var ref refPage[T]
	refErr := json.Unmarshal(body, &ref)
	got, err := decodeFast(body, rec)
	if (err == nil) != (refErr == nil) {
		if err != nil && refErr == nil && duplicateResults(body) {
			return // deliberately stricter
		}
		t.Fatalf("%s: scanner err %v, encoding/json err %v\nbody: %.400q", name, err, refErr, body)
	}
	if err != nil {
		return
	}
	want, _ := json.Marshal(normal(ref.Results))
	have, _ := json.Marshal(normal(got.results))
	if !bytes.Equal(want, have) {
		t.Fatalf("%s: results differ\nencoding/json: %s\nscanner:       %s\nbody: %.400q", name, want, have, body)
	}
	if !eqPtr(ref.Paging.Cursors.Next, got.next) || !eqPtr(ref.CurrentPage, got.current) || !eqPtr(ref.Total, got.total) {
		t.Fatalf("%s: paging differs: next %v/%v current %v/%v total %v/%v\nbody: %.400q", name,
			show(ref.Paging.Cursors.Next), show(got.next), show(ref.CurrentPage), show(got.current),
			show(ref.Total), show(got.total), body)
	}
}

func normal[T any](xs []T) []T {
	if len(xs) == 0 {
		return nil
	}
	return xs
}

func eqPtr[T comparable](a, b *T) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func show[T any](p *T) any {
	if p == nil {
		return "nil"
	}
	return *p
}

func agreeAll(t *testing.T, body []byte) {
	t.Helper()
	agree(t, "users", body, readUser)
	agree(t, "shiny", body, readShinySession)
	agree(t, "visits", body, readVisit)
	agree(t, "audit", body, readAuditEntry)
	agree(t, "groups", body, readGroup)
}

// decoderCases are bodies where the two readers could plausibly differ.
var decoderCases = []string{
	`{"results":[{"content_guid":"c","user_guid":null,"started":"2026-11-22T18:00:00-05:00","ended":null,"data_version":1}],"paging":{"cursors":{"next":"n"}}}`,
	`{"paging":{"cursors":{"next":null,"previous":"p"},"next":"http://x"},"results":[]}`,
	`{"Results":[{"CONTENT_GUID":"a","ſtarted":"2026-01-01T00:00:00Z","Ended":"2026-01-01T00:00:01.5+01:00"}]}`,
	`{"results":[{"content_guid":"\u0061\n\"","user_guid":"\ud83d\ude00","path":"\ud800"}]}`,
	"{\"results\":[{\"content_guid\":\"\xff\xfe\",\"user_guid\":\"ok\xc3\"}]}",
	`{"results":[null,{"guid":"g","locked":true,"locked":null,"confirmed":false}]}`,
	`{"results":[{"ended":"2026-01-01T00:00:00Z","ended":null}]}`,
	`{"results":[{"ended":null,"ended":"2026-01-01T00:00:00Z"}]}`,
	`{"results":[{"data_version":1.0}]}`,
	`{"results":[{"data_version":-0}]}`,
	`{"results":[{"data_version":1e2}]}`,
	`{"results":[{"data_version":99999999999999999999}]}`,
	`{"results":[{"rendering_id":1.5e3,"bundle_id":-0.0,"id":"7","user_id":12}]}`,
	`{"results":[{"rendering_id":true}]}`,
	`{"results":[{"rendering_id":{}}]}`,
	`{"results":[{"started":"2026-02-30T00:00:00Z"}]}`,
	`{"results":[{"started":"2026-01-01T00:00:00,5Z"}]}`,
	`{"results":[{"started":"2026-01-01 00:00:00Z"}]}`,
	`{"results":[{"started":"\u0032026-01-01T00:00:00Z"}]}`,
	`{"results":[{"started":12}]}`,
	`{"results":[{"time":"2026-01-01T00:00:00.1234567891Z","active_time":"2026-01-01T00:00:00+23:59"}]}`,
	`{"results":[],"current_page":"1","total":3}`,
	`{"results":[],"current_page":1,"total":"1200"}`,
	`{"results":[],"total":1.5}`,
	`{"results":[],"total":null,"current_page":null}`,
	`{"results":{}}`,
	`{"results":[1]}`,
	`{"results":"x"}`,
	`{"paging":[]}`,
	`{"paging":{"cursors":[]}}`,
	`{"paging":{"cursors":{"next":5}}}`,
	`{"paging":{"cursors":{"next":"a"}},"paging":{"cursors":{}}}`,
	`{"paging":{"cursors":{"next":"a"}},"paging":null}`,
	`{"results":[{"a":1}],"results":[{"b":2}]}`,
	`{"results":[],"RESULTS":[]}`,
	`null`,
	`[]`,
	`""`,
	`{}`,
	`{"results":null}`,
	`{"results":[]} `,
	`{"results":[]} x`,
	`{"results":[]}{}`,
	`{"results":[{"content_guid":"a"}],}`,
	`{"results":[{"content_guid":"a"},]}`,
	`{"results":[{"content_guid" "a"}]}`,
	`{"results":[{"x":[1,{"y":[true,false,null,"s",-1.5e-3]}]}]}`,
	`{"results":[{"x":[1,{"y":[true,false,null,"s",-01]}]}]}`,
	`{"results":[{"x":tru}]}`,
	`{"results":[{"x":"\x"}]}`,
	"{\"results\":[{\"x\":\"a\tb\"}]}",
	`{"results":[{"x":"\u12"}]}`,
	`{"results":[{"x":1.}]}`,
	`{"results":[{"x":.1}]}`,
	`{"results":[{"x":+1}]}`,
	`{"results":[{"x":1e}]}`,
	`{"results":[{"x":{"a":1,"b"}}]}`,
	`{"results":[{"x":{"a":1]}}]}`,
	`{"results":[{"x":[1}]}]}`,
	`{"results":[`,
	`{"results":[{"content_guid":"a`,
	`{"results":[{"content_guid":`,
	`{"results":[{"content_guid"`,
	`{"results":[{`,
	`{"results"`,
	`{`,
	``,
	` `,
	"\t{\"results\" : [ ] , \"paging\" : { } }\r\n",
}

func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range decoderCases {
		agreeAll(t, []byte(c))
	}
	for _, name := range []string{"users_page1.json", "users_page2.json", "shiny_usage_page1.json", "shiny_usage_page2.json",
		"visits_page1.json", "audit_page1.json", "cursor_empty.json"} {
		agreeAll(t, readTestdata(t, name))
	}
	// Nesting: 10,000 levels are fine, 10,001 are not, in both.
	for _, n := range []int{9997, 9998, 9999, 10000} {
		deep := `{"results":[{"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}]}`
		agreeAll(t, []byte(deep))
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzScanner: the scanner accepts exactly what encoding/json accepts for
// every page type, with the same values, and never panics.
func FuzzScanner(f *testing.F) {
	for _, c := range decoderCases {
		f.Add([]byte(c))
	}
	addTestdata(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		agreeAll(t, body)
	})
}

// Messages name the field and what was wrong, never a Go type.
func TestScannerMessages(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"results":[],"current_page":1,"total":"1200"}`, `total: want a number, got a string ("1200")`},
		{`{"results":[{"guid":"a"},{"guid":5}]}`, `results[1].guid: want a string, got a number`},
		{`{"results":[{"active_time":"yesterday"}]}`, `results[0].active_time: parsing time`},
		{`{"results":[{"locked":"yes"}]}`, `results[0].locked: want true or false, got a string`},
		{`{"results":{}}`, `results: want an array, got an object`},
		{`[1,2]`, `the response: want a JSON object, got an array`},
		{`{"results":[]} <html>`, `invalid character '<' after the top-level value at byte 15, near "{\"results\":[]} <html>"`},
		{`{"results":[{"guid":"a"}`, `unexpected end of input at byte 24`},
	} {
		_, err := decodeFast([]byte(c.body), readUser)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.body, err, c.want)
		}
		if err != nil && (strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "connectapi.") || strings.Contains(err.Error(), "int")) {
			t.Errorf("%s: names a Go type: %v", c.body, err)
		}
	}
	var se *syntaxError
	if _, err := decodeFast([]byte(`{"results":[}`), readUser); !errors.As(err, &se) {
		t.Errorf("syntax error type: %T", err)
	}
}

// FuzzParseTime: the fast timestamp reader gives exactly what time.Time's
// UnmarshalJSON gives (instant, offset, zone name, local or not), or fails
// when it fails.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2019-09-09T15:24:32Z", "2025-04-30T13:01:47.40738Z", "2023-07-24T18:49:28.584906476Z",
		"2018-09-15T18:00:00-05:00", "2026-11-23T10:00:01.1+01:00", "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z",
		"2026-01-01T24:00:00Z", "2026-01-01T00:00:60Z", "2026-01-01T00:00:00.1234567891Z", "2026-01-01T00:00:00.Z",
		"2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00-00:00", "2026-01-01T00:00:00+00:60", "0000-01-01T00:00:00Z",
		"2026-01-01t00:00:00Z", "2026-01-01T00:00:00z", "2026-1-01T00:00:00Z", "2026-01-01T00:00:00,5Z", "2026-01-01T00:00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		quoted := []byte(`"` + s + `"`)
		got, err := parseTime([]byte(s), quoted)
		var want time.Time
		wantErr := want.UnmarshalJSON(quoted)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: fast err %v, UnmarshalJSON err %v", s, err, wantErr)
		}
		if err != nil {
			return
		}
		gn, gOff := got.Zone()
		wn, wo := want.Zone()
		if !got.Equal(want) || gn != wn || gOff != wo || (got.Location() == time.Local) != (want.Location() == time.Local) ||
			got.Format(time.RFC3339Nano) != want.Format(time.RFC3339Nano) {
			t.Fatalf("%q: fast %v (%s %d), UnmarshalJSON %v (%s %d)", s, got, gn, gOff, want, wn, wo)
		}
	})
}

// The fast reader agrees in a zone that is not UTC as well (the local zone
// is used for a matching offset).
func TestParseTimeInAnotherLocalZone(t *testing.T) {
	old := time.Local
	defer func() { time.Local = old }()
	time.Local = time.FixedZone("Somewhere", 5*3600+1800)
	for _, s := range []string{"2026-11-23T10:00:01.1+05:30", "2026-11-23T10:00:01+05:30", "2026-11-23T10:00:01-05:30", "2026-11-23T10:00:01Z"} {
		got, err := parseTime([]byte(s), []byte(`"`+s+`"`))
		var want time.Time
		if werr := want.UnmarshalJSON([]byte(`"` + s + `"`)); err != nil || werr != nil {
			t.Fatal(err, werr)
		}
		if !got.Equal(want) || got.Location().String() != want.Location().String() || got.Format(time.RFC3339Nano) != want.Format(time.RFC3339Nano) {
			t.Errorf("%s: %v (%v) vs %v (%v)", s, got, got.Location(), want, want.Location())
		}
	}
}
