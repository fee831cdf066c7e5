// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
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

// APIError is a non-2xx answer from Connect. It never holds the API key.
type APIError struct {
	Method     string
	Endpoint   string // route template, e.g. "/v1/users"
	StatusCode int
	// Code is Connect's application error code; HasCode is false when the
	// body carried none (an unknown route, or a proxy's page).
	Code    int
	HasCode bool
	Message string
	// RetryAfter is the server's Retry-After on 429 and 503 answers.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: HTTP %d", e.Method, e.Endpoint, e.StatusCode)
	if e.HasCode {
		fmt.Fprintf(&b, " (Connect error code %d)", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	switch e.StatusCode {
	case http.StatusUnauthorized:
		b.WriteString("; the API key is invalid, expired or missing")
	case http.StatusForbidden:
		b.WriteString("; the API key lacks permission (an administrator key is needed)")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrUnsupported) true for a 404 without a code.
func (e *APIError) Is(target error) bool {
	return target == ErrUnsupported && e.StatusCode == http.StatusNotFound && !e.HasCode
}

// TransportError means no HTTP answer arrived (connection refused, TLS
// failure, timeout).
type TransportError struct {
	Endpoint string
	Err      error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("GET %s: cannot reach Connect: %v", e.Endpoint, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// DecodeError means a 2xx answer whose body was not the expected JSON
// (truncated, invalid, or an HTML page from a proxy).
type DecodeError struct {
	Endpoint    string
	ContentType string
	Err         error
}

func (e *DecodeError) Error() string {
	ct := e.ContentType
	if ct == "" {
		ct = "no content type"
	}
	return fmt.Sprintf("GET %s: invalid JSON response (%s): %v", e.Endpoint, ct, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// IsAuthError reports whether err is a 401 or 403 from Connect.
func IsAuthError(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.StatusCode == http.StatusUnauthorized || ae.StatusCode == http.StatusForbidden)
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

type errorBody struct {
	Code  *int   `json:"code"`
	Error string `json:"error"`
}

func newAPIError(method, endpoint string, resp *http.Response, body io.Reader) *APIError {
	e := &APIError{Method: method, Endpoint: endpoint, StatusCode: resp.StatusCode}
	raw, _ := io.ReadAll(io.LimitReader(body, maxErrorBody))
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var eb errorBody
	if json.Unmarshal(raw, &eb) == nil && (eb.Code != nil || eb.Error != "") {
		if eb.Code != nil {
			e.Code, e.HasCode = *eb.Code, true
		}
		e.Message = eb.Error
	} else if mediaType == "text/html" || looksLikeHTML(raw) {
		e.Message = "non-JSON error page (text/html), probably from a proxy in front of Connect"
	} else if len(raw) > 0 {
		e.Message = "non-JSON error body: " + printable(raw, 120)
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
