// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"time"
)

// Live event streams and their minimum rates per hour, so that a small
// simulated server still shows activity.
const (
	streamSessions = iota
	streamVisits
	streamHealth
	streamLogins
	streamAudits
	numStreams
)

var liveFloor = [numStreams]float64{6, 12, 12, 6, 3}

// Step advances simulated activity by d, stamping events in (now-d, now]
// where now is Config.Now(): open sessions whose planned end has come end,
// new sessions start (most last minutes, some hours, so many stay open
// across short steps), visits arrive (some anonymous; the health monitor,
// anonymous with user agent "ContentHealthMonitor/1.0", every five minutes),
// users log in (active_time moves, with a user_login audit entry) and other
// audit entries are added.
//
// Rates continue the history: the generated rate at its end, shaped by the
// same working-hours curve, with floors (per hour: 6 sessions, 12 visits, 6
// logins, 3 other audit entries) for small servers. Fractions carry over
// between steps, so a second-by-second RunLive adds up to the same activity
// as one long step. Deterministic from the seed, the clock and the sequence
// of calls.
func (s *Server) Step(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now().UnixNano()
	r := s.live
	s.endSessions(now)
	if d <= 0 {
		return
	}
	from := now - int64(d)
	hours := d.Hours()
	// The generated density at the end of History is 4/3 of its mean.
	shape := 4.0 / 3 * activity(now-int64(d)/2) / activityMean / s.cfg.History.Hours()
	rates := [numStreams]float64{
		streamSessions: float64(s.cfg.ShinySessions) * shape,
		streamVisits:   float64(s.cfg.Visits) * shape,
		streamHealth:   0,
		streamLogins:   float64(len(s.regulars)) / 48 * activity(now) / activityMean,
		streamAudits:   float64(s.cfg.AuditEntries) * shape / 2,
	}
	times := func(stream int) []int64 {
		rate := max(rates[stream], liveFloor[stream])
		s.due[stream] += rate * hours * (0.5 + r.Float64())
		n := int(s.due[stream])
		s.due[stream] -= float64(n)
		ts := make([]int64, n)
		for i := range ts {
			ts[i] = from + 1 + r.Int64N(int64(d))
		}
		slices.Sort(ts)
		return ts
	}

	// New Shiny sessions.
	if !s.shinyPick.empty() {
		for _, t := range times(streamSessions) {
			c := s.shinyPick.pick(r)
			x := session{content: c, user: -1, style: randStyle(r)}
			if s.content[c].access != "all" || r.IntN(10) >= 3 {
				x.user = s.pickLiveUser(r)
			}
			x.started = s.clampSession(x, x.style.trunc(t), &x.style)
			end := x.style.trunc(x.started + sampleDuration(r))
			if end <= x.started {
				end = x.started + x.style.precision()
			}
			s.touchUser(x.user, x.started)
			x.ended = -end
			pos := int32(len(s.sessions))
			s.sessions = append(s.sessions, x)
			s.open = append(s.open, pos)
		}
		s.endSessions(now)
	}

	// Visits, and the health monitor's.
	if !s.visitPick.empty() {
		var vs []visit
		for _, t := range times(streamVisits) {
			c := s.visitPick.pick(r)
			st := randStyle(r)
			vs = append(vs, s.makeVisit(r, st.trunc(t), c, st, true, func() int32 { return s.pickLiveUser(r) }))
		}
		for _, t := range times(streamHealth) {
			vs = append(vs, visit{time: t, content: s.visitPick.pick(r), style: styleUTCNano, user: -1, ua: uaHealth})
		}
		slices.SortFunc(vs, func(a, b visit) int { return cmp.Compare(a.time, b.time) })
		for _, v := range vs {
			v.time = s.clampVisit(v, &v.style)
			s.touchUser(v.user, v.time)
			s.visits = append(s.visits, v)
		}
	}

	// Logins and other audit entries.
	var adds []audit
	if len(s.users) > 0 {
		for _, t := range times(streamLogins) {
			u := s.pickLiveUser(r)
			if u < 0 {
				continue
			}
			st := randStyle(r)
			t = st.trunc(t)
			s.touchUser(u, t)
			adds = append(adds, audit{time: t, style: st, user: u, target: -1, action: 0})
		}
	}
	for _, t := range times(streamAudits) {
		st := randStyle(r)
		a := s.makeAudit(r, st.trunc(t), st, func() int32 { return s.pickLiveUser(r) })
		if a.user >= 0 {
			s.touchUser(a.user, a.time)
		}
		adds = append(adds, a)
	}
	slices.SortStableFunc(adds, func(a, b audit) int { return cmp.Compare(a.time, b.time) })
	for _, a := range adds {
		if n := len(s.audits); n > 0 && a.time < s.audits[n-1].time {
			a.time, a.style = s.audits[n-1].time, styleUTCNano
		}
		s.audits = append(s.audits, a)
	}
}

// endSessions ends open sessions whose planned end is not after now.
func (s *Server) endSessions(now int64) {
	kept := s.open[:0]
	for _, pos := range s.open {
		x := &s.sessions[pos]
		if planned := -x.ended; planned <= now {
			x.ended = planned
			s.maxDur = max(s.maxDur, x.ended-x.started)
			continue
		}
		kept = append(kept, pos)
	}
	s.open = kept
}

// clampSession keeps sessions ordered by started and (content, user,
// started) unique: a time before the newest session becomes the newest
// session's time, a duplicate key moves by a nanosecond.
func (s *Server) clampSession(x session, t int64, st *tstyle) int64 {
	n := len(s.sessions)
	if n > 0 && t < s.sessions[n-1].started {
		t, *st = s.sessions[n-1].started, styleUTCNano
	}
	for i := n - 1; i >= 0 && s.sessions[i].started >= t; i-- {
		if y := &s.sessions[i]; y.started == t && y.content == x.content && y.user == x.user {
			t, *st = t+1, styleUTCNano
		}
	}
	return t
}

func (s *Server) clampVisit(v visit, st *tstyle) int64 {
	t := v.time
	n := len(s.visits)
	if n > 0 && t < s.visits[n-1].time {
		t, *st = s.visits[n-1].time, styleUTCNano
	}
	for i := n - 1; i >= 0 && s.visits[i].time >= t; i-- {
		if y := &s.visits[i]; y.time == t && y.content == v.content && y.user == v.user {
			t, *st = t+1, styleUTCNano
		}
	}
	return t
}

// pickLiveUser prefers the regulars (users active in the last 30 days at
// generation) and never picks a locked user. -1 if there is none.
func (s *Server) pickLiveUser(r *rand.Rand) int32 {
	if len(s.users) == 0 {
		return -1
	}
	for range 8 {
		var u int32
		if len(s.regulars) > 0 && r.IntN(5) != 0 {
			u = s.regulars[r.IntN(len(s.regulars))]
		} else {
			u = int32(r.IntN(len(s.users)))
		}
		if !s.users[u].locked && !s.users[u].deleted {
			return u
		}
	}
	return -1
}

// touchUser moves a user's active_time forward to t.
func (s *Server) touchUser(u int32, t int64) {
	if u < 0 {
		return
	}
	x := &s.users[u]
	if t = x.style.trunc(t); t > x.active {
		x.active = t
	}
}
