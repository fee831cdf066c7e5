// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cursorBase offsets record positions in cursors, so that a cursor does not
// look like a row count.
const cursorBase = 10_000_000_000

type cursorQuery struct {
	limit    int
	asc      bool
	cursor   int64 // position named by next or previous; -1 if none
	previous bool  // the cursor came as previous=
	last     bool  // last=true
}

func parseCursorQuery(q url.Values, ascParam string, n int) (cursorQuery, *response) {
	cq := cursorQuery{limit: 20, asc: true, cursor: -1}
	bad := func(msg string) (cursorQuery, *response) {
		r := badRequest(msg)
		return cq, &r
	}
	if v := q.Get("limit"); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil {
			return bad("Invalid value for limit: " + v)
		}
		if l < 1 {
			l = 20
		}
		cq.limit = min(l, 500)
	}
	if v := q.Get(ascParam); v != "" {
		asc, err := strconv.ParseBool(v)
		if err != nil {
			return bad("Invalid value for " + ascParam + ": " + v)
		}
		cq.asc = asc
	}
	name, v := "next", q.Get("next")
	if v == "" {
		if v = q.Get("previous"); v != "" {
			name, cq.previous = "previous", true
		}
	}
	if v != "" {
		c, err := strconv.ParseInt(v, 10, 64)
		pos := c - cursorBase
		if err != nil || pos < 0 || pos > int64(n) {
			return bad("Invalid " + name + " cursor: " + v)
		}
		cq.cursor = pos
	}
	cq.last = q.Get("last") == "true" && cq.cursor < 0
	return cq, nil
}

// walker visits candidate positions starting at p (inclusive), ascending
// when up, and appends those that match to out until it holds limit.
type walker func(out []int32, p int64, up bool, limit int) []int32

// run resolves the query to result positions in response order.
func (cq cursorQuery) run(w walker, n int) []int32 {
	out := make([]int32, 0, cq.limit)
	switch {
	case cq.last || cq.previous:
		// Walk against the requested order, then flip.
		start := int64(n - 1)
		if !cq.asc {
			start = 0
		}
		if cq.previous {
			if cq.asc {
				start = cq.cursor - 1
			} else {
				start = cq.cursor + 1
			}
		}
		out = w(out, start, !cq.asc, cq.limit)
		slices.Reverse(out)
	case cq.cursor >= 0:
		if cq.asc {
			out = w(out, cq.cursor+1, true, cq.limit)
		} else {
			out = w(out, cq.cursor-1, false, cq.limit)
		}
	default:
		start := int64(0)
		if !cq.asc {
			start = int64(n - 1)
		}
		out = w(out, start, cq.asc, cq.limit)
	}
	return out
}

func appendCursor(b []byte, pos int32) []byte {
	b = append(b, '"')
	b = strconv.AppendInt(b, int64(pos)+cursorBase, 10)
	return append(b, '"')
}

// appendPaging writes the paging object for a page holding the positions
// res. Links are absolute URLs on PageHost and carry only the cursor.
func (s *Server) appendPaging(b []byte, path string, cq cursorQuery, res []int32) []byte {
	link := s.cfg.PageHost + path
	b = append(b, `{"paging":{"cursors":{`...)
	if len(res) == 0 {
		var c int64 = -1
		if cq.cursor >= 0 {
			c = cq.cursor
		}
		switch {
		case c >= 0 && !cq.previous:
			b = append(b, `"previous":`...)
			b = appendCursor(b, int32(c))
			b = append(b, `},"first":`...)
			b = appendJSONString(b, link)
			b = append(b, `,"previous":`...)
			b = appendJSONString(b, link+"?previous="+strconv.FormatInt(c+cursorBase, 10))
		case c >= 0:
			b = append(b, `"next":`...)
			b = appendCursor(b, int32(c))
			b = append(b, `},"first":`...)
			b = appendJSONString(b, link)
			b = append(b, `,"next":`...)
			b = appendJSONString(b, link+"?next="+strconv.FormatInt(c+cursorBase, 10))
		default:
			b = append(b, `},"first":`...)
			b = appendJSONString(b, link)
		}
		return append(b, `},"results":[`...)
	}
	first, last := int64(res[0])+cursorBase, int64(res[len(res)-1])+cursorBase
	b = append(b, `"previous":`...)
	b = appendCursor(b, res[0])
	b = append(b, `,"next":`...)
	b = appendCursor(b, res[len(res)-1])
	b = append(b, `},"first":`...)
	b = appendJSONString(b, link)
	b = append(b, `,"previous":`...)
	b = appendJSONString(b, link+"?previous="+strconv.FormatInt(first, 10))
	b = append(b, `,"next":`...)
	b = appendJSONString(b, link+"?next="+strconv.FormatInt(last, 10))
	b = append(b, `,"last":`...)
	b = appendJSONString(b, link+"?last=true")
	return append(b, `},"results":[`...)
}

// parseWindow reads from and to (RFC3339). Zero means unset.
func parseWindow(q url.Values) (from, to int64, bad *response) {
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"from", &from}, {"to", &to}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			r := badRequest("Invalid value for " + p.name + ": " + v)
			return 0, 0, &r
		}
		*p.dst = t.UnixNano()
	}
	return from, to, nil
}

func parseMinDataVersion(q url.Values, def int) (int, *response) {
	v := q.Get("min_data_version")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r := badRequest("Invalid value for min_data_version: " + v)
		return 0, &r
	}
	return n, nil
}

// contentFilter parses content_guid (several joined with "|"). nil: all.
func (s *Server) contentFilter(q url.Values) map[int32]bool {
	v := q.Get("content_guid")
	if v == "" {
		return nil
	}
	m := map[int32]bool{}
	for g := range strings.SplitSeq(v, "|") {
		if i, ok := s.contentByGUID[g]; ok {
			m[i] = true
		}
	}
	return m
}

// ---- shiny usage ----

const shinyDataVersion = 1

func (s *Server) shinyUsage(path string, q url.Values) response {
	from, to, bad := parseWindow(q)
	if bad != nil {
		return *bad
	}
	mdv, bad := parseMinDataVersion(q, 1)
	if bad != nil {
		return *bad
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := len(s.sessions)
	cq, bad := parseCursorQuery(q, "asc_order", n)
	if bad != nil {
		return *bad
	}
	filter := s.contentFilter(q)
	var res []int32
	if mdv <= shinyDataVersion {
		res = cq.run(s.sessionWalker(from, to, filter), n)
	}
	b := make([]byte, 0, 512+len(res)*220)
	b = s.appendPaging(b, path, cq, res)
	for k, i := range res {
		if k > 0 {
			b = append(b, ',')
		}
		x := &s.sessions[i]
		b = append(b, `{"content_guid":`...)
		b = appendJSONString(b, s.content[x.content].guid)
		b = append(b, `,"user_guid":`...)
		b = s.appendUserGUID(b, x.user)
		b = append(b, `,"started":`...)
		b = appendTime(b, x.started, x.style)
		b = append(b, `,"ended":`...)
		if x.open() {
			b = append(b, "null"...)
		} else {
			b = appendTime(b, x.ended, x.style)
		}
		b = append(b, `,"data_version":1}`...)
	}
	resp := jsonResp(http.StatusOK, append(b, "]}"...))
	resp.rows = len(res)
	return resp
}

func (s *Server) appendUserGUID(b []byte, u int32) []byte {
	if u < 0 {
		return append(b, "null"...)
	}
	return appendJSONString(b, s.users[u].guid)
}

// sessionWalker returns a walker over sessions matching the window
// (ended null or ended >= from) and (to unset or started <= to). Sessions
// are ordered by started; ended ones that can match start at or after
// from-maxDur, and open ones before that come from the open index, so a page
// costs about the page plus the sessions of one maxDur window.
func (s *Server) sessionWalker(from, to int64, filter map[int32]bool) walker {
	xs := s.sessions
	n := len(xs)
	lo := 0
	if from != 0 {
		lim := from - s.maxDur
		lo, _ = slices.BinarySearchFunc(xs, lim, func(x session, t int64) int { return cmpInt(x.started, t) })
	}
	hi := n
	if to != 0 {
		hi, _ = slices.BinarySearchFunc(xs, to+1, func(x session, t int64) int { return cmpInt(x.started, t) })
	}
	okContent := func(x *session) bool { return filter == nil || filter[x.content] }
	match := func(i int) bool {
		x := &xs[i]
		return (x.open() || x.ended >= from) && okContent(x)
	}
	openHi := min(lo, hi) // open sessions below this come from the index
	return func(out []int32, p int64, up bool, limit int) []int32 {
		if up {
			if p < int64(openHi) {
				j, _ := slices.BinarySearch(s.open, int32(max(p, 0)))
				for ; j < len(s.open) && int(s.open[j]) < openHi && len(out) < limit; j++ {
					if okContent(&xs[s.open[j]]) {
						out = append(out, s.open[j])
					}
				}
			}
			for i := max(int(p), lo); i < hi && len(out) < limit; i++ {
				if match(i) {
					out = append(out, int32(i))
				}
			}
			return out
		}
		for i := min(int(p), hi-1); i >= lo && len(out) < limit; i-- {
			if match(i) {
				out = append(out, int32(i))
			}
		}
		top := min(int(p), openHi-1)
		if top >= 0 {
			j, found := slices.BinarySearch(s.open, int32(top))
			if !found {
				j--
			}
			for ; j >= 0 && len(out) < limit; j-- {
				if okContent(&xs[s.open[j]]) {
					out = append(out, s.open[j])
				}
			}
		}
		return out
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ---- content visits ----

const visitDataVersion = 3

func (s *Server) contentVisits(path string, q url.Values) response {
	from, to, bad := parseWindow(q)
	if bad != nil {
		return *bad
	}
	mdv, bad := parseMinDataVersion(q, 3)
	if bad != nil {
		return *bad
	}
	uaFilter := q.Get("user_agent")
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := len(s.visits)
	cq, bad := parseCursorQuery(q, "asc_order", n)
	if bad != nil {
		return *bad
	}
	filter := s.contentFilter(q)
	xs := s.visits
	lo, hi := 0, n
	if from != 0 {
		lo, _ = slices.BinarySearchFunc(xs, from, func(x visit, t int64) int { return cmpInt(x.time, t) })
	}
	if to != 0 {
		hi, _ = slices.BinarySearchFunc(xs, to+1, func(x visit, t int64) int { return cmpInt(x.time, t) })
	}
	match := func(i int) bool {
		x := &xs[i]
		return (filter == nil || filter[x.content]) && (uaFilter == "" || userAgents[x.ua] == uaFilter && x.ua != uaNull)
	}
	var res []int32
	if mdv <= visitDataVersion {
		res = cq.run(rangeWalker(lo, hi, match), n)
	}
	b := make([]byte, 0, 512+len(res)*330)
	b = s.appendPaging(b, path, cq, res)
	for k, i := range res {
		if k > 0 {
			b = append(b, ',')
		}
		b = s.appendVisit(b, &xs[i])
	}
	resp := jsonResp(http.StatusOK, append(b, "]}"...))
	resp.rows = len(res)
	return resp
}

func (s *Server) appendVisit(b []byte, x *visit) []byte {
	c := &s.content[x.content]
	b = append(b, `{"content_guid":`...)
	b = appendJSONString(b, c.guid)
	b = append(b, `,"user_guid":`...)
	b = s.appendUserGUID(b, x.user)
	b = append(b, `,"variant_key":`...)
	b = appendStrOrNull(b, c.variantKey, c.variantKey == "")
	b = append(b, `,"time":`...)
	b = appendTime(b, x.time, x.style)
	b = append(b, `,"rendering_id":`...)
	switch {
	case c.variantKey == "":
		b = append(b, "null"...)
	case c.visitNumeric:
		b = appendInt(b, c.rendering)
	default:
		b = appendQuotedInt(b, c.rendering)
	}
	b = append(b, `,"bundle_id":`...)
	switch {
	case c.mode == "static" || c.bundleKind == bundleNull:
		b = append(b, "null"...)
	case c.visitNumeric:
		b = appendInt(b, c.bundle)
	default:
		b = appendQuotedInt(b, c.bundle)
	}
	b = append(b, `,"path":`...)
	b = appendJSONString(b, visitPaths[x.path])
	b = append(b, `,"data_version":3,"user_agent":`...)
	b = appendStrOrNull(b, userAgents[x.ua], x.ua == uaNull)
	return append(b, '}')
}

// rangeWalker walks positions in [lo, hi) that match.
func rangeWalker(lo, hi int, match func(int) bool) walker {
	return func(out []int32, p int64, up bool, limit int) []int32 {
		if up {
			for i := max(int(p), lo); i < hi && len(out) < limit; i++ {
				if match == nil || match(i) {
					out = append(out, int32(i))
				}
			}
			return out
		}
		for i := min(int(p), hi-1); i >= lo && len(out) < limit; i-- {
			if match == nil || match(i) {
				out = append(out, int32(i))
			}
		}
		return out
	}
}

// ---- audit logs ----

func (s *Server) auditLogs(path string, q url.Values) response {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := len(s.audits)
	cq, bad := parseCursorQuery(q, "ascOrder", n)
	if bad != nil {
		return *bad
	}
	res := cq.run(rangeWalker(0, n, nil), n)
	b := make([]byte, 0, 512+len(res)*300)
	b = s.appendPaging(b, path, cq, res)
	for k, i := range res {
		if k > 0 {
			b = append(b, ',')
		}
		b = s.appendAudit(b, i)
	}
	resp := jsonResp(http.StatusOK, append(b, "]}"...))
	resp.rows = len(res)
	return resp
}

func (s *Server) appendAudit(b []byte, i int32) []byte {
	a := &s.audits[i]
	b = append(b, `{"id":`...)
	b = appendQuotedInt(b, s.auditBase+int64(i))
	b = append(b, `,"time":`...)
	b = appendTime(b, a.time, a.style)
	b = append(b, `,"user_id":`...)
	if a.user < 0 {
		b = append(b, `"0","user_guid":null,"user_description":"System"`...)
	} else {
		u := &s.users[a.user]
		b = appendQuotedInt(b, u.id)
		b = append(b, `,"user_guid":`...)
		b = appendJSONString(b, u.guid)
		b = append(b, `,"user_description":`...)
		b = appendJSONString(b, u.first+" "+u.last+" ("+u.username+")")
	}
	action := auditActions[a.action]
	b = append(b, `,"action":`...)
	b = appendJSONString(b, action)
	b = append(b, `,"event_description":`...)
	b = appendJSONString(b, s.auditDescription(action, a.target))
	return append(b, '}')
}

func (s *Server) auditDescription(action string, target int32) string {
	contentName := func() string {
		if target >= 0 && int(target) < len(s.content) {
			return s.content[target].name
		}
		return "(deleted)"
	}
	userName := func() string {
		if target >= 0 && int(target) < len(s.users) {
			return s.users[target].username
		}
		return "(unknown)"
	}
	switch action {
	case "user_login":
		return "Logged in"
	case "deploy_application":
		return "Deployed application " + contentName()
	case "update_application":
		return "Updated application settings for " + contentName()
	case "delete_application":
		return "Deleted application " + contentName()
	case "update_access_type":
		return "Changed access type of " + contentName()
	case "add_user":
		return "Added user " + userName()
	case "update_user":
		return "Updated user " + userName()
	case "lock_user":
		return "Locked user " + userName()
	case "add_group_member":
		return "Added " + userName() + " to a group"
	case "remove_group_member":
		return "Removed " + userName() + " from a group"
	case "add_group":
		if target >= 0 && int(target) < len(s.groups) {
			return "Added group " + s.groups[target].name
		}
		return "Added group"
	case "add_api_key":
		return "Created an API key"
	case "remove_api_key":
		return "Deleted an API key"
	}
	return action
}
