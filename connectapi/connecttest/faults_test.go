// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFaultStatusKinds(t *testing.T) {
	clk := newClock()
	s := startServer(t, smallConfig(clk))
	cases := []struct {
		f      Fault
		status int
		body   string // substring
		ctype  string
	}{
		{Fault{Kind: FaultUnauthorized}, 401, `{"code":30,"error":"Invalid login."}`, "application/json"},
		{Fault{Kind: FaultForbidden}, 403, `{"code":22,"error":"You don't have permission to perform this operation."}`, "application/json"},
		{Fault{Kind: FaultRateLimited, RetryAfter: 1500 * time.Millisecond}, 429, `"code":277`, "application/json"},
		{Fault{Kind: FaultServerError}, 500, `"code":1`, "application/json"},
		{Fault{Kind: FaultProxyHTML}, 502, `<h1>502 Bad Gateway</h1>`, "text/html"},
	}
	for _, tc := range cases {
		s.SetFault(tc.f)
		r := fetch(t, s.URL(), "/__api__/v1/users", DefaultAPIKey)
		if r.err != nil || r.status != tc.status || !strings.Contains(string(r.body), tc.body) || !strings.HasPrefix(r.header.Get("Content-Type"), tc.ctype) {
			t.Errorf("%v: %d %q %s (%v)", tc.f.Kind, r.status, r.body, r.header.Get("Content-Type"), r.err)
		}
		if tc.f.Kind == FaultRateLimited && r.header.Get("Retry-After") != "2" {
			t.Errorf("Retry-After %q, want 2", r.header.Get("Retry-After"))
		}
		// Faults apply to unauthenticated paths too.
		if r := fetch(t, s.URL(), "/__api__/server_settings", ""); r.status != tc.status {
			t.Errorf("%v on server_settings: %d", tc.f.Kind, r.status)
		}
		s.ClearFaults()
		if r := fetch(t, s.URL(), "/__api__/v1/users", DefaultAPIKey); r.status != 200 {
			t.Errorf("after clearing %v: %d", tc.f.Kind, r.status)
		}
	}
}

func TestFaultPathAndTimes(t *testing.T) {
	clk := newClock()
	s := startServer(t, smallConfig(clk))
	// Page 3 of a walk fails once, the retry succeeds.
	var pages []string
	next := ""
	failed := 0
	for range 100 {
		if len(pages) == 2 && failed == 0 {
			s.SetFault(Fault{Kind: FaultServerError, Path: usagePath, Times: 1})
		}
		path := usagePath + "?limit=500"
		if next != "" {
			path += "&next=" + next
		}
		r := fetch(t, s.URL(), path, DefaultAPIKey)
		if r.status == 500 {
			failed++
			continue
		}
		if r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
		var p cursorPage[apiSession]
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Results) == 0 {
			break
		}
		pages = append(pages, *p.Paging.Cursors.Next)
		next = *p.Paging.Cursors.Next
	}
	if failed != 1 || len(pages) != 6 {
		t.Errorf("failed %d times, %d pages", failed, len(pages))
	}
	// Path prefix: only matching requests fail; Times counts only them.
	s.SetFault(Fault{Kind: FaultForbidden, Path: "/__api__/v1/audit_logs", Times: 2})
	if r := fetch(t, s.URL(), "/__api__/v1/users", DefaultAPIKey); r.status != 200 {
		t.Errorf("unmatched path failed: %d", r.status)
	}
	for i, want := range []int{403, 403, 200} {
		if r := fetch(t, s.URL(), auditPath, DefaultAPIKey); r.status != want {
			t.Errorf("audit request %d: %d, want %d", i, r.status, want)
		}
	}
	if n := s.Requests(auditPath); n != 3 {
		t.Errorf("Requests(audit) = %d, want 3", n)
	}
	if n := s.Requests("/__api__/v1/instrumentation/"); n != 8 {
		t.Errorf("Requests(instrumentation) = %d, want 8", n)
	}
	s.ResetRequests()
	if n := s.Requests(""); n != 0 {
		t.Errorf("after reset: %d", n)
	}
}

func TestFaultBodies(t *testing.T) {
	clk := newClock()
	s := startServer(t, smallConfig(clk))

	s.SetFault(Fault{Kind: FaultTruncatedJSON, Times: 1})
	r := fetch(t, s.URL(), "/__api__/v1/users?page_size=50", DefaultAPIKey)
	full := fetch(t, s.URL(), "/__api__/v1/users?page_size=50", DefaultAPIKey)
	var v any
	err := json.Unmarshal(r.body, &v)
	if r.err != nil || r.status != 200 || err == nil || len(r.body) != len(full.body)/2 {
		t.Errorf("truncated: status %d, %d of %d bytes, decode err %v, read err %v", r.status, len(r.body), len(full.body), err, r.err)
	}

	s.SetFault(Fault{Kind: FaultHugeBody, Size: 4 << 20, Times: 2})
	r = fetch(t, s.URL(), "/__api__/v1/users?page_size=5", DefaultAPIKey)
	var p struct {
		offsetPage[apiUser]
		Padding string `json:"padding"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil || r.status != 200 || len(r.body) < 4<<20 || len(p.Results) != 5 || *p.Total != 300 {
		t.Errorf("huge object body: status %d, %d bytes, err %v", r.status, len(r.body), err)
	}
	r = fetch(t, s.URL(), "/__api__/v1/content", DefaultAPIKey)
	var items []map[string]any
	if err := json.Unmarshal(r.body, &items); err != nil || len(r.body) < 4<<20 || len(items) != 60 {
		t.Errorf("huge array body: %d bytes, %d items, err %v", len(r.body), len(items), err)
	}

	// Go's transport retries a GET once when a reused connection closes
	// before answering, so this fault is not Times-limited here.
	s.SetFault(Fault{Kind: FaultConnReset})
	if r := fetch(t, s.URL(), "/__api__/v1/users", DefaultAPIKey); r.err == nil {
		t.Errorf("conn reset: got status %d", r.status)
	}
	s.ClearFaults()
	if r := fetch(t, s.URL(), "/__api__/v1/users", DefaultAPIKey); r.status != 200 {
		t.Errorf("after conn reset: %d %v", r.status, r.err)
	}
}

func TestFaultSlowHonoursContext(t *testing.T) {
	clk := newClock()
	s := startServer(t, smallConfig(clk))
	s.SetFault(Fault{Kind: FaultSlow, Delay: time.Hour, Path: "/__api__/v1/users"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	r := fetchCtx(ctx, t, s.URL(), "/__api__/v1/users", DefaultAPIKey)
	if !errors.Is(r.err, context.DeadlineExceeded) {
		t.Errorf("slow: err %v status %d", r.err, r.status)
	}
	// Other paths are not slowed; a short delay answers normally.
	if r := fetch(t, s.URL(), "/__api__/v1/groups", DefaultAPIKey); r.status != 200 {
		t.Errorf("groups: %d", r.status)
	}
	s.ClearFaults()
	s.SetFault(Fault{Kind: FaultSlow, Delay: time.Millisecond, Times: 1})
	if r := fetch(t, s.URL(), "/__api__/v1/users", DefaultAPIKey); r.status != 200 {
		t.Errorf("short delay: %d %v", r.status, r.err)
	}
}

func TestFaultDownAndUpOnSamePort(t *testing.T) {
	clk := newClock()
	s := startServer(t, smallConfig(clk))
	url := s.URL()
	// Keep a connection alive before going down: it must be closed too.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	get := func() (int, error) {
		req, _ := http.NewRequest(http.MethodGet, url+"/__api__/server_settings", nil)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	if code, err := get(); code != 200 {
		t.Fatalf("before: %d %v", code, err)
	}
	s.SetFault(Fault{Kind: FaultDown})
	_, err := get()
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("down: err %v, want connection refused", err)
	}
	s.ClearFaults()
	if err := s.ListenErr(); err != nil {
		t.Fatal(err)
	}
	if s.URL() != url {
		t.Errorf("URL changed %s -> %s", url, s.URL())
	}
	if code, err := get(); code != 200 {
		t.Errorf("after: %d %v", code, err)
	}
	if !strings.HasSuffix(url, ":"+strconv.Itoa(s.port)) {
		t.Errorf("port %d not in %s", s.port, url)
	}
}

func TestFaultDownHandlerOnly(t *testing.T) {
	clk := newClock()
	s := New(smallConfig(clk))
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	s.SetFault(Fault{Kind: FaultDown})
	if r := fetch(t, hs.URL, "/__api__/v1/system/hosts", DefaultAPIKey); r.err == nil {
		t.Errorf("down (handler only): status %d", r.status)
	}
	s.ClearFaults()
	if r := fetch(t, hs.URL, "/__api__/v1/system/hosts", DefaultAPIKey); r.status != 200 {
		t.Errorf("after clearing: %d %v", r.status, r.err)
	}
}
