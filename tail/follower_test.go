// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package tail

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

type countLines struct{ n int }

func (c *countLines) Line([]byte) error { c.n++; return nil }
func (c *countLines) TooLong()          {}

func TestFollowerReadsOnScheduleAndLogsAProblemOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	logs := &testutil.LockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	sink := &countLines{}
	f := NewFollower(New(Config{Logger: logger}, sink), []string{path}, time.Minute, logger, Names{One: "test log", All: "test logs"})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if !f.Due(t0) || f.Ready() {
		t.Fatal("a follower that never read is due and not ready")
	}
	for range 3 { // the same problem three times: logged once
		f.Read(t0)
	}
	if f.OK() || f.Files() != 0 || strings.Count(logs.String(), `msg="No test log file matches a configured path"`) != 1 {
		t.Errorf("missing file: ok %v files %d, log:\n%s", f.OK(), f.Files(), logs.String())
	}
	if f.Due(t0.Add(59*time.Second)) || !f.Due(t0.Add(time.Minute)) || !f.Due(t0.Add(-time.Second)) {
		t.Error("due: not before the interval, after it, and when the clock stepped back")
	}
	if err := os.WriteFile(path, []byte("one\ntwo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.Read(t0.Add(time.Minute))
	if !f.OK() || f.Files() != 1 || sink.n != 2 || !f.Ready() || !strings.Contains(logs.String(), `msg="Reading test logs again" files=1`) {
		t.Errorf("after the file appeared: ok %v files %d lines %d, log:\n%s", f.OK(), f.Files(), sink.n, logs.String())
	}
}
