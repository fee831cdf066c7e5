// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

// The usage catch-up: 1,000,000 Shiny sessions and 1,000,000 visits read
// through the client over loopback HTTP, against what the same pages cost
// bare:
//
//   - walk: EachShinySessionPage / EachVisitPage, the real path (fetch
//     overlapped with reading, the scanner);
//   - download: the same pages fetched one after another and thrown away
//     (HTTP and the simulator's answer, nothing read): the floor of a
//     serial walk;
//   - scanner: the same bytes, held in memory, read by the scanner;
//   - encoding-json: the same bytes read by encoding/json (the decoder the
//     client used before).
//
// Reported: records/s, the CPU time per record (user and system, both ends
// of the HTTP exchange: a figure that a busy machine disturbs less than
// records/s), the cores used on average and the peak heap above the heap
// before the run.
//
//	go test -run '^$' -bench CatchUp -benchtime 3x ./connectapi/

var (
	catchUpOnce sync.Once
	catchUpSim  *connecttest.Server
)

const (
	catchUpRecords = 1_000_000
	catchUpKey     = "catch-up-key"
)

var catchUpNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func catchUpServer(b *testing.B) *connecttest.Server {
	b.Helper()
	catchUpOnce.Do(func() {
		catchUpSim = connecttest.New(connecttest.Config{Seed: 6, Users: 1000, Content: 200, APIKey: catchUpKey,
			ShinySessions: catchUpRecords, Visits: catchUpRecords, Now: func() time.Time { return catchUpNow }})
		if err := catchUpSim.Start(); err != nil {
			b.Fatal(err)
		}
	})
	return catchUpSim
}

func BenchmarkCatchUp(b *testing.B) {
	sim := catchUpServer(b)
	c, err := NewClient(sim.URL(), WithAPIKey(StaticKey(catchUpKey)))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	type stream struct {
		name, path string
		walk       func(fn func(n int)) error
		scan       func(body []byte) (int, error)
		std        func(body []byte) (int, error)
	}
	streams := []stream{
		{"shiny", "/v1/instrumentation/shiny/usage",
			func(fn func(int)) error {
				return c.EachShinySessionPage(ctx, UsageQuery{}, func(p []ShinySession) error { fn(len(p)); return nil })
			},
			func(body []byte) (int, error) { return scanBody(body, &shinyPage, readShinySession) },
			func(body []byte) (int, error) { return stdBody[ShinySession](body) }},
		{"visits", "/v1/instrumentation/content/visits",
			func(fn func(int)) error {
				return c.EachVisitPage(ctx, UsageQuery{}, func(p []Visit) error { fn(len(p)); return nil })
			},
			func(body []byte) (int, error) { return scanBody(body, &visitPage, readVisit) },
			func(body []byte) (int, error) { return stdBody[Visit](body) }},
	}
	for _, st := range streams {
		// The cursors of every page, and the bodies of the first 100 pages
		// (50,000 records) for the in-memory readers.
		cursors, bodies := collectPages(b, c, st.path, 100)
		b.Run(st.name+"/walk", func(b *testing.B) {
			measure(b, func() int {
				n := 0
				if err := st.walk(func(k int) { n += k }); err != nil {
					b.Fatal(err)
				}
				return n
			})
		})
		b.Run(st.name+"/download", func(b *testing.B) {
			measure(b, func() int {
				for _, cur := range cursors {
					downloadPage(b, sim.URL(), st.path, cur)
				}
				return catchUpRecords
			})
		})
		for _, r := range []struct {
			name string
			read func([]byte) (int, error)
		}{{"scanner", st.scan}, {"encoding-json", st.std}} {
			b.Run(st.name+"/"+r.name, func(b *testing.B) {
				measure(b, func() int {
					n := 0
					for _, body := range bodies {
						k, err := r.read(body)
						if err != nil {
							b.Fatal(err)
						}
						n += k
					}
					return n
				})
			})
		}
	}
}

// measure runs fn once per iteration and reports records/s and the peak
// heap above the heap before.
func measure(b *testing.B, fn func() int) {
	b.Helper()
	b.ReportAllocs()
	var records int
	var peak uint64
	var elapsed, cpu time.Duration
	for b.Loop() {
		start, cpu0 := time.Now(), cpuTime()
		peak = max(peak, testutil.PeakHeapAbove(func() { records += fn() }))
		elapsed += time.Since(start)
		cpu += cpuTime() - cpu0
	}
	b.ReportMetric(float64(records)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cores")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(records), "cpu-ns/record")
}

// cpuTime is the process's user and system time so far (both ends of the
// HTTP exchange run in this process).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The in-memory reader shares its interner and reuses its page from one
// body to the next, as a walk does.
var (
	benchStrings = &interner{}
	shinyPage    page[ShinySession]
	visitPage    page[Visit]
)

func scanBody[T any](body []byte, p *page[T], rec recordReader[T]) (int, error) {
	s := &scanner{b: body, strs: benchStrings}
	readPage(s, p, rec, nil)
	return len(p.results), s.err
}

func stdBody[T any](body []byte) (int, error) {
	var p refPage[T]
	err := json.Unmarshal(body, &p)
	return len(p.Results), err
}

// collectPages walks path once and returns every page's cursor ("" for the
// first) and the first keep bodies.
func collectPages(b *testing.B, c *Client, path string, keep int) (cursors []string, bodies [][]byte) {
	b.Helper()
	cur := ""
	for range maxPages {
		q := url.Values{"limit": {strconv.Itoa(PageSize)}, "asc_order": {"true"}}
		if cur != "" {
			q.Set("next", cur)
		}
		f, err := c.fetchBody(context.Background(), path, q)
		if err != nil {
			b.Fatal(err)
		}
		body := append([]byte(nil), f.body()...)
		f.release()
		s := &scanner{b: body}
		var p page[struct{}]
		readPage(s, &p, func(s *scanner, _ *struct{}, _ *time.Time) { s.skip() }, nil)
		if s.err != nil {
			b.Fatal(s.err)
		}
		if len(p.results) == 0 {
			return cursors, bodies
		}
		cursors = append(cursors, cur)
		if len(bodies) < keep {
			bodies = append(bodies, body)
		}
		if p.next == nil {
			return cursors, bodies
		}
		cur = *p.next
	}
	b.Fatal("no end")
	return nil, nil
}

var benchHTTP = &http.Client{Timeout: time.Minute}

func downloadPage(b *testing.B, base, path, cursor string) {
	q := url.Values{"limit": {strconv.Itoa(PageSize)}, "asc_order": {"true"}}
	if cursor != "" {
		q.Set("next", cursor)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/__api__"+path+"?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Key "+catchUpKey)
	resp, err := benchHTTP.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d", resp.StatusCode)
	}
}
