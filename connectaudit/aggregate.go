// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectaudit

import (
	"slices"
)

// knownActions are the audit actions the code knows (Connect's events
// catalog, legacy and current names): they are always counted under their
// own name. Other actions are counted under their name while fewer than
// maxExtraActions of them were seen, then as otherLabel.
var knownActions = []string{
	"activate_token",
	"add_api_key", "edit_api_key", "remove_api_key",
	"add_app_tag", "remove_app_tag",
	"add_application", "edit_application", "remove_application", "deploy_application",
	"add_group", "edit_group", "remove_group",
	"add_group_member", "remove_group_member",
	"add_tag", "update_tag", "remove_tag", "assign_tag_to_parent",
	"add_user", "edit_user", "remove_user", "update_lock_user",
	"add_vanity", "update_vanity", "remove_vanity", "remove_vantiy",
	"assign_group_app_role", "remove_group_app_role",
	"assign_user_app_role", "remove_user_app_role",
	"clear_app_viewer_acl",
	"download_bundle", "remove_bundle", "upload_bundle",
	"user_login", "user_logout",
}

// knownRoles are Connect's actor roles, and "" for legacy entries.
var knownRoles = []string{"", "administrator", "publisher", "viewer", "system"}

const (
	// maxExtraActions caps the actions counted by name beyond knownActions.
	maxExtraActions = 50
	// maxExtraRoles caps the roles counted by name beyond knownRoles.
	maxExtraRoles = 5
	otherLabel    = "other"
	loginAction   = "user_login"
)

// actionCounts counts one action's entries by actor role.
type actionCounts struct {
	byRole []uint64 // indexed like aggregate.roles
}

// aggregate holds everything learnt from the lines read so far. Its memory
// is bounded by the id set, the distinct actors who logged in, and the
// capped labels.
type aggregate struct {
	ids     *idSet
	actions map[string]*actionCounts
	extra   int // actions counted by name beyond knownActions
	roles   []string
	roleIdx map[string]int
	logins  map[int64]int64 // actor id → newest user_login, epoch ms

	entries     uint64
	duplicates  uint64
	parseErrors uint64
	skipped     uint64 // lines that are not audit entries
	bytesRead   uint64

	oldest, newest int64 // event time, epoch ms
	haveTimes      bool
}

func newAggregate() *aggregate {
	a := &aggregate{
		ids:     newIDSet(),
		actions: make(map[string]*actionCounts, len(knownActions)+maxExtraActions+1),
		roleIdx: make(map[string]int),
		logins:  make(map[int64]int64),
	}
	for _, r := range knownRoles {
		a.roleIdx[r] = len(a.roles)
		a.roles = append(a.roles, r)
	}
	a.roleIdx[otherLabel] = len(a.roles)
	a.roles = append(a.roles, otherLabel)
	for _, act := range knownActions {
		a.actions[act] = &actionCounts{}
	}
	a.actions[otherLabel] = &actionCounts{}
	return a
}

// Line parses one line (without its newline) and records it; it is the
// tail.Sink of the collector's Tailer.
func (a *aggregate) Line(line []byte) error {
	e, kind, err := parseLine(line)
	if err != nil {
		a.parseErrors++
		return err
	}
	switch kind {
	case lineEntry:
		a.add(&e)
	case lineOther:
		a.skipped++
	}
	return nil
}

// TooLong records a line skipped for being longer than the line limit.
func (a *aggregate) TooLong() { a.parseErrors++ }

func (a *aggregate) add(e *entry) {
	if !a.ids.add(uint64(e.id)) {
		a.duplicates++
		return
	}
	a.entries++
	if !a.haveTimes || e.time < a.oldest {
		a.oldest = e.time
	}
	if !a.haveTimes || e.time > a.newest {
		a.newest = e.time
	}
	a.haveTimes = true
	ac := a.action(e.action)
	ri := a.role(e.role)
	for len(ac.byRole) <= ri {
		ac.byRole = append(ac.byRole, 0)
	}
	ac.byRole[ri]++
	if e.hasActor && string(e.action) == loginAction {
		if last, ok := a.logins[e.actorID]; !ok || e.time > last {
			a.logins[e.actorID] = e.time
		}
	}
}

func (a *aggregate) action(name []byte) *actionCounts {
	if ac, ok := a.actions[string(name)]; ok { // no allocation on lookup
		return ac
	}
	if a.extra >= maxExtraActions || !labelValue(name) {
		return a.actions[otherLabel]
	}
	a.extra++
	ac := &actionCounts{}
	a.actions[string(name)] = ac
	return ac
}

func (a *aggregate) role(name []byte) int {
	if i, ok := a.roleIdx[string(name)]; ok {
		return i
	}
	if len(a.roles) >= len(knownRoles)+1+maxExtraRoles || !labelValue(name) {
		return a.roleIdx[otherLabel]
	}
	a.roleIdx[string(name)] = len(a.roles)
	a.roles = append(a.roles, string(name))
	return len(a.roles) - 1
}

// loginsSince counts the actors whose newest login is at or after cutoff
// (epoch ms).
func (a *aggregate) loginsSince(cutoff int64) int {
	n := 0
	for _, t := range a.logins {
		if t >= cutoff {
			n++
		}
	}
	return n
}

// series is one events_total series.
type series struct {
	action, role string
	n            uint64
}

// eventSeries returns the non-zero (action, role) counts in label order.
func (a *aggregate) eventSeries() []series {
	var out []series
	for act, ac := range a.actions {
		for ri, n := range ac.byRole {
			if n > 0 {
				out = append(out, series{act, a.roles[ri], n})
			}
		}
	}
	slices.SortFunc(out, func(x, y series) int {
		if x.action != y.action {
			if x.action < y.action {
				return -1
			}
			return 1
		}
		if x.role < y.role {
			return -1
		}
		if x.role > y.role {
			return 1
		}
		return 0
	})
	return out
}

// labelValue reports whether an action or role may be used as a label
// value as it is: 1 to 64 bytes of ASCII letters, digits, '_', '.' or '-'.
func labelValue(t []byte) bool {
	if len(t) == 0 || len(t) > 64 {
		return false
	}
	for _, c := range t {
		if !isKeyByte(c) {
			return false
		}
	}
	return true
}
