// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type response struct {
	status int
	ctype  string
	body   []byte
	rows   int // rows of a list, for Latency.PerRow
}

var (
	errInvalidLogin = []byte(`{"code":30,"error":"Invalid login."}`)
	errPermission   = []byte(`{"code":22,"error":"You don't have permission to perform this operation."}`)
	errNotFound     = []byte(`{"code":4,"error":"Not Found"}`)
	errGroupsOff    = []byte(`{"code":3,"error":"Groups are not enabled on this server.","payload":null}`)
)

func jsonResp(status int, body []byte) response {
	return response{status: status, ctype: "application/json; charset=utf-8", body: body}
}

func badRequest(msg string) response {
	b := []byte(`{"code":3,"error":`)
	b = appendJSONString(b, msg)
	b = append(b, `,"payload":null}`...)
	return jsonResp(http.StatusBadRequest, b)
}

// notFoundRoute is how Connect (a Go server) answers a route it does not
// know: plain text, no JSON code.
func notFoundRoute() response {
	return response{status: http.StatusNotFound, ctype: "text/plain; charset=utf-8", body: []byte("404 page not found\n")}
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	s.rmu.Lock()
	s.reqs[path]++
	s.pageReqs[pageKey{path, requestPage(r)}]++
	s.rmu.Unlock()
	w.Header().Set("Date", s.cfg.now().UTC().Format(http.TimeFormat))
	if f, ok := s.takeFault(r); ok {
		if s.writeFault(w, r, f, func() response { return s.route(r) }) {
			return
		}
	}
	resp := s.route(r)
	s.runHooks(r)
	s.delay(r, resp.rows)
	w.Header().Set("Content-Type", resp.ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(resp.body)
	}
}

func (s *Server) authorized(r *http.Request) bool {
	return r.Header.Get("Authorization") == "Key "+s.cfg.APIKey
}

func (s *Server) route(r *http.Request) response {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return response{status: http.StatusMethodNotAllowed, ctype: "text/plain; charset=utf-8", body: []byte("Method Not Allowed\n")}
	}
	path := r.URL.Path
	switch path {
	case "/__ping__":
		return s.ping()
	case "/__api__/server_settings":
		return s.serverSettings()
	}
	if !strings.HasPrefix(path, "/__api__/") {
		return notFoundRoute()
	}
	if !s.authorized(r) {
		return jsonResp(http.StatusUnauthorized, errInvalidLogin)
	}
	q := r.URL.Query()
	switch path {
	case "/__api__/v1/users":
		return s.listUsers(q)
	case "/__api__/v1/groups":
		return s.listGroups(q)
	case "/__api__/v1/content":
		return s.listContent(q)
	case "/__api__/v1/instrumentation/shiny/usage":
		return s.shinyUsage(path, q)
	case "/__api__/v1/instrumentation/content/visits":
		return s.contentVisits(path, q)
	case "/__api__/v1/audit_logs":
		return s.auditLogs(path, q)
	case "/__api__/v1/system/hosts":
		return s.hosts()
	case "/__api__/v1/metrics/users/active":
		return s.activeUsers()
	}
	if guid, ok := strings.CutPrefix(path, "/__api__/v1/users/"); ok && !strings.Contains(guid, "/") {
		return s.getUser(guid)
	}
	if guid, ok := strings.CutPrefix(path, "/__api__/v1/content/"); ok && !strings.Contains(guid, "/") {
		return s.getContent(guid)
	}
	return notFoundRoute()
}

func (s *Server) ping() response {
	s.mu.RLock()
	expired := s.cfg.now().After(s.expiry)
	s.mu.RUnlock()
	if expired {
		return jsonResp(http.StatusPaymentRequired, []byte(`{}`))
	}
	return jsonResp(http.StatusOK, []byte(`{}`))
}

// ---- server settings ----

func (s *Server) serverSettings() response {
	s.mu.RLock()
	seats, expiry, groupsOn := s.seats, s.expiry, s.groupsOn
	s.mu.RUnlock()
	now := s.cfg.now()
	b := make([]byte, 0, 2048)
	b = append(b, `{"hostname":"connect-1"`...)
	if v := s.cfg.Version; v != "" {
		b = append(b, `,"version":`...)
		b = appendJSONString(b, v)
		if s.cfg.LicenseStyle != LicenseTyped {
			b = append(b, `,"build":`...)
			b = appendJSONString(b, "v"+v)
		}
		b = append(b, `,"about":`...)
		b = appendJSONString(b, "Posit Connect v"+v)
	}
	b = append(b, `,"authentication":{"handles_credentials":false,"handles_login":true,"external_user_data":true,"groups_enabled":`...)
	b = appendBool(b, groupsOn)
	b = append(b, `,"unique_usernames":true,"name":"OAuth2","API_key_auth":true},"license":`...)
	b = s.appendLicense(b, now, seats, expiry)
	b = append(b, `,"license_expiration_ui_warning":true,"metrics_rrd_enabled":true,"metrics_instrumentation":true,`...)
	b = append(b, `"runtimes":["R","Python","Quarto"],"execution_type":"native","viewers_can_only_see_themselves":false}`...)
	return jsonResp(http.StatusOK, b)
}

func (s *Server) appendLicense(b []byte, now time.Time, seats int, expiry time.Time) []byte {
	style := s.cfg.LicenseStyle
	daysLeft := int64(expiry.Sub(now) / (24 * time.Hour))
	status := "activated"
	if now.After(expiry) {
		status = "expired"
	}
	num := func(b []byte, v int64, quoted bool) []byte {
		if quoted {
			return appendQuotedInt(b, v)
		}
		return appendInt(b, v)
	}
	flag := func(b []byte, v bool) []byte {
		switch style {
		case LicenseTyped:
			return appendBool(b, v)
		case LicenseStrings:
			if v {
				return append(b, `"1"`...)
			}
			return append(b, `"0"`...)
		default:
			return appendQuotedBool(b, v)
		}
	}
	all := style == LicenseAllStrings
	counts := style != LicenseTyped
	b = append(b, `{"ts":`...)
	b = num(b, now.UnixMilli(), all)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, status)
	b = append(b, `,"expiration":`...)
	b = num(b, expiry.UnixMilli(), all)
	b = append(b, `,"days-left":`...)
	b = num(b, daysLeft, all)
	b = append(b, `,"has-key":`...)
	if all {
		b = append(b, `"true","has-trial":"false"`...)
	} else {
		b = append(b, `true,"has-trial":false`...)
	}
	b = append(b, `,"tier":"enterprise","sku-year":"2023","edition":"","cores":`...)
	b = num(b, 0, counts)
	b = append(b, `,"connections":`...)
	b = num(b, 0, counts)
	b = append(b, `,"type":"local","users":`...)
	b = num(b, int64(seats), counts)
	b = append(b, `,"user-activity-days":`...)
	b = num(b, int64(s.cfg.LicenseActivityDays), counts)
	if style == LicenseTyped {
		b = append(b, `,"users-grace":"true"`...)
	}
	b = append(b, `,"shiny-users":`...)
	b = num(b, 0, counts)
	b = append(b, `,"allow-apis":`...)
	b = flag(b, true)
	b = append(b, `,"custom-branding":`...)
	b = flag(b, true)
	b = append(b, `,"current-user-execution":`...)
	b = flag(b, true)
	if style == LicenseTyped {
		b = append(b, `,"anonymous-servers":true,"unrestricted-servers":true,"anonymous-branding":false,"oauth-integrations":true`...)
	}
	b = append(b, `,"enable-launcher":`...)
	b = flag(b, style != LicenseTyped)
	return append(b, '}')
}

func appendQuotedBool(b []byte, v bool) []byte {
	if v {
		return append(b, `"true"`...)
	}
	return append(b, `"false"`...)
}

// ---- offset paging ----

type offsetParams struct {
	page, size int
	asc        bool
}

func parseOffset(q url.Values) (offsetParams, *response) {
	p := offsetParams{page: 1, size: 20, asc: true}
	if v := q.Get("page_number"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			r := badRequest("Invalid value for page_number: " + v)
			return p, &r
		}
		p.page = max(n, 1)
	}
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			r := badRequest("Invalid value for page_size: " + v)
			return p, &r
		}
		if n < 1 {
			n = 20
		}
		p.size = min(n, 500)
	}
	if v := q.Get("asc_order"); v != "" {
		asc, err := strconv.ParseBool(v)
		if err != nil {
			r := badRequest("Invalid value for asc_order: " + v)
			return p, &r
		}
		p.asc = asc
	}
	return p, nil
}

// pageBounds returns the slice [lo, hi) of n items for the page.
func (p offsetParams) bounds(n int) (int, int) {
	lo := min((p.page-1)*p.size, n)
	return lo, min(lo+p.size, n)
}

func appendOffsetTail(b []byte, page, total int, q OffsetQuirks) []byte {
	b = append(b, `],"current_page":`...)
	b = strconv.AppendInt(b, int64(page), 10)
	switch {
	case q.OmitTotal:
	case q.ZeroTotal:
		b = append(b, `,"total":0`...)
	case q.TotalString:
		b = append(b, `,"total":"`...)
		b = strconv.AppendInt(b, int64(total), 10)
		b = append(b, '"')
	default:
		b = append(b, `,"total":`...)
		b = strconv.AppendInt(b, int64(total), 10)
	}
	return append(b, '}')
}

// pageRows returns the rows [lo, hi) of the page, widened by the
// RepeatRows quirk.
func (p offsetParams) pageRows(total int, q OffsetQuirks) (int, int) {
	lo, hi := p.bounds(total)
	if q.RepeatRows > 0 && p.page > 1 && lo < total {
		lo = max(lo-q.RepeatRows, 0)
	}
	return lo, hi
}

// ---- users ----

func (s *Server) listUsers(q url.Values) response {
	p, bad := parseOffset(q)
	if bad != nil {
		return *bad
	}
	roles := q.Get("user_role")
	statuses := q.Get("account_status")
	prefix := strings.ToLower(q.Get("prefix"))
	for _, role := range splitBar(roles) {
		if role != "administrator" && role != "publisher" && role != "viewer" {
			return badRequest("Invalid user_role: " + role)
		}
	}
	for _, st := range splitBar(statuses) {
		if st != "locked" && st != "licensed" && st != "inactive" {
			return badRequest("Invalid account_status: " + st)
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	now := s.cfg.now().UnixNano()
	licensedSince := now - int64(s.cfg.LicenseActivityDays)*day
	order := s.userOrder
	if roles != "" || statuses != "" || prefix != "" {
		order = make([]int32, 0, len(s.userOrder)/4)
		for _, i := range s.userOrder {
			u := &s.users[i]
			if roles != "" && !hasBar(roles, roleNames[u.role]) {
				continue
			}
			if statuses != "" {
				licensed := !u.locked && u.active != 0 && u.active > licensedSince
				ok := (u.locked && hasBar(statuses, "locked")) ||
					(licensed && hasBar(statuses, "licensed")) ||
					(!u.locked && !licensed && hasBar(statuses, "inactive"))
				if !ok {
					continue
				}
			}
			if prefix != "" && !strings.HasPrefix(strings.ToLower(u.username), prefix) &&
				!strings.HasPrefix(strings.ToLower(u.first), prefix) && !strings.HasPrefix(strings.ToLower(u.last), prefix) {
				continue
			}
			order = append(order, i)
		}
	}
	total := len(order)
	quirks := s.offsetQuirks()
	lo, hi := p.pageRows(total, quirks)
	if prefix != "" && p.page > 1 {
		lo, hi = 0, 0 // Connect: prefix searches return only the first page
	}
	b := make([]byte, 0, 64+(hi-lo)*420)
	b = append(b, `{"results":[`...)
	for k := lo; k < hi; k++ {
		i := k
		if !p.asc {
			i = total - 1 - k
		}
		if k > lo {
			b = append(b, ',')
		}
		b = s.appendUserJSON(b, &s.users[order[i]])
	}
	resp := jsonResp(http.StatusOK, appendOffsetTail(b, p.page, total, quirks))
	resp.rows = hi - lo
	return resp
}

func splitBar(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, "|")
}

func hasBar(list, v string) bool {
	for x := range strings.SplitSeq(list, "|") {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Server) appendUserJSON(b []byte, u *user) []byte {
	b = append(b, `{"email":`...)
	b = appendJSONString(b, u.email)
	b = append(b, `,"username":`...)
	b = appendJSONString(b, u.username)
	b = append(b, `,"first_name":`...)
	b = appendJSONString(b, u.first)
	b = append(b, `,"last_name":`...)
	b = appendJSONString(b, u.last)
	b = append(b, `,"user_role":"`...)
	b = append(b, roleNames[u.role]...)
	b = append(b, `","created_time":`...)
	b = appendTime(b, u.created, u.style)
	b = append(b, `,"updated_time":`...)
	b = appendTime(b, u.updated, u.style)
	b = append(b, `,"active_time":`...)
	b = appendTimeOrNull(b, u.active, u.style)
	b = append(b, `,"confirmed":`...)
	b = appendBool(b, u.confirmed)
	b = append(b, `,"locked":`...)
	b = appendBool(b, u.locked)
	b = append(b, `,"guid":`...)
	b = appendJSONString(b, u.guid)
	b = append(b, `,"external_id":`...)
	b = appendJSONString(b, u.externalID)
	// A field no client knows about, with a nested value.
	b = append(b, `,"sim_profile":{"source":"connecttest","flags":[1,2]}}`...)
	return b
}

func (s *Server) getUser(guid string) response {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.userByGUID[guid]
	if !ok {
		return jsonResp(http.StatusNotFound, errNotFound)
	}
	return jsonResp(http.StatusOK, s.appendUserJSON(nil, &s.users[i]))
}

// ---- groups ----

func (s *Server) listGroups(q url.Values) response {
	p, bad := parseOffset(q)
	if bad != nil {
		return *bad
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.groupsOn {
		return jsonResp(http.StatusBadRequest, errGroupsOff)
	}
	prefix := strings.ToLower(q.Get("prefix"))
	idx := make([]int, 0, len(s.groups))
	for i := range s.groups {
		if prefix == "" || strings.HasPrefix(strings.ToLower(s.groups[i].name), prefix) {
			idx = append(idx, i)
		}
	}
	total := len(idx)
	quirks := s.offsetQuirks()
	lo, hi := p.pageRows(total, quirks)
	b := make([]byte, 0, 64+(hi-lo)*140)
	b = append(b, `{"results":[`...)
	for k := lo; k < hi; k++ {
		i := k
		if !p.asc {
			i = total - 1 - k
		}
		g := &s.groups[idx[i]]
		if k > lo {
			b = append(b, ',')
		}
		b = append(b, `{"guid":`...)
		b = appendJSONString(b, g.guid)
		b = append(b, `,"name":`...)
		b = appendJSONString(b, g.name)
		b = append(b, `,"owner_guid":`...)
		if g.owner < 0 {
			b = append(b, "null"...)
		} else {
			b = appendJSONString(b, s.users[g.owner].guid)
		}
		b = append(b, `,"gid":`...)
		if g.gid < 0 {
			b = append(b, "null"...)
		} else {
			b = appendInt(b, g.gid)
		}
		b = append(b, '}')
	}
	resp := jsonResp(http.StatusOK, appendOffsetTail(b, p.page, total, quirks))
	resp.rows = hi - lo
	return resp
}

// ---- content ----

func (s *Server) listContent(q url.Values) response {
	name, owner := q.Get("name"), q.Get("owner_guid")
	include := q.Get("include")
	s.mu.RLock()
	cached := s.contentJSON
	s.mu.RUnlock()
	if name == "" && owner == "" && include == "" && cached != nil {
		resp := jsonResp(http.StatusOK, cached)
		resp.rows = s.contentRows()
		return resp
	}
	var inc contentInclude
	for x := range strings.SplitSeq(include, ",") {
		switch strings.TrimSpace(x) {
		case "tags":
			inc.tags = true
		case "owner":
			inc.owner = true
		case "vanity_url":
			inc.vanity = true
		}
	}
	s.mu.RLock()
	b := make([]byte, 0, 256+len(s.content)*1500)
	b = append(b, '[')
	first := true
	rows := 0
	for i := range s.content {
		c := &s.content[i]
		if name != "" && c.name != name {
			continue
		}
		if owner != "" && (c.owner < 0 || s.users[c.owner].guid != owner) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		rows++
		b = s.appendContent(b, c, inc)
	}
	b = append(b, ']')
	s.mu.RUnlock()
	if name == "" && owner == "" && include == "" {
		s.mu.Lock()
		s.contentJSON = b
		s.mu.Unlock()
	}
	resp := jsonResp(http.StatusOK, b)
	resp.rows = rows
	return resp
}

func (s *Server) contentRows() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.content)
}

type contentInclude struct{ tags, owner, vanity bool }

func (s *Server) getContent(guid string) response {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.contentByGUID[guid]
	if !ok {
		return jsonResp(http.StatusNotFound, errNotFound)
	}
	return jsonResp(http.StatusOK, s.appendContent(nil, &s.content[i], contentInclude{}))
}

func (s *Server) appendContent(b []byte, c *content, inc contentInclude) []byte {
	host := s.cfg.PageHost
	b = append(b, `{"guid":`...)
	b = appendJSONString(b, c.guid)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, c.name)
	b = append(b, `,"title":`...)
	b = appendStrOrNull(b, c.title, c.titleNull)
	b = append(b, `,"description":`...)
	b = appendJSONString(b, c.description)
	b = append(b, `,"access_type":"`...)
	b = append(b, c.access...)
	b = append(b, `","locked":`...)
	b = appendBool(b, c.locked)
	b = append(b, `,"locked_message":""`...)
	b = append(b, `,"connection_timeout":null,"read_timeout":null,"init_timeout":null,"idle_timeout":null,"max_processes":null,"min_processes":null,"max_conns_per_process":null,"load_factor":null`...)
	b = append(b, `,"memory_request":null,"memory_limit":null,"cpu_request":null,"cpu_limit":null,"amd_gpu_limit":null,"nvidia_gpu_limit":null`...)
	b = append(b, `,"service_account_name":null,"default_image_name":null,"default_environment_guid":null,"environment_guid":null,"cluster_name":"Local","image_name":null`...)
	b = append(b, `,"created_time":`...)
	b = appendTime(b, c.created, c.style)
	b = append(b, `,"last_deployed_time":`...)
	b = appendTime(b, c.deployed, c.style)
	b = append(b, `,"bundle_id":`...)
	switch c.bundleKind {
	case bundleNull:
		b = append(b, "null"...)
	case bundleNumber:
		b = appendInt(b, c.bundle)
	default:
		b = appendQuotedInt(b, c.bundle)
	}
	b = append(b, `,"app_mode":`...)
	b = appendJSONString(b, c.mode)
	b = append(b, `,"content_category":"","parameterized":false`...)
	b = append(b, `,"r_version":`...)
	b = appendStrOrNull(b, c.rVersion, c.rVersion == "")
	b = append(b, `,"py_version":`...)
	b = appendStrOrNull(b, c.pyVersion, c.pyVersion == "")
	b = append(b, `,"quarto_version":`...)
	b = appendStrOrNull(b, c.quartoVer, c.quartoVer == "")
	b = append(b, `,"r_environment_management":null,"default_r_environment_management":null,"py_environment_management":null,"default_py_environment_management":null`...)
	b = append(b, `,"run_as":null,"run_as_current_user":false,"owner_guid":`...)
	if c.owner >= 0 {
		b = appendJSONString(b, s.users[c.owner].guid)
	} else {
		b = append(b, `"00000000-0000-0000-0000-000000000000"`...)
	}
	b = append(b, `,"content_url":`...)
	b = appendJSONString(b, host+"/content/"+c.guid+"/")
	b = append(b, `,"dashboard_url":`...)
	b = appendJSONString(b, host+"/connect/#/apps/"+c.guid)
	b = append(b, `,"app_role":"none","id":`...)
	b = appendQuotedInt(b, c.id)
	b = append(b, `,"public_content_status":"ok"`...)
	if inc.vanity {
		b = append(b, `,"vanity_url":null`...)
	}
	if inc.tags {
		b = append(b, `,"tags":[]`...)
	}
	if inc.owner {
		b = append(b, `,"owner":`...)
		if c.owner >= 0 {
			u := &s.users[c.owner]
			b = append(b, `{"guid":`...)
			b = appendJSONString(b, u.guid)
			b = append(b, `,"username":`...)
			b = appendJSONString(b, u.username)
			b = append(b, `,"first_name":`...)
			b = appendJSONString(b, u.first)
			b = append(b, `,"last_name":`...)
			b = appendJSONString(b, u.last)
			b = append(b, '}')
		} else {
			b = append(b, "null"...)
		}
	}
	return append(b, '}')
}

// ---- hosts, active users ----

func (s *Server) hosts() response {
	now := s.cfg.now()
	b := []byte{'['}
	for i := range s.cfg.Hosts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"hostname":`...)
		b = appendJSONString(b, "connect-"+strconv.Itoa(i+1))
		b = append(b, `,"version":`...)
		b = appendJSONString(b, s.cfg.Version)
		b = append(b, `,"last_seen":`...)
		b = appendTime(b, now.Add(-time.Duration(i)*7*time.Second).UnixNano(), styleUTCMicro)
		b = append(b, '}')
	}
	return jsonResp(http.StatusOK, append(b, ']'))
}

func (s *Server) activeUsers() response {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.activeOn {
		return notFoundRoute()
	}
	now := s.cfg.now().UnixNano()
	windows := []struct {
		name string
		days int64
	}{{"1d", 1}, {"7d", 7}, {"30d", 30}, {"365d", 365}}
	var counts [4][3]int64
	for i := range s.users {
		u := &s.users[i]
		if u.locked || u.deleted || u.active == 0 {
			continue
		}
		for w, win := range windows {
			if u.active > now-win.days*day {
				counts[w][u.role]++
			}
		}
	}
	b := []byte(`{"windows":{`)
	for w, win := range windows {
		if w > 0 {
			b = append(b, ',')
		}
		c := counts[w]
		b = append(b, '"')
		b = append(b, win.name...)
		b = append(b, `":{"total":`...)
		b = appendInt(b, c[0]+c[1]+c[2])
		b = append(b, `,"admin":`...)
		b = appendInt(b, c[roleAdmin])
		b = append(b, `,"publisher":`...)
		b = appendInt(b, c[rolePublisher])
		b = append(b, `,"viewer":`...)
		b = appendInt(b, c[roleViewer])
		b = append(b, '}')
	}
	return jsonResp(http.StatusOK, append(b, "}}"...))
}
