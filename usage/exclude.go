// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

// usernameRefresh is how often usernames in ExcludeUsers are resolved again.
const usernameRefresh = time.Hour

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// LoadExcludeUsers reads an exclude-users file: one user GUID or username
// per line; blank lines and lines starting with # are ignored.
func LoadExcludeUsers(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("exclude-users file: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("exclude-users file %s: %w", path, err)
	}
	return out, nil
}

// excluder turns ExcludeUsers into a set of user GUIDs. GUID-shaped entries
// are used as they are; other entries are usernames (compared without
// regard to case), resolved through the users list at most hourly.
type excluder struct {
	src    Client
	now    func() time.Time
	logger *slog.Logger
	static map[string]bool
	names  map[string]bool // lower-cased usernames

	mu         sync.Mutex
	resolved   map[string]bool
	resolvedAt time.Time
}

func newExcluder(src Client, entries []string, now func() time.Time, logger *slog.Logger) *excluder {
	e := &excluder{src: src, now: now, logger: logger, static: map[string]bool{}, names: map[string]bool{}}
	for _, s := range entries {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
		case guidRE.MatchString(s):
			e.static[strings.ToLower(s)] = true
		default:
			e.names[strings.ToLower(s)] = true
		}
	}
	e.resolved = e.static
	return e
}

// current returns the excluded user GUIDs (read-only). The empty user
// (anonymous) is never excluded.
func (e *excluder) current(ctx context.Context) (map[string]bool, error) {
	if len(e.names) == 0 {
		return e.static, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	if !e.resolvedAt.IsZero() && now.Sub(e.resolvedAt) < usernameRefresh && !now.Before(e.resolvedAt) {
		return e.resolved, nil
	}
	set := make(map[string]bool, len(e.static)+len(e.names))
	for g := range e.static {
		set[g] = true
	}
	found := 0
	err := e.src.EachUserPage(ctx, func(users []connectapi.User) error {
		for _, u := range users {
			if u.GUID != "" && e.names[strings.ToLower(u.Username)] {
				set[strings.ToLower(u.GUID)] = true
				found++
			}
		}
		return nil
	})
	if err != nil {
		if !e.resolvedAt.IsZero() {
			e.logger.Warn("Cannot refresh excluded usernames; using the previous list", "err", err)
			return e.resolved, nil
		}
		return nil, fmt.Errorf("resolving excluded usernames: %w", err)
	}
	if found < len(e.names) {
		e.logger.Debug("Some excluded usernames match no Connect user", "listed", len(e.names), "found", found)
	}
	e.resolved, e.resolvedAt = set, now
	return set, nil
}

// isExcluded reports whether the user GUID is in the set.
func isExcluded(set map[string]bool, guid string) bool {
	return len(set) > 0 && guid != "" && set[strings.ToLower(guid)]
}
