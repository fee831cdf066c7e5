// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package workbench

import (
	"slices"
)

// knownTypes are the event types Posit documents; they are always exported,
// at zero when never seen.
var knownTypes = []string{
	"auth_login",
	"auth_login_failed",
	"auth_logout",
	"session_admin_suspend",
	"session_admin_terminate",
	"session_exit",
	"session_quit",
	"session_start",
	"session_suicide",
	"session_suspend",
}

const (
	// maxTypes caps the distinct values of the type label (known types
	// included). Events of further types, and of types that are not plain
	// identifiers, are counted under otherType.
	maxTypes  = 50
	otherType = "other"
)

// aggregate holds everything learnt from the lines read so far. Its memory is
// bounded by the number of distinct usernames (plus maxTypes counters).
type aggregate struct {
	userIndex map[string]int // username → index into lastSeen
	lastSeen  []int64        // newest session_start or auth_login, epoch ms

	types       map[string]*uint64
	other       uint64
	parseErrors uint64
	bytesRead   uint64

	oldest     int64 // oldest event timestamp of any type, epoch ms
	haveOldest bool
}

func newAggregate() *aggregate {
	a := &aggregate{
		userIndex: make(map[string]int),
		types:     make(map[string]*uint64, maxTypes),
	}
	for _, t := range knownTypes {
		a.types[t] = new(uint64)
	}
	return a
}

// Line parses one line (without its newline) and records it; it is the
// tail.Sink of the collector's Tailer.
func (a *aggregate) Line(line []byte) error {
	ev, kind, err := parseLine(line)
	if err != nil {
		a.parseErrors++
		return err
	}
	if kind != lineEvent {
		return nil
	}
	a.add(ev)
	return nil
}

func (a *aggregate) add(ev event) {
	if !a.haveOldest || ev.timestamp < a.oldest {
		a.oldest, a.haveOldest = ev.timestamp, true
	}
	a.countType(ev.typ)
	if string(ev.typ) == "session_start" || string(ev.typ) == "auth_login" {
		a.seen(ev.username, ev.timestamp)
	}
}

func (a *aggregate) countType(t []byte) {
	if n, ok := a.types[string(t)]; ok { // no allocation on lookup
		*n++
		return
	}
	if len(a.types) >= maxTypes || !typeLabel(t) {
		a.other++
		return
	}
	n := new(uint64)
	*n = 1
	a.types[string(t)] = n
}

func (a *aggregate) seen(user []byte, ts int64) {
	if i, ok := a.userIndex[string(user)]; ok {
		if ts > a.lastSeen[i] {
			a.lastSeen[i] = ts
		}
		return
	}
	a.userIndex[string(user)] = len(a.lastSeen)
	a.lastSeen = append(a.lastSeen, ts)
}

// namedUsers counts the users whose last start or login is at or after
// cutoff (epoch ms).
func (a *aggregate) namedUsers(cutoff int64) int {
	n := 0
	for _, ts := range a.lastSeen {
		if ts >= cutoff {
			n++
		}
	}
	return n
}

// typeCounts returns the per-type counts in label order, "other" included.
func (a *aggregate) typeCounts() (names []string, counts []uint64) {
	names = make([]string, 0, len(a.types)+1)
	for t := range a.types {
		names = append(names, t)
	}
	if _, ok := a.types[otherType]; !ok {
		names = append(names, otherType)
	}
	slices.Sort(names)
	counts = make([]uint64, len(names))
	for i, t := range names {
		if n, ok := a.types[t]; ok {
			counts[i] = *n
		}
		if t == otherType {
			counts[i] += a.other
		}
	}
	return names, counts
}

// TooLong records a line skipped for being longer than maxLineBytes.
func (a *aggregate) TooLong() { a.parseErrors++ }
