// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

var (
	usersDesc = prometheus.NewDesc(namespace+"_users",
		"User accounts by role and lock state. Cached for up to --connect.cache-ttl.users.",
		[]string{"role", "locked"}, nil)
	usersActiveDesc = prometheus.NewDesc(namespace+"_users_active",
		"Unlocked users whose last activity is within the window. Cached for up to --connect.cache-ttl.users.",
		[]string{"role", "window"}, nil)
	namedUsersDesc = prometheus.NewDesc(namespace+"_license_named_users",
		"Named users as the licence counts them: unlocked users active within the licence's user-activity-days. Cached for up to --connect.cache-ttl.users.",
		nil, nil)
)

// The users table, folded into a summary, and Connect's own active-user
// counts (for the cross-check) are refreshed together.
var (
	ResourceUsers       = Resource{"users", "users", 60 * time.Second, "How long the users summary is cached."}
	ResourceActiveUsers = Resource{"active_users", "users", 60 * time.Second, ""}
)

// knownRoles always get a series, zero or not, so that series do not come
// and go with the data.
var knownRoles = []string{connectapi.RoleAdministrator, connectapi.RolePublisher, connectapi.RoleViewer}

// UserSummary is the users table folded into counts; it is what the cache
// keeps, so memory does not grow with the number of users.
type UserSummary struct {
	// Accounts by role and lock state.
	Accounts map[RoleLocked]int
	// Active[window label][role] counts unlocked users active in the window.
	Active map[string]map[string]int
	// Named counts unlocked users active within the licence window.
	Named int
	// NamedKeys holds the identity of each named user when the source was
	// asked to keep them (to count distinct users across servers).
	NamedKeys map[string]struct{}
	// Fetched is when the walk that made the summary started: activity
	// windows are counted back from it.
	Fetched time.Time

	namedSince time.Time
	keyed      bool
}

// RoleLocked keys accounts by role and lock state.
type RoleLocked struct {
	Role   string
	Locked bool
}

// UserKeyFunc picks the identity used to match a user across servers; an
// empty result leaves the user out of the cross-server union.
type UserKeyFunc func(u *connectapi.User) string

// Users walks every user page once and folds it into a UserSummary.
func (s *Source) Users(ctx context.Context) (*UserSummary, error) {
	settings, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	activityDays := settings.License.ActivityDays
	return connectapi.Cached(ctx, s.Cache, ResourceUsers.Name, func(ctx context.Context) (*UserSummary, error) {
		return s.summariseUsers(ctx, activityDays)
	})
}

// summariseUsers walks the users table into a summary. The walk is
// resumable: when it fails or its context ends part-way, the pages read,
// the users seen and the partial summary are kept (per Source), and the
// next call (the next cache refresh) continues with the pages still
// missing, so a walk slower than any single refresh bound still completes.
// Users are folded once each, by GUID, and a table that changed during the
// walk is walked again: the summary never counts a user twice or misses
// one.
func (s *Source) summariseUsers(ctx context.Context, activityDays int) (*UserSummary, error) {
	uw := &s.usersWalk
	uw.mu.Lock()
	if uw.walk == nil || uw.days != activityDays || uw.client != s.Client {
		// A new licence window changes what a user counts as: start over.
		uw.days, uw.client = activityDays, s.Client
		uw.walk = connectapi.NewUserWalk(s.Client, connectapi.UserFold[*UserSummary]{
			Start: func() *UserSummary { return s.newUserSummary(activityDays) },
			Add:   s.addUser,
		})
	}
	walk := uw.walk
	uw.mu.Unlock()
	sum, err := walk.Run(ctx) // runs are serialised by the walk
	if err != nil {
		return nil, err
	}
	if accounts(sum) == 0 {
		// Connect always has at least the administrator who made the key;
		// an empty table means a key that sees nothing, not a real count.
		return nil, errors.New("GET /v1/users returned no users; the API key may not be an administrator's")
	}
	return sum, nil
}

// UsersWalkProgress reports how far the users walk in progress has come
// (zero when none is in progress), for logs and metrics.
func (s *Source) UsersWalkProgress() connectapi.WalkProgress {
	uw := &s.usersWalk
	uw.mu.Lock()
	w := uw.walk
	uw.mu.Unlock()
	if w == nil {
		return connectapi.WalkProgress{}
	}
	return w.Progress()
}

func (s *Source) newUserSummary(activityDays int) *UserSummary {
	now := s.now()
	sum := &UserSummary{Accounts: map[RoleLocked]int{}, Active: map[string]map[string]int{}, Fetched: now,
		namedSince: now.Add(-time.Duration(activityDays) * 24 * time.Hour), keyed: s.NamedKey != nil}
	for _, w := range s.ActiveWindows {
		sum.Active[w.Label] = map[string]int{}
	}
	if sum.keyed {
		sum.NamedKeys = map[string]struct{}{}
	}
	return sum
}

// addUser folds one user into the summary; the walk calls it once per user.
func (s *Source) addUser(sum *UserSummary, u *connectapi.User) {
	role := u.Role
	if role == "" {
		role = "unknown"
	}
	sum.Accounts[RoleLocked{role, u.Locked}]++
	if u.Locked || u.ActiveTime == nil {
		return
	}
	for _, w := range s.ActiveWindows {
		if u.ActiveTime.After(sum.Fetched.Add(-w.Duration)) {
			sum.Active[w.Label][role]++
		}
	}
	if u.ActiveTime.After(sum.namedSince) {
		sum.Named++
		if sum.keyed {
			if k := s.NamedKey(u); k != "" {
				sum.NamedKeys[k] = struct{}{}
			}
		}
	}
}

func accounts(sum *UserSummary) int {
	n := 0
	for _, c := range sum.Accounts {
		n += c
	}
	return n
}

// usersWalker holds a Source's users walk between cache refreshes.
type usersWalker struct {
	mu     sync.Mutex
	days   int
	client *connectapi.Client
	walk   *connectapi.UserWalk[*UserSummary]
}

// usersCollector reports accounts, active users and named users.
type usersCollector struct{ src *Source }

// Describe implements Collector.
func (c *usersCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- usersDesc
	ch <- usersActiveDesc
	ch <- namedUsersDesc
}

// Update implements Collector.
func (c *usersCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	sum, err := c.src.Users(ctx)
	if err != nil {
		return err
	}
	roles := append([]string(nil), knownRoles...)
	for rl := range sum.Accounts {
		if !slices.Contains(roles, rl.Role) {
			roles = append(roles, rl.Role)
		}
	}
	for _, role := range roles {
		for _, locked := range []bool{false, true} {
			ch <- prometheus.MustNewConstMetric(usersDesc, prometheus.GaugeValue,
				float64(sum.Accounts[RoleLocked{role, locked}]), role, strconv.FormatBool(locked))
		}
		for _, w := range c.src.ActiveWindows {
			ch <- prometheus.MustNewConstMetric(usersActiveDesc, prometheus.GaugeValue,
				float64(sum.Active[w.Label][role]), role, w.Label)
		}
	}
	ch <- prometheus.MustNewConstMetric(namedUsersDesc, prometheus.GaugeValue, float64(sum.Named))
	c.crossCheck(ctx, sum)
	return nil
}

// crossCheck compares our count with Connect's own where the server has
// GET /v1/metrics/users/active, and warns when they disagree. It never
// fails the scrape.
func (c *usersCollector) crossCheck(ctx context.Context, sum *UserSummary) {
	theirs, err := connectapi.Cached(ctx, c.src.Cache, ResourceActiveUsers.Name, c.src.Client.ActiveUsers)
	switch {
	case errors.Is(err, connectapi.ErrUnsupported):
		c.src.Logger.Debug("Connect has no /v1/metrics/users/active; skipping the cross-check")
		return
	case err != nil:
		c.src.Logger.Debug("Cross-check of active users failed", "err", err)
		return
	}
	for _, w := range c.src.ActiveWindows {
		their, ok := theirs.Windows[w.Label]
		if !ok {
			continue
		}
		ours := 0
		for _, n := range sum.Active[w.Label] {
			ours += n
		}
		if diff := ours - their.Total; diff > crossCheckTolerance(their.Total) || -diff > crossCheckTolerance(their.Total) {
			c.src.Logger.Warn("Active users disagree with Connect's own count",
				"window", w.Label, "exporter", ours, "connect", their.Total,
				"hint", "active_time is updated only periodically for very active users; a large gap may mean a key without admin rights")
		}
	}
}

// crossCheckTolerance allows a few users of drift: active_time is updated
// only periodically and the two counts are taken moments apart.
func crossCheckTolerance(total int) int { return max(3, total/100) }
