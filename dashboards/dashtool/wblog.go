// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"
)

const day = 24 * time.Hour

// wbUser is one synthetic Workbench user: active from first to last, both
// as durations before now.
type wbUser struct {
	name        string
	first, last time.Duration
}

// wbWindows are the exporter's default --workbench.windows; wbUsers keeps
// every user's last activity a day away from their edges, so the counts
// stay put while the live check runs.
var wbWindows = []time.Duration{30 * day, 90 * day, 365 * day}

// wbUsers returns the same users for the same seed, users and days.
func wbUsers(seed uint64, users int, days int) []wbUser {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]wbUser, 0, users)
	for i := range users {
		var last time.Duration
		if r.Float64() < 0.12 { // left: last seen before the largest window
			last = 366*day + time.Duration(r.Float64()*float64(time.Duration(days)*day-367*day))
		} else { // skewed to recent
			last = time.Duration(math.Pow(r.Float64(), 2.2) * float64(364*day))
		}
		for _, w := range wbWindows {
			if last > w-day && last < w+day {
				last = w - day - time.Hour
			}
		}
		first := min(last+time.Duration(r.Float64()*float64(200*day)), time.Duration(days)*day)
		out = append(out, wbUser{name: fmt.Sprintf("wbuser%03d", i), first: first, last: last})
	}
	return out
}

type wbEvent struct {
	at   time.Time
	user string
	pid  int
	typ  string
}

func (e wbEvent) line() string {
	// Workbench's CSV: "pid, username, timestamp, type, data" with ", "
	// separators and epoch milliseconds; data holds the session id.
	return fmt.Sprintf("%d, %s, %d, %s, %08x\n", e.pid, e.user, e.at.UnixMilli(), e.typ, uint32(e.pid)*2654435761)
}

// session is one Workbench session of user at t: a login now and then, the
// start, maybe a suspend, and how it ended.
func session(r *rand.Rand, user string, t time.Time) []wbEvent {
	pid := 1000 + r.IntN(64000) // Workbench reuses pids across users
	var ev []wbEvent
	if r.IntN(3) == 0 {
		ev = append(ev, wbEvent{t.Add(-time.Minute), user, pid, "auth_login"})
	}
	ev = append(ev, wbEvent{t, user, pid, "session_start"})
	length := time.Duration(10+r.IntN(300)) * time.Minute
	if r.IntN(4) == 0 {
		ev = append(ev, wbEvent{t.Add(length / 2), user, pid, "session_suspend"})
	}
	end := []string{"session_quit", "session_exit", "session_quit", "session_suicide", "session_admin_terminate"}[r.IntN(5)]
	ev = append(ev, wbEvent{t.Add(length), user, pid, end})
	if r.IntN(5) == 0 {
		ev = append(ev, wbEvent{t.Add(length + time.Minute), user, pid, "auth_logout"})
	}
	return ev
}

// wblog writes a synthetic Posit Workbench session audit log (CSV, as
// Workbench writes it with audit-r-sessions=1) for the live check, and
// prints the named users per default window. With -follow it instead
// appends live sessions of recently active users to an existing log until
// stopped or -for has passed; those users are counted in every window
// already, so the counts do not change.
func wblog(args []string) error {
	fs := flag.NewFlagSet("wblog", flag.ExitOnError)
	out := fs.String("out", "", "audit log file")
	users := fs.Int("users", 150, "distinct users")
	days := fs.Int("days", 400, "history, days (more than the largest window, 365 days)")
	seed := fs.Uint64("seed", 1, "random seed")
	malformed := fs.Int("malformed", 2, "malformed lines in the history (the exporter counts and skips them)")
	follow := fs.Duration("follow", 0, "append a live session this often (0: write the history and exit)")
	limit := fs.Duration("for", 15*time.Minute, "with -follow: stop after this long")
	_ = fs.Parse(args)
	if *out == "" || *users < 1 || *days < 367 {
		return errors.New("-out is required, -users at least 1, -days at least 367")
	}
	us := wbUsers(*seed, *users, *days)
	if *follow > 0 {
		return wbFollow(*out, us, *seed, *follow, *limit)
	}
	now := time.Now()
	r := rand.New(rand.NewPCG(*seed, 1))
	var events []wbEvent
	for _, u := range us {
		// Sessions from first to last, about two a week; the last one at
		// exactly u.last, which decides the windows.
		n := 1 + min(60, int((u.first-u.last)/(3*day)))
		for k := range n {
			t := now.Add(-u.last)
			if k > 0 {
				t = now.Add(-u.last - time.Duration(r.Float64()*float64(u.first-u.last)))
			}
			events = append(events, session(r, u.name, t)...)
		}
		if r.IntN(10) == 0 {
			events = append(events, wbEvent{now.Add(-u.last - 5*time.Minute), u.name, 1000 + r.IntN(64000), "auth_login_failed"})
		}
	}
	// Everything in the log has happened: a session of the last hour may
	// not have ended yet.
	events = slices.DeleteFunc(events, func(e wbEvent) bool { return e.at.After(now) })
	slices.SortStableFunc(events, func(a, b wbEvent) int { return a.at.Compare(b.at) })
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	_, _ = w.WriteString("pid, username, timestamp, type, data\n")
	bad := map[int]bool{}
	for j := 1; j <= *malformed; j++ {
		bad[j*len(events)/(*malformed+1)] = true
	}
	for i, e := range events {
		if bad[i] {
			_, _ = w.WriteString("this line is not an audit record\n")
		}
		_, _ = w.WriteString(e.line())
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Named users as the exporter counts them: a session_start or
	// auth_login within the window.
	counts := make([]int, len(wbWindows))
	for _, u := range us {
		for i, w := range wbWindows {
			if u.last < w {
				counts[i]++
			}
		}
	}
	fmt.Println(counts[0], counts[1], counts[2])
	fmt.Fprintf(os.Stderr, "wblog: %s: %d events of %d users; named users 30d=%d 90d=%d 365d=%d\n",
		*out, len(events), len(us), counts[0], counts[1], counts[2])
	return nil
}

func wbFollow(path string, us []wbUser, seed uint64, every, limit time.Duration) error {
	var recent []string
	for _, u := range us {
		if u.last < 7*day {
			recent = append(recent, u.name)
		}
	}
	if len(recent) == 0 {
		return errors.New("no user active in the last 7 days to follow")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	r := rand.New(rand.NewPCG(seed, 2))
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		// A session that has just ended: every event at or before now.
		now := time.Now()
		ev := session(r, recent[r.IntN(len(recent))], now)
		shift := ev[len(ev)-1].at.Sub(now)
		for _, e := range ev {
			e.at = e.at.Add(-shift)
			if _, err := f.WriteString(e.line()); err != nil {
				return err
			}
		}
	}
}
