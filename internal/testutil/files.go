// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"maps"
	"os"
	"slices"
	"testing"
)

// WriteFile writes content to path, replacing the file.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// AppendFile appends content to path, creating the file.
func AppendFile(t testing.TB, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// ExpectSeries checks the series of want in got (see Families.Flat); a
// negative want means the series must be absent.
func ExpectSeries(t testing.TB, got, want map[string]float64) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		v, ok := got[k]
		switch {
		case want[k] < 0 && ok:
			t.Errorf("%s = %v, want absent", k, v)
		case want[k] >= 0 && !ok:
			t.Errorf("%s absent, want %v", k, want[k])
		case want[k] >= 0 && v != want[k]:
			t.Errorf("%s = %v, want %v", k, v, want[k])
		}
	}
}
