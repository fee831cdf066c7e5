// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// The page shapes, read with the scanner of decode.go. Each record reader
// fills a zeroed record; slot is storage for its one pointer-to-time field
// (a record's *time.Time points into the page's own array, so a page costs
// no allocation per record beyond its strings).

// recordReader reads one JSON object (its '{' at s.i) into r.
type recordReader[T any] func(s *scanner, r *T, slot *time.Time)

// page is a decoded page whose arrays are reused from page to page.
type page[T any] struct {
	results []T
	slots   []time.Time
	// Keyset paging: paging.cursors.next (nil when absent or null).
	next *string
	// Offset paging: current_page and total (nil when absent or null).
	current, total *int
}

func (p *page[T]) reset() {
	p.results = p.results[:0]
	p.next, p.current, p.total = nil, nil, nil
}

// fieldIndex maps a member name to the index of the field it selects in
// names, -1 for none: an exact match, or else a case-insensitive one (as
// encoding/json matches). Names are lower case ASCII, so a lower case ASCII
// key that is not exactly a name matches none.
func fieldIndex(key []byte, names []string) int {
	for i, n := range names {
		if string(key) == n {
			return i
		}
	}
	if !needsFold(key) {
		return -1
	}
	for i, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return i
		}
	}
	return -1
}

func needsFold(key []byte) bool {
	for _, c := range key {
		if 'A' <= c && c <= 'Z' || c >= 0x80 {
			return true
		}
	}
	return false
}

// readPage reads a whole page body: {"results": [...], ...} with the paging
// members of either kind. onNext, if not nil, is called as soon as a
// "paging" member that comes before "results" has been read, with its next
// cursor, so that the next request can start while the results are read.
func readPage[T any](s *scanner, p *page[T], rec recordReader[T], onNext func(next *string)) {
	p.reset()
	switch c := s.ws(); c {
	case 'n':
		s.literal("null") // as encoding/json: an empty page
		s.end()
		return
	case '{':
	default:
		s.mismatch("the response", "a JSON object", c)
		return
	}
	s.objectStart()
	first := true
	seenResults := false
	for {
		key, ok := s.field(&first)
		if !ok {
			break
		}
		switch fieldIndex(key, pageFields) {
		case 0: // results
			if seenResults {
				s.syntax(`two "results" members in one page`)
				return
			}
			seenResults = true
			readResults(s, p, rec)
		case 1: // paging
			readPaging(s, p)
			if onNext != nil && !seenResults && s.err == nil {
				onNext(p.next)
			}
		case 2: // current_page
			s.intPtrField("current_page", &p.current)
		case 3: // total
			s.intPtrField("total", &p.total)
		default:
			s.skip()
		}
		if s.err != nil {
			return
		}
	}
	s.end()
}

var pageFields = []string{"results", "paging", "current_page", "total"}

func readResults[T any](s *scanner, p *page[T], rec recordReader[T]) {
	switch c := s.cur(); c {
	case 'n':
		if s.literal("null") {
			p.results = p.results[:0]
		}
		return
	case '[':
	default:
		s.mismatch("results", "an array", c)
		return
	}
	s.arrayStart()
	first := true
	for s.elem(&first) {
		i := len(p.results)
		var zero T
		p.results = append(p.results, zero)
		if i >= len(p.slots) {
			p.slots = append(p.slots, make([]time.Time, cap(p.results)-len(p.slots))...)
		}
		switch c := s.cur(); c {
		case 'n':
			s.literal("null") // as encoding/json: a zero record
		case '{':
			rec(s, &p.results[i], &p.slots[i])
		default:
			s.mismatch(fmt.Sprintf("results[%d]", i), "an object", c)
		}
		if s.err != nil {
			if ve, ok := errors.AsType[*valueError](s.err); ok {
				ve.field = fmt.Sprintf("results[%d].%s", i, ve.field)
			}
			return
		}
	}
}

// readPaging reads {"cursors": {"next": ...}}; everything else in it is
// checked and skipped.
func readPaging[T any](s *scanner, p *page[T]) {
	if !s.objectOrNull("paging") {
		return
	}
	readObject(s, cursorsField, func(int) {
		if !s.objectOrNull("paging.cursors") {
			return
		}
		readObject(s, nextField, func(int) {
			switch c := s.cur(); c {
			case 'n':
				if s.literal("null") {
					p.next = nil
				}
			case '"':
				v := s.str()
				p.next = &v
			default:
				s.mismatch("paging.cursors.next", "a string", c)
			}
		})
	})
}

// objectOrNull reports whether the value at s.i is an object, to be read
// by the caller: null is consumed and read as nothing, as encoding/json
// does; anything else is a mismatch naming path.
func (s *scanner) objectOrNull(path string) bool {
	switch c := s.cur(); c {
	case 'n':
		s.literal("null")
		return false
	case '{':
		return true
	default:
		s.mismatch(path, "an object", c)
		return false
	}
}

var (
	cursorsField = []string{"cursors"}
	nextField    = []string{"next"}
)

// readObject walks the members of the object at s.i, handing each member's
// field index (in names) to fn, which reads the value; unknown members are
// skipped.
func readObject(s *scanner, names []string, fn func(field int)) {
	s.objectStart()
	first := true
	for {
		key, ok := s.field(&first)
		if !ok {
			return
		}
		if f := fieldIndex(key, names); f >= 0 {
			fn(f)
		} else {
			s.skip()
		}
		if s.err != nil {
			return
		}
	}
}

var userFields = []string{"guid", "username", "email", "first_name", "last_name", "user_role",
	"locked", "confirmed", "active_time", "created_time"}

func readUser(s *scanner, u *User, slot *time.Time) {
	readObject(s, userFields, func(f int) {
		switch f {
		case 0:
			s.stringField("guid", &u.GUID)
		case 1:
			s.stringField("username", &u.Username)
		case 2:
			s.stringField("email", &u.Email)
		case 3:
			s.stringField("first_name", &u.FirstName)
		case 4:
			s.stringField("last_name", &u.LastName)
		case 5:
			s.stringField("user_role", &u.Role)
		case 6:
			s.boolField("locked", &u.Locked)
		case 7:
			s.boolField("confirmed", &u.Confirmed)
		case 8:
			s.timePtrField("active_time", &u.ActiveTime, slot)
		case 9:
			s.timeField("created_time", &u.CreatedTime)
		}
	})
}

var shinyFields = []string{"content_guid", "user_guid", "started", "ended", "data_version"}

func readShinySession(s *scanner, r *ShinySession, slot *time.Time) {
	readObject(s, shinyFields, func(f int) {
		switch f {
		case 0:
			s.stringField("content_guid", &r.ContentGUID)
		case 1:
			s.stringField("user_guid", &r.UserGUID)
		case 2:
			s.timeField("started", &r.Started)
		case 3:
			s.timePtrField("ended", &r.Ended, slot)
		case 4:
			s.intField("data_version", &r.DataVersion)
		}
	})
}

var visitFields = []string{"content_guid", "user_guid", "variant_key", "time", "rendering_id",
	"bundle_id", "path", "data_version", "user_agent"}

func readVisit(s *scanner, r *Visit, _ *time.Time) {
	readObject(s, visitFields, func(f int) {
		switch f {
		case 0:
			s.stringField("content_guid", &r.ContentGUID)
		case 1:
			s.stringField("user_guid", &r.UserGUID)
		case 2:
			s.stringField("variant_key", &r.VariantKey)
		case 3:
			s.timeField("time", &r.Time)
		case 4:
			s.flexField("rendering_id", &r.RenderingID)
		case 5:
			s.flexField("bundle_id", &r.BundleID)
		case 6:
			s.stringField("path", &r.Path)
		case 7:
			s.intField("data_version", &r.DataVersion)
		case 8:
			s.stringField("user_agent", &r.UserAgent)
		}
	})
}

var auditFields = []string{"id", "time", "user_id", "user_guid", "user_description", "action", "event_description"}

func readAuditEntry(s *scanner, r *AuditEntry, _ *time.Time) {
	readObject(s, auditFields, func(f int) {
		switch f {
		case 0:
			s.flexField("id", &r.ID)
		case 1:
			s.timeField("time", &r.Time)
		case 2:
			s.flexField("user_id", &r.UserID)
		case 3:
			s.stringField("user_guid", &r.UserGUID)
		case 4:
			s.stringField("user_description", &r.UserDescription)
		case 5:
			s.stringField("action", &r.Action)
		case 6:
			s.stringField("event_description", &r.EventDescription)
		}
	})
}

var groupFields = []string{"guid", "name", "owner_guid"}

func readGroup(s *scanner, g *Group, _ *time.Time) {
	readObject(s, groupFields, func(f int) {
		switch f {
		case 0:
			s.stringField("guid", &g.GUID)
		case 1:
			s.stringField("name", &g.Name)
		case 2:
			s.stringField("owner_guid", &g.OwnerGUID)
		}
	})
}
