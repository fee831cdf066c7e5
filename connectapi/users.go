// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"time"
)

// User roles as Connect names them.
const (
	RoleAdministrator = "administrator"
	RolePublisher     = "publisher"
	RoleViewer        = "viewer"
)

// User is one account from GET /v1/users. Unknown fields are ignored.
type User struct {
	GUID      string `json:"guid"`
	Username  string `json:"username"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Role      string `json:"user_role"`
	Locked    bool   `json:"locked"`
	Confirmed bool   `json:"confirmed"`
	// ActiveTime is roughly when the user was last active; nil when the
	// user never signed in.
	ActiveTime  *time.Time `json:"active_time"`
	CreatedTime time.Time  `json:"created_time"`
}

// EachUserPage walks every page of GET /v1/users (page size 500) and hands
// each page to fn. The slice is only valid during the call.
func (c *Client) EachUserPage(ctx context.Context, fn func([]User) error) error {
	return eachOffsetPage(ctx, c, "/v1/users", nil, fn)
}
