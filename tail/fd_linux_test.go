// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package tail

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// openDescriptors counts this process's open descriptors.
func openDescriptors(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// A glob matching 5,000 files under an open-file limit of 256: every file is
// read, descriptors stay within the bound, and an HTTP listener in the same
// process keeps answering throughout.
func TestThousandsOfFilesUnderALowDescriptorLimit(t *testing.T) {
	const files, limit = 5000, 256
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if old.Max < limit {
		t.Fatalf("hard open-file limit %d is below the test's %d", old.Max, limit)
	}

	fx := newFixture(t, Config{})
	for i := range files {
		fx.write(fmt.Sprintf("r-sessions.csv.%04d", i), events(fmt.Sprint(i), 0, 1))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "Healthy\n")
	}))
	defer srv.Close()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()

	lowered := old
	lowered.Cur = limit
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lowered); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
			t.Error(err)
		}
	}()
	baseline := openDescriptors(t)

	var stop atomic.Bool
	var peak atomic.Int64
	var requests, failures atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() { // sample the open descriptors
		for i := 0; i < 200_000 && !stop.Load(); i++ {
			if n := int64(openDescriptors(t)); n > peak.Load() {
				peak.Store(n)
			}
			time.Sleep(500 * time.Microsecond)
		}
	})
	wg.Go(func() { // the listener must keep answering
		for i := 0; i < 100_000 && !stop.Load(); i++ {
			requests.Add(1)
			resp, err := client.Get(srv.URL + "/-/healthy")
			if err != nil {
				failures.Add(1)
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failures.Add(1)
			}
		}
	})
	var res Result
	for range 3 { // the first read, then two refreshes with nothing new
		res = fx.tl.Refresh([]string{fx.path("r-sessions.*")})
	}
	stop.Store(true)
	wg.Wait()

	if res.ErrCount != 0 {
		t.Fatalf("%d errors, first: %v", res.ErrCount, res.Errs)
	}
	if res.Files != files {
		t.Errorf("%d files, want %d", res.Files, files)
	}
	fx.expectLines(files)
	// The bound is DefaultMaxOpen (32, under a quarter of 256); the
	// sampler, the HTTP client and server hold a few more.
	if extra := peak.Load() - int64(baseline); extra > DefaultMaxOpen+8 {
		t.Errorf("up to %d descriptors above the baseline of %d, want at most %d", extra, baseline, DefaultMaxOpen+8)
	}
	if fx.tl.Open() > DefaultMaxOpen {
		t.Errorf("%d files open after the refresh, want at most %d", fx.tl.Open(), DefaultMaxOpen)
	}
	if requests.Load() == 0 || failures.Load() != 0 {
		t.Errorf("%d of %d requests to the listener failed", failures.Load(), requests.Load())
	}
}

// The process-wide budget: with a limit of 64 open files, a Tailer whose
// own MaxOpen is larger holds at most 16.
func TestProcessWideBudget(t *testing.T) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	fx := newFixture(t, Config{MaxOpen: 1000})
	for i := range 100 {
		fx.write(fmt.Sprintf("f%03d.log", i), events(fmt.Sprint(i), 0, 1))
	}
	lowered := old
	lowered.Cur = 64
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lowered); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
			t.Error(err)
		}
	}()
	fx.refresh("*.log")
	fx.expectLines(100)
	if got := openFiles.Load(); got > 64/budgetShare {
		t.Errorf("%d files open in the process, want at most %d", got, 64/budgetShare)
	}
}
