// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectaudit

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/csvline"
)

// entry is one audit entry. action and role may alias the line's bytes:
// copy them before the line's buffer is reused.
type entry struct {
	id       int64 // entry_id (current formats) or id (legacy)
	time     int64 // milliseconds since the Unix epoch
	actorID  int64
	hasActor bool
	action   []byte
	role     []byte // "" for legacy entries
	legacy   bool
}

// lineKind says what a line was.
type lineKind int

const (
	lineEntry  lineKind = iota // an audit entry
	lineBlank                  // empty or only blanks: ignored
	lineHeader                 // a legacy CSV header: ignored
	lineOther                  // not an audit entry (a mixed journal): skipped and counted
)

var (
	errQuote      = csvline.ErrQuote
	errSyntax     = errors.New("not key=value pairs")
	errJSON       = errors.New("invalid JSON object")
	errFieldCount = errors.New("fewer than 6 fields")
	errID         = errors.New("entry id is not a non-negative integer")
	errTime       = errors.New("time is not an RFC 3339 timestamp")
	errAction     = errors.New("action is empty")
	errActor      = errors.New("actor_id is not a non-negative integer")
	errUserID     = errors.New("user_id is not a non-negative integer")
	errEscape     = errors.New("invalid escape in a quoted value")
)

// utf8BOM may start a file saved by a text editor; it is ignored.
var utf8BOM = []byte("\xef\xbb\xbf")

// parseLine parses one line without its newline. The format is decided by
// the line itself: a JSON object (current JSON or legacy JSON, told apart by
// their keys), logfmt (the current TEXT format), or legacy CSV (a line
// starting with the entry id and a comma). A line with a prefix such as a
// syslog or journal header ("Oct 18 20:07:39 host rstudio-connect[812]: ")
// is read from what follows the prefix's ": ". Anything else is lineOther.
func parseLine(line []byte) (entry, lineKind, error) {
	s := csvline.TrimBlanks(bytes.TrimPrefix(line, utf8BOM))
	if len(s) == 0 {
		return entry{}, lineBlank, nil
	}
	switch {
	case s[0] == '{':
		return parseJSON(s)
	case legacyCSVStart(s) || bytes.HasPrefix(s, []byte("id,time,")):
		return parseLegacyCSV(s)
	case logfmtStart(s):
		return parseLogfmt(s)
	}
	if rest, ok := afterPrefix(s); ok {
		if rest[0] == '{' {
			return parseJSON(rest)
		}
		return parseLogfmt(rest)
	}
	return entry{}, lineOther, nil
}

// afterPrefix finds a logfmt or JSON record after the first ": " of s.
func afterPrefix(s []byte) ([]byte, bool) {
	_, rest, found := bytes.Cut(s, []byte(": "))
	if !found {
		return nil, false
	}
	rest = csvline.TrimLeftBlanks(rest)
	if len(rest) > 0 && (rest[0] == '{' || logfmtStart(rest)) {
		return rest, true
	}
	return nil, false
}

// logfmtStart reports whether s starts with key=, a key being letters,
// digits, '_', '.' or '-' and starting with a letter.
func logfmtStart(s []byte) bool {
	if len(s) == 0 || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '=':
			return true
		case isKeyByte(c):
		default:
			return false
		}
	}
	return false
}

// legacyCSVStart reports whether s starts with an unsigned integer field,
// quoted or not, followed by a comma.
func legacyCSVStart(s []byte) bool {
	quoted := len(s) > 0 && s[0] == '"'
	if quoted {
		s = s[1:]
	}
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	if quoted {
		return i+1 < len(s) && s[i] == '"' && s[i+1] == ','
	}
	return i < len(s) && s[i] == ','
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isKeyByte(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '_' || c == '.' || c == '-'
}

// parseUint parses a non-empty run of ASCII digits that fits in an int64.
func parseUint(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	for len(b) > 1 && b[0] == '0' {
		b = b[1:]
	}
	if len(b) > 19 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		d := int64(c - '0')
		if v > (1<<63-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// ---- logfmt (TEXT, Connect 2022.11 and later) ----

// logfmt field keys the parser reads.
const (
	keyTime     = "time"
	keyType     = "type"
	keyAction   = "action"
	keyActorID  = "actor_id"
	keyRole     = "actor_role"
	keyEntryID  = "entry_id"
	typeAudit   = "audit"
	keyLegacyID = "id"
	keyUserID   = "user_id"
)

// fields holds the raw values of the keys of interest; quoted reports that a
// value still has its quotes and escapes.
type fields struct {
	time, typ, action, actorID, role, entryID []byte
	hasTime, hasType, hasAction, hasActorID   bool
	hasRole, hasEntryID                       bool
	quotedAny                                 bool // some wanted value needs unquoting
}

// parseLogfmt parses key=value pairs separated by blanks. Values are bare
// (up to the next blank) or double-quoted with Go escapes (\" \\ \n \t
// \xNN \uNNNN ...), as Connect's logger writes them. A key may lack a value.
// A line that is not valid logfmt is an error; a valid one without
// type=audit is lineOther.
func parseLogfmt(s []byte) (entry, lineKind, error) {
	var f fields
	i := 0
	for {
		for i < len(s) && csvline.IsBlank(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		ks := i
		for i < len(s) && !keyStop[s[i]] {
			i++
		}
		key := s[ks:i]
		if len(key) == 0 {
			return entry{}, lineEntry, errSyntax
		}
		if i >= len(s) || csvline.IsBlank(s[i]) {
			continue // a key without a value
		}
		if s[i] == '"' {
			return entry{}, lineEntry, errSyntax
		}
		i++ // '='
		var val []byte
		quoted := false
		if i < len(s) && s[i] == '"' {
			end, ok := quotedEnd(s, i)
			if !ok {
				return entry{}, lineEntry, errQuote
			}
			val, quoted = s[i:end], true
			i = end
			if i < len(s) && !csvline.IsBlank(s[i]) {
				return entry{}, lineEntry, errQuote
			}
		} else {
			vs := i
			for i < len(s) && !valueStop[s[i]] {
				i++
			}
			if i < len(s) && s[i] == '"' {
				return entry{}, lineEntry, errQuote
			}
			val = s[vs:i]
		}
		f.set(key, val, quoted)
	}
	return f.entry()
}

// keyStop and valueStop mark the bytes that end a logfmt key (=, a blank,
// a quote) and a bare value (a blank, a quote).
var keyStop, valueStop = func() (k, v [256]bool) {
	for _, c := range []byte{' ', '\t', '\r', '"'} {
		k[c], v[c] = true, true
	}
	k['='] = true
	return k, v
}()

// quotedEnd returns the index just past the closing quote of the quoted
// string starting at s[i].
func quotedEnd(s []byte, i int) (int, bool) {
	j := i + 1
	for {
		k := bytes.IndexByte(s[j:], '"')
		if k < 0 {
			return 0, false
		}
		k += j
		// Escaped when preceded by an odd number of backslashes.
		n := 0
		for p := k - 1; p > i && s[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return k + 1, true
		}
		j = k + 1
	}
}

func (f *fields) set(key, val []byte, quoted bool) {
	switch string(key) {
	case keyTime:
		f.time, f.hasTime = val, true
	case keyType:
		f.typ, f.hasType = val, true
	case keyAction:
		f.action, f.hasAction = val, true
	case keyActorID:
		f.actorID, f.hasActorID = val, true
	case keyRole:
		f.role, f.hasRole = val, true
	case keyEntryID:
		f.entryID, f.hasEntryID = val, true
	default:
		return
	}
	if quoted {
		f.quotedAny = true
	}
}

// unquoteField returns a logfmt value without quotes and escapes.
func unquoteField(v []byte) ([]byte, error) {
	if len(v) < 2 || v[0] != '"' {
		return v, nil
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, nil
	}
	u, err := strconv.Unquote(string(v))
	if err != nil {
		return nil, errEscape
	}
	return []byte(u), nil
}

// entry validates the fields of a logfmt line.
func (f *fields) entry() (entry, lineKind, error) {
	if f.quotedAny {
		for _, p := range []*[]byte{&f.time, &f.typ, &f.action, &f.actorID, &f.role, &f.entryID} {
			v, err := unquoteField(*p)
			if err != nil {
				return entry{}, lineEntry, err
			}
			*p = v
		}
	}
	if !f.hasType || string(f.typ) != typeAudit {
		return entry{}, lineOther, nil
	}
	var e entry
	var ok bool
	if e.id, ok = parseUint(f.entryID); !ok {
		return entry{}, lineEntry, errID
	}
	if e.time, ok = parseTime(f.time); !ok {
		return entry{}, lineEntry, errTime
	}
	if e.action = f.action; len(e.action) == 0 {
		return entry{}, lineEntry, errAction
	}
	if e.actorID, ok = parseUint(f.actorID); !ok {
		return entry{}, lineEntry, errActor
	}
	e.hasActor, e.role = true, f.role
	return e, lineEntry, nil
}

// ---- legacy CSV (Connect up to 2022.10) ----

// csvFields returns the first five fields of a CSV line with quotes undone
// ("" inside quotes is one quote), and whether a sixth field follows. The
// sixth field (the event description, free text) is not examined: a
// description holding a newline continues on the next line, which is then
// not an audit entry.
func csvFields(s []byte) (f [5][]byte, sixth bool, err error) {
	for i := range f {
		var sep bool
		f[i], s, sep, err = csvline.Next(s, false)
		if err != nil {
			return f, false, err
		}
		if !sep {
			if i < 4 {
				return f, false, errFieldCount
			}
			return f, false, nil
		}
	}
	return f, true, nil
}

// parseLegacyCSV parses "id,time,user_id,user_description,action,
// event_description". user_id may be empty (no acting user).
func parseLegacyCSV(s []byte) (entry, lineKind, error) {
	f, sixth, err := csvFields(s)
	if err != nil {
		return entry{}, lineEntry, err
	}
	if string(f[0]) == "id" && string(f[1]) == "time" && string(f[4]) == "action" {
		return entry{}, lineHeader, nil
	}
	if !sixth {
		return entry{}, lineEntry, errFieldCount
	}
	e := entry{legacy: true}
	var ok bool
	if e.id, ok = parseUint(f[0]); !ok {
		return entry{}, lineEntry, errID
	}
	if e.time, ok = parseTime(f[1]); !ok {
		return entry{}, lineEntry, errTime
	}
	if len(f[2]) > 0 {
		if e.actorID, ok = parseUint(f[2]); !ok {
			return entry{}, lineEntry, errUserID
		}
		e.hasActor = true
	}
	if e.action = f[4]; len(e.action) == 0 {
		return entry{}, lineEntry, errAction
	}
	return e, lineEntry, nil
}
