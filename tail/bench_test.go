// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package tail

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// nopSink counts lines and does nothing else: the bare cost of reading and
// splitting, the baseline of the readers built on Tailer.
type nopSink struct{ n int }

func (s *nopSink) Line([]byte) error { s.n++; return nil }
func (s *nopSink) TooLong()          {}

// BenchmarkRefreshBare reads a file of 300-byte lines with a sink that does
// nothing: TAIL_BENCH_BYTES bytes, or 64 MiB so that CI stays quick.
//
//	TAIL_BENCH_BYTES=1073741824 go test -run '^$' -bench BenchmarkRefreshBare -benchtime 1x ./tail/
func BenchmarkRefreshBare(b *testing.B) {
	size := int64(64 << 20)
	if s := os.Getenv("TAIL_BENCH_BYTES"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			b.Fatalf("TAIL_BENCH_BYTES=%q is not a positive byte count", s)
		}
		size = n
	}
	path := filepath.Join(b.TempDir(), "bare.log")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	line := strings.Repeat("x", 299) + "\n"
	var written int64
	for written < size {
		n, err := w.WriteString(line)
		if err != nil {
			b.Fatal(err)
		}
		written += int64(n)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(written)
	for b.Loop() {
		sink := &nopSink{}
		tl := New(Config{}, sink)
		res := tl.Refresh([]string{path})
		if res.BytesRead != written || sink.n != int(written/300) {
			b.Fatalf("read %d bytes, %d lines", res.BytesRead, sink.n)
		}
		if err := tl.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
