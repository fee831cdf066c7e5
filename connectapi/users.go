// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"errors"
	"sync"
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

func userID(u *User) string { return u.GUID }

// EachUserPage walks every page of GET /v1/users (page size 500, pages
// fetched in parallel up to the client's concurrency limit) and hands the
// users of each page to fn: every user once, by GUID, pages in any order,
// never two calls at once. If the list changes during the walk, the walk is
// read again (a few times at most) and users not seen before are handed on;
// a list that never holds still is an *InconsistentWalkError. The slice is
// only valid during the call. fn may return ErrStopPaging to stop early.
func (c *Client) EachUserPage(ctx context.Context, fn func([]User) error) error {
	w := newOffsetWalk(c, "/v1/users", nil, readUser, userID)
	w.fold = fn
	return callerError(w.run(ctx))
}

// callerError unwraps a callback's own error; ErrStopPaging is no error.
func callerError(err error) error {
	if cb, ok := errors.AsType[*callbackError](err); ok {
		if errors.Is(cb.err, ErrStopPaging) {
			return nil
		}
		return cb.err
	}
	return err
}

// UserFold says how a UserWalk folds users into a value of type A.
type UserFold[A any] struct {
	// Start returns an empty value. It is called when a walk starts from
	// page 1: the first time, after a walk completed, and when the list
	// changed during a walk and it starts again.
	Start func() A
	// Add folds one user into acc: each user of the list exactly once per
	// walk (by GUID; users without a GUID are each counted), never two
	// calls at once. u is only valid during the call.
	Add func(acc A, u *User)
}

// UserWalk reads GET /v1/users into a value of type A (a summary, say) and
// survives failures: when a request fails or the context ends part-way,
// Run returns an *IncompleteWalkError and keeps the pages read, the users
// seen and the value folded so far, and the next Run asks only for the
// pages still missing, so a walk slower than any one bound still completes
// over several. Users created or deleted during a walk are neither counted
// twice nor missed: the walk notices and starts again (at most a few
// times, then *InconsistentWalkError). A walk runs independently of any
// scrape; give its context the walk's own time bound. Runs are serialised.
type UserWalk[A any] struct {
	fold UserFold[A]
	walk *offsetWalk[User]

	run sync.Mutex // one Run at a time
	acc A
	has bool // acc belongs to the walk in progress
}

// NewUserWalk returns a walk of c's users folded by f.
func NewUserWalk[A any](c *Client, f UserFold[A]) *UserWalk[A] {
	w := &UserWalk[A]{fold: f, walk: newOffsetWalk(c, "/v1/users", nil, readUser, userID)}
	w.walk.fold = func(users []User) error {
		for i := range users {
			f.Add(w.acc, &users[i])
		}
		return nil
	}
	w.walk.restart = func() { w.acc = f.Start() }
	return w
}

// Run continues the walk in progress, or starts one, and returns the folded
// value once every page has been read and the pages add up.
func (w *UserWalk[A]) Run(ctx context.Context) (A, error) {
	w.run.Lock()
	defer w.run.Unlock()
	if !w.has {
		w.acc, w.has = w.fold.Start(), true
	}
	err := w.walk.run(ctx)
	var zero A
	if err != nil {
		if _, ok := errors.AsType[*InconsistentWalkError](err); ok {
			w.has = false
		}
		return zero, err
	}
	acc := w.acc
	w.acc, w.has = zero, false
	return acc, nil
}

// Progress reports where the walk stands (zero when none is in progress).
func (w *UserWalk[A]) Progress() WalkProgress { return w.walk.progress() }

// Reset drops the walk in progress: the next Run starts from page 1.
func (w *UserWalk[A]) Reset() {
	w.run.Lock()
	defer w.run.Unlock()
	var zero A
	w.acc, w.has = zero, false
	w.walk.clear(false)
}
