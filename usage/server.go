// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

// serverCheck makes sure that a state file's counters belong to the Connect
// server they are read from, before the first read applies anything. The
// file records the server's URL and its identity: the oldest entry of the
// audit log (id, time, action), which Connect keeps indefinitely, so it
// survives restarts, upgrades and restores of the same database and
// differs between databases.
type serverCheck struct {
	mu     sync.Mutex
	done   bool
	url    string       // this server's URL, normalised; "" when not configured
	stored *serverState // what the state file said; nil for a new or version 1 file
	// refused is set once the refusal was logged (reads keep failing).
	refused bool
	// current is what the next save records.
	current serverState
}

func normalizeURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := connectapi.ParseServerURL(raw)
	if err != nil {
		return raw
	}
	return u.String()
}

// errForeignState is returned by reads while the state file names another
// server and Connect's identity cannot be read to settle it.
var errForeignState = errors.New("the usage state file belongs to another Connect server")

// verify runs the check once, before the first read of any stream; every
// read waits for it. An error fails the read and the check runs again with
// the next read.
func (s *Streams) verify(ctx context.Context) error {
	c := &s.server
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done || s.cfg.StateFile == "" {
		return nil
	}
	ident, known, err := s.firstAudit(ctx)
	if err != nil {
		return fmt.Errorf("reading Connect's identity: %w", err)
	}
	stored := c.stored
	switch {
	case stored == nil:
		// A new file, or one written before files named their server.
	case stored.FirstAudit != nil && known:
		if !sameIdentity(stored.FirstAudit, ident) {
			s.logger.Warn("The usage state file belongs to another Connect database; its counters are dropped and counting starts afresh",
				"file", s.cfg.StateFile, "state_url", stored.URL, "url", c.url,
				"state_first_audit_id", stored.FirstAudit.ID, "first_audit_id", identityID(ident))
			s.rebaseline()
		} else if stored.URL != "" && c.url != "" && stored.URL != c.url {
			s.logger.Info("The Connect server's URL changed; the usage state file belongs to the same Connect database and counting goes on",
				"file", s.cfg.StateFile, "state_url", stored.URL, "url", c.url)
		}
	case stored.URL != "" && c.url != "" && stored.URL != c.url:
		why := "its audit log cannot be read"
		if known {
			why = "the state file does not record the database's identity"
		}
		if !c.refused {
			c.refused = true
			s.logger.Error("The usage state file belongs to another Connect server; usage is not counted until it is resolved",
				"file", s.cfg.StateFile, "state_url", stored.URL, "url", c.url)
		}
		return fmt.Errorf("%w: %s was written for %s, not %s, and %s to show they are the same database; give this server its own state file, or remove the file to count afresh",
			errForeignState, s.cfg.StateFile, stored.URL, c.url, why)
	}
	c.current = serverState{URL: c.url}
	switch {
	case known:
		c.current.FirstAudit = ident
	case stored != nil:
		c.current.FirstAudit = stored.FirstAudit
	}
	c.done = true
	return nil
}

// firstAudit reads the oldest audit entry. known is false when the key may
// not read the audit log (403) or the server has none (404); ident is nil
// when the log is empty.
func (s *Streams) firstAudit(ctx context.Context) (ident *auditIdentity, known bool, err error) {
	err = s.cfg.Client.EachAuditPage(ctx, false, func(p []connectapi.AuditEntry) error {
		if len(p) == 0 {
			return nil
		}
		id, ok := NormalizeAuditID(string(p[0].ID))
		if !ok {
			return fmt.Errorf("audit entry id %.40q is not a decimal number", string(p[0].ID))
		}
		ident = &auditIdentity{ID: id, Time: time.Unix(0, nanos(p[0].Time)).UTC(), Action: p[0].Action}
		return connectapi.ErrStopPaging
	})
	err = stopped(err)
	var apiErr *connectapi.APIError
	if errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusForbidden || apiErr.StatusCode == http.StatusNotFound) {
		s.logger.Debug("Connect's audit log cannot be read; the usage state file is matched to the server by URL only", "err", err)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return ident, true, nil
}

// stopped is err, except that a callback's ErrStopPaging handed back by a
// client that does not swallow it is no error.
func stopped(err error) error {
	if errors.Is(err, connectapi.ErrStopPaging) {
		return nil
	}
	return err
}

func sameIdentity(a, b *auditIdentity) bool {
	return a != nil && b != nil && a.ID == b.ID && a.Time.Equal(b.Time) && a.Action == b.Action
}

func identityID(a *auditIdentity) string {
	if a == nil {
		return "(empty audit log)"
	}
	return a.ID
}

// serverRecord is what the state file records about the server: the
// identity once checked, what the file said before that.
func (s *Streams) serverRecord() *serverState {
	c := &s.server
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		cur := c.current
		return &cur
	}
	if c.stored != nil {
		st := *c.stored
		return &st
	}
	if c.url == "" {
		return nil
	}
	return &serverState{URL: c.url}
}

// rebaseline drops every stream's counters and positions: the next read is
// a baseline again.
func (s *Streams) rebaseline() {
	s.shiny.reset()
	s.visits.reset()
	s.audit.reset()
}
