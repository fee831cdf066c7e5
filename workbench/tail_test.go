// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package workbench

import (
	"log/slog"
	"path/filepath"
	"testing"
)

// A file that a pattern misses for a while (a glob hiding an I/O error) but
// that is still at its name stays tracked and is not read again from the
// start when it is matched again.
func TestTailerKeepsFileStillAtItsName(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r-sessions.csv")
	writeFile(t, path, csvLine(1, "alice", ago(1), "session_start"))
	agg := newAggregate()
	tl := newTailer(slog.New(slog.DiscardHandler), agg)
	t.Cleanup(func() {
		if err := tl.close(); err != nil {
			t.Error(err)
		}
	})
	for i, p := range []string{path, filepath.Join(dir, "nothing-*"), filepath.Join(dir, "nothing-*"), path} {
		res := tl.refresh([]string{p})
		if len(res.errs) != 0 {
			t.Fatalf("refresh %d: %v", i, res.errs)
		}
	}
	if got := *agg.types["session_start"]; got != 1 {
		t.Errorf("session_start counted %d times, want 1", got)
	}
	if len(tl.files) != 1 {
		t.Errorf("%d files tracked, want 1", len(tl.files))
	}
}
