// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

//go:build unix

package usage

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestStateFileLockedWithinProcess: a second set of streams on the same
// state file, however the path is spelled, fails at start-up with a clear
// error until the first is closed.
func TestStateFileLockedWithinProcess(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "shared.json")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	first, err := New(Config{Client: newFake(), StateFile: path})
	if err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{
		path,
		dir + "//shared.json",
		filepath.Join(dir, "sub", "..", "shared.json"),
		filepath.Join(dir, "link", "shared.json"),
	} {
		s, err := New(Config{Client: newFake(), StateFile: other})
		if err == nil {
			s.Close()
			t.Fatalf("%s: a second writer of the state file was allowed", other)
		}
		if !strings.Contains(err.Error(), "is in use") || !strings.Contains(err.Error(), "state file of its own") {
			t.Errorf("%s: unclear error: %v", other, err)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := New(Config{Client: newFake(), StateFile: dir + "//shared.json"})
	if err != nil {
		t.Fatalf("after Close the state file stays locked: %v", err)
	}
	again.Close()
}

// TestStateFileLockedAcrossProcesses: while another process holds the state
// file, start-up fails; once it exits (even killed), start-up succeeds.
func TestStateFileLockedAcrossProcesses(t *testing.T) {
	if os.Getenv("USAGE_LOCK_HELPER") != "" {
		return // the helper run of this test binary; see TestHelperHoldsStateFile
	}
	path := filepath.Join(t.TempDir(), "state.json")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperHoldsStateFile$", "-test.count=1")
	cmd.Env = append(os.Environ(), "USAGE_LOCK_HELPER="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	sc := bufio.NewScanner(stdout)
	locked := false
	for !locked && sc.Scan() {
		locked = sc.Text() == "locked"
	}
	if !locked {
		t.Fatal("the helper process did not take the lock")
	}
	if s, err := New(Config{Client: newFake(), StateFile: path}); err == nil {
		s.Close()
		t.Fatal("two processes opened the same state file")
	} else if !strings.Contains(err.Error(), "is in use") {
		t.Fatalf("unclear error: %v", err)
	}
	if err := cmd.Process.Kill(); err != nil { // kill -9: no clean shutdown
		t.Fatal(err)
	}
	_ = cmd.Wait()
	s, err := New(Config{Client: newFake(), StateFile: path})
	if err != nil {
		t.Fatalf("the lock outlived the killed process: %v", err)
	}
	s.Close()
}

// TestHelperHoldsStateFile is run as a separate process by
// TestStateFileLockedAcrossProcesses; it does nothing in a normal run.
func TestHelperHoldsStateFile(t *testing.T) {
	path := os.Getenv("USAGE_LOCK_HELPER")
	if path == "" {
		return
	}
	s, err := New(Config{Client: newFake(), StateFile: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	os.Stdout.WriteString("locked\n")
	time.Sleep(time.Minute) // until killed
}

// TestStaleTempFilesRemoved: temporary files that a killed exporter left
// beside its state file are removed at start-up; nothing else is, and
// nothing at all while another process holds the lock.
func TestStaleTempFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	stale := []string{".state.json.tmp-123456", ".state.json.check-42"}
	kept := []string{
		"state.json.tmp-1",        // not hidden: not ours
		".state.json.tmp-12ab",    // not os.CreateTemp's digits
		".state.json.tmp-",        // no suffix
		".other.json.tmp-5",       // another state file's
		".state.json.lock",        // the lock file
		".state.jsonx.tmp-5",      // another base name
		".state.json.tmp-7.extra", // a longer name
	}
	for _, name := range append(slices.Clone(stale), kept...) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, ".state.json.tmp-99"), 0o700); err != nil { // a directory: not ours
		t.Fatal(err)
	}
	kept = append(kept, ".state.json.tmp-99")

	holder, err := lockStateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Client: newFake(), StateFile: path}); err == nil {
		t.Fatal("opened a locked state file")
	}
	for _, name := range stale {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s removed while another holder had the lock: %v", name, err)
		}
	}
	holder.release()

	s := newStreams(t, Config{Client: newFake(), StateFile: path})
	for _, name := range stale {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("stale %s was not removed", name)
		}
	}
	for _, name := range kept {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s was removed: %v", name, err)
		}
	}
	s.Close()
}
