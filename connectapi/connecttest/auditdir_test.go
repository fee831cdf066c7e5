// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestAuditLogDirAppendsEachEntryOnce(t *testing.T) {
	clk := newClock()
	s := New(Config{Seed: 4, Users: 40, Content: 4, History: 24 * time.Hour, AuditEntries: 300, Now: clk.Now})
	dir := s.AuditLogDir(t.TempDir())
	lines := func() int {
		files, err := filepath.Glob(dir.Glob())
		if err != nil || len(files) != 2 {
			t.Fatalf("files %v (%v), want two nodes", files, err)
		}
		n := 0
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			n += bytes.Count(raw, []byte("\n"))
		}
		return n
	}
	if err := dir.Append(); err != nil {
		t.Fatal(err)
	}
	first := lines()
	if first != int(s.LastAuditID()-s.auditBase+1) {
		t.Fatalf("%d lines for %d entries", first, s.LastAuditID()-s.auditBase+1)
	}
	if err := dir.Append(); err != nil || lines() != first {
		t.Fatalf("an Append with nothing new wrote %d lines (%v)", lines()-first, err)
	}
	for step := 0; lines() == first; step++ {
		if step == 48 {
			t.Fatal("two days of live steps audited nothing")
		}
		clk.Advance(time.Hour)
		s.Step(time.Hour)
		if err := dir.Append(); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := lines(), int(s.LastAuditID()-s.auditBase+1); got != want {
		t.Errorf("%d lines after live steps, want one per entry (%d)", got, want)
	}
}
