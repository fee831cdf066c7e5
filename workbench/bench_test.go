// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package workbench

import (
	"bufio"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// benchBytes is the size of the generated log: WORKBENCH_BENCH_BYTES, or
// 64 MiB so that CI stays quick. Run at 1 GB with
//
//	WORKBENCH_BENCH_BYTES=1073741824 go test -run '^$' -bench BenchmarkReadAuditLog -benchtime 1x ./workbench/
func benchBytes(b *testing.B) int64 {
	s := os.Getenv("WORKBENCH_BENCH_BYTES")
	if s == "" {
		return 64 << 20
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		b.Fatalf("WORKBENCH_BENCH_BYTES=%q is not a positive byte count", s)
	}
	return n
}

// benchUsers is the number of distinct usernames in the generated log:
// WORKBENCH_BENCH_USERS, or 20000.
func benchUsers(b *testing.B) int {
	s := os.Getenv("WORKBENCH_BENCH_USERS")
	if s == "" {
		return 20000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("WORKBENCH_BENCH_USERS=%q is not a positive count", s)
	}
	return n
}

var benchTypes = []string{
	"session_start", "session_start", "auth_login", "session_exit", "session_quit",
	"session_suspend", "auth_logout", "auth_login_failed", "session_file_upload",
}

// writeBenchLog writes about size bytes of audit log lines (a seeded mix of
// users, pids and types over the last two years) in CSV or NDJSON.
func writeBenchLog(b *testing.B, path string, size int64, jsonFormat bool) int64 {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	users := benchUsers(b)
	start := ago(730 * day)
	var written int64
	if !jsonFormat {
		n, _ := w.WriteString(csvHeader)
		written += int64(n)
	}
	line := make([]byte, 0, 256)
	for i := int64(0); written < size; i++ {
		user := "user" + strconv.Itoa(rng.IntN(users))
		pid := 1000 + rng.IntN(60000)
		ts := start + i*997 // ~1 s apart, increasing
		typ := benchTypes[rng.IntN(len(benchTypes))]
		line = line[:0]
		if jsonFormat {
			line = append(line, `{"pid":`...)
			line = strconv.AppendInt(line, int64(pid), 10)
			line = append(line, `,"username":"`...)
			line = append(line, user...)
			line = append(line, `","timestamp":`...)
			line = strconv.AppendInt(line, ts, 10)
			line = append(line, `,"type":"`...)
			line = append(line, typ...)
			line = append(line, `","data":""}`...)
		} else {
			line = strconv.AppendInt(line, int64(pid), 10)
			line = append(line, ", "...)
			line = append(line, user...)
			line = append(line, ", "...)
			line = strconv.AppendInt(line, ts, 10)
			line = append(line, ", "...)
			line = append(line, typ...)
			line = append(line, ", "...)
			if typ == "auth_login" && i%50 == 0 {
				line = append(line, "admin"...)
			}
		}
		line = append(line, '\n')
		n, err := w.Write(line)
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
	return written
}

func BenchmarkReadAuditLog(b *testing.B) {
	for _, format := range []struct {
		name string
		json bool
	}{{"csv", false}, {"ndjson", true}} {
		b.Run(format.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "r-sessions."+format.name)
			size := writeBenchLog(b, path, benchBytes(b), format.json)
			b.SetBytes(size)
			b.ReportAllocs()
			runtime.GC()
			var users, heapInuse float64
			var ms runtime.MemStats
			var cpu time.Duration
			for b.Loop() {
				cpu0 := cpuTime()
				c, err := NewCollector(Config{Paths: []string{path}, Now: func() time.Time { return testNow }})
				if err != nil {
					b.Fatal(err)
				}
				ch := make(chan prometheus.Metric, 64)
				go func() { c.Collect(ch); close(ch) }()
				for range ch {
				}
				cpu += cpuTime() - cpu0
				users = float64(len(c.agg.lastSeen))
				runtime.ReadMemStats(&ms) // while the collector's state is live
				heapInuse = max(heapInuse, float64(ms.HeapInuse))
				if c.agg.bytesRead != uint64(size) || c.agg.parseErrors != 0 {
					b.Fatalf("read %d bytes with %d parse errors, want %d and 0", c.agg.bytesRead, c.agg.parseErrors, size)
				}
				if err := c.Close(); err != nil {
					b.Fatal(err)
				}
			}
			runtime.ReadMemStats(&ms)
			b.ReportMetric(heapInuse/(1<<20), "heap-inuse-MiB")
			if cpu > 0 {
				b.ReportMetric(float64(size)*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
			}
			b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MiB")
			b.ReportMetric(users, "users")
		})
	}
}
