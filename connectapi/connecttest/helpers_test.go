// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

// newClock returns the clock the tests start from.
func newClock() *testutil.Clock {
	return testutil.NewClock(time.Date(2026, 3, 10, 14, 30, 0, 0, time.UTC))
}

func smallConfig(clk *testutil.Clock) Config {
	return Config{
		Seed: 42, Users: 300, Content: 60, Groups: 12,
		ShinySessions: 3000, Visits: 4000, AuditEntries: 1500,
		Now: clk.Now, Version: "2024.09.0", LicenseSeats: 250,
	}
}

// startServer generates and starts a server, closed at test end.
func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	s := testutil.Start(t, New(cfg))
	return s
}

var testClient = &http.Client{Timeout: 30 * time.Second}

type result struct {
	status int
	header http.Header
	body   []byte
	err    error
}

// fetch GETs base+path with the default key (key "" sends none).
func fetch(t *testing.T, base, path, key string) result {
	t.Helper()
	return fetchCtx(context.Background(), t, base, path, key)
}

func fetchCtx(ctx context.Context, t *testing.T, base, path, key string) result {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Key "+key)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: b, err: err}
}

// getJSON fetches with the default key and decodes into v, failing on any
// status but 200.
func getJSON(t *testing.T, s *Server, path string, v any) {
	t.Helper()
	r := fetch(t, s.URL(), path, DefaultAPIKey)
	if r.err != nil {
		t.Fatalf("GET %s: %v", path, r.err)
	}
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", path, r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("GET %s: decode: %v: %.300s", path, err, r.body)
	}
}

type apiUser struct {
	GUID       string     `json:"guid"`
	Username   string     `json:"username"`
	Email      string     `json:"email"`
	Role       string     `json:"user_role"`
	Created    time.Time  `json:"created_time"`
	Active     *time.Time `json:"active_time"`
	Locked     bool       `json:"locked"`
	ExternalID *string    `json:"external_id"`
}

type offsetPage[T any] struct {
	Results     []T  `json:"results"`
	CurrentPage *int `json:"current_page"`
	Total       *int `json:"total"`
}

type cursorPage[T any] struct {
	Paging struct {
		Cursors struct {
			Previous *string `json:"previous"`
			Next     *string `json:"next"`
		} `json:"cursors"`
		First    *string `json:"first"`
		Previous *string `json:"previous"`
		Next     *string `json:"next"`
		Last     *string `json:"last"`
	} `json:"paging"`
	Results []T `json:"results"`
}

type apiSession struct {
	ContentGUID string     `json:"content_guid"`
	UserGUID    *string    `json:"user_guid"`
	Started     time.Time  `json:"started"`
	Ended       *time.Time `json:"ended"`
	DataVersion int        `json:"data_version"`
}

type apiVisit struct {
	ContentGUID string          `json:"content_guid"`
	UserGUID    *string         `json:"user_guid"`
	VariantKey  *string         `json:"variant_key"`
	Time        time.Time       `json:"time"`
	RenderingID json.RawMessage `json:"rendering_id"`
	BundleID    json.RawMessage `json:"bundle_id"`
	Path        *string         `json:"path"`
	DataVersion int             `json:"data_version"`
	UserAgent   *string         `json:"user_agent"`
}

type apiAudit struct {
	ID          string    `json:"id"`
	Time        time.Time `json:"time"`
	UserID      string    `json:"user_id"`
	UserGUID    *string   `json:"user_guid"`
	Description string    `json:"user_description"`
	Action      string    `json:"action"`
	Event       string    `json:"event_description"`
}

// walkUsers fetches every user with page_size 500 and checks the trailing
// empty page.
func walkUsers(t *testing.T, s *Server) []apiUser {
	t.Helper()
	var all []apiUser
	for page := 1; page < 10000; page++ {
		var p offsetPage[apiUser]
		getJSON(t, s, "/__api__/v1/users?page_size=500&page_number="+strconv.Itoa(page), &p)
		if p.CurrentPage == nil || *p.CurrentPage != page || p.Total == nil {
			t.Fatalf("page %d: current_page/total missing or wrong: %+v", page, p)
		}
		if len(p.Results) == 0 {
			if len(all) != *p.Total {
				t.Fatalf("walked %d users, total says %d", len(all), *p.Total)
			}
			return all
		}
		all = append(all, p.Results...)
	}
	t.Fatal("users walk did not end")
	return nil
}

// walkCursor walks a cursor-paged endpoint by re-issuing the request with
// next=<cursor>, checking the paging quirks on the way.
func walkCursor[T any](t *testing.T, s *Server, path string, params url.Values) []T {
	t.Helper()
	var all []T
	next := ""
	for range 100000 {
		q := url.Values{}
		maps.Copy(q, params)
		if next != "" {
			q.Set("next", next)
		}
		var p cursorPage[T]
		getJSON(t, s, path+"?"+q.Encode(), &p)
		if len(p.Results) == 0 {
			if p.Paging.Cursors.Next != nil || p.Paging.Next != nil {
				t.Fatalf("%s: empty page has a next cursor or link", path)
			}
			return all
		}
		if p.Paging.Cursors.Next == nil || p.Paging.Next == nil {
			t.Fatalf("%s: non-empty page (%d results) without next cursor/link", path, len(p.Results))
		}
		checkLink(t, *p.Paging.Next, path, "next", *p.Paging.Cursors.Next)
		all = append(all, p.Results...)
		next = *p.Paging.Cursors.Next
	}
	t.Fatalf("%s: walk did not end", path)
	return nil
}

// checkLink asserts a paging link is absolute on the default page host and
// carries only the cursor.
func checkLink(t *testing.T, link, path, param, cursor string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme+"://"+u.Host != DefaultPageHost || u.Path != path {
		t.Fatalf("link %q: want host %s path %s", link, DefaultPageHost, path)
	}
	if q := u.Query(); len(q) != 1 || q.Get(param) != cursor {
		t.Fatalf("link %q: want only %s=%s", link, param, cursor)
	}
}
