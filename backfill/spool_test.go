// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package backfill

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
	"github.com/posit-connect-exporter/posit_connect_exporter/usage"
)

// TestAuditSpoolReversesInChunks: entries added newest first come back
// oldest first, whole (id, time to the nanosecond, action), through chunks
// on disk; the file goes with close.
func TestAuditSpoolReversesInChunks(t *testing.T) {
	defer func(n int) { spoolChunk = n }(spoolChunk)
	for _, chunk := range []int{7, 1000, 1 << 15} {
		spoolChunk = chunk
		dir := t.TempDir()
		s := auditSpool{dir: dir, prefix: ".spool-*"}
		t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		const n = 2500
		entry := func(i int) connectapi.AuditEntry {
			return connectapi.AuditEntry{ID: connectapi.FlexString(strconv.Itoa(1000 + i)), Time: t0.Add(time.Duration(i)*time.Minute + time.Duration(i)),
				Action: []string{"user_login", "deploy_application", "add_user"}[i%3], EventDescription: "dropped"}
		}
		for i := n - 1; i >= 0; i-- {
			e := entry(i)
			if err := s.add(&e); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.finish(); err != nil {
			t.Fatal(err)
		}
		if files, _ := os.ReadDir(dir); (chunk < n) != (len(files) == 1) {
			t.Errorf("chunk %d: %d files", chunk, len(files))
		}
		for i := range n {
			got, err := s.peek()
			if err != nil || got == nil {
				t.Fatalf("chunk %d, entry %d: %v, %v", chunk, i, got, err)
			}
			want := entry(i)
			if got.ID != want.ID || !got.Time.Equal(want.Time) || got.Action != want.Action || got.EventDescription != "" {
				t.Fatalf("chunk %d, entry %d: %+v, want %+v", chunk, i, got, want)
			}
			s.take()
		}
		if got, err := s.peek(); got != nil || err != nil {
			t.Fatalf("chunk %d: after the last entry: %v, %v", chunk, got, err)
		}
		s.close()
		if files, _ := os.ReadDir(dir); len(files) != 0 {
			t.Errorf("chunk %d: left %v", chunk, files)
		}
	}
}

// TestSmallChunksAndPassesWriteTheSameHistory: an audit log spooled in
// many chunks, and samples written in many passes over their spool, give
// the same file as in memory and one pass.
func TestSmallChunksAndPassesWriteTheSameHistory(t *testing.T) {
	clk := testutil.NewClock(end)
	_, client := newSim(t, clk, 20*24*time.Hour, 5_000, 5_000, 3_000)
	dir := t.TempDir()
	write := func(name string) []byte {
		t.Helper()
		out := filepath.Join(dir, name)
		if _, err := Run(context.Background(), Config{Client: client, Since: end.Add(-15 * 24 * time.Hour), Step: 30 * time.Minute, Now: clk.Now,
			Output: out, Usage: usage.Config{}}); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	whole := write("whole.om")
	defer func(c int, p int64) { spoolChunk, passChanges = c, p }(spoolChunk, passChanges)
	spoolChunk, passChanges = 100, 50
	if split := write("split.om"); !bytes.Equal(whole, split) {
		t.Error("the history differs when spooled in chunks and written in passes")
	}
}
