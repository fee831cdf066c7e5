// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const testKey = "s3cr3t-test-key-value"

// fakeConnect serves testdata files by route; it records every request.
type fakeConnect struct {
	t      *testing.T
	mu     sync.Mutex
	reqs   []*http.Request
	routes map[string]func(w http.ResponseWriter, r *http.Request)
}

func newFakeConnect(t *testing.T) (*fakeConnect, *httptest.Server) {
	t.Helper()
	f := &fakeConnect{t: t, routes: map[string]func(http.ResponseWriter, *http.Request){}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, r.Clone(context.Background()))
		h := f.routes[r.URL.Path]
		f.mu.Unlock()
		if r.Header.Get("Authorization") != "Key "+testKey {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"code": 30, "error": "Invalid login.", "payload": null}`))
			return
		}
		if h == nil {
			http.NotFound(w, r) // an unknown route: 404 with no Connect code
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeConnect) handle(path string, h func(w http.ResponseWriter, r *http.Request)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[path] = h
}

func (f *fakeConnect) file(path, name string) {
	f.handle(path, func(w http.ResponseWriter, _ *http.Request) { serveFile(f.t, w, name) })
}

func (f *fakeConnect) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.reqs...)
}

func serveFile(t *testing.T, w http.ResponseWriter, name string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Errorf("testdata: %v", err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func newTestClient(t *testing.T, url string, opts ...Option) *Client {
	t.Helper()
	c, err := NewClient(url, append([]Option{WithAPIKey(StaticKey(testKey))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseServerURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://connect.example.com":          "https://connect.example.com",
		"https://connect.example.com/":         "https://connect.example.com",
		"https://example.com/rsc/__api__/":     "https://example.com/rsc",
		" http://127.0.0.1:3939?x=1 ":          "http://127.0.0.1:3939",
		"https://connect.example.com/connect/": "https://connect.example.com/connect",
	} {
		u, err := ParseServerURL(in)
		if err != nil || u.String() != want {
			t.Errorf("ParseServerURL(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for _, bad := range []string{"", "connect.example.com", "ftp://x", "https://", "https://user:pw@host"} {
		if _, err := ParseServerURL(bad); err == nil {
			t.Errorf("ParseServerURL(%q) succeeded, want an error", bad)
		}
	}
}

func TestServerSettingsLicenceVariants(t *testing.T) {
	f, srv := newFakeConnect(t)
	c := newTestClient(t, srv.URL)
	cases := []struct {
		file                 string
		version              string
		seats                int64
		hasSeats             bool
		days                 int
		expiry               time.Time
		tier                 string
		groupsEnabled        *bool
		wantGroupsEnabledSet bool
	}{
		{"server_settings_strings.json", "2023.11.0-dev+103-g0a1b2c3d4e", 20, true, 365, time.UnixMilli(1711929600000), "enterprise", new(true), true},
		{"server_settings_typed.json", "2024.09.0", 150, true, 180, time.UnixMilli(1759276800000), "standard", new(false), true},
		{"server_settings_empty.json", "", 0, false, 365, time.Time{}, "", nil, false},
	}
	for _, tc := range cases {
		f.file("/__api__/server_settings", tc.file)
		s, err := c.ServerSettings(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		l := s.License
		if s.Version != tc.version || l.Seats != tc.seats || l.HasSeats != tc.hasSeats || l.ActivityDays != tc.days ||
			!l.Expiration.Equal(tc.expiry) || l.Tier != tc.tier {
			t.Errorf("%s: got version %q licence %+v", tc.file, s.Version, l)
		}
		if (s.GroupsEnabled != nil) != tc.wantGroupsEnabledSet || (s.GroupsEnabled != nil && *s.GroupsEnabled != *tc.groupsEnabled) {
			t.Errorf("%s: GroupsEnabled = %v", tc.file, s.GroupsEnabled)
		}
	}
}

func TestLicenceNonsenseLeavesOnlyThatFieldOut(t *testing.T) {
	f, srv := newFakeConnect(t)
	c := newTestClient(t, srv.URL)
	expiry := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		body     string
		problems string // fields that could not be read
		seats    int64
		hasSeats bool
		days     int
		expiry   time.Time
	}{
		{`{"license": {"users": "lots", "user-activity-days": 180}}`, "users", 0, false, 180, time.Time{}},
		{`{"license": {"users": -3, "expiration": 1798761600000}}`, "users", 0, false, 365, expiry},
		{`{"license": {"users": -5}}`, "users", 0, false, 365, time.Time{}},
		{`{"license": {"users": "unlimited"}}`, "users", 0, false, 365, time.Time{}},
		{`{"license": {"users": 1.5}}`, "users", 0, false, 365, time.Time{}},
		{`{"license": {"users": true}}`, "users", 0, false, 365, time.Time{}},
		{`{"license": {"users": {"n": 1}, "user-activity-days": "90"}}`, "users", 0, false, 90, time.Time{}},
		{`{"license": {"user-activity-days": 0, "users": 50}}`, "user-activity-days", 50, true, 365, time.Time{}},
		{`{"license": {"expiration": "soon", "users": "20"}}`, "expiration", 20, true, 365, time.Time{}},
		// Expiry as an RFC 3339 date-time or date, not only epoch milliseconds.
		{`{"license": {"users": 50, "expiration": "2027-01-01T00:00:00Z"}}`, "", 50, true, 365, expiry},
		{`{"license": {"users": 50, "expiration": "2027-01-01T01:00:00+01:00"}}`, "", 50, true, 365, expiry},
		{`{"license": {"users": 50, "expiration": "2027-01-01"}}`, "", 50, true, 365, expiry},
		{`{"license": {"users": 50, "expiration": 0}}`, "", 50, true, 365, time.Time{}},
	}
	for _, tc := range cases {
		f.handle("/__api__/server_settings", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(tc.body)) })
		s, err := c.ServerSettings(context.Background())
		if err != nil {
			t.Errorf("%s: %v; one odd licence field must not fail the server settings", tc.body, err)
			continue
		}
		l := s.License
		var fields []string
		for _, p := range l.Problems {
			fields = append(fields, p.Field)
			if p.Reason == "" || len(p.Value) > 40 {
				t.Errorf("%s: problem %+v", tc.body, p)
			}
		}
		if got := strings.Join(fields, ","); got != tc.problems || l.Seats != tc.seats || l.HasSeats != tc.hasSeats ||
			l.ActivityDays != tc.days || !l.Expiration.Equal(tc.expiry) {
			t.Errorf("%s: problems %q seats %d/%v days %d expiry %v; want %q %d/%v %d %v", tc.body, got, l.Seats, l.HasSeats,
				l.ActivityDays, l.Expiration, tc.problems, tc.seats, tc.hasSeats, tc.days, tc.expiry)
		}
	}
	// A body that is not JSON at all is still an error.
	f.handle("/__api__/server_settings", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"license": `)) })
	if _, err := c.ServerSettings(context.Background()); err == nil {
		t.Error("truncated settings decoded")
	}
}

func TestUsersOffsetPaging(t *testing.T) {
	f, srv := newFakeConnect(t)
	f.handle("/__api__/v1/users", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("page_number") {
		case "1":
			serveFile(t, w, "users_page1.json")
		case "2":
			serveFile(t, w, "users_page2.json")
		default:
			t.Errorf("unexpected page %s", r.URL.RawQuery)
		}
	})
	c := newTestClient(t, srv.URL)
	var got []User
	pages := 0
	err := c.EachUserPage(context.Background(), func(p []User) error {
		pages++
		got = append(got, p...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pages != 2 || len(got) != 3 {
		t.Fatalf("got %d pages, %d users", pages, len(got))
	}
	if got[0].Role != RoleAdministrator || got[1].Locked != true || got[2].ActiveTime != nil {
		t.Errorf("decoded users wrong: %+v", got)
	}
	wantActive := time.Date(2026, 6, 1, 17, 0, 0, 400_000_000, time.UTC)
	if !got[1].ActiveTime.Equal(wantActive) {
		t.Errorf("offset timestamp: got %v want %v", got[1].ActiveTime, wantActive)
	}
	if got[0].ActiveTime.Nanosecond() != 123456789 {
		t.Errorf("nanosecond timestamp lost precision: %v", got[0].ActiveTime)
	}
	for _, r := range f.requests() {
		if q := r.URL.Query(); q.Get("page_size") != "500" {
			t.Errorf("page_size = %q, want 500", q.Get("page_size"))
		}
		if r.Header.Get("Accept") != "application/json" {
			t.Errorf("Accept = %q", r.Header.Get("Accept"))
		}
	}
}

func TestOffsetPagingRejectsAWrongTotalAndDetectsIgnoredPageNumber(t *testing.T) {
	f, srv := newFakeConnect(t)
	// total claims more rows than exist: the pages do not add up, which is
	// an error (after a few walks), not a count of 1.
	f.handle("/__api__/v1/users", func(w http.ResponseWriter, r *http.Request) {
		page := r.URL.Query().Get("page_number")
		if page == "1" {
			_, _ = w.Write([]byte(`{"results":[{"guid":"u1"}],"current_page":1,"total":67}`))
			return
		}
		_, _ = w.Write([]byte(`{"results":[],"current_page":` + page + `,"total":67}`))
	})
	c := newTestClient(t, srv.URL)
	n := 0
	err := c.EachUserPage(context.Background(), func(u []User) error { n += len(u); return nil })
	var ie *InconsistentWalkError
	if !errors.As(err, &ie) || ie.Walks != maxRewalks+1 || !strings.Contains(err.Error(), "before the end of a total of 67 rows") {
		t.Fatalf("got %d users, err %v", n, err)
	}
	// Each walk stops at the first empty page instead of asking for all 67.
	if got := len(f.requests()); got > (maxRewalks+1)*(2+DefaultWalkParallelism) {
		t.Errorf("%d requests for %d walks", got, maxRewalks+1)
	}
	// A server that ignores page_number repeats page 1: that must fail, not loop or double count.
	f.handle("/__api__/v1/users", func(w http.ResponseWriter, _ *http.Request) { serveFile(t, w, "users_page1.json") })
	err = c.EachUserPage(context.Background(), func([]User) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "asked for page 2, got page 1") {
		t.Fatalf("want a page mismatch error, got %v", err)
	}
}

func TestCursorPagingReissuesOwnRequest(t *testing.T) {
	f, srv := newFakeConnect(t)
	f.handle("/__api__/v1/instrumentation/shiny/usage", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("from") != "2026-11-23T08:00:00Z" || q.Get("limit") != "500" || q.Get("asc_order") != "true" {
			t.Errorf("filters lost on %s", r.URL.RawQuery)
		}
		switch q.Get("next") {
		case "":
			serveFile(t, w, "shiny_usage_page1.json") // short page with a next cursor
		case "n1":
			serveFile(t, w, "shiny_usage_page2.json")
		case "n2":
			serveFile(t, w, "cursor_empty.json") // the empty last page ends the walk
		default:
			t.Errorf("unexpected cursor %q", q.Get("next"))
		}
	})
	c := newTestClient(t, srv.URL)
	var got []ShinySession
	from := time.Date(2026, 11, 23, 9, 0, 0, 0, time.FixedZone("CET", 3600))
	err := c.EachShinySessionPage(context.Background(), UsageQuery{From: from}, func(p []ShinySession) error {
		got = append(got, p...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d sessions", len(got))
	}
	if got[1].Ended != nil || got[1].UserGUID != "" || got[0].Ended == nil {
		t.Errorf("nullable fields wrong: %+v", got)
	}
	if d := got[2].Ended.Sub(got[2].Started); d != 15*time.Minute+30*time.Second+250*time.Millisecond {
		t.Errorf("duration %v", d)
	}
	for _, r := range f.requests() {
		if r.Host != srv.Listener.Addr().String() {
			t.Errorf("followed paging.next to %s", r.Host)
		}
	}
	if n := len(f.requests()); n != 3 {
		t.Errorf("made %d requests, want 3", n)
	}
}

func TestCursorPagingRejectsStuckCursor(t *testing.T) {
	f, srv := newFakeConnect(t)
	f.file("/__api__/v1/audit_logs", "audit_page1.json")
	c := newTestClient(t, srv.URL)
	calls := 0
	err := c.EachAuditPage(context.Background(), true, func([]AuditEntry) error { calls++; return nil })
	if err == nil || !strings.Contains(err.Error(), "did not advance") || calls != 2 {
		t.Fatalf("calls %d, err %v", calls, err)
	}
	if q := f.requests()[0].URL.Query(); q.Get("ascOrder") != "false" || q.Has("asc_order") {
		t.Errorf("audit query %s", f.requests()[0].URL.RawQuery)
	}
}

func TestVisitsAndAuditDecodeLooseIDs(t *testing.T) {
	f, srv := newFakeConnect(t)
	f.handle("/__api__/v1/instrumentation/content/visits", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("next") == "" {
			serveFile(t, w, "visits_page1.json")
			return
		}
		serveFile(t, w, "cursor_empty.json")
	})
	c := newTestClient(t, srv.URL)
	var visits []Visit
	if err := c.EachVisitPage(context.Background(), UsageQuery{}, func(p []Visit) error { visits = append(visits, p...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(visits) != 2 || visits[0].RenderingID != "7" || visits[1].BundleID != "34" || visits[1].UserAgent != "ContentHealthMonitor/1.0" {
		t.Errorf("visits: %+v", visits)
	}
	f.handle("/__api__/v1/audit_logs", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("next") == "" {
			serveFile(t, w, "audit_page1.json")
			return
		}
		serveFile(t, w, "cursor_empty.json")
	})
	var audit []AuditEntry
	if err := c.EachAuditPage(context.Background(), false, func(p []AuditEntry) error { audit = append(audit, p...); return ErrStopPaging }); err != nil {
		t.Fatal(err)
	}
	if len(audit) != 2 || audit[0].ID != "1003" || audit[1].ID != "1002" || audit[1].UserID != "0" {
		t.Errorf("audit: %+v", audit)
	}
}

func TestContentStreamsBareArray(t *testing.T) {
	f, srv := newFakeConnect(t)
	f.file("/__api__/v1/content", "content.json")
	c := newTestClient(t, srv.URL)
	var items []Content
	if err := c.EachContent(context.Background(), func(it *Content) error { items = append(items, *it); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 {
		t.Fatalf("got %d items", len(items))
	}
	if items[0].ID != "583" || items[1].ID != "584" || items[1].BundleID != "16146" || items[2].BundleID != "" {
		t.Errorf("ids: %+v", items)
	}
	if items[1].Title != nil || *items[0].Title != "Sales Dashboard" || items[2].LastDeployedTime != nil || items[2].AppMode != "nodejs-express" {
		t.Errorf("fields: %+v", items)
	}
	stop := errors.New("caller stopped")
	if err := c.EachContent(context.Background(), func(*Content) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("callback error not passed through: %v", err)
	}
	var de *DecodeError
	f.handle("/__api__/v1/content", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"not":"an array"}`)) })
	if err := c.EachContent(context.Background(), func(*Content) error { return nil }); !errors.As(err, &de) {
		t.Errorf("want DecodeError for an object, got %v", err)
	}
}

func TestErrorsAreTypedAndNeverHoldTheKey(t *testing.T) {
	f, srv := newFakeConnect(t)
	f.handle("/__api__/v1/users", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"code": 22, "error": "You don't have permission to perform this operation."}`))
	})
	f.handle("/__api__/v1/groups", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		b, _ := os.ReadFile("testdata/proxy_error.html")
		_, _ = w.Write(b)
	})
	f.handle("/__api__/v1/audit_logs", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	f.handle("/__api__/v1/instrumentation/shiny/usage", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"results": [{"content_guid": "c1", "started": "2026-`))
	})
	f.handle("/__api__/v1/metrics/users/active", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"code": 4, "error": "Not Found"}`))
	})
	ctx := context.Background()
	good := newTestClient(t, srv.URL)
	bad, _ := NewClient(srv.URL, WithAPIKey(StaticKey("wrong-"+testKey)))

	var errs []error
	_, err := bad.ServerSettings(ctx)
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Code != 30 || !IsAuthError(err) {
		t.Errorf("401: %#v", err)
	}
	errs = append(errs, err)

	err = good.EachUserPage(ctx, func([]User) error { return nil })
	if !errors.As(err, &ae) || ae.StatusCode != 403 || ae.Code != 22 || !strings.Contains(err.Error(), "administrator") {
		t.Errorf("403: %v", err)
	}
	errs = append(errs, err)

	_, err = good.CountGroups(ctx, nil)
	if !errors.As(err, &ae) || ae.HasCode || !strings.Contains(err.Error(), "proxy") || strings.Contains(err.Error(), "<") {
		t.Errorf("HTML: %v", err)
	}
	errs = append(errs, err)

	err = good.EachAuditPage(ctx, true, func([]AuditEntry) error { return nil })
	if d, ok := RetryAfter(err); !ok || d != 7*time.Second {
		t.Errorf("429: %v (retry after %v)", err, d)
	}
	errs = append(errs, err)

	err = good.EachShinySessionPage(ctx, UsageQuery{}, func([]ShinySession) error { return nil })
	if _, ok := errors.AsType[*DecodeError](err); !ok {
		t.Errorf("truncated JSON: %v", err)
	}
	errs = append(errs, err)

	err = good.getJSON(ctx, "/v1/system/hosts", nil, &struct{}{}) // unknown route on this fake: 404 without a code
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("404 without code: %v", err)
	}
	errs = append(errs, err)

	_, err = good.ActiveUsers(ctx) // 404 with a code is a real error, not "unsupported"
	if err == nil || errors.Is(err, ErrUnsupported) {
		t.Errorf("404 with code: %v", err)
	}
	errs = append(errs, err)

	for _, e := range errs {
		if e != nil && strings.Contains(e.Error(), testKey) {
			t.Errorf("error leaks the key: %v", e)
		}
	}
}

func TestTransportErrorAndTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	slow := newTestClient(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := slow.ServerSettings(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow server: %v", err)
	}
	srv.Close()
	down := newTestClient(t, srv.URL)
	_, err := down.ServerSettings(context.Background())
	if !IsUnreachable(err) || strings.Contains(err.Error(), testKey) {
		t.Errorf("down server: %v", err)
	}
}

func TestBodyCap(t *testing.T) {
	f, srv := newFakeConnect(t)
	f.file("/__api__/v1/content", "content.json")
	size, _ := os.Stat("testdata/content.json")
	c := newTestClient(t, srv.URL, WithMaxBodyBytes(size.Size()-10))
	err := c.EachContent(context.Background(), func(*Content) error { return nil })
	if !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("want ErrBodyTooLarge, got %v", err)
	}
	exact := newTestClient(t, srv.URL, WithMaxBodyBytes(size.Size()))
	if err := exact.EachContent(context.Background(), func(*Content) error { return nil }); err != nil {
		t.Fatalf("a body of exactly the cap must pass: %v", err)
	}
}

func TestFileKeyIsReReadWhenItChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte("wrong-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := NewFileKey(path)
	if err != nil {
		t.Fatal(err)
	}
	f, srv := newFakeConnect(t)
	f.file("/__api__/server_settings", "server_settings_typed.json")
	c, _ := NewClient(srv.URL, WithAPIKey(key))
	if _, err := c.ServerSettings(context.Background()); !IsAuthError(err) {
		t.Fatalf("want 401 with the wrong key, got %v", err)
	}
	if err := os.WriteFile(path, []byte(testKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Make sure the change is visible even on coarse file-system clocks.
	_ = os.Chtimes(path, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	if _, err := c.ServerSettings(context.Background()); err != nil {
		t.Fatalf("rotated key not picked up: %v", err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(path, time.Now().Add(2*time.Minute), time.Now().Add(2*time.Minute))
	if _, err := c.ServerSettings(context.Background()); err == nil || strings.Contains(err.Error(), testKey) {
		t.Fatalf("empty key file: %v", err)
	}
	if _, err := NewFileKey(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing key file accepted")
	}
	t.Setenv("PCE_TEST_KEY", "  from-env \n")
	if k, err := EnvKey("PCE_TEST_KEY").Key(); err != nil || k != "from-env" {
		t.Errorf("EnvKey = %q, %v", k, err)
	}
}

func TestMaxConcurrentRequests(t *testing.T) {
	var mu sync.Mutex
	inFlight, peak := 0, 0
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		mu.Unlock()
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, WithMaxConcurrentRequests(2))
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() { _, _ = c.ServerSettings(context.Background()) })
	}
	time.Sleep(100 * time.Millisecond) // let them queue; the assertion below does not depend on timing
	close(release)
	wg.Wait()
	if peak > 2 {
		t.Errorf("peak in flight %d, want <= 2", peak)
	}
}

func TestCancellationStopsPaging(t *testing.T) {
	f, srv := newFakeConnect(t)
	f.handle("/__api__/v1/users", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page_number") == "1" {
			serveFile(t, w, "users_page1.json")
			return
		}
		serveFile(t, w, "users_page2.json")
	})
	c := newTestClient(t, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	pages := 0
	err := c.EachUserPage(ctx, func([]User) error { pages++; cancel(); return nil })
	if !errors.Is(err, context.Canceled) || pages != 1 {
		t.Fatalf("pages %d, err %v; want one page then context.Canceled", pages, err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests after cancellation, want 1", n)
	}
}
