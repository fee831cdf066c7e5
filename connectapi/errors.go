// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrUnsupported means the server does not have the endpoint: Connect
// answers an unknown route with a 404 that carries no error code, which is
// how Posit's own clients detect an older server.
var ErrUnsupported = errors.New("endpoint not supported by this Connect server")

// ErrBodyTooLarge means a response was larger than the configured cap.
var ErrBodyTooLarge = errors.New("response body too large")

// ErrStopPaging ends paging early, without error, when a page callback returns it.
var ErrStopPaging = errors.New("stop paging")

// maxErrorBody bounds how much of an error body is read.
const maxErrorBody = 64 << 10

// maxErrorMessage bounds Connect's error message as an error keeps it.
const maxErrorMessage = 500

// APIError is a non-2xx answer from Connect. It never holds the API key:
// a key echoed in the answer (by Connect or a proxy) is redacted.
type APIError struct {
	Method   string
	Endpoint string // route template, e.g. "/v1/users"
	// URL is the address asked, without the query: scheme, host, path
	// prefix and /__api__ path. A 404 names it, so that a missing or
	// wrong path prefix shows.
	URL        string
	StatusCode int
	// Code is Connect's application error code; HasCode is false when the
	// body carried none (an unknown route, or a proxy's page).
	Code    int
	HasCode bool
	Message string
	// RetryAfter is the server's Retry-After on 429 and 503 answers.
	RetryAfter time.Duration
	// RedirectFrom and RedirectTo are set when the request was redirected
	// to another host, where the API key is not sent (Go's HTTP client
	// drops the Authorization header across hosts): the answer says
	// nothing about the key.
	RedirectFrom, RedirectTo string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: HTTP %d", e.Method, e.Endpoint, e.StatusCode)
	if e.StatusCode == http.StatusNotFound && e.URL != "" {
		fmt.Fprintf(&b, " from %s", e.URL)
	}
	if e.HasCode {
		fmt.Fprintf(&b, " (Connect error code %d)", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	switch {
	case e.RedirectTo != "":
		fmt.Fprintf(&b, "; the API key was not sent across hosts (redirect from %s to %s): use the address Connect redirects to", e.RedirectFrom, e.RedirectTo)
	case e.StatusCode == http.StatusUnauthorized:
		b.WriteString("; the API key is invalid, expired or missing")
	case e.StatusCode == http.StatusForbidden:
		b.WriteString("; the API key lacks permission (an administrator key is needed)")
	case e.StatusCode == http.StatusNotFound && !e.HasCode:
		b.WriteString("; check the server URL and its path prefix")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrUnsupported) true for a 404 without a code,
// and errors.Is(err, ErrKeyNotSent) true after a redirect to another host.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnsupported:
		return e.StatusCode == http.StatusNotFound && !e.HasCode && e.RedirectTo == ""
	case ErrKeyNotSent:
		return e.RedirectTo != ""
	}
	return false
}

// ErrKeyNotSent matches an *APIError answered by another host than the one
// asked, after a redirect: the API key was not sent there, so a 401 or 403
// from it does not mean the key is wrong.
var ErrKeyNotSent = errors.New("the API key was not sent across hosts")

// TransportError means no HTTP answer arrived (connection refused, TLS
// failure, timeout).
type TransportError struct {
	Endpoint string
	Err      error
}

func (e *TransportError) Error() string {
	if ne, ok := errors.AsType[net.Error](e.Err); ok && ne.Timeout() {
		return fmt.Sprintf("GET %s: no answer from Connect within the request timeout: %v", e.Endpoint, e.Err)
	}
	return fmt.Sprintf("GET %s: cannot reach Connect: %v", e.Endpoint, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// DecodeError means a 2xx answer whose body was not the expected JSON
// (truncated, invalid, or an HTML page from a proxy).
type DecodeError struct {
	Endpoint    string
	ContentType string
	Err         error
	// RedirectFrom and RedirectTo are set when another host answered
	// after a redirect (a login page, say), without the API key.
	RedirectFrom, RedirectTo string
}

func (e *DecodeError) Error() string {
	ct := e.ContentType
	if ct == "" {
		ct = "no content type"
	}
	msg := fmt.Sprintf("GET %s: invalid JSON response (%s): %v", e.Endpoint, ct, e.Err)
	if e.RedirectTo != "" {
		msg += fmt.Sprintf("; the API key was not sent across hosts (redirect from %s to %s): use the address Connect redirects to", e.RedirectFrom, e.RedirectTo)
	}
	return msg
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrKeyNotSent) true after a redirect to another
// host.
func (e *DecodeError) Is(target error) bool { return target == ErrKeyNotSent && e.RedirectTo != "" }

// IsAuthError reports whether err is a 401 or 403 from Connect (not from a
// host a redirect led to, which never saw the key: see ErrKeyNotSent).
func IsAuthError(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.RedirectTo == "" &&
		(ae.StatusCode == http.StatusUnauthorized || ae.StatusCode == http.StatusForbidden)
}

// IsUnreachable reports whether err means Connect could not be reached.
func IsUnreachable(err error) bool {
	var te *TransportError
	return errors.As(err, &te)
}

// RetryAfter returns the wait a 429/503 answer asked for, if any.
func RetryAfter(err error) (time.Duration, bool) {
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return ae.RetryAfter, true
	}
	return 0, false
}

// redacted replaces the API key in text with [REDACTED]. Keys shorter than
// minRedact characters (never a real Connect key) are redacted only after
// "Key ", so that a test's one-letter key does not mangle every message.
func redacted(text, key string) string {
	if key == "" {
		return text
	}
	if len(key) < minRedact {
		return strings.ReplaceAll(text, "Key "+key, "Key [REDACTED]")
	}
	return strings.ReplaceAll(text, key, "[REDACTED]")
}

const minRedact = 6

// redactedError is an error whose text held the API key. It keeps the
// original's timeout-ness but not the original: nothing that unwraps it
// can reach the key.
type redactedError struct {
	msg     string
	timeout bool
}

func (e *redactedError) Error() string { return e.msg }

// Timeout implements net.Error's Timeout, so that timeouts stay timeouts.
func (e *redactedError) Timeout() bool { return e.timeout }

// Temporary implements net.Error.
func (e *redactedError) Temporary() bool { return false }

// redactErr returns err, or a redactedError when its text holds the key.
func redactErr(err error, key string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if r := redacted(msg, key); r != msg {
		ne, ok := errors.AsType[net.Error](err)
		return &redactedError{msg: r, timeout: ok && ne.Timeout()}
	}
	return err
}

type errorBody struct {
	Code  *int   `json:"code"`
	Error string `json:"error"`
}

// newAPIError reads a non-2xx answer. key is the API key sent, redacted
// from everything the error keeps of the body.
func newAPIError(method, endpoint string, resp *http.Response, body io.Reader, key string) *APIError {
	e := &APIError{Method: method, Endpoint: endpoint, StatusCode: resp.StatusCode}
	raw, _ := io.ReadAll(io.LimitReader(body, maxErrorBody))
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var eb errorBody
	if json.Unmarshal(raw, &eb) == nil && (eb.Code != nil || eb.Error != "") {
		if eb.Code != nil {
			e.Code, e.HasCode = *eb.Code, true
		}
		e.Message = clip(redacted(eb.Error, key), maxErrorMessage)
	} else if mediaType == "text/html" || looksLikeHTML(raw) {
		e.Message = "non-JSON error page (text/html), probably from a proxy in front of Connect"
	} else if len(raw) > 0 {
		// Redact before cutting: a cut through the key would keep part of it.
		e.Message = "non-JSON error body: " + printable([]byte(redacted(string(raw), key)), 120)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return e
}

func looksLikeHTML(b []byte) bool {
	s := strings.ToLower(strings.TrimSpace(string(b[:min(len(b), 64)])))
	return strings.HasPrefix(s, "<!doctype html") || strings.HasPrefix(s, "<html")
}

// clip cuts s to at most n bytes, at a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// printable keeps the first n printable ASCII bytes of b.
func printable(b []byte, n int) string {
	var sb strings.Builder
	for _, c := range b {
		if sb.Len() >= n {
			sb.WriteString("…")
			break
		}
		if c >= 0x20 && c < 0x7f {
			sb.WriteByte(c)
		} else {
			sb.WriteByte(' ')
		}
	}
	return strings.TrimSpace(sb.String())
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
