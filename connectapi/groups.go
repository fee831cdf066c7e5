// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"errors"
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

// CountGroups returns the number of groups with one request (page_size=1
// and the page's total). It returns ErrGroupsDisabled when the server says
// groups are off.
func (c *Client) CountGroups(ctx context.Context, settings *ServerSettings) (int, error) {
	if settings != nil && settings.GroupsEnabled != nil && !*settings.GroupsEnabled {
		return 0, ErrGroupsDisabled
	}
	q := url.Values{"page_size": {"1"}, "page_number": {"1"}}
	var p offsetPage[Group]
	if err := c.getJSON(ctx, "/v1/groups", q, &p); err != nil {
		return 0, err
	}
	return p.Total, nil
}
