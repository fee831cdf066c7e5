// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

// leaks reports whether msg holds any 8 characters of the key in a row.
func leaks(msg, key string) bool {
	for i := 0; i+8 <= len(key); i++ {
		if strings.Contains(msg, key[i:i+8]) {
			return true
		}
	}
	return false
}

// A key echoed back by Connect or a proxy, in a 401, 403, 500 or 502 body,
// never reaches the error text: not in the message, not in the payload, not
// cut in half by the length limit.
func TestEchoedKeyIsRedacted(t *testing.T) {
	sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: 1, Users: 10, APIKey: testKey}))
	c := newTestClient(t, sim.URL())
	ctx := context.Background()
	for _, k := range []connecttest.FaultKind{connecttest.FaultUnauthorized, connecttest.FaultForbidden,
		connecttest.FaultServerError, connecttest.FaultProxyHTML} {
		sim.SetFault(connecttest.Fault{Kind: k, Echo: true, Times: 1})
		err := c.EachUserPage(ctx, func([]User) error { return nil })
		if _, ok := errors.AsType[*APIError](err); !ok {
			t.Fatalf("%v: %v", k, err)
		}
		if leaks(err.Error(), testKey) {
			t.Errorf("%v: the key leaks: %v", k, err)
		}
		if k == connecttest.FaultUnauthorized && !strings.Contains(err.Error(), "Key [REDACTED]") {
			t.Errorf("%v: the message lost more than the key: %v", k, err)
		}
	}

	// A plain-text body cut at 120 characters right through the key: no
	// prefix of the key survives.
	for _, pad := range []int{0, 100, 110, 118} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(strings.Repeat("x", pad) + r.Header.Get("Authorization") + " rejected"))
		}))
		_, err := newTestClient(t, srv.URL).ServerSettings(ctx)
		srv.Close()
		if err == nil || leaks(err.Error(), testKey) {
			t.Errorf("pad %d: %v", pad, err)
		}
	}

	// A 200 whose body is not the JSON expected, with the key anywhere
	// near the error: a DecodeError whose snippet shows no part of it.
	for _, pad := range []int{0, 5, 15, 19, 25} {
		for _, endpoint := range []string{"users", "shiny"} {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"results":[` + strings.Repeat(" ", pad) + r.Header.Get("Authorization") + `]}`))
			}))
			c := newTestClient(t, srv.URL)
			var err error
			if endpoint == "users" {
				err = c.EachUserPage(ctx, func([]User) error { return nil })
			} else {
				err = c.EachShinySessionPage(ctx, UsageQuery{}, func([]ShinySession) error { return nil })
			}
			srv.Close()
			if _, ok := errors.AsType[*DecodeError](err); !ok || leaks(err.Error(), testKey) || !strings.Contains(err.Error(), "near") {
				t.Errorf("%s, pad %d: %v", endpoint, pad, err)
			}
		}
	}
}

// A malformed HTTP answer that repeats the key makes a TransportError that
// does not.
func TestTransportErrorRedactsTheKey(t *testing.T) {
	ln, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		req, err := http.ReadRequest(bufio.NewReader(conn))
		if err != nil {
			return
		}
		// A header line without a colon: Go's client reports the line.
		_, _ = conn.Write([]byte("HTTP/1.1 200 OK\r\n" + req.Header.Get("Authorization") + "\r\n\r\n"))
	}()
	c := newTestClient(t, "http://"+ln.Addr().String())
	_, err = c.ServerSettings(context.Background())
	<-done
	if !IsUnreachable(err) || strings.Contains(err.Error(), testKey) || !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("malformed answer: %v", err)
	}
}

// A 404 names the whole address asked, so that a missing path prefix shows.
func TestNotFoundNamesTheFullURL(t *testing.T) {
	sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: 1, Users: 10, APIKey: testKey}))
	c := newTestClient(t, sim.URL()+"/rsconnect/")
	_, err := c.ServerSettings(context.Background())
	want := sim.URL() + "/rsconnect/__api__/server_settings"
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "path prefix") {
		t.Errorf("404: %v; want it to name %s", err, want)
	}
	if strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), "?") {
		t.Errorf("404 names the key or a query: %v", err)
	}
}

// A redirect to another host is not reported as an invalid key: Go's client
// did not send the key there.
func TestRedirectAcrossHostsIsNotAnInvalidKey(t *testing.T) {
	sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: 1, Users: 10, APIKey: testKey}))
	simAddr := strings.TrimPrefix(sim.URL(), "http://")
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://connect-new.example.test"+r.URL.RequestURI(), http.StatusMovedPermanently)
	}))
	defer redirector.Close()
	// Every connection goes to loopback: the redirector or the simulator,
	// whatever host name the URL says.
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if strings.HasPrefix(addr, "connect-new.example.test:") {
			addr = simAddr
		}
		return new(net.Dialer).DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	c := newTestClient(t, redirector.URL, WithHTTPClient(&http.Client{Transport: tr, Timeout: 10 * time.Second}))
	err := c.EachUserPage(context.Background(), func([]User) error { return nil })
	if !errors.Is(err, ErrKeyNotSent) || IsAuthError(err) {
		t.Fatalf("redirect: %v (auth error %v)", err, IsAuthError(err))
	}
	msg := err.Error()
	if !strings.Contains(msg, "not sent across hosts") || !strings.Contains(msg, "connect-new.example.test") ||
		!strings.Contains(msg, strings.TrimPrefix(redirector.URL, "http://")) || strings.Contains(msg, "invalid") {
		t.Errorf("redirect message: %s", msg)
	}
	// server_settings needs no key: the redirect is followed and works.
	if _, err := c.ServerSettings(context.Background()); err != nil {
		t.Errorf("server_settings through the redirect: %v", err)
	}
	// A redirect within the same host keeps the key.
	same := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/old/") {
			http.Redirect(w, r, strings.TrimPrefix(r.URL.Path, "/old")+"?"+r.URL.RawQuery, http.StatusFound)
			return
		}
		sim.Handler().ServeHTTP(w, r)
	}))
	defer same.Close()
	if err := newTestClient(t, same.URL+"/old").EachUserPage(context.Background(), func([]User) error { return nil }); err != nil {
		t.Errorf("same-host redirect: %v", err)
	}
}

// The caller's deadline is not "cannot reach Connect"; the request timeout
// of the HTTP client says it timed out.
func TestDeadlinesAreNotUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := newTestClient(t, srv.URL).ServerSettings(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || IsUnreachable(err) || strings.Contains(strings.ToLower(err.Error()), "cannot reach") {
		t.Errorf("caller's deadline: %v", err)
	}
	short := newTestClient(t, srv.URL, WithHTTPClient(&http.Client{Timeout: 50 * time.Millisecond}))
	_, err = short.ServerSettings(context.Background())
	if !IsUnreachable(err) || !strings.Contains(err.Error(), "within the request timeout") {
		t.Errorf("request timeout: %v", err)
	}
}
