// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeState checks that the state decoder never panics, and that
// whatever it accepts re-encodes to a file it reads back the same and that
// New can restore.
func FuzzDecodeState(f *testing.F) {
	for _, s := range []string{
		`{"version":1,"saved_at":"2026-03-01T12:00:00Z"}`,
		`{"version":1,"saved_at":"2026-03-01T12:00:00Z","shiny":{"baselined":true,"position":"2026-03-01T12:00:00Z","walk":{"from":"2026-03-01T11:55:00Z","mark":"2026-03-01T11:58:00.5Z"},"last_event":"2026-03-01T11:59:00Z","counters":{"app-a":{"started":3,"ended":2,"duration_seconds":10,"duration_nanos":5}},"open":[{"content_guid":"app-a","user_guid":"u-1","started":"2026-03-01T11:00:00+02:00","counted":true}],"ended":[{"content_guid":"app-a","started":"2026-03-01T11:00:00Z","ended":"2026-03-01T11:01:00.123456789Z"}]}}`,
		`{"version":1,"saved_at":"2026-03-01T12:00:00Z","visits":{"baselined":true,"position":"2026-03-01T12:00:00Z","counters":{"doc-1":4},"seen":[{"time":"2026-03-01T11:58:00Z","hash":"0123456789abcdef","n":2}]}}`,
		`{"version":1,"saved_at":"2026-03-01T12:00:00Z","audit":{"baselined":true,"last_id":"000123","counters":{"add_user":1}}}`,
		`{"version":1,"saved_at":"2026-03-01T12:00:00Z","shiny":{"counters":{"x":{"started":1,"ended":2}}}}`,
		`{"version":1,"saved_at":"2026-03-01T12:00:00Z","visits":{"seen":[{"time":"2026-03-01T11:58:00Z","hash":"zz","n":1}]}}`,
		`{"version":2}`, `{"version":1}{}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeState(data)
		if err != nil {
			return
		}
		enc, err := encodeState(st)
		if err != nil {
			t.Fatalf("accepted state does not encode: %v", err)
		}
		st2, err := decodeState(enc)
		if err != nil {
			t.Fatalf("re-encoded state does not decode: %v\n%s", err, enc)
		}
		if d := cmp.Diff(st, st2); d != "" {
			t.Fatalf("round trip differs:\n%s", d)
		}
		s, err := New(Config{Client: newFake()})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.restore(st); err != nil {
			t.Fatalf("a decoded state does not restore: %v", err)
		}
		s.Close()
	})
}
