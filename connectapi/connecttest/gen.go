// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"cmp"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	roleAdmin uint8 = iota
	rolePublisher
	roleViewer
)

var roleNames = [...]string{"administrator", "publisher", "viewer"}

const day = int64(24 * time.Hour)

type user struct {
	guid, username, email, first, last, externalID string
	id                                             int64
	created, updated                               int64
	active                                         int64 // 0: never active
	role                                           uint8
	locked, confirmed                              bool
	deleted                                        bool // RemoveUsers: gone from every list
	style                                          tstyle
}

type group struct {
	guid, name string
	owner      int32 // -1: null
	gid        int64
}

const (
	bundleString uint8 = iota
	bundleNumber
	bundleNull
)

type content struct {
	guid, name, title, description, mode, access string
	variantKey, rVersion, pyVersion, quartoVer   string
	id, bundle, rendering                        int64
	created, deployed                            int64
	owner                                        int32
	bundleKind                                   uint8
	titleNull, locked, shiny, visitable          bool
	visitNumeric                                 bool // visits carry numeric rendering_id/bundle_id
	style                                        tstyle
}

// session is one Shiny session. ended > 0 is the end time; ended <= 0 means
// open, with -ended the planned end (math.MaxInt64: never ends).
type session struct {
	started, ended int64
	content, user  int32 // user -1: anonymous
	style          tstyle
}

func (x *session) open() bool { return x.ended <= 0 }

const (
	uaNull uint8 = iota
	uaChrome
	uaFirefox
	uaSafari
	uaPython
	uaHealth
	uaCurl
	numUA
)

// HealthMonitorUserAgent is the user agent of Connect's content health
// monitor, whose visits exporters are expected to ignore.
const HealthMonitorUserAgent = "ContentHealthMonitor/1.0"

var userAgents = [...]string{
	"",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	"python-requests/2.32.3",
	HealthMonitorUserAgent,
	"curl/8.5.0",
}

var visitPaths = [...]string{"/", "/index.html", "/report.html", "/page2.html", "/__docs__/", "/predict", "/data.csv", "/logs"}

type visit struct {
	time          int64
	content, user int32
	style         tstyle
	ua, path      uint8
}

type audit struct {
	time   int64
	user   int32 // -1: system actor
	target int32
	action uint8
	style  tstyle
}

// Audit actions (plausible names, skewed weights).
var auditActions = [...]string{
	"user_login", "deploy_application", "update_application", "add_user", "update_user",
	"add_group_member", "remove_group_member", "add_group", "add_api_key", "remove_api_key",
	"delete_application", "lock_user", "update_access_type",
}
var auditWeights = [...]float64{50, 10, 8, 5, 6, 4, 2, 1, 3, 1, 2, 1, 2}

var firstNames = strings.Fields("Alice Bob Carol David Erin Frank Grace Heidi Ivan Judy Mallory Niaj Olivia Peggy Rupert Sybil Trent Victor Walter Yasmin Zoe Amara Bashir Chen Dmitri Elif Farah Gustavo Hana Ingrid Jamal Keiko Lars Mei Nikolai Omar Priya Quentin Rosa Sanjay Tomas Ursula Vivek Wen Ximena Yusuf Zainab")
var lastNames = strings.Fields("Smith Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Kowalski Okafor Tanaka Schmidt Rossi Dubois Novak")
var wordsA = strings.Fields("sales revenue churn forecast clinical trial supply inventory marketing customer risk portfolio genomics survey hr finance ops quality energy traffic")
var wordsB = strings.Fields("dashboard report explorer monitor tracker analysis summary model api app viewer overview metrics insights")

// App modes: name, weight, Shiny family.
var appModes = []struct {
	mode   string
	weight float64
	shiny  bool
}{
	{"shiny", 25, true}, {"rmd-static", 12, false}, {"quarto-static", 8, false},
	{"python-shiny", 6, true}, {"rmd-shiny", 5, true}, {"quarto-shiny", 3, true},
	{"python-dash", 5, false}, {"python-streamlit", 5, false}, {"jupyter-static", 6, false},
	{"static", 6, false}, {"api", 6, false}, {"python-fastapi", 5, false}, {"python-api", 3, false},
	{"unknown", 3, false}, {"nodejs-express", 1, false}, {"python-bokeh", 1, false},
	{"jupyter-voila", 1, false}, {"python-gradio", 1, false}, {"python-panel", 1, false},
	{"tensorflow-saved-model", 0.5, false},
}

// picker draws indices with given weights.
type picker struct {
	items []int32
	cum   []float64
}

func (p *picker) add(item int32, w float64) {
	last := 0.0
	if len(p.cum) > 0 {
		last = p.cum[len(p.cum)-1]
	}
	p.items = append(p.items, item)
	p.cum = append(p.cum, last+w)
}

func (p *picker) empty() bool { return len(p.items) == 0 }

func (p *picker) pick(r *rand.Rand) int32 {
	x := r.Float64() * p.cum[len(p.cum)-1]
	i := sort.SearchFloat64s(p.cum, x)
	if i >= len(p.items) {
		i = len(p.items) - 1
	}
	return p.items[i]
}

func newRNG(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15^stream))
}

func newGUID(r *rand.Rand) string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

func randStyle(r *rand.Rand) tstyle { return tstyle(r.IntN(int(numStyles))) }

// activity is the relative event rate at t (unix ns): a working-hours
// curve in UTC, lower at weekends. Its mean over a week is activityMean.
func activity(t int64) float64 {
	secs := t / int64(time.Second)
	days := secs / 86400
	h := float64(secs-days*86400) / 3600 // UTC hour of day
	w := 0.15
	if h >= 7 && h <= 19 {
		w += 0.85 * math.Sin(math.Pi*(h-7)/12)
	}
	if wd := (days + 4) % 7; wd == 5 || wd == 6 { // 1970-01-01 was a Thursday (4)
		w *= 0.35
	}
	return w
}

var activityMean = func() float64 {
	sum, n := 0.0, 0
	for t := int64(0); t < 7*day; t += int64(time.Minute) {
		sum += activity(t)
		n++
	}
	return sum / float64(n)
}()

// sampleTime draws an event time in [start, end): density grows linearly
// over the period (a growing server, the last instant twice as busy as the
// first), shaped by activity.
func sampleTime(r *rand.Rand, start, end int64) int64 {
	span := float64(end - start)
	var t int64
	for try := 0; ; try++ {
		x := -1 + math.Sqrt(1+3*r.Float64())
		t = start + int64(x*span)
		if try >= 16 || r.Float64() < activity(t) {
			return t
		}
	}
}

// sampleDuration draws a Shiny session length: log-normal around five
// minutes, 5 s to 8 h, plus the ~15 s reconnect timeout Connect adds.
func sampleDuration(r *rand.Rand) int64 {
	d := math.Exp(math.Log(300) + 1.2*r.NormFloat64())
	d = min(max(d, 5), 8*3600) + 15
	return int64(d * float64(time.Second))
}

func (s *Server) generate(now int64) {
	cfg := &s.cfg
	s.genUsers(now)
	s.genGroups(now)
	s.genContent(now)
	start := now - int64(cfg.History)
	up := s.newUserPicker()
	s.genSessions(start, now, &up)
	s.genVisits(start, now, &up)
	s.genAudits(start, now, &up)
	s.live = newRNG(cfg.Seed, 99)
}

func (s *Server) genUsers(now int64) {
	r := newRNG(s.cfg.Seed, 1)
	n := s.cfg.Users
	s.users = make([]user, 0, n)
	s.userByGUID = make(map[string]int32, n)
	s.usernames = make(map[string]bool, n)
	suffix := map[string]int{} // last numeric suffix used per base name
	for i := range n {
		u := user{
			guid:      newGUID(r),
			first:     firstNames[r.IntN(len(firstNames))],
			last:      lastNames[r.IntN(len(lastNames))],
			confirmed: r.IntN(50) != 0,
			style:     randStyle(r),
		}
		switch x := r.Float64(); {
		case i == 0 || x < 0.05:
			u.role = roleAdmin
		case x < 0.30:
			u.role = rolePublisher
		default:
			u.role = roleViewer
		}
		u.locked = i != 0 && r.Float64() < 0.05
		switch x := r.Float64(); {
		case i != 0 && x < 0.10: // never active
		case x < 0.95: // within 400 days, skewed to recent
			u.active = now - int64(math.Pow(r.Float64(), 2.5)*float64(400*day))
		default: // long gone
			u.active = now - 400*day - int64(r.Float64()*float64(1100*day))
		}
		if u.active != 0 {
			u.active = u.style.trunc(u.active)
			u.created = u.active - int64(r.Float64()*float64(3*365*day))
		} else {
			u.created = now - int64(r.Float64()*float64(3*365*day))
		}
		u.created = u.style.trunc(u.created)
		u.updated = u.style.trunc(u.created + int64(r.Float64()*float64(now-u.created)))
		base := strings.ToLower(u.first[:1] + u.last)
		if i == 0 {
			base = "admin"
		}
		name := s.cfg.UserPrefix + base
		for s.usernames[name] {
			suffix[base]++
			name = s.cfg.UserPrefix + base + strconv.Itoa(suffix[base]+1)
		}
		u.username = name
		switch r.IntN(100) {
		case 0:
			u.email = ""
		case 1, 2, 3:
			u.email = name + "@contractor.example"
		default:
			u.email = name + "@example.com"
		}
		if r.IntN(2) == 0 {
			u.externalID = "ext-" + strconv.FormatUint(r.Uint64()%1e9, 10)
		}
		s.appendUser(u)
	}
	s.sortUsers()
	for i := range s.users {
		if u := &s.users[i]; !u.locked && u.active > now-30*day {
			s.regulars = append(s.regulars, int32(i))
		}
	}
}

// appendUser adds u (with a fresh id). Callers re-sort with sortUsers.
func (s *Server) appendUser(u user) int32 {
	idx := int32(len(s.users))
	u.id = int64(idx) + 1
	s.users = append(s.users, u)
	s.userByGUID[u.guid] = idx
	s.usernames[u.username] = true
	return idx
}

// sortUsers rebuilds the default list order: first name, last name,
// username, email.
func (s *Server) sortUsers() {
	s.userOrder = s.userOrder[:0]
	for i := range s.users {
		if !s.users[i].deleted {
			s.userOrder = append(s.userOrder, int32(i))
		}
	}
	slices.SortFunc(s.userOrder, func(a, b int32) int {
		x, y := &s.users[a], &s.users[b]
		return cmp.Or(cmp.Compare(x.first, y.first), cmp.Compare(x.last, y.last),
			cmp.Compare(x.username, y.username), cmp.Compare(x.email, y.email), cmp.Compare(a, b))
	})
}

func (s *Server) genGroups(now int64) {
	r := newRNG(s.cfg.Seed, 2)
	seen := map[string]bool{}
	for i := range s.cfg.Groups {
		g := group{guid: newGUID(r), owner: -1, gid: -1}
		base := wordsA[r.IntN(len(wordsA))] + "-" + []string{"team", "analysts", "admins", "readers", "devs"}[r.IntN(5)]
		name := base
		for k := 2; seen[name]; k++ {
			name = base + "-" + strconv.Itoa(k)
		}
		seen[name] = true
		g.name = name
		if len(s.users) > 0 && r.IntN(5) != 0 {
			g.owner = int32(r.IntN(len(s.users)))
		}
		if r.IntN(3) == 0 {
			g.gid = 2000 + int64(i)
		}
		s.groups = append(s.groups, g)
	}
	_ = now
	slices.SortFunc(s.groups, func(a, b group) int { return cmp.Compare(a.name, b.name) })
}

func (s *Server) genContent(now int64) {
	r := newRNG(s.cfg.Seed, 3)
	n := s.cfg.Content
	var owners []int32
	for i := range s.users {
		if s.users[i].role != roleViewer {
			owners = append(owners, int32(i))
		}
	}
	var modes picker
	for i, m := range appModes {
		modes.add(int32(i), m.weight)
	}
	// Popularity: a random rank per item, weight 1/(rank+1)^1.1.
	ranks := r.Perm(max(n, 1))
	s.contentByGUID = make(map[string]int32, n)
	names := map[string]bool{}
	for i := range n {
		mi := int(modes.pick(r))
		if i < len(appModes) {
			mi = i // every mode at least once when there is room
		}
		m := appModes[mi]
		c := content{
			guid:      newGUID(r),
			mode:      m.mode,
			shiny:     m.shiny,
			visitable: !m.shiny && m.mode != "unknown",
			id:        int64(1000 + i*7 + r.IntN(7)),
			style:     randStyle(r),
			owner:     -1,
		}
		if len(owners) > 0 {
			c.owner = owners[r.IntN(len(owners))]
		}
		base := wordsA[r.IntN(len(wordsA))] + "-" + wordsB[r.IntN(len(wordsB))]
		name := base
		for k := 2; names[name]; k++ {
			name = base + "-" + strconv.Itoa(k)
		}
		names[name] = true
		c.name = name
		if r.IntN(20) == 0 {
			c.titleNull = true
		} else {
			c.title = strings.ToUpper(name[:1]) + strings.ReplaceAll(name[1:], "-", " ")
		}
		if r.IntN(3) == 0 {
			c.description = "Simulated " + m.mode + " content."
		}
		switch x := r.Float64(); {
		case x < 0.20:
			c.access = "all"
		case x < 0.55:
			c.access = "logged_in"
		default:
			c.access = "acl"
		}
		c.locked = r.IntN(50) == 0
		c.created = c.style.trunc(now - int64(r.Float64()*float64(4*365*day)))
		c.deployed = c.style.trunc(c.created + int64(r.Float64()*float64(now-c.created)))
		c.bundle = int64(10000 + i*13 + r.IntN(13))
		switch x := r.IntN(100); {
		case m.mode == "unknown" || x < 5:
			c.bundleKind = bundleNull
		case x < 15:
			c.bundleKind = bundleNumber
		default:
			c.bundleKind = bundleString
		}
		c.rendering = int64(500 + r.IntN(100000))
		c.visitNumeric = r.IntN(2) == 0
		switch m.mode {
		case "rmd-static", "quarto-static", "jupyter-static":
			c.variantKey = randKey(r, 8)
		}
		if strings.HasPrefix(m.mode, "python") || strings.HasPrefix(m.mode, "jupyter") || m.mode == "tensorflow-saved-model" {
			c.pyVersion = []string{"3.10.14", "3.11.9", "3.12.4"}[r.IntN(3)]
		} else if m.mode != "static" && m.mode != "unknown" && m.mode != "nodejs-express" {
			c.rVersion = []string{"4.2.3", "4.3.3", "4.4.1"}[r.IntN(3)]
		}
		if strings.HasPrefix(m.mode, "quarto") {
			c.quartoVer = "1.5.57"
		}
		s.content = append(s.content, c)
		s.contentByGUID[c.guid] = int32(i)
		w := 1 / math.Pow(float64(ranks[i]+1), 1.1)
		if c.shiny {
			s.shinyPick.add(int32(i), w)
		} else if c.visitable {
			s.visitPick.add(int32(i), w)
		}
	}
}

func randKey(r *rand.Rand, n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[r.IntN(len(chars))]
	}
	return string(b)
}

// userPicker chooses users for historical events: only users whose
// active_time is not before the event.
type userPicker struct {
	idx   []int32
	times []int64
}

func (s *Server) newUserPicker() userPicker {
	var p userPicker
	for i := range s.users {
		if s.users[i].active != 0 {
			p.idx = append(p.idx, int32(i))
		}
	}
	slices.SortFunc(p.idx, func(a, b int32) int {
		return cmp.Or(cmp.Compare(s.users[a].active, s.users[b].active), cmp.Compare(a, b))
	})
	p.times = make([]int64, len(p.idx))
	for i, u := range p.idx {
		p.times[i] = s.users[u].active
	}
	return p
}

// pick returns a user active at or after t, or any user, or -1 when there
// are none.
func (p *userPicker) pick(r *rand.Rand, t int64, nUsers int) int32 {
	i, _ := slices.BinarySearch(p.times, t)
	if i < len(p.idx) {
		return p.idx[i+r.IntN(len(p.idx)-i)]
	}
	if nUsers == 0 {
		return -1
	}
	return int32(r.IntN(nUsers))
}

func (s *Server) genSessions(start, now int64, up *userPicker) {
	r := newRNG(s.cfg.Seed, 4)
	n := s.cfg.ShinySessions
	if s.shinyPick.empty() {
		n = 0
	}
	s.sessions = make([]session, n)
	for i := range s.sessions {
		st := randStyle(r)
		t := st.trunc(sampleTime(r, start, now))
		c := s.shinyPick.pick(r)
		x := session{started: t, content: c, style: st, user: -1}
		if s.content[c].access != "all" || r.IntN(10) >= 3 {
			x.user = up.pick(r, t, len(s.users))
		}
		end := st.trunc(t + sampleDuration(r))
		if end <= t {
			end = t + st.precision()
		}
		switch {
		case r.IntN(5000) == 0:
			x.ended = -math.MaxInt64 // never closed (a crashed worker)
		case end > now:
			x.ended = -end
		default:
			x.ended = end
		}
		s.sessions[i] = x
	}
	sortSessions(s.sessions)
	if fixSessionCollisions(s.sessions) {
		sortSessions(s.sessions)
	}
	for i := range s.sessions {
		x := &s.sessions[i]
		if x.open() {
			s.open = append(s.open, int32(i))
		} else {
			s.maxDur = max(s.maxDur, x.ended-x.started)
		}
	}
}

// sortSessions orders by started. Go's sort is deterministic for the same
// input, so ties keep a reproducible order without a stable sort.
func sortSessions(xs []session) {
	slices.SortFunc(xs, func(a, b session) int { return cmp.Compare(a.started, b.started) })
}

// fixSessionCollisions makes (content, user, started) unique, the key
// clients dedupe on, by moving duplicates by a few nanoseconds.
func fixSessionCollisions(xs []session) bool {
	fixed := false
	for i := 0; i < len(xs); {
		j := i + 1
		for j < len(xs) && xs[j].started == xs[i].started {
			j++
		}
		if j-i > 1 {
			bump := int64(0)
			for a := i + 1; a < j; a++ {
				for b := i; b < a; b++ {
					if xs[a].content == xs[b].content && xs[a].user == xs[b].user && xs[a].started == xs[b].started {
						bump++
						xs[a].started += bump
						xs[a].style = styleUTCNano
						fixed = true
						break
					}
				}
			}
		}
		i = j
	}
	return fixed
}

func (s *Server) genVisits(start, now int64, up *userPicker) {
	r := newRNG(s.cfg.Seed, 5)
	n := s.cfg.Visits
	if s.visitPick.empty() {
		n = 0
	}
	s.visits = make([]visit, n)
	uaSince := now - 200*day
	for i := range s.visits {
		st := randStyle(r)
		t := st.trunc(sampleTime(r, start, now))
		c := s.visitPick.pick(r)
		s.visits[i] = s.makeVisit(r, t, c, st, t >= uaSince, func() int32 { return up.pick(r, t, len(s.users)) })
	}
	slices.SortFunc(s.visits, func(a, b visit) int { return cmp.Compare(a.time, b.time) })
	if fixVisitCollisions(s.visits) {
		slices.SortFunc(s.visits, func(a, b visit) int { return cmp.Compare(a.time, b.time) })
	}
}

func (s *Server) makeVisit(r *rand.Rand, t int64, c int32, st tstyle, withUA bool, pickUser func() int32) visit {
	v := visit{time: t, content: c, style: st, user: -1}
	ct := &s.content[c]
	health := withUA && r.IntN(20) == 0
	switch {
	case health:
		v.ua = uaHealth
	case ct.access == "all" && r.IntN(10) < 4:
		// anonymous
	default:
		v.user = pickUser()
	}
	if withUA && !health {
		v.ua = uint8(1 + r.IntN(int(numUA)-1))
		if v.ua == uaHealth {
			v.ua = uaChrome
		}
	}
	switch {
	case strings.Contains(ct.mode, "api") || ct.mode == "tensorflow-saved-model":
		v.path = uint8(4 + r.IntN(2))
	case ct.mode == "static":
		v.path = uint8([]int{0, 1, 6}[r.IntN(3)])
	default:
		v.path = uint8([]int{0, 1, 2, 3, 7}[r.IntN(5)])
	}
	return v
}

func fixVisitCollisions(xs []visit) bool {
	fixed := false
	for i := 0; i < len(xs); {
		j := i + 1
		for j < len(xs) && xs[j].time == xs[i].time {
			j++
		}
		bump := int64(0)
		for a := i + 1; a < j; a++ {
			for b := i; b < a; b++ {
				if xs[a].content == xs[b].content && xs[a].user == xs[b].user && xs[a].time == xs[b].time {
					bump++
					xs[a].time += bump
					xs[a].style = styleUTCNano
					fixed = true
					break
				}
			}
		}
		i = j
	}
	return fixed
}

var auditPick = func() picker {
	var p picker
	for i, w := range auditWeights {
		p.add(int32(i), w)
	}
	return p
}()

func (s *Server) genAudits(start, now int64, up *userPicker) {
	r := newRNG(s.cfg.Seed, 6)
	n := s.cfg.AuditEntries
	s.audits = make([]audit, n)
	s.auditBase = 100 + int64(r.IntN(900))
	for i := range s.audits {
		st := randStyle(r)
		t := st.trunc(sampleTime(r, start, now))
		s.audits[i] = s.makeAudit(r, t, st, func() int32 { return up.pick(r, t, len(s.users)) })
	}
	slices.SortFunc(s.audits, func(a, b audit) int { return cmp.Compare(a.time, b.time) })
}

func (s *Server) makeAudit(r *rand.Rand, t int64, st tstyle, pickUser func() int32) audit {
	a := audit{time: t, style: st, user: -1, target: -1, action: uint8(auditPick.pick(r))}
	if len(s.users) > 0 && r.IntN(30) != 0 {
		a.user = pickUser()
	}
	switch auditActions[a.action] {
	case "deploy_application", "update_application", "delete_application", "update_access_type":
		if len(s.content) > 0 {
			a.target = int32(r.IntN(len(s.content)))
		}
	case "add_user", "update_user", "lock_user", "add_group_member", "remove_group_member":
		if len(s.users) > 0 {
			a.target = int32(r.IntN(len(s.users)))
		}
	case "add_group":
		if len(s.groups) > 0 {
			a.target = int32(r.IntN(len(s.groups)))
		}
	case "user_login":
		if a.user < 0 && len(s.users) > 0 {
			a.user = pickUser()
		}
	}
	return a
}
