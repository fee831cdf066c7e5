// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

// DefaultDeletedContentRetention is how long the series of deleted content
// are kept when Config.DeletedContentRetention is zero.
const DefaultDeletedContentRetention = 30 * 24 * time.Hour

// contentRefresh is how often Connect's content is listed to find deleted
// content; never less often than a quarter of the retention.
const contentRefresh = time.Hour

// contentTracker drops the Shiny and visit series of content that Connect
// no longer lists. Connect's content list is read at most every
// contentRefresh, after a successful Shiny or visits read. A content GUID
// with counters that the list does not hold is missing from that moment; it
// stops being missing when a list holds it again or when its counters grew
// since the list before (usage was counted for it, so it exists or existed
// until recently). Content missing for the whole retention, with no open
// Shiny session, loses its series and its state entries.
type contentTracker struct {
	mu       sync.Mutex
	running  bool
	listedAt time.Time
	missing  map[string]missingContent // by lower-cased GUID
}

type missingContent struct {
	since   time.Time
	counted uint64 // sessions started plus visits at the last list
}

func (c *contentTracker) retention(cfg *Config) time.Duration {
	if cfg.DeletedContentRetention == 0 {
		return DefaultDeletedContentRetention
	}
	return cfg.DeletedContentRetention
}

// maybeList starts a content list in the background when one is due.
func (s *Streams) maybeList(now time.Time) {
	keep := s.content.retention(&s.cfg)
	if keep < 0 {
		return
	}
	c := &s.content
	c.mu.Lock()
	due := !c.running && (c.listedAt.IsZero() || now.Before(c.listedAt) || now.Sub(c.listedAt) >= min(contentRefresh, keep/4))
	if due {
		c.running = true
	}
	c.mu.Unlock()
	if !due {
		return
	}
	if s.base.Err() != nil {
		c.mu.Lock()
		c.running = false
		c.mu.Unlock()
		return
	}
	s.wg.Go(func() {
		ctx, cancel := context.WithTimeout(s.base, s.cfg.ReadTimeout)
		defer cancel()
		err := s.listContent(ctx, now, keep)
		c.mu.Lock()
		c.running = false
		c.listedAt = now // after a failure too: the next attempt waits its turn
		c.mu.Unlock()
		switch {
		case err != nil && s.base.Err() != nil:
			s.logger.Debug("Listing Connect's content was cut short: the streams are closing", "err", err)
			return
		case err != nil:
			s.logger.Warn("Cannot list Connect's content; the series of deleted content are kept until a list succeeds", "err", err)
			return
		}
		s.saved()
	})
}

// listContent lists Connect's content and drops the series of content
// missing for longer than keep.
func (s *Streams) listContent(ctx context.Context, now time.Time, keep time.Duration) error {
	present := map[string]bool{}
	err := s.cfg.Client.EachContent(ctx, func(item *connectapi.Content) error {
		if item.GUID != "" {
			present[strings.ToLower(item.GUID)] = true
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing content: %w", err)
	}
	if len(present) == 0 {
		// An empty list while usage was counted is more likely a proxy or
		// a key that sees nothing than every item deleted: decide nothing.
		s.logger.Debug("Connect listed no content; deleted content is not looked for this time")
		return nil
	}
	shinySnap, visitSnap := s.shiny.countedByContent(), s.visits.countedByContent()
	counted := map[string]uint64{}
	for _, snap := range []map[string]uint64{shinySnap, visitSnap} {
		for g, n := range snap {
			counted[strings.ToLower(g)] += n
		}
	}
	c := &s.content
	c.mu.Lock()
	if c.missing == nil {
		c.missing = map[string]missingContent{}
	}
	for g := range c.missing {
		if _, ok := counted[g]; !ok {
			delete(c.missing, g) // dropped, or its counters are gone
		}
	}
	var expired []string
	for g, n := range counted {
		m, wasMissing := c.missing[g]
		switch {
		case present[g], wasMissing && n > m.counted:
			delete(c.missing, g)
		case !wasMissing:
			c.missing[g] = missingContent{since: now, counted: n}
		case now.Sub(m.since) >= keep:
			expired = append(expired, g)
		}
	}
	c.mu.Unlock()
	if len(expired) == 0 {
		return nil
	}
	drop := map[string]bool{}
	for _, g := range expired {
		drop[g] = true
	}
	// Content with a Shiny session still open, or counted since the
	// snapshot above, is in use whatever the list says: it is kept.
	s.shiny.dropIdle(drop, shinySnap)
	s.visits.dropIdle(drop, visitSnap)
	c.mu.Lock()
	for _, g := range expired {
		// Dropped; or kept because it is in use, which restarts its clock.
		delete(c.missing, g)
	}
	c.mu.Unlock()
	if len(drop) > 0 {
		s.logger.Info("Dropped the usage series of content deleted from Connect", "items", len(drop), "retention", keep)
	}
	return nil
}

func (s *Streams) exportContent() *contentState {
	c := &s.content
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.listedAt.IsZero() && len(c.missing) == 0 {
		return nil
	}
	out := &contentState{ListedAt: timePtr(c.listedAt)}
	if len(c.missing) > 0 {
		out.Missing = make(map[string]missingContentState, len(c.missing))
		for g, m := range c.missing {
			out.Missing[g] = missingContentState{Since: m.since.UTC(), Counted: m.counted}
		}
	}
	return out
}

func (s *Streams) restoreContent(in *contentState) {
	c := &s.content
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listedAt = timeVal(in.ListedAt)
	c.missing = make(map[string]missingContent, len(in.Missing))
	for g, m := range in.Missing {
		c.missing[strings.ToLower(g)] = missingContent{since: m.Since, counted: m.Counted}
	}
}

// countedByContent returns, per content GUID with counters, the sessions
// counted as started.
func (st *shinyStream) countedByContent() map[string]uint64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make(map[string]uint64, len(st.counts))
	for g, c := range st.counts {
		out[g] = c.started
	}
	return out
}

// dropIdle removes the counters of the content in drop (lower-cased GUIDs)
// unless the content has an open session or was counted since snap was
// taken; such content leaves drop.
func (st *shinyStream) dropIdle(drop map[string]bool, snap map[string]uint64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for k := range st.open {
		delete(drop, strings.ToLower(k.content))
	}
	for g, c := range st.counts {
		if lg := strings.ToLower(g); drop[lg] && c.started != snap[g] {
			delete(drop, lg)
		}
	}
	maps.DeleteFunc(st.counts, func(g string, _ *shinyCount) bool { return drop[strings.ToLower(g)] })
}

func (st *visitStream) countedByContent() map[string]uint64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return maps.Clone(st.counts)
}

func (st *visitStream) dropIdle(drop map[string]bool, snap map[string]uint64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for g, n := range st.counts {
		if lg := strings.ToLower(g); drop[lg] && n != snap[g] {
			delete(drop, lg)
		}
	}
	maps.DeleteFunc(st.counts, func(g string, _ uint64) bool { return drop[strings.ToLower(g)] })
}
