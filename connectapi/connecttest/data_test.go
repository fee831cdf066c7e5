// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

var allPaths = []string{
	"/__api__/server_settings",
	"/__api__/v1/users?page_size=100&page_number=2",
	"/__api__/v1/groups",
	"/__api__/v1/content",
	"/__api__/v1/instrumentation/shiny/usage?limit=500&from=2026-01-01T00:00:00Z",
	"/__api__/v1/instrumentation/content/visits?limit=500",
	"/__api__/v1/audit_logs?limit=500&ascOrder=false",
	"/__api__/v1/system/hosts",
	"/__api__/v1/metrics/users/active",
}

func serveDirect(s *Server, path string) []byte {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Key "+DefaultAPIKey)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec.Body.Bytes()
}

func TestDeterministicForSeed(t *testing.T) {
	clk := newClock()
	a, b := New(smallConfig(clk)), New(smallConfig(clk))
	other := smallConfig(clk)
	other.Seed = 7
	c := New(other)
	for _, p := range allPaths {
		x, y := serveDirect(a, p), serveDirect(b, p)
		if !bytes.Equal(x, y) {
			t.Errorf("%s: same seed, different bodies", p)
		}
		if len(x) < 20 {
			t.Errorf("%s: suspiciously short body %q", p, x)
		}
	}
	for _, p := range allPaths[1:7] {
		if bytes.Equal(serveDirect(a, p), serveDirect(c, p)) {
			t.Errorf("%s: different seeds, same body", p)
		}
	}
	// Live steps are deterministic too.
	for range 3 {
		clk.Advance(time.Minute)
		a.Step(time.Minute)
		b.Step(time.Minute)
	}
	for _, p := range allPaths {
		if !bytes.Equal(serveDirect(a, p), serveDirect(b, p)) {
			t.Errorf("%s: same seed and steps, different bodies", p)
		}
	}
}

func TestUsersWalkMatchesTruth(t *testing.T) {
	clk := newClock()
	s := startServer(t, smallConfig(clk))
	users := walkUsers(t, s)
	truth := s.Truth()
	now := clk.Now()
	if len(users) != 300 {
		t.Fatalf("got %d users, want 300", len(users))
	}
	named := 0
	byKey := map[UserKey]int{}
	active := map[ActiveKey]int{}
	never, guids := 0, map[string]bool{}
	for _, u := range users {
		if guids[u.GUID] {
			t.Fatalf("duplicate user %s", u.GUID)
		}
		guids[u.GUID] = true
		byKey[UserKey{u.Role, u.Locked}]++
		if u.Active == nil {
			never++
			continue
		}
		if u.Active.After(now) {
			t.Errorf("active_time %v after now", u.Active)
		}
		if u.Locked {
			continue
		}
		if u.Active.After(now.AddDate(0, 0, -truth.ActivityDays)) {
			named++
		}
		for _, d := range ActiveWindows {
			if u.Active.After(now.Add(-time.Duration(d) * 24 * time.Hour)) {
				active[ActiveKey{u.Role, d}]++
			}
		}
	}
	if named != truth.NamedUsers || named == 0 {
		t.Errorf("named users from walk %d, truth %d", named, truth.NamedUsers)
	}
	for k, v := range truth.Users {
		if byKey[k] != v {
			t.Errorf("users %v: walk %d truth %d", k, byKey[k], v)
		}
	}
	for k, v := range truth.ActiveUsers {
		if active[k] != v {
			t.Errorf("active %v: walk %d truth %d", k, active[k], v)
		}
	}
	// Realistic shape.
	locked := byKey[UserKey{"administrator", true}] + byKey[UserKey{"publisher", true}] + byKey[UserKey{"viewer", true}]
	admins := byKey[UserKey{"administrator", false}] + byKey[UserKey{"administrator", true}]
	if locked == 0 || never == 0 || admins == 0 || locked > 40 || never > 60 {
		t.Errorf("unrealistic shape: locked %d never-active %d admins %d", locked, never, admins)
	}

	// Connect's own active-user counts agree with the truth.
	var m struct {
		Windows map[string]map[string]int `json:"windows"`
	}
	getJSON(t, s, "/__api__/v1/metrics/users/active", &m)
	if len(m.Windows) != 4 || m.Windows["90d"] != nil {
		t.Fatalf("windows %v: want exactly 1d 7d 30d 365d", m.Windows)
	}
	for _, d := range []int{1, 7, 30, 365} {
		w := m.Windows[strconv.Itoa(d)+"d"]
		a, p, v := truth.ActiveUsers[ActiveKey{"administrator", d}], truth.ActiveUsers[ActiveKey{"publisher", d}], truth.ActiveUsers[ActiveKey{"viewer", d}]
		if w["admin"] != a || w["publisher"] != p || w["viewer"] != v || w["total"] != a+p+v {
			t.Errorf("%dd: endpoint %v, truth admin %d publisher %d viewer %d", d, w, a, p, v)
		}
	}
}

func TestOffsetPaging(t *testing.T) {
	clk := newClock()
	s := startServer(t, smallConfig(clk))
	var p offsetPage[apiUser]
	getJSON(t, s, "/__api__/v1/users", &p)
	if len(p.Results) != 20 || *p.CurrentPage != 1 || *p.Total != 300 {
		t.Errorf("default page: %d results, page %d, total %d", len(p.Results), *p.CurrentPage, *p.Total)
	}
	getJSON(t, s, "/__api__/v1/users?page_size=100000", &p)
	if len(p.Results) != 300 {
		// 300 < 500: all of them; the clamp is checked below with more users.
		t.Errorf("page_size clamp: %d results", len(p.Results))
	}
	getJSON(t, s, "/__api__/v1/users?page_size=100&page_number=9", &p)
	if len(p.Results) != 0 || *p.CurrentPage != 9 || *p.Total != 300 {
		t.Errorf("past the end: %d results, page %d, total %d", len(p.Results), *p.CurrentPage, *p.Total)
	}
	if r := fetch(t, s.URL(), "/__api__/v1/users?page_size=100&page_number=9", DefaultAPIKey); !bytes.Equal(r.body, []byte(`{"results":[],"current_page":9,"total":300}`)) {
		t.Errorf("past-the-end body %s", r.body)
	}
	// asc_order=false reverses.
	var asc, desc offsetPage[apiUser]
	getJSON(t, s, "/__api__/v1/users?page_size=300", &asc)
	getJSON(t, s, "/__api__/v1/users?page_size=300&asc_order=false", &desc)
	if asc.Results[0].GUID != desc.Results[299].GUID {
		t.Error("asc_order=false does not reverse")
	}
	// Filters and counts with page_size=1.
	getJSON(t, s, "/__api__/v1/users?page_size=1&account_status=locked", &p)
	tr := s.Truth()
	if want := tr.Users[UserKey{"administrator", true}] + tr.Users[UserKey{"publisher", true}] + tr.Users[UserKey{"viewer", true}]; *p.Total != want {
		t.Errorf("account_status=locked total %d, want %d", *p.Total, want)
	}
	getJSON(t, s, "/__api__/v1/users?page_size=1&account_status=licensed", &p)
	if *p.Total != tr.NamedUsers {
		t.Errorf("account_status=licensed total %d, want %d", *p.Total, tr.NamedUsers)
	}
	getJSON(t, s, "/__api__/v1/users?page_size=1&user_role=viewer%7Cpublisher", &p)
	if want := 300 - tr.Users[UserKey{"administrator", true}] - tr.Users[UserKey{"administrator", false}]; *p.Total != want {
		t.Errorf("user_role=viewer|publisher total %d, want %d", *p.Total, want)
	}

	big := testutil.Start(t, New(Config{Seed: 1, Users: 1200, Now: clk.Now}))
	getJSON(t, big, "/__api__/v1/users?page_size=1000", &p)
	if len(p.Results) != 500 {
		t.Errorf("page_size=1000 gave %d results, want 500 (clamped)", len(p.Results))
	}
	if got := len(walkUsers(t, big)); got != 1200 {
		t.Errorf("walk of 1200 users got %d", got)
	}

	var g offsetPage[struct {
		GUID  string  `json:"guid"`
		Name  string  `json:"name"`
		Owner *string `json:"owner_guid"`
	}]
	getJSON(t, s, "/__api__/v1/groups?page_size=500", &g)
	nullOwner := 0
	for _, x := range g.Results {
		if x.Owner == nil {
			nullOwner++
		}
	}
	if len(g.Results) != 12 || *g.Total != 12 || nullOwner == 0 || nullOwner == 12 {
		t.Errorf("groups: %d results, total %d, %d null owners", len(g.Results), *g.Total, nullOwner)
	}
}

var fracRE = regexp.MustCompile(`T\d\d:\d\d:\d\d(\.(\d+))?(Z|[+-]\d\d:\d\d)"`)

func TestTimestampFormatsMix(t *testing.T) {
	clk := newClock()
	s := New(smallConfig(clk))
	body := serveDirect(s, "/__api__/v1/users?page_size=300")
	digits := map[int]bool{}
	zones := map[string]bool{}
	for _, m := range fracRE.FindAllSubmatch(body, -1) {
		digits[len(m[2])] = true
		zones[string(m[3])] = true
	}
	if !digits[0] || !digits[9] || len(digits) < 5 {
		t.Errorf("fraction digit counts seen: %v", digits)
	}
	if !zones["Z"] || len(zones) < 3 {
		t.Errorf("zones seen: %v", zones)
	}
}

func TestContentList(t *testing.T) {
	clk := newClock()
	s := startServer(t, smallConfig(clk))
	var items []map[string]json.RawMessage
	getJSON(t, s, "/__api__/v1/content?page_size=2&page_number=3", &items)
	if len(items) != 60 {
		t.Fatalf("got %d items, want all 60 (paging ignored)", len(items))
	}
	kinds := map[string]int{} // bundle_id JSON kinds
	titleNull := 0
	byKey := map[ContentKey]int{}
	for _, it := range items {
		var id string
		if err := json.Unmarshal(it["id"], &id); err != nil {
			t.Fatalf("id is not a string: %s", it["id"])
		}
		switch b := it["bundle_id"]; {
		case string(b) == "null":
			kinds["null"]++
		case b[0] == '"':
			kinds["string"]++
		default:
			kinds["number"]++
		}
		if string(it["title"]) == "null" {
			titleNull++
		}
		var mode, access string
		_ = json.Unmarshal(it["app_mode"], &mode)
		_ = json.Unmarshal(it["access_type"], &access)
		byKey[ContentKey{mode, access}]++
	}
	if kinds["string"] == 0 || kinds["number"] == 0 || kinds["null"] == 0 {
		t.Errorf("bundle_id kinds %v: want strings, numbers and nulls", kinds)
	}
	if titleNull == 0 {
		t.Error("no null title")
	}
	modes := map[string]bool{}
	for k, v := range s.Truth().Content {
		if byKey[k] != v {
			t.Errorf("content %v: served %d truth %d", k, byKey[k], v)
		}
		modes[k.AppMode] = true
	}
	for _, m := range []string{"shiny", "rmd-shiny", "python-shiny", "quarto-shiny", "python-dash", "python-streamlit",
		"rmd-static", "quarto-static", "jupyter-static", "static", "api", "python-fastapi", "python-api", "unknown", "nodejs-express"} {
		if !modes[m] {
			t.Errorf("app_mode %s missing", m)
		}
	}
	// A single item, and a missing one (known route: JSON code 4).
	var one map[string]any
	guid := strings.Trim(string(items[3]["guid"]), `"`)
	getJSON(t, s, "/__api__/v1/content/"+guid, &one)
	if one["guid"] != guid {
		t.Errorf("content/%s returned %v", guid, one["guid"])
	}
	r := fetch(t, s.URL(), "/__api__/v1/content/00000000-0000-4000-8000-000000000000", DefaultAPIKey)
	if r.status != 404 || !bytes.Contains(r.body, []byte(`"code":4`)) {
		t.Errorf("missing content: %d %s", r.status, r.body)
	}
}

func TestServerSettingsAndLicenseStyles(t *testing.T) {
	clk := newClock()
	expiry := time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		style              LicenseStyle
		users, days, apis  string
		grace, hasVersion  bool
		version, expiryRaw string
	}{
		{LicenseTyped, `20`, `365`, `true`, true, true, "2024.09.0", `1801353600000`},
		{LicenseStrings, `"20"`, `"365"`, `"1"`, false, true, "2023.11.0-dev+103-g11242ee129", `1801353600000`},
		{LicenseAllStrings, `"20"`, `"365"`, `"true"`, false, false, "", `"1801353600000"`},
	} {
		cfg := Config{Seed: 1, Users: 5, Now: clk.Now, Version: tc.version, LicenseSeats: 20, LicenseExpiry: expiry, LicenseStyle: tc.style}
		s := startServer(t, cfg)
		// No key needed.
		r := fetch(t, s.URL(), "/__api__/server_settings", "")
		if r.status != 200 {
			t.Fatalf("server_settings without key: %d", r.status)
		}
		var st struct {
			Version *string                    `json:"version"`
			License map[string]json.RawMessage `json:"license"`
			Auth    struct {
				GroupsEnabled bool `json:"groups_enabled"`
			} `json:"authentication"`
			Instr bool `json:"metrics_instrumentation"`
		}
		if err := json.Unmarshal(r.body, &st); err != nil {
			t.Fatal(err)
		}
		if (st.Version != nil) != tc.hasVersion || (st.Version != nil && *st.Version != tc.version) {
			t.Errorf("style %d: version %v", tc.style, st.Version)
		}
		l := st.License
		if string(l["users"]) != tc.users || string(l["user-activity-days"]) != tc.days || string(l["allow-apis"]) != tc.apis {
			t.Errorf("style %d: users %s days %s allow-apis %s", tc.style, l["users"], l["user-activity-days"], l["allow-apis"])
		}
		if string(l["expiration"]) != tc.expiryRaw {
			t.Errorf("style %d: expiration %s", tc.style, l["expiration"])
		}
		if _, ok := l["users-grace"]; ok != tc.grace {
			t.Errorf("style %d: users-grace present %v", tc.style, ok)
		}
		if !st.Auth.GroupsEnabled || !st.Instr {
			t.Errorf("groups_enabled %v metrics_instrumentation %v", st.Auth.GroupsEnabled, st.Instr)
		}
		tr := s.Truth()
		if tr.Seats != 20 || !tr.Expiry.Equal(expiry) || tr.ActivityDays != 365 || tr.Version != tc.version {
			t.Errorf("truth %+v", tr)
		}
	}
	// SetLicense changes what is served.
	s := startServer(t, Config{Seed: 1, Users: 5, Now: clk.Now})
	s.SetLicense(7, clk.Now().Add(-time.Hour))
	var st struct {
		License struct {
			Users  int    `json:"users"`
			Status string `json:"status"`
		} `json:"license"`
	}
	getJSON(t, s, "/__api__/server_settings", &st)
	if st.License.Users != 7 || st.License.Status != "expired" {
		t.Errorf("after SetLicense: %+v", st.License)
	}
	if r := fetch(t, s.URL(), "/__ping__", ""); r.status != http.StatusPaymentRequired {
		t.Errorf("__ping__ with expired licence: %d", r.status)
	}
}

func TestGroupsDisabled(t *testing.T) {
	clk := newClock()
	s := startServer(t, smallConfig(clk))
	s.SetGroupsEnabled(false)
	r := fetch(t, s.URL(), "/__api__/v1/groups", DefaultAPIKey)
	var e struct {
		Code    *int   `json:"code"`
		Error   string `json:"error"`
		Payload any    `json:"payload"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || r.status != 400 || e.Code == nil || *e.Code != 3 || e.Error == "" {
		t.Errorf("groups disabled: %d %s (%v)", r.status, r.body, err)
	}
	var st struct {
		Auth struct {
			GroupsEnabled *bool `json:"groups_enabled"`
		} `json:"authentication"`
	}
	getJSON(t, s, "/__api__/server_settings", &st)
	if st.Auth.GroupsEnabled == nil || *st.Auth.GroupsEnabled {
		t.Error("server_settings still says groups_enabled")
	}
	if s.Truth().GroupsEnabled {
		t.Error("truth says groups enabled")
	}
	s.SetGroupsEnabled(true)
	if r := fetch(t, s.URL(), "/__api__/v1/groups", DefaultAPIKey); r.status != 200 {
		t.Errorf("re-enabled: %d", r.status)
	}
}

func TestNotFoundAndOldServer(t *testing.T) {
	clk := newClock()
	s := startServer(t, smallConfig(clk))
	noCode := func(path string) {
		t.Helper()
		r := fetch(t, s.URL(), path, DefaultAPIKey)
		if r.status != 404 || string(r.body) != "404 page not found\n" || strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %q %s", path, r.status, r.body, r.header.Get("Content-Type"))
		}
	}
	noCode("/__api__/v1/instrumentation/content/hits2")
	noCode("/__api__/v1/nope")
	if r := fetch(t, s.URL(), "/__api__/v1/metrics/users/active", DefaultAPIKey); r.status != 200 {
		t.Errorf("active users endpoint: %d", r.status)
	}
	s.SetActiveUsersEndpoint(false)
	noCode("/__api__/v1/metrics/users/active")
	r := fetch(t, s.URL(), "/__api__/v1/users/not-a-guid", DefaultAPIKey)
	if r.status != 404 || string(r.body) != `{"code":4,"error":"Not Found"}` {
		t.Errorf("missing user: %d %s", r.status, r.body)
	}
}

func TestAuthAndDate(t *testing.T) {
	clk := newClock()
	cfg := smallConfig(clk)
	cfg.APIKey = "s3cret"
	s := startServer(t, cfg)
	for _, key := range []string{"", "wrong", DefaultAPIKey} {
		r := fetch(t, s.URL(), "/__api__/v1/users", key)
		if r.status != 401 || string(r.body) != `{"code":30,"error":"Invalid login."}` {
			t.Errorf("key %q: %d %s", key, r.status, r.body)
		}
	}
	// Bearer is not accepted.
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/__api__/v1/users", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("Bearer accepted: %d", resp.StatusCode)
	}
	r := fetch(t, s.URL(), "/__api__/v1/users", "s3cret")
	if r.status != 200 {
		t.Fatalf("good key: %d", r.status)
	}
	if d, err := http.ParseTime(r.header.Get("Date")); err != nil || !d.Equal(clk.Now()) {
		t.Errorf("Date %q, want %v", r.header.Get("Date"), clk.Now())
	}
}

func TestSetNamedUsersAndAddUser(t *testing.T) {
	clk := newClock()
	s := startServer(t, smallConfig(clk))
	for _, n := range []int{249, 250, 251, 10, 299, 310} {
		s.SetNamedUsers(n)
		if got := s.Truth().NamedUsers; got != n {
			t.Fatalf("SetNamedUsers(%d): truth %d", n, got)
		}
		named := 0
		for _, u := range walkUsers(t, s) {
			if !u.Locked && u.Active != nil && u.Active.After(clk.Now().AddDate(0, 0, -365)) {
				named++
			}
		}
		if named != n {
			t.Fatalf("SetNamedUsers(%d): served %d", n, named)
		}
	}
	before := len(s.Users())
	guid := s.AddUser(UserSpec{Username: "shared.alice", Email: "alice@corp.example", Role: "publisher", ActiveTime: clk.Now().Add(-time.Hour)})
	found := false
	for _, u := range walkUsers(t, s) {
		if u.GUID == guid {
			found = u.Username == "shared.alice" && u.Role == "publisher" && u.Active != nil
		}
	}
	if !found || len(s.Users()) != before+1 {
		t.Error("added user not served")
	}
	defer func() {
		if recover() == nil {
			t.Error("duplicate username did not panic")
		}
	}()
	s.AddUser(UserSpec{Username: "shared.alice"})
}

func TestUserPrefix(t *testing.T) {
	clk := newClock()
	s := New(Config{Seed: 3, Users: 50, Now: clk.Now, UserPrefix: "srv2-"})
	for _, u := range s.Users() {
		if !strings.HasPrefix(u.Username, "srv2-") {
			t.Fatalf("username %q without prefix", u.Username)
		}
	}
}

func TestHosts(t *testing.T) {
	clk := newClock()
	s := startServer(t, Config{Seed: 1, Now: clk.Now, Version: "2025.04.0", Hosts: 2})
	var hosts []struct {
		Hostname string    `json:"hostname"`
		Version  string    `json:"version"`
		LastSeen time.Time `json:"last_seen"`
	}
	getJSON(t, s, "/__api__/v1/system/hosts", &hosts)
	if len(hosts) != 2 || hosts[0].Version != "2025.04.0" || !hosts[0].LastSeen.Equal(clk.Now()) {
		t.Errorf("hosts %+v", hosts)
	}
}
