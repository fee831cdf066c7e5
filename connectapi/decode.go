// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// This file is a JSON reader for the page shapes the client knows (users,
// Shiny sessions, visits, audit entries and their paging), several times
// faster than encoding/json's reflection. It accepts exactly what
// encoding/json's Unmarshal accepts into the same Go types and gives the
// same values (fuzz_test.go checks the two against each other), with two
// deliberate differences, both stricter: a page with two "results" members
// is an error, and a number where a count belongs names no Go type.
//
// It never panics: every read is bounds-checked, nesting is limited like
// encoding/json's (10,000 levels) and walked without recursion, and the
// first error stops the scan.

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// scanner reads one JSON document from b. Methods record the first error in
// err and move to the end of the input, so callers may check err once at
// the end of a loop.
type scanner struct {
	b     []byte
	i     int
	depth int
	err   error
	// strs interns short strings that repeat across records (GUIDs, user
	// agents, paths); nil means every string is allocated.
	strs *interner
	// secret is the API key, never to be quoted in an error's snippet.
	secret string
}

// syntaxError is a malformed document: where, and a printable snippet of
// the input around it (the client redacts the API key from it).
type syntaxError struct {
	msg    string
	offset int
	near   string
}

func (e *syntaxError) Error() string {
	if e.near == "" {
		return fmt.Sprintf("%s at byte %d", e.msg, e.offset)
	}
	return fmt.Sprintf("%s at byte %d, near %q", e.msg, e.offset, e.near)
}

// valueError is a well-formed value of the wrong kind for its field.
type valueError struct {
	field string
	msg   string
}

func (e *valueError) Error() string { return fmt.Sprintf("%s: %s", e.field, e.msg) }

func (s *scanner) syntax(format string, args ...any) {
	if s.err == nil {
		at := min(s.i, len(s.b))
		// A snippet around the error, widened by the key's length so that
		// a key cut at the window's edge is still whole when redacted.
		w := 20 + len(s.secret)
		lo := max(at-w, 0)
		hi := min(at+w, len(s.b))
		near := redacted(string(s.b[lo:hi]), s.secret)
		s.err = &syntaxError{msg: fmt.Sprintf(format, args...), offset: at, near: printable([]byte(near), 60+2*len(s.secret))}
	}
	s.i = len(s.b)
}

func (s *scanner) wrongValue(field, format string, args ...any) {
	if s.err == nil {
		s.err = &valueError{field: field, msg: fmt.Sprintf(format, args...)}
	}
	s.i = len(s.b)
}

// cur is the byte at s.i, 0 at the end.
func (s *scanner) cur() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// ws skips whitespace and returns the next byte, 0 at the end.
func (s *scanner) ws() byte {
	for s.i < len(s.b) {
		switch c := s.cur(); c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// end checks that nothing but whitespace follows the document.
func (s *scanner) end() {
	s.ws()
	if s.i < len(s.b) && s.err == nil {
		s.syntax("invalid character %s after the top-level value", quoteByte(s.b[s.i]))
	}
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("0x%02x", c)
}

// kind names what the next value is, for messages.
func kindOf(c byte) string {
	switch c {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "a number"
	}
	return "an invalid character"
}

// push enters an object or array.
func (s *scanner) push() bool {
	s.depth++
	if s.depth > maxDepth {
		s.syntax("nesting deeper than %d levels", maxDepth)
		return false
	}
	return true
}

// objectStart consumes '{'. The caller has checked the byte.
func (s *scanner) objectStart() bool {
	s.i++
	return s.push()
}

// field reads the next member name of an object whose '{' was consumed; ok
// is false at the closing '}' (consumed) or on error. first must be true
// for the first call on an object.
func (s *scanner) field(first *bool) (key []byte, ok bool) {
	c := s.ws()
	if *first {
		*first = false
		if c == '}' {
			s.i++
			s.depth--
			return nil, false
		}
	} else {
		switch c {
		case '}':
			s.i++
			s.depth--
			return nil, false
		case ',':
			s.i++
			c = s.ws()
		default:
			s.unexpected(c, "after an object member")
			return nil, false
		}
	}
	if c != '"' {
		s.unexpected(c, "looking for the beginning of a member name")
		return nil, false
	}
	raw, simple := s.stringRaw()
	if s.err != nil {
		return nil, false
	}
	if !simple {
		raw = []byte(unquoteSlow(raw))
	}
	if s.ws() != ':' {
		s.unexpected(s.ws(), "after a member name")
		return nil, false
	}
	s.i++
	s.ws()
	return raw, true
}

// unexpected reports the byte c at s.i, or the end of the input, where
// something else belongs.
func (s *scanner) unexpected(c byte, context string) {
	if s.i >= len(s.b) {
		s.fail()
		return
	}
	s.syntax("invalid character %s %s", quoteByte(c), context)
}

// arrayStart consumes '['. The caller has checked the byte.
func (s *scanner) arrayStart() bool {
	s.i++
	return s.push()
}

// elem reports whether another element follows in an array whose '[' was
// consumed; false at the closing ']' (consumed) or on error.
func (s *scanner) elem(first *bool) bool {
	c := s.ws()
	if *first {
		*first = false
		if c == ']' {
			s.i++
			s.depth--
			return false
		}
		if s.i >= len(s.b) {
			return s.fail()
		}
		return s.err == nil
	}
	switch c {
	case ']':
		s.i++
		s.depth--
		return false
	case ',':
		s.i++
		s.ws()
		return s.err == nil
	}
	s.unexpected(c, "after an array element")
	return false
}

func (s *scanner) fail() bool {
	s.syntax("unexpected end of input")
	return false
}

// stringRaw reads a string whose opening quote is at s.i and returns what is
// between the quotes. simple means no escapes and valid UTF-8: the bytes are
// the value.
func (s *scanner) stringRaw() (raw []byte, simple bool) {
	b := s.b
	start := s.i + 1
	i := start
	// The common case: printable ASCII up to the closing quote.
	for i < len(b) && plain[b[i]] {
		i++
	}
	if i < len(b) && b[i] == '"' {
		s.i = i + 1
		return b[start:i], true
	}
	simple = true
	ascii := true
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			raw = b[start:i]
			s.i = i + 1
			if !ascii && !utf8.Valid(raw) {
				simple = false
			}
			return raw, simple
		case c == '\\':
			simple = false
			if i+1 >= len(b) {
				s.i = i
				s.fail()
				return nil, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					s.i = len(b)
					s.fail()
					return nil, false
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						s.i = i
						s.syntax("invalid character %s in a \\u escape", quoteByte(h))
						return nil, false
					}
				}
				i += 6
			default:
				s.i = i
				s.syntax("invalid escape \\%c in a string", b[i+1])
				return nil, false
			}
		case c < 0x20:
			s.i = i
			s.syntax("invalid control character %s in a string", quoteByte(c))
			return nil, false
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
			i++
		}
	}
	s.i = len(b)
	s.fail()
	return nil, false
}

// plain marks the bytes a string holds as they are: printable ASCII but
// the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unquoteSlow decodes the inside of a checked JSON string with escapes or
// invalid UTF-8, exactly as encoding/json does (invalid bytes become
// U+FFFD).
func unquoteSlow(raw []byte) string {
	q := make([]byte, 0, len(raw)+2)
	q = append(q, '"')
	q = append(q, raw...)
	q = append(q, '"')
	var out string
	if err := json.Unmarshal(q, &out); err != nil {
		// Unreachable: stringRaw checked the syntax. Keep the bytes.
		return string(raw)
	}
	return out
}

// str reads a string value at s.i ('"' checked by the caller).
func (s *scanner) str() string {
	raw, simple := s.stringRaw()
	if s.err != nil {
		return ""
	}
	if !simple {
		return unquoteSlow(raw)
	}
	if s.strs != nil {
		return s.strs.get(raw)
	}
	return string(raw)
}

// literal reads true, false or null at s.i.
func (s *scanner) literal(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	s.syntax("invalid literal (want %s)", word)
	return false
}

// number reads a number at s.i and returns its text.
func (s *scanner) number() []byte {
	b := s.b
	start := s.i
	i := start
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		s.i = i
		s.syntax("invalid number")
		return nil
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			s.i = i
			s.syntax("invalid number (no digit after the decimal point)")
			return nil
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			s.i = i
			s.syntax("invalid number (no digit in the exponent)")
			return nil
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	s.i = i
	return b[start:i]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// skip reads and checks one value of any kind, without recursion.
func (s *scanner) skip() {
	// The containers opened here, innermost last: true for an object.
	open := make([]bool, 0, 16)
	for s.err == nil {
		// A value starts here.
		switch c := s.ws(); c {
		case '"':
			s.stringRaw()
		case '{':
			if !s.objectStart() {
				return
			}
			open = append(open, true)
			if s.ws() != '}' {
				s.memberName()
				continue // its value
			}
			s.i++
			s.depth--
			open = open[:len(open)-1]
		case '[':
			if !s.arrayStart() {
				return
			}
			open = append(open, false)
			if s.ws() != ']' {
				continue // the first element
			}
			s.i++
			s.depth--
			open = open[:len(open)-1]
		case 't':
			s.literal("true")
		case 'f':
			s.literal("false")
		case 'n':
			s.literal("null")
		default:
			if c == '-' || isDigit(c) {
				s.number()
			} else {
				s.unexpected(c, "looking for the beginning of a value")
				return
			}
		}
		// A value ended: close the containers that end here, then go on
		// with the next element or member.
		for s.err == nil {
			if len(open) == 0 {
				return
			}
			obj := open[len(open)-1]
			c := s.ws()
			if c == ',' {
				s.i++
				if obj {
					s.memberName()
				}
				break
			}
			if obj && c == '}' || !obj && c == ']' {
				s.i++
				s.depth--
				open = open[:len(open)-1]
				continue
			}
			s.unexpected(c, "after a value")
			return
		}
	}
}

// memberName reads a member name and its colon during skip.
func (s *scanner) memberName() {
	if c := s.ws(); c != '"' {
		s.unexpected(c, "looking for the beginning of a member name")
		return
	}
	s.stringRaw()
	if s.err != nil {
		return
	}
	if c := s.ws(); c != ':' {
		s.unexpected(c, "after a member name")
		return
	}
	s.i++
}

// --- typed values ---

// stringField reads a string into *dst; null leaves it unchanged.
func (s *scanner) stringField(field string, dst *string) {
	switch c := s.cur(); c {
	case '"':
		*dst = s.str()
	case 'n':
		s.literal("null")
	default:
		s.mismatch(field, "a string", c)
	}
}

// mismatch reports a value of the wrong kind, after checking that it is
// well-formed (a syntax error anywhere wins, as in encoding/json).
func (s *scanner) mismatch(field, want string, c byte) {
	if s.i >= len(s.b) {
		s.fail()
		return
	}
	s.skip()
	s.wrongValue(field, "want %s, got %s", want, kindOf(c))
}

// boolField reads true or false; null leaves *dst unchanged.
func (s *scanner) boolField(field string, dst *bool) {
	switch c := s.cur(); c {
	case 't':
		if s.literal("true") {
			*dst = true
		}
	case 'f':
		if s.literal("false") {
			*dst = false
		}
	case 'n':
		s.literal("null")
	default:
		s.mismatch(field, "true or false", c)
	}
}

// intField reads a whole number; null leaves *dst unchanged.
func (s *scanner) intField(field string, dst *int) {
	switch c := s.cur(); {
	case c == '-' || isDigit(c):
		text := s.number()
		if s.err != nil {
			return
		}
		n, err := strconv.ParseInt(string(text), 10, 64)
		if err != nil {
			s.wrongValue(field, "want a whole number, got %.40s", text)
			return
		}
		*dst = int(n)
	case c == 'n':
		s.literal("null")
	case c == '"':
		raw, _ := s.stringRaw()
		s.wrongValue(field, "want a number, got a string (%.40q)", redacted(string(raw), s.secret))
	default:
		s.mismatch(field, "a number", c)
	}
}

// intPtrField reads a whole number or null (nil).
func (s *scanner) intPtrField(field string, dst **int) {
	if s.cur() == 'n' {
		if s.literal("null") {
			*dst = nil
		}
		return
	}
	var n int
	if *dst != nil {
		n = **dst
	}
	s.intField(field, &n)
	if s.err == nil {
		*dst = &n
	}
}

// timeField reads an RFC 3339 time exactly as time.Time's UnmarshalJSON
// does (which sees the raw text between the quotes); null leaves *dst
// unchanged.
func (s *scanner) timeField(field string, dst *time.Time) {
	switch c := s.cur(); c {
	case '"':
		start := s.i
		raw, _ := s.stringRaw()
		if s.err != nil {
			return
		}
		t, err := parseTime(raw, s.b[start:s.i])
		if err != nil {
			s.wrongValue(field, "%v", err)
			return
		}
		*dst = t
	case 'n':
		s.literal("null")
	default:
		s.mismatch(field, "a time (RFC 3339 string)", c)
	}
}

// timePtrField reads a time into *slot and points *dst at it, or null
// (nil).
func (s *scanner) timePtrField(field string, dst **time.Time, slot *time.Time) {
	if s.cur() == 'n' {
		if s.literal("null") {
			*dst = nil
		}
		return
	}
	if *dst != nil {
		*slot = **dst
	} else {
		*slot = time.Time{}
	}
	s.timeField(field, slot)
	if s.err == nil {
		*dst = slot
	}
}

// flexField reads a string, a number (its text) or null ("") as FlexString
// does.
func (s *scanner) flexField(field string, dst *FlexString) {
	switch c := s.cur(); {
	case c == '"':
		*dst = FlexString(s.str())
	case c == 'n':
		if s.literal("null") {
			*dst = ""
		}
	case c == '-' || isDigit(c):
		text := s.number()
		if s.err == nil {
			*dst = FlexString(s.intern(text))
		}
	default:
		s.mismatch(field, "a string or number", c)
	}
}

func (s *scanner) intern(b []byte) string {
	if s.strs != nil {
		return s.strs.get(b)
	}
	return string(b)
}

// interner shares one string per distinct value among the records of a
// walk, so that a GUID seen on every page is allocated once. It is a
// direct-mapped cache: a string whose slot holds another is allocated and
// takes the slot, so memory is bounded and a lookup is one hash and one
// comparison.
type interner struct {
	slots *[internSlots]string
}

const (
	internSlots = 1 << 13
	internMax   = 128 // longer strings are not kept
)

func (in *interner) get(b []byte) string {
	if len(b) > internMax || len(b) == 0 {
		return string(b)
	}
	if in.slots == nil {
		in.slots = new([internSlots]string)
	}
	slot := &in.slots[internHash(b)&(internSlots-1)]
	if *slot == string(b) {
		return *slot
	}
	v := string(b)
	*slot = v
	return v
}

// internHash mixes the length and up to 16 bytes from each end: enough to
// tell GUIDs, user agents and paths apart.
func internHash(b []byte) uint64 {
	var x, y uint64
	if len(b) >= 8 {
		x = binary.LittleEndian.Uint64(b)
		y = binary.LittleEndian.Uint64(b[len(b)-8:])
	} else {
		for _, c := range b {
			x = x<<8 | uint64(c)
		}
	}
	h := (x^uint64(len(b)))*0x9e3779b97f4a7c15 ^ y*0xc2b2ae3d27d4eb4f
	return h ^ h>>31
}
