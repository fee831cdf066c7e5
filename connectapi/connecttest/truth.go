// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// UserKey groups accounts by role (administrator, publisher, viewer) and
// locked state.
type UserKey struct {
	Role   string
	Locked bool
}

// ActiveKey groups unlocked users active within Days by role.
type ActiveKey struct {
	Role string
	Days int
}

// ContentKey groups content items.
type ContentKey struct {
	AppMode, AccessType string
}

// ActiveWindows are the Days values present in Truth.ActiveUsers.
var ActiveWindows = []int{1, 7, 30, 90, 365}

// Truth is what an exporter should report, computed from the data at
// Config.Now().
type Truth struct {
	Version      string
	Seats        int
	Expiry       time.Time
	ActivityDays int
	// NamedUsers: unlocked, active_time set and after now-ActivityDays.
	NamedUsers int
	// Users by role and locked state; every role and state is present.
	Users map[UserKey]int
	// ActiveUsers: unlocked users with active_time after now-Days, for
	// every role and every Days in ActiveWindows.
	ActiveUsers   map[ActiveKey]int
	Groups        int
	GroupsEnabled bool
	Content       map[ContentKey]int
}

// Truth computes the expected values at Config.Now().
func (s *Server) Truth() Truth {
	s.mu.RLock()
	defer s.mu.RUnlock()
	now := s.cfg.now().UnixNano()
	t := Truth{
		Version:       s.cfg.Version,
		Seats:         s.seats,
		Expiry:        s.expiry,
		ActivityDays:  s.cfg.LicenseActivityDays,
		Users:         map[UserKey]int{},
		ActiveUsers:   map[ActiveKey]int{},
		Groups:        len(s.groups),
		GroupsEnabled: s.groupsOn,
		Content:       map[ContentKey]int{},
	}
	for _, role := range roleNames {
		t.Users[UserKey{role, false}] = 0
		t.Users[UserKey{role, true}] = 0
		for _, d := range ActiveWindows {
			t.ActiveUsers[ActiveKey{role, d}] = 0
		}
	}
	named := now - int64(t.ActivityDays)*day
	for i := range s.users {
		u := &s.users[i]
		if u.deleted {
			continue
		}
		role := roleNames[u.role]
		t.Users[UserKey{role, u.locked}]++
		if u.locked || u.active == 0 {
			continue
		}
		if u.active > named {
			t.NamedUsers++
		}
		for _, d := range ActiveWindows {
			if u.active > now-int64(d)*day {
				t.ActiveUsers[ActiveKey{role, d}]++
			}
		}
	}
	for i := range s.content {
		c := &s.content[i]
		t.Content[ContentKey{c.mode, c.access}]++
	}
	return t
}

// ShinyTotal sums sessions for one content item.
type ShinyTotal struct {
	Started, Ended  int
	DurationSeconds float64 // sum of ended-started over the ended ones
}

// ShinyTotals returns, by content GUID, the sessions that started after
// startedAfter (zero time: all). DurationSeconds is summed in integer
// nanoseconds, then converted; compare with a small tolerance.
func (s *Server) ShinyTotals(startedAfter time.Time) map[string]ShinyTotal {
	s.mu.RLock()
	defer s.mu.RUnlock()
	after := unixNanoOrMin(startedAfter)
	i, _ := slices.BinarySearchFunc(s.sessions, after+1, func(x session, t int64) int { return cmp.Compare(x.started, t) })
	type acc struct {
		started, ended int
		dur            int64
	}
	m := map[int32]*acc{}
	for ; i < len(s.sessions); i++ {
		x := &s.sessions[i]
		a := m[x.content]
		if a == nil {
			a = &acc{}
			m[x.content] = a
		}
		a.started++
		if !x.open() {
			a.ended++
			a.dur += x.ended - x.started
		}
	}
	out := make(map[string]ShinyTotal, len(m))
	for c, a := range m {
		out[s.content[c].guid] = ShinyTotal{Started: a.started, Ended: a.ended, DurationSeconds: float64(a.dur) / 1e9}
	}
	return out
}

func unixNanoOrMin(t time.Time) int64 {
	if t.IsZero() {
		return -1 << 62
	}
	return t.UnixNano()
}

// VisitTotal counts visits to one content item. HealthMonitor: user agent
// starting "ContentHealthMonitor/"; Anonymous: null user_guid (health-monitor
// visits included).
type VisitTotal struct {
	All, HealthMonitor, Anonymous int
}

// VisitTotals returns, by content GUID, the visits with time after after
// (zero time: all).
func (s *Server) VisitTotals(after time.Time) map[string]VisitTotal {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := unixNanoOrMin(after)
	i, _ := slices.BinarySearchFunc(s.visits, a+1, func(x visit, t int64) int { return cmp.Compare(x.time, t) })
	m := map[int32]VisitTotal{}
	for ; i < len(s.visits); i++ {
		v := &s.visits[i]
		t := m[v.content]
		t.All++
		if strings.HasPrefix(userAgents[v.ua], "ContentHealthMonitor/") {
			t.HealthMonitor++
		}
		if v.user < 0 {
			t.Anonymous++
		}
		m[v.content] = t
	}
	out := make(map[string]VisitTotal, len(m))
	for c, t := range m {
		out[s.content[c].guid] = t
	}
	return out
}

// AuditTotals counts audit entries with id > afterID by action.
func (s *Server) AuditTotals(afterID int64) map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]int{}
	start := max(afterID-s.auditBase+1, 0)
	for i := start; i < int64(len(s.audits)); i++ {
		out[auditActions[s.audits[i].action]]++
	}
	return out
}

// LastAuditID is the id of the newest audit entry, 0 if there is none.
func (s *Server) LastAuditID() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.audits) == 0 {
		return 0
	}
	return s.auditBase + int64(len(s.audits)) - 1
}

// UserInfo describes one account for tests (union, exclusion lists).
type UserInfo struct {
	GUID, Username, Email, Role string
	Locked                      bool
	ActiveTime                  time.Time // zero: never active
	Named                       bool      // counts against the licence now
}

// Users returns all accounts in the default list order.
func (s *Server) Users() []UserInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	named := s.cfg.now().UnixNano() - int64(s.cfg.LicenseActivityDays)*day
	out := make([]UserInfo, 0, len(s.users))
	for _, i := range s.userOrder {
		u := &s.users[i]
		ui := UserInfo{GUID: u.guid, Username: u.username, Email: u.email, Role: roleNames[u.role], Locked: u.locked}
		if u.active != 0 {
			ui.ActiveTime = time.Unix(0, u.active).UTC()
			ui.Named = !u.locked && u.active > named
		}
		out = append(out, ui)
	}
	return out
}

// UserSpec describes a user for AddUser.
type UserSpec struct {
	GUID                string // default: generated
	Username            string // required, unique on this server
	Email               string
	FirstName, LastName string
	Role                string    // administrator, publisher or viewer (default)
	ActiveTime          time.Time // zero: never active
	Locked              bool
}

// AddUser adds an account and returns its GUID. Use the same Username,
// Email or GUID on several servers to build overlapping user sets. It
// panics on a duplicate username or GUID or an unknown role (test misuse).
func (s *Server) AddUser(spec UserSpec) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUserLocked(spec)
}

func (s *Server) addUserLocked(spec UserSpec) string {
	if spec.Username == "" || s.usernames[spec.Username] {
		panic(fmt.Sprintf("connecttest: AddUser: username %q empty or taken", spec.Username))
	}
	role := roleViewer
	switch spec.Role {
	case "administrator":
		role = roleAdmin
	case "publisher":
		role = rolePublisher
	case "viewer", "":
	default:
		panic(fmt.Sprintf("connecttest: AddUser: unknown role %q", spec.Role))
	}
	r := newRNG(s.cfg.Seed, 1000+uint64(len(s.users)))
	if spec.GUID == "" {
		spec.GUID = newGUID(r)
	}
	if _, dup := s.userByGUID[spec.GUID]; dup {
		panic(fmt.Sprintf("connecttest: AddUser: GUID %q taken", spec.GUID))
	}
	now := s.cfg.now().UnixNano()
	u := user{
		guid: spec.GUID, username: spec.Username, email: spec.Email,
		first: spec.FirstName, last: spec.LastName, role: role, locked: spec.Locked,
		confirmed: true, style: styleUTCMicro,
	}
	if !spec.ActiveTime.IsZero() {
		u.active = u.style.trunc(spec.ActiveTime.UnixNano())
		if u.active == 0 {
			u.active = 1
		}
	}
	u.created = u.style.trunc(now - 30*day)
	if u.active != 0 && u.active < u.created {
		u.created = u.active
	}
	u.updated = u.created
	s.appendUser(u)
	s.sortUsers()
	return u.guid
}

// RemoveUsers deletes the accounts with these GUIDs, as an administrator
// deleting users would: they leave every list and the truth at once. It
// returns how many existed. Events recorded for them keep their GUID.
func (s *Server) RemoveUsers(guids ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, g := range guids {
		i, ok := s.userByGUID[g]
		if !ok {
			continue
		}
		u := &s.users[i]
		u.deleted = true
		delete(s.userByGUID, g)
		delete(s.usernames, u.username)
		n++
	}
	if n > 0 {
		s.sortUsers()
	}
	return n
}

// SetNamedUsers changes users' active_time (and, if needed, unlocks or adds
// users) so that Truth().NamedUsers is exactly n at the current clock.
// Users dropped from the count become active just before the activity
// window; users added to it become active within the last 30 days.
func (s *Server) SetNamedUsers(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = max(n, 0)
	now := s.cfg.now().UnixNano()
	since := now - int64(s.cfg.LicenseActivityDays)*day
	isNamed := func(u *user) bool { return !u.locked && u.active != 0 && u.active > since }
	var named, other, locked []int32
	for i := range s.users {
		u := &s.users[i]
		switch {
		case u.deleted:
		case isNamed(u):
			named = append(named, int32(i))
		case u.locked:
			locked = append(locked, int32(i))
		default:
			other = append(other, int32(i))
		}
	}
	if len(named) > n {
		// Drop the least recently active first.
		slices.SortFunc(named, func(a, b int32) int {
			return cmp.Or(cmp.Compare(s.users[a].active, s.users[b].active), cmp.Compare(a, b))
		})
		for j, i := range named[:len(named)-n] {
			u := &s.users[i]
			u.active = u.style.trunc(since - int64(j%30+1)*day)
		}
		return
	}
	need := n - len(named)
	revive := func(i int32, j int) {
		u := &s.users[i]
		u.locked = false
		u.active = u.style.trunc(now - int64(j%29+1)*day + int64(j%24)*int64(time.Hour)/2)
		if u.created > u.active {
			u.created = u.style.trunc(u.active - day)
		}
	}
	j := 0
	for _, list := range [][]int32{other, locked} {
		for _, i := range list {
			if need == 0 {
				return
			}
			revive(i, j)
			j++
			need--
		}
	}
	for ; need > 0; need-- {
		name := fmt.Sprintf("%snamed%d", s.cfg.UserPrefix, len(s.users))
		for k := 2; s.usernames[name]; k++ {
			name = fmt.Sprintf("%snamed%d-%d", s.cfg.UserPrefix, len(s.users), k)
		}
		guid := s.addUserLocked(UserSpec{Username: name, Email: name + "@example.com", FirstName: "Named", LastName: "User"})
		revive(s.userByGUID[guid], j)
		j++
	}
}
