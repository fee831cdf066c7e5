// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
)

// ErrGroupsDisabled means the server runs without groups. It is an answer,
// not a failure.
var ErrGroupsDisabled = errors.New("groups are disabled on this Connect server")

// Group is one group from GET /v1/groups. Some servers omit guid.
type Group struct {
	GUID      string `json:"guid"`
	Name      string `json:"name"`
	OwnerGUID string `json:"owner_guid"`
}

// groupID identifies a group by GUID, or by name on servers that omit it.
func groupID(g *Group) string {
	if g.GUID != "" {
		return g.GUID
	}
	return g.Name
}

// CountGroups returns the number of groups, with one request (page_size=1
// and the page's total) when Connect states a total, and otherwise (total
// missing, or 0 beside a group) by walking every page and counting distinct
// groups. It returns ErrGroupsDisabled when the server says groups are off.
func (c *Client) CountGroups(ctx context.Context, settings *ServerSettings) (int, error) {
	if settings != nil && settings.GroupsEnabled != nil && !*settings.GroupsEnabled {
		return 0, ErrGroupsDisabled
	}
	q := url.Values{"page_size": {"1"}, "page_number": {"1"}}
	f, err := c.fetchBody(ctx, "/v1/groups", q)
	if err != nil {
		return 0, err
	}
	defer f.release()
	s := &scanner{b: f.body(), secret: f.x.key}
	var p page[Group]
	readPage(s, &p, readGroup, nil)
	if s.err != nil {
		return 0, f.x.decodeError(s.err)
	}
	switch {
	case p.total != nil && *p.total < 0:
		return 0, f.x.decodeError(fmt.Errorf("total: want a count, got %d", *p.total))
	case p.total != nil && (*p.total > 0 || len(p.results) == 0):
		return *p.total, nil
	case p.total == nil && len(p.results) == 0:
		return 0, nil
	}
	n := 0
	w := newOffsetWalk(c, "/v1/groups", nil, readGroup, groupID)
	w.fold = func(g []Group) error { n += len(g); return nil }
	w.restart = func() { n = 0 }
	if err := w.run(ctx); err != nil {
		return 0, callerError(err)
	}
	return n, nil
}
