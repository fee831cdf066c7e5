// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package tail

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

// recorder is a Sink that keeps every line.
type recorder struct {
	lines   []string
	tooLong int
}

func (r *recorder) Line(line []byte) error {
	if bytes.HasPrefix(line, []byte("bad")) {
		return errors.New("bad line")
	}
	r.lines = append(r.lines, string(line))
	return nil
}

func (r *recorder) TooLong() { r.tooLong++ }

// count returns how many lines start with prefix.
func (r *recorder) count(prefix string) int {
	n := 0
	for _, l := range r.lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

type fixture struct {
	t    *testing.T
	dir  string
	rec  *recorder
	tl   *Tailer
	logs *bytes.Buffer
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	fx := &fixture{t: t, dir: t.TempDir(), rec: &recorder{}, logs: &bytes.Buffer{}}
	cfg.Logger = slog.New(slog.NewTextHandler(fx.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fx.tl = New(cfg, fx.rec)
	t.Cleanup(func() {
		if err := fx.tl.Close(); err != nil {
			t.Error(err)
		}
		if fx.tl.Open() != 0 {
			t.Errorf("%d files still open after Close", fx.tl.Open())
		}
	})
	return fx
}

func (fx *fixture) path(name string) string { return filepath.Join(fx.dir, name) }

// refresh refreshes and fails the test on errors.
func (fx *fixture) refresh(patterns ...string) Result {
	fx.t.Helper()
	for i, p := range patterns {
		if !filepath.IsAbs(p) {
			patterns[i] = fx.path(p)
		}
	}
	res := fx.tl.Refresh(patterns)
	if res.ErrCount != 0 {
		fx.t.Fatalf("refresh: %d errors: %v", res.ErrCount, res.Errs)
	}
	return res
}

func (fx *fixture) write(name, content string) {
	fx.t.Helper()
	testutil.WriteFile(fx.t, fx.path(name), content)
}

func (fx *fixture) append(name, content string) {
	fx.t.Helper()
	testutil.AppendFile(fx.t, fx.path(name), content)
}

// copytruncate does what logrotate's copytruncate does: copy the file to a
// new name (a new inode), then truncate the original.
func (fx *fixture) copytruncate(name, to string) {
	fx.t.Helper()
	b, err := os.ReadFile(fx.path(name))
	if err != nil {
		fx.t.Fatal(err)
	}
	fx.write(to, string(b))
	if err := os.Truncate(fx.path(name), 0); err != nil {
		fx.t.Fatal(err)
	}
}

func (fx *fixture) rename(from, to string) {
	fx.t.Helper()
	if err := os.Rename(fx.path(from), fx.path(to)); err != nil {
		fx.t.Fatal(err)
	}
}

// events returns n distinct lines "ev <tag> <i>".
func events(tag string, from, n int) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, "ev %s %06d session_start alice\n", tag, i)
	}
	return b.String()
}

func (fx *fixture) expectLines(want int) {
	fx.t.Helper()
	if got := len(fx.rec.lines); got != want {
		fx.t.Fatalf("%d lines handed over, want %d", got, want)
	}
	seen := map[string]bool{}
	for _, l := range fx.rec.lines {
		if seen[l] {
			fx.t.Fatalf("line %q handed over twice", l)
		}
		seen[l] = true
	}
}

func TestAppendedBytesOnlyAndPartialLines(t *testing.T) {
	fx := newFixture(t, Config{})
	fx.write("a.log", "one\ntw")
	res := fx.refresh("a.log")
	if res.Files != 1 || res.BytesRead != 4 || !res.OK() {
		t.Fatalf("result %+v, want 1 file, 4 bytes", res)
	}
	fx.expectLines(1)
	fx.append("a.log", "o\nthree\n")
	res = fx.refresh("a.log")
	if res.BytesRead != 10 {
		t.Errorf("read %d bytes, want 10 (the partial line's bytes counted once)", res.BytesRead)
	}
	fx.expectLines(3)
	if got := strings.Join(fx.rec.lines, ","); got != "one,two,three" {
		t.Errorf("lines %s", got)
	}
	res = fx.refresh("a.log")
	if res.BytesRead != 0 {
		t.Errorf("nothing appended but %d bytes read", res.BytesRead)
	}
	fx.expectLines(3)
}

func TestRotationByRename(t *testing.T) {
	for _, tc := range []struct {
		name, pattern string
		files         int
	}{
		{"rotated name still matches", "r.log*", 2},
		{"rotated name no longer matches", "r.log", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, Config{})
			fx.write("r.log", events("a", 0, 3))
			fx.refresh(tc.pattern)
			fx.rename("r.log", "r.log.1")
			fx.append("r.log.1", events("a", 3, 2)) // the writer still has it open
			fx.write("r.log", events("b", 0, 4))
			res := fx.refresh(tc.pattern)
			if res.Files != tc.files {
				t.Errorf("%d files, want %d", res.Files, tc.files)
			}
			fx.expectLines(9)
			fx.refresh(tc.pattern)
			fx.expectLines(9)
			if fx.tl.Tracked() != tc.files {
				t.Errorf("%d files tracked, want %d", fx.tl.Tracked(), tc.files)
			}
		})
	}
}

func TestDeletedFileDrainedWithItsLastLine(t *testing.T) {
	fx := newFixture(t, Config{})
	fx.write("a.log", "one\n")
	fx.refresh("a.log")
	fx.append("a.log", "two\nthree") // no newline at the end
	if err := os.Remove(fx.path("a.log")); err != nil {
		t.Fatal(err)
	}
	res := fx.tl.Refresh([]string{fx.path("a.log")})
	if res.Files != 0 || len(res.Unmatched) != 1 {
		t.Errorf("result %+v, want the pattern unmatched", res)
	}
	fx.expectLines(2) // two, read from the open file; three still incomplete
	fx.tl.Refresh([]string{fx.path("a.log")})
	fx.expectLines(3)
	if fx.tl.Tracked() != 0 || fx.tl.Open() != 0 {
		t.Errorf("tracked %d, open %d, want 0 and 0", fx.tl.Tracked(), fx.tl.Open())
	}
}

func TestTruncation(t *testing.T) {
	fx := newFixture(t, Config{})
	fx.write("a.log", events("a", 0, 5))
	fx.refresh("a.log")
	fx.write("a.log", events("b", 0, 2)) // same inode, shorter
	fx.refresh("a.log")
	fx.expectLines(7)
	if !strings.Contains(fx.logs.String(), "File was truncated; reading it from the start") {
		t.Errorf("truncation not logged:\n%s", fx.logs)
	}
}

// Truncated and written again past the old offset between two refreshes:
// the size alone cannot tell, the bytes before the offset can.
func TestTruncatedAndRegrownPastTheOffset(t *testing.T) {
	fx := newFixture(t, Config{})
	fx.write("a.log", events("a", 0, 5))
	fx.refresh("a.log")
	fx.write("a.log", events("b", 0, 20))
	fx.refresh("a.log")
	fx.expectLines(25)
	if fx.rec.count("ev b") != 20 {
		t.Errorf("%d new lines, want 20", fx.rec.count("ev b"))
	}
	if !strings.Contains(fx.logs.String(), "File was rewritten; reading it from the start") {
		t.Errorf("rewrite not logged:\n%s", fx.logs)
	}
}

func TestSameFileMatchedTwiceReadOnce(t *testing.T) {
	fx := newFixture(t, Config{})
	fx.write("a.log", events("a", 0, 3))
	if err := os.Symlink(fx.path("a.log"), fx.path("link.log")); err != nil {
		t.Fatal(err)
	}
	res := fx.refresh("a.log", "*.log", "link.log")
	if res.Files != 1 {
		t.Errorf("%d files, want 1", res.Files)
	}
	fx.expectLines(3)
}

func TestOverLongLines(t *testing.T) {
	fx := newFixture(t, Config{MaxLineBytes: 100})
	long := strings.Repeat("x", 150)
	fx.write("a.log", "one\n"+long+"\ntwo\n"+strings.Repeat("y", 95))
	fx.refresh("a.log")
	fx.expectLines(2)
	if fx.rec.tooLong != 1 {
		t.Fatalf("%d over-long lines, want 1", fx.rec.tooLong)
	}
	// The incomplete line grows past the limit: skipped at once, then up
	// to its newline, without holding it.
	fx.append("a.log", strings.Repeat("y", 10))
	fx.refresh("a.log")
	if fx.rec.tooLong != 2 {
		t.Fatalf("%d over-long lines, want 2", fx.rec.tooLong)
	}
	fx.append("a.log", strings.Repeat("y", 500)+"\nthree\n")
	fx.refresh("a.log")
	fx.expectLines(3)
	if fx.rec.tooLong != 2 {
		t.Errorf("%d over-long lines, want 2", fx.rec.tooLong)
	}
}

func TestMalformedLinesLoggedAtMostFivePerRefresh(t *testing.T) {
	fx := newFixture(t, Config{})
	fx.write("a.log", strings.Repeat("bad\n", 20)+"good\n")
	fx.refresh("a.log")
	fx.expectLines(1)
	if n := strings.Count(fx.logs.String(), "Skipping malformed line"); n != maxLoggedLineErrors {
		t.Errorf("%d malformed lines logged, want %d", n, maxLoggedLineErrors)
	}
}

// A file that a pattern misses for a while (a glob hiding an I/O error) but
// that is still at its name stays tracked and is not read again from the
// start when it is matched again.
func TestFileStillAtItsNameIsKept(t *testing.T) {
	fx := newFixture(t, Config{})
	fx.write("a.log", events("a", 0, 1))
	for _, p := range []string{"a.log", "nothing-*", "nothing-*", "a.log"} {
		fx.tl.Refresh([]string{fx.path(p)})
	}
	fx.expectLines(1)
	if fx.tl.Tracked() != 1 {
		t.Errorf("%d files tracked, want 1", fx.tl.Tracked())
	}
}

func TestDirectoryGetsAClearMessage(t *testing.T) {
	fx := newFixture(t, Config{DirHint: "r-sessions.*"})
	if err := os.Mkdir(fx.path("audit"), 0o700); err != nil {
		t.Fatal(err)
	}
	res := fx.refresh("audit", "aud*", "missing.log")
	if res.OK() {
		t.Fatal("a directory path reported OK")
	}
	want := []string{
		fx.path("audit") + " is a directory; give a file or a glob such as " + fx.path("audit/r-sessions.*"),
		fx.path("aud*") + " matches only directories; give files or a glob such as " + fx.path("audit/r-sessions.*"),
	}
	if strings.Join(res.Dirs, "\n") != strings.Join(want, "\n") {
		t.Errorf("Dirs = %q, want %q", res.Dirs, want)
	}
	if len(res.Unmatched) != 1 || res.Unmatched[0] != fx.path("missing.log") {
		t.Errorf("Unmatched = %q", res.Unmatched)
	}
	p := res.Problem()
	if !strings.Contains(p, "is a directory") || strings.Contains(p, "no file matches "+fx.path("audit")) ||
		!strings.Contains(p, "no file matches "+fx.path("missing.log")) {
		t.Errorf("Problem() = %q", p)
	}
}

func TestProblemIsBounded(t *testing.T) {
	var res Result
	for i := range 5000 {
		res.addErr(fmt.Errorf("open /var/lib/rstudio-server/audit/r-sessions/r-sessions.csv.%d: too many open files", i))
	}
	if res.ErrCount != 5000 || len(res.Errs) != maxResultErrors {
		t.Fatalf("ErrCount %d, kept %d", res.ErrCount, len(res.Errs))
	}
	p := res.Problem()
	if len(p) > maxProblemBytes+len("…") || !strings.Contains(p, "and 4995 more errors") {
		t.Errorf("Problem() is %d bytes: %q", len(p), p)
	}
}

// The case: events counted again after copytruncate rotation with
// a glob that matches the rotated copy (210 instead of 110).
func TestCopytruncateRotatedCopyNotCountedAgain(t *testing.T) {
	fx := newFixture(t, Config{})
	fx.write("r-sessions.csv", events("a", 0, 110))
	fx.refresh("r-sessions.*")
	fx.expectLines(110)

	fx.copytruncate("r-sessions.csv", "r-sessions.csv.1")
	fx.append("r-sessions.csv", events("b", 0, 100))
	res := fx.refresh("r-sessions.*")
	if res.Files != 2 {
		t.Errorf("%d files, want 2", res.Files)
	}
	fx.expectLines(210)
	if !strings.Contains(fx.logs.String(), "reading only what follows") {
		t.Errorf("copy not logged:\n%s", fx.logs)
	}

	// The next rotation renames .1 to .2 (same inode) and copies again.
	fx.rename("r-sessions.csv.1", "r-sessions.csv.2")
	fx.copytruncate("r-sessions.csv", "r-sessions.csv.1")
	fx.append("r-sessions.csv", events("c", 0, 7))
	fx.refresh("r-sessions.*")
	fx.expectLines(217)
	fx.refresh("r-sessions.*")
	fx.expectLines(217)
}

// Lines written after the last refresh and before the copy exist only in the
// copy once the original is truncated: they are read from the copy, once.
func TestCopytruncateLinesOnlyInTheCopy(t *testing.T) {
	fx := newFixture(t, Config{})
	fx.write("r.log", events("a", 0, 110))
	fx.refresh("r.log*")
	fx.append("r.log", events("a", 110, 5))
	fx.copytruncate("r.log", "r.log.1")
	fx.append("r.log", events("b", 0, 3))
	fx.refresh("r.log*")
	fx.expectLines(118)
	if fx.rec.count("ev a") != 115 || fx.rec.count("ev b") != 3 {
		t.Errorf("a %d (want 115), b %d (want 3)", fx.rec.count("ev a"), fx.rec.count("ev b"))
	}
}

// The copy is seen before the original is truncated (the refresh fell
// between logrotate's copy and truncate): it is all in the original.
func TestCopySeenBeforeTheTruncation(t *testing.T) {
	fx := newFixture(t, Config{})
	fx.write("r.log", events("a", 0, 50))
	fx.refresh("r.log*")
	fx.append("r.log", events("a", 50, 5))
	b, err := os.ReadFile(fx.path("r.log"))
	if err != nil {
		t.Fatal(err)
	}
	fx.write("r.log.1", string(b))
	fx.append("r.log", events("a", 55, 2)) // written between copy and truncate: lost by logrotate too
	fx.refresh("r.log*")
	fx.expectLines(57)
	if err := os.Truncate(fx.path("r.log"), 0); err != nil {
		t.Fatal(err)
	}
	fx.append("r.log", events("b", 0, 4))
	fx.refresh("r.log*")
	fx.expectLines(61)
}

// The original is truncated and written past its old offset before the copy
// is seen: the rewrite is detected, and the copy still matched.
func TestCopytruncateRegrownBeforeTheRefresh(t *testing.T) {
	fx := newFixture(t, Config{})
	fx.write("r.log", events("a", 0, 20))
	fx.refresh("r.log*")
	fx.copytruncate("r.log", "r.log.1")
	fx.append("r.log", events("b", 0, 300))
	fx.refresh("r.log*")
	fx.expectLines(320)
}

// A file that is a copy of one read and rotated away long ago (its
// fingerprint remembered) is not read again, even with a new inode.
func TestCopyOfARetiredFile(t *testing.T) {
	fx := newFixture(t, Config{})
	fx.write("a.log", events("a", 0, 30))
	fx.refresh("a.log")
	b, err := os.ReadFile(fx.path("a.log"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(fx.path("a.log")); err != nil {
		t.Fatal(err)
	}
	fx.tl.Refresh([]string{fx.path("a.log")})
	fx.tl.Refresh([]string{fx.path("a.log")})
	if fx.tl.Tracked() != 0 {
		t.Fatalf("%d tracked after deletion", fx.tl.Tracked())
	}
	fx.write("restored.log", string(b)+events("b", 0, 2))
	fx.refresh("*.log")
	fx.expectLines(32)
}

// Files that merely start alike (a shared header) are not copies of each
// other.
func TestSharedHeaderIsNotACopy(t *testing.T) {
	fx := newFixture(t, Config{})
	header := "pid, username, timestamp, type, data\n"
	fx.write("node1.csv", header+events("n1", 0, 40))
	fx.write("node2.csv", header+events("n2", 0, 40))
	fx.refresh("*.csv")
	fx.write("node3.csv", header+events("n3", 0, 40))
	fx.refresh("*.csv")
	if n := fx.rec.count("ev "); n != 120 {
		t.Errorf("%d events, want 120", n)
	}
	if fx.rec.count("pid") != 3 {
		t.Errorf("%d headers, want 3", fx.rec.count("pid"))
	}
}

func gzipBytes(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCompressedFilesSkipped(t *testing.T) {
	fx := newFixture(t, Config{})
	fx.write("r.log", events("a", 0, 3))
	gz := gzipBytes(t, events("old", 0, 50))
	if err := os.WriteFile(fx.path("r.log.2.gz"), gz, 0o600); err != nil {
		t.Fatal(err)
	}
	// Compressed but named like text: recognised by its magic bytes.
	if err := os.WriteFile(fx.path("r.log.3"), gz, 0o600); err != nil {
		t.Fatal(err)
	}
	res := fx.refresh("r.log*")
	if res.Files != 1 || res.Compressed != 2 || !res.OK() {
		t.Errorf("result %+v, want 1 file and 2 compressed", res)
	}
	fx.expectLines(3)
	res = fx.refresh("r.log*")
	if res.Compressed != 2 {
		t.Errorf("%d compressed, want 2", res.Compressed)
	}
	if n := strings.Count(fx.logs.String(), "Skipping compressed files"); n != 1 {
		t.Errorf("compressed files logged %d times, want once:\n%s", n, fx.logs)
	}
	// A file that becomes compressed after it was created empty.
	fx.write("r.log.4", "")
	fx.refresh("r.log*")
	if err := os.WriteFile(fx.path("r.log.4"), gz, 0o600); err != nil {
		t.Fatal(err)
	}
	fx.refresh("r.log*")
	fx.expectLines(3)
	if fx.rec.tooLong != 0 {
		t.Errorf("compressed bytes reached the sink as %d over-long lines", fx.rec.tooLong)
	}
}

// More files than MaxOpen: never more open, every line read exactly once,
// idle files reopened by name when they grow.
func TestBoundedOpenFiles(t *testing.T) {
	fx := newFixture(t, Config{MaxOpen: 4})
	const n = 50
	for i := range n {
		fx.write(fmt.Sprintf("f%02d.log", i), events(fmt.Sprint(i), 0, 2))
	}
	fx.refresh("*.log")
	if fx.tl.Open() > 4 {
		t.Fatalf("%d files open, want at most 4", fx.tl.Open())
	}
	fx.expectLines(2 * n)
	for round := range 3 {
		for i := range n {
			if (i+round)%3 == 0 {
				fx.append(fmt.Sprintf("f%02d.log", i), events(fmt.Sprint(i), 2+round, 1))
			}
		}
		fx.refresh("*.log")
		if fx.tl.Open() > 4 {
			t.Fatalf("%d files open, want at most 4", fx.tl.Open())
		}
	}
	fx.expectLines(2*n + 17 + 17 + 16)
	if n := strings.Count(fx.logs.String(), "More files match than are kept open"); n != 1 {
		t.Errorf("the many-files notice was logged %d times, want once", n)
	}
	for line := range strings.SplitSeq(fx.logs.String(), "\n") {
		if len(line) > 1024 {
			t.Errorf("a log line of %d bytes", len(line))
		}
	}
}

// A closed file replaced at its name by another file is not resumed: the new
// one is read from the start and the old one is forgotten.
func TestClosedFileReplacedAtItsName(t *testing.T) {
	fx := newFixture(t, Config{MaxOpen: 1})
	fx.write("a.log", events("a", 0, 3))
	fx.write("b.log", events("b", 0, 3))
	fx.refresh("*.log") // a.log was closed to open b.log
	if err := os.Remove(fx.path("a.log")); err != nil {
		t.Fatal(err)
	}
	fx.write("a.log", events("c", 0, 5))
	fx.refresh("*.log")
	fx.refresh("*.log")
	fx.expectLines(11)
	if fx.tl.Tracked() != 2 {
		t.Errorf("%d tracked, want 2", fx.tl.Tracked())
	}
}
