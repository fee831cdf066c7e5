// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectaudit

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

// benchBytes is the size of each generated file: CONNECTAUDIT_BENCH_BYTES,
// or 64 MiB so that CI stays quick. Run at 1 GiB with
//
//	CONNECTAUDIT_BENCH_BYTES=1073741824 go test -c ./connectaudit
//	/usr/bin/time -v ./connectaudit.test -test.run '^$' -test.bench 'BenchmarkReadAuditLogFiles' -test.benchtime 1x
func benchBytes(b *testing.B) int64 {
	s := os.Getenv("CONNECTAUDIT_BENCH_BYTES")
	if s == "" {
		return 64 << 20
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		b.Fatalf("CONNECTAUDIT_BENCH_BYTES=%q is not a positive byte count", s)
	}
	return n
}

const benchActors = 20000

var benchActions = []string{
	"user_login", "user_login", "user_login", "user_login", "deploy_application", "upload_bundle",
	"edit_application", "add_user", "edit_user", "add_group_member", "assign_user_app_role", "add_api_key",
}

var benchRoles = []string{"viewer", "viewer", "publisher", "administrator"}

// writeBenchLog writes about size bytes of audit entries as Connect 2022.11+
// writes them (logfmt or JSON): increasing entry ids and times over the last
// two years, a seeded mix of actors, actions and extra fields, and one
// service log line for every 20 entries.
func writeBenchLog(b *testing.B, path string, size int64, jsonFormat bool) (written int64, entries int) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	start := testNow.Add(-730 * day).UnixMilli()
	line := make([]byte, 0, 512)
	for i := int64(0); written < size; i++ {
		actor := 1 + rng.IntN(benchActors)
		ts := time.UnixMilli(start + i*311).UTC()
		action := benchActions[rng.IntN(len(benchActions))]
		role := benchRoles[actor%len(benchRoles)]
		line = line[:0]
		if i%20 == 19 { // a service log line in the journal
			if jsonFormat {
				line = append(line, `{"level":"info","msg":"Request completed","path":"/__api__/v1/content","status":200,"time":"`...)
				line = ts.AppendFormat(line, "2006-01-02T15:04:05.000Z07:00")
				line = append(line, `"}`...)
			} else {
				line = append(line, `time="`...)
				line = ts.AppendFormat(line, "2006-01-02T15:04:05.000Z07:00")
				line = append(line, `" level=info msg="Request completed" path=/__api__/v1/content status=200`...)
			}
		} else {
			entries++
			name := "user" + strconv.Itoa(actor)
			if jsonFormat {
				line = append(line, `{"action":"`...)
				line = append(line, action...)
				line = append(line, `","actor_description":"First Last (`...)
				line = append(line, name...)
				line = append(line, `)","actor_guid":"8c1c6df6-16bf-4901-b52c-`...)
				line = strconv.AppendInt(line, 100000000000+int64(actor), 10)
				line = append(line, `","actor_id":`...)
				line = strconv.AppendInt(line, int64(actor), 10)
				line = append(line, `,"actor_role":"`...)
				line = append(line, role...)
				line = append(line, `","content_guid":"1b2c1790-c95f-4df3-9363-6563475070d0","content_id":`...)
				line = strconv.AppendInt(line, int64(rng.IntN(5000)), 10)
				line = append(line, `,"entry_id":`...)
				line = strconv.AppendInt(line, 1000+i, 10)
				line = append(line, `,"level":"info","msg":"Did `...)
				line = append(line, action...)
				line = append(line, ` for content","time":"`...)
				line = ts.AppendFormat(line, "2006-01-02T15:04:05.000Z07:00")
				line = append(line, `","type":"audit"}`...)
			} else {
				line = append(line, `time="`...)
				line = ts.AppendFormat(line, "2006-01-02T15:04:05.000Z07:00")
				line = append(line, `" level=info msg="Did `...)
				line = append(line, action...)
				line = append(line, ` for \"content\"" action=`...)
				line = append(line, action...)
				line = append(line, ` actor_description="First Last (`...)
				line = append(line, name...)
				line = append(line, `)" actor_guid=8c1c6df6-16bf-4901-b52c-`...)
				line = strconv.AppendInt(line, 100000000000+int64(actor), 10)
				line = append(line, ` actor_id=`...)
				line = strconv.AppendInt(line, int64(actor), 10)
				line = append(line, ` actor_role=`...)
				line = append(line, role...)
				line = append(line, ` content_guid=1b2c1790-c95f-4df3-9363-6563475070d0 content_id=`...)
				line = strconv.AppendInt(line, int64(rng.IntN(5000)), 10)
				line = append(line, ` entry_id=`...)
				line = strconv.AppendInt(line, 1000+i, 10)
				line = append(line, ` type=audit`...)
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
	return written, entries
}

func BenchmarkReadAuditLogFiles(b *testing.B) {
	for _, format := range []struct {
		name string
		json bool
	}{{"logfmt", false}, {"json", true}} {
		b.Run(format.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "rstudio-connect.audit.log")
			size, entries := writeBenchLog(b, path, benchBytes(b), format.json)
			b.SetBytes(size)
			b.ReportAllocs()
			runtime.GC()
			var heapInuse, idBytes float64
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
				runtime.ReadMemStats(&ms) // while the collector's state is live
				heapInuse = max(heapInuse, float64(ms.HeapInuse))
				idBytes = float64(c.agg.ids.bytes())
				a := c.agg
				if a.bytesRead != uint64(size) || a.parseErrors != 0 || a.entries != uint64(entries) || a.duplicates != 0 {
					b.Fatalf("read %d bytes, %d entries, %d parse errors, %d duplicates; want %d, %d, 0, 0",
						a.bytesRead, a.entries, a.parseErrors, a.duplicates, size, entries)
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
			b.ReportMetric(float64(entries), "entries")
			b.ReportMetric(idBytes/(1<<10), "idset-KiB")
		})
	}
}

// BenchmarkParseLine measures the per-line parsers alone.
func BenchmarkParseLine(b *testing.B) {
	for _, tc := range []struct{ name, line string }{
		{"logfmt", docLine},
		{"json", `{"action":"add_group","actor_description":"admin n (admin)","actor_guid":"8c1c6df6-16bf-4901-b52c-50de0b1da233","actor_id":1,"actor_role":"administrator","entry_id":73,"group_guid":"1b2c1790-c95f-4df3-9363-6563475070d0","group_id":2,"group_name":"Publishers","level":"info","msg":"Added group Publishers","time":"2022-10-18T20:07:39.813Z","type":"audit"}`},
		{"legacy-csv", `230,2025-12-15T09:13:15.923372Z,11,Quentin King (qking),update_user,"Updated user admin, by ""Quentin King (qking)"""`},
		{"legacy-json", `{"id":"230","time":"2025-12-15T09:13:15.923372Z","user_id":"11","user_guid":"1b171a0d-227c-414b-89df-3b474083e4fd","user_description":"Quentin King (qking)","action":"update_user","event_description":"Updated user admin"}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			line := []byte(tc.line)
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			for b.Loop() {
				if _, kind, err := parseLine(line); err != nil || kind != lineEntry {
					b.Fatal(kind, err)
				}
			}
		})
	}
}
