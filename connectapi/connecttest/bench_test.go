// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

func scaleConfig() Config {
	now := time.Date(2026, 3, 10, 14, 30, 0, 0, time.UTC)
	return Config{
		Seed: 1, Users: 100_000, Content: 10_000, Groups: 2_000,
		ShinySessions: 1_000_000, Visits: 1_000_000, AuditEntries: 200_000,
		Now: func() time.Time { return now }, Version: "2025.04.0", LicenseSeats: 90_000,
	}
}

var (
	scaleOnce sync.Once
	scaleSrv  *Server
)

func scaleServer() *Server {
	scaleOnce.Do(func() { scaleSrv = New(scaleConfig()) })
	return scaleSrv
}

// BenchmarkGenerate builds the scale data set: 100k users, 10k content and
// 1M Shiny sessions ("sessions"), plus 1M visits and 200k audit entries
// ("full"). It reports the live heap the data set keeps.
func BenchmarkGenerate(b *testing.B) {
	sessionsOnly := scaleConfig()
	sessionsOnly.Visits, sessionsOnly.AuditEntries = 0, 0
	for _, bc := range []struct {
		name string
		cfg  Config
	}{{"sessions", sessionsOnly}, {"full", scaleConfig()}} {
		b.Run(bc.name, func(b *testing.B) {
			var s *Server
			for b.Loop() {
				s = New(bc.cfg)
			}
			b.StopTimer()
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			b.ReportMetric(float64(m.HeapAlloc)/(1<<20), "heap-MiB")
			runtime.KeepAlive(s)
		})
	}
}

func benchGet(b *testing.B, s *Server, path string) int {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Key "+DefaultAPIKey)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Fatalf("%s: %d %s", path, rec.Code, rec.Body.Bytes())
	}
	return rec.Body.Len()
}

// BenchmarkShinyUsagePage serves one page of 500 sessions from the 1M
// session data set: from the start, deep in the walk, and an incremental
// query with a recent from (the exporter's usual request).
func BenchmarkShinyUsagePage(b *testing.B) {
	s := scaleServer()
	recent := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC).Format(time.RFC3339)
	for _, bc := range []struct{ name, path string }{
		{"first", usagePath + "?limit=500"},
		{"deep", usagePath + "?limit=500&next=" + strconv.Itoa(cursorBase+900_000)},
		{"from-recent", usagePath + "?limit=500&from=" + recent},
		{"from-30d", usagePath + "?limit=500&from=2026-02-08T00:00:00Z"},
		{"desc", usagePath + "?limit=500&asc_order=false"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				n = benchGet(b, s, bc.path)
			}
			b.SetBytes(int64(n))
		})
	}
}

// BenchmarkScaleEndpoints covers the other large responses.
func BenchmarkScaleEndpoints(b *testing.B) {
	s := scaleServer()
	for _, bc := range []struct{ name, path string }{
		{"users-page-500", "/__api__/v1/users?page_size=500&page_number=100"},
		{"users-licensed-count", "/__api__/v1/users?page_size=1&account_status=licensed"},
		{"content-all", "/__api__/v1/content"},
		{"visits-page-500", visitsPath + "?limit=500&from=2026-03-01T00:00:00Z"},
		{"audit-newest-500", auditPath + "?limit=500&ascOrder=false"},
		{"active-users", "/__api__/v1/metrics/users/active"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				n = benchGet(b, s, bc.path)
			}
			b.SetBytes(int64(n))
		})
	}
}

// BenchmarkStep advances the scale server by one minute of live activity.
func BenchmarkStep(b *testing.B) {
	cfg := scaleConfig()
	now := time.Date(2026, 3, 10, 14, 30, 0, 0, time.UTC)
	var mu sync.Mutex
	cfg.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := New(cfg)
	for b.Loop() {
		mu.Lock()
		now = now.Add(time.Minute)
		mu.Unlock()
		s.Step(time.Minute)
	}
}

// TestScaleWalk walks the full scale data set once through the HTTP
// handler. It takes seconds, so it runs only with CONNECTTEST_SCALE=1.
func TestScaleWalk(t *testing.T) {
	if os.Getenv("CONNECTTEST_SCALE") == "" {
		t.Skip("set CONNECTTEST_SCALE=1 to walk 1M sessions")
	}
	if raceEnabled {
		t.Skip("scale walk skipped under the race detector")
	}
	s := scaleServer()
	want := 0
	for _, v := range s.ShinyTotals(time.Time{}) {
		want += v.Started
	}
	if want != 1_000_000 {
		t.Fatalf("ShinyTotals says %d sessions", want)
	}
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	st := time.Now()
	got := 0
	next := ""
	for range 10_000 {
		path := usagePath + "?limit=500"
		if next != "" {
			path += "&next=" + next
		}
		r := fetch(t, hs.URL, path, DefaultAPIKey)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		var p cursorPage[apiSession]
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Results) == 0 {
			break
		}
		got += len(p.Results)
		next = *p.Paging.Cursors.Next
	}
	if got != want {
		t.Errorf("walked %d sessions, want %d", got, want)
	}
	t.Logf("walked %d sessions in %v", got, time.Since(st))
}
