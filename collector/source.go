// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/window"
)

// Source is one Connect server's data, fetched through the shared cache.
type Source struct {
	Client *connectapi.Client
	Cache  *connectapi.Cache
	// SeatsOverride replaces the licence's seat limit when > 0.
	SeatsOverride int64
	// ActiveWindows are the windows of posit_connect_users_active.
	ActiveWindows []window.Window
	// NamedKey, when set, makes the users summary keep the identity of
	// every named user, for a distinct count across servers.
	NamedKey UserKeyFunc
	// Health, when set, is fed by the cache with every fetch's outcome and
	// decides posit_connect_up.
	Health *Health
	Now    func() time.Time
	Logger *slog.Logger

	licence   licenceProblems
	usersWalk usersWalker // the users walk, resumed across refreshes
}

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ResourceServerSettings is the version and licence, and how quickly
// posit_connect_up notices an outage.
var ResourceServerSettings = Resource{"server_settings", "server-settings", 15 * time.Second,
	"How long server settings (version, licence) are cached; also how quickly posit_connect_up notices an outage."}

// Settings returns the server settings, cached.
func (s *Source) Settings(ctx context.Context) (*connectapi.ServerSettings, error) {
	return connectapi.Cached(ctx, s.Cache, ResourceServerSettings.Name, func(ctx context.Context) (*connectapi.ServerSettings, error) {
		settings, err := s.Client.ServerSettings(ctx)
		if err == nil {
			s.licence.record(settings.License.Problems, s.Logger)
		}
		return settings, err
	})
}

// licenceProblems counts, per licence field, the fetched settings whose
// field could not be read, and logs a problem when it starts, changes or
// goes away, rather than on every fetch.
type licenceProblems struct {
	mu     sync.Mutex
	counts map[string]uint64
	last   string
}

// licenceFields always have a parse-error series, zero or not.
var licenceFields = []string{connectapi.LicenseFieldUsers, connectapi.LicenseFieldActivityDays, connectapi.LicenseFieldExpiration}

func (p *licenceProblems) record(problems []connectapi.LicenseProblem, logger *slog.Logger) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.counts == nil {
		p.counts = map[string]uint64{}
	}
	fingerprint := fmt.Sprint(problems)
	changed := fingerprint != p.last
	p.last = fingerprint
	for _, pr := range problems {
		p.counts[pr.Field]++
		if !changed {
			continue
		}
		switch pr.Field {
		case connectapi.LicenseFieldActivityDays:
			logger.Warn("Cannot read the licence's user-activity-days; counting named users over the default window",
				"value", pr.Value, "reason", pr.Reason, "default_days", connectapi.DefaultActivityDays)
		default:
			logger.Warn("Cannot read a licence field; its series is left out", "field", pr.Field, "value", pr.Value, "reason", pr.Reason)
		}
	}
	if changed && len(problems) == 0 {
		logger.Info("The licence reads cleanly again")
	}
}

func (p *licenceProblems) snapshot() map[string]uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]uint64{}
	for _, f := range licenceFields {
		out[f] = p.counts[f]
	}
	maps.Copy(out, p.counts)
	return out
}
