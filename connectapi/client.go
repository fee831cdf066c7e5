// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package connectapi is a typed client for the parts of the Posit Connect
// Server API that the exporter reads: server settings and licence, users,
// groups, content, Shiny usage, content visits, audit logs, hosts and the
// active-user metrics. It knows nothing about Prometheus.
//
// Every method takes a context first. Tables are streamed page by page to a
// callback, so memory stays flat however many rows a server holds. Errors
// from the server are *APIError values that carry the status, Connect's error
// code and message, and never the API key.
package connectapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultMaxBodyBytes caps a single response body. The content list is the
// largest answer (one bare array of every item, a few KiB each).
const DefaultMaxBodyBytes = 256 << 20

// PageSize is the largest page Connect serves; both of Posit's clients use it.
const PageSize = 500

// maxPages guards every paging loop against a server that never ends one.
const maxPages = 1_000_000

// RequestObserver is told about every HTTP exchange: the route template
// (never a URL with ids or query), the status code (0 when no response
// arrived) and how long it took.
type RequestObserver func(endpoint string, status int, elapsed time.Duration)

// Client talks to one Connect server. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	http      *http.Client
	key       KeySource
	userAgent string
	maxBody   int64
	observe   RequestObserver
	limiter   chan struct{}
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (TLS settings, transport, timeout).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithAPIKey sets where the API key comes from.
func WithAPIKey(k KeySource) Option { return func(c *Client) { c.key = k } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithMaxBodyBytes caps response bodies; a larger body is an error.
func WithMaxBodyBytes(n int64) Option { return func(c *Client) { c.maxBody = n } }

// WithRequestObserver registers a function told about every request.
func WithRequestObserver(o RequestObserver) Option { return func(c *Client) { c.observe = o } }

// WithMaxConcurrentRequests bounds the requests in flight to this server,
// so that many scrapes at once cannot flood Connect. 0 means no bound.
func WithMaxConcurrentRequests(n int) Option {
	return func(c *Client) {
		if n > 0 {
			c.limiter = make(chan struct{}, n)
		}
	}
}

// NewClient returns a client for the Connect server at baseURL, for
// example "https://connect.example.com" (a path prefix is kept; a trailing
// "/__api__" is tolerated).
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	u, err := ParseServerURL(baseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{base: u, http: &http.Client{Timeout: 30 * time.Second}, maxBody: DefaultMaxBodyBytes}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// ParseServerURL checks a Connect server address and normalises it.
func ParseServerURL(raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("the Connect server URL is empty")
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("the Connect server URL %q does not parse: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("the Connect server URL %q must start with http:// or https://", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("the Connect server URL %q has no host", raw)
	}
	if u.User != nil {
		return nil, errors.New("the Connect server URL must not contain credentials; use the API key")
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/__api__")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// getJSON fetches an API path and decodes the JSON body into out.
func (c *Client) getJSON(ctx context.Context, endpoint string, q url.Values, out any) error {
	return c.get(ctx, endpoint, q, func(body io.Reader, _ *exchange) error {
		return json.NewDecoder(body).Decode(out)
	})
}

// exchange is what a decoder needs to know of the request it reads.
type exchange struct {
	endpoint, contentType string
	// key is the API key sent, redacted from anything an error keeps.
	key string
	// from and to are the hosts of a redirect that dropped the key.
	from, to string
}

// decodeError reports a body that is not what was expected.
func (x *exchange) decodeError(err error) error {
	return &DecodeError{Endpoint: x.endpoint, ContentType: x.contentType, Err: redactErr(err, x.key),
		RedirectFrom: x.from, RedirectTo: x.to}
}

// get issues GET /__api__<endpoint>?q and hands a successful body to decode.
// endpoint is a route template such as "/v1/users"; it names the request in
// errors and observations. The request holds a slot of the concurrency
// limit until decode returns.
func (c *Client) get(ctx context.Context, endpoint string, q url.Values, decode func(io.Reader, *exchange) error) (err error) {
	if c.limiter != nil {
		select {
		case c.limiter <- struct{}{}:
			defer func() { <-c.limiter }()
		case <-ctx.Done():
			return fmt.Errorf("GET %s: waiting for a free connection: %w", endpoint, ctx.Err())
		}
	}
	u := c.base.JoinPath("__api__", endpoint)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", endpoint, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	key := ""
	if c.key != nil {
		if key, err = c.key.Key(); err != nil {
			return fmt.Errorf("GET %s: %w", endpoint, err)
		}
		req.Header.Set("Authorization", "Key "+key)
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.observed(endpoint, 0, start)
		if ctxErr := ctx.Err(); ctxErr != nil {
			// The caller gave up (a walk's or a scrape's deadline): that
			// says nothing about whether Connect can be reached.
			return fmt.Errorf("GET %s: %w", endpoint, ctxErr)
		}
		return &TransportError{Endpoint: endpoint, Err: redactErr(scrubURL(err), key)}
	}
	defer resp.Body.Close()
	defer func() { c.observed(endpoint, resp.StatusCode, start) }()

	body := &cappedReader{r: resp.Body, left: c.maxBody}
	// Go's client drops the Authorization header when a redirect leads to
	// another host: whatever that host answers says nothing about the key.
	var from, to string
	if key != "" && resp.Request != nil && resp.Request.Header.Get("Authorization") == "" {
		from, to = u.Host, resp.Request.URL.Host
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := newAPIError(http.MethodGet, endpoint, resp, body, key)
		e.URL = withoutQuery(u)
		e.RedirectFrom, e.RedirectTo = from, to
		return e
	}
	x := &exchange{endpoint: endpoint, contentType: resp.Header.Get("Content-Type"), key: key, from: from, to: to}
	if err := decode(body, x); err != nil {
		if cb, ok := errors.AsType[*callbackError](err); ok {
			return cb.err
		}
		if _, ok := errors.AsType[*DecodeError](err); ok {
			return err
		}
		if errors.Is(err, ErrBodyTooLarge) {
			return fmt.Errorf("GET %s: %w (limit %d bytes)", endpoint, ErrBodyTooLarge, c.maxBody)
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("GET %s: reading the response: %w", endpoint, ctxErr)
		}
		if _, ok := errors.AsType[net.Error](err); ok {
			// The connection failed or timed out while the body came in.
			return &TransportError{Endpoint: endpoint, Err: redactErr(err, key)}
		}
		return x.decodeError(err)
	}
	return nil
}

// fetchBody reads the whole answer to GET endpoint?q into memory (a buffer
// from a pool: give it back with release). The concurrency slot is free
// again when it returns, so that decoding does not hold it.
func (c *Client) fetchBody(ctx context.Context, endpoint string, q url.Values) (*fetched, error) {
	f := &fetched{}
	err := c.get(ctx, endpoint, q, func(body io.Reader, x *exchange) error {
		f.x = *x
		f.buf = getBuffer()
		var err error
		*f.buf, err = readAll(body, (*f.buf)[:0])
		return err
	})
	if err != nil {
		f.release()
		return nil, err
	}
	return f, nil
}

// fetched is one answer's body.
type fetched struct {
	x   exchange
	buf *[]byte
}

func (f *fetched) body() []byte { return *f.buf }

func (f *fetched) release() {
	if f != nil && f.buf != nil {
		putBuffer(f.buf)
		f.buf = nil
	}
}

var bodyPool sync.Pool

// maxPooledBody is the largest buffer kept for reuse; a page is a few
// hundred KiB.
const maxPooledBody = 4 << 20

func getBuffer() *[]byte {
	if b, ok := bodyPool.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 256<<10)
	return &b
}

func putBuffer(b *[]byte) {
	if cap(*b) <= maxPooledBody {
		*b = (*b)[:0]
		bodyPool.Put(b)
	}
}

// readAll appends all of r to b.
func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// withoutQuery is u as text without its query and fragment.
func withoutQuery(u *url.URL) string {
	v := *u
	v.RawQuery, v.Fragment, v.User = "", "", nil
	return v.String()
}

func (c *Client) observed(endpoint string, status int, start time.Time) {
	if c.observe != nil {
		c.observe(endpoint, status, time.Since(start))
	}
}

// scrubURL drops the URL from *url.Error: the message names the request
// elsewhere, and a URL is the one place a careless caller might put a secret.
func scrubURL(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

// callbackError carries a caller's error through a streaming decoder
// untouched, so it is not mistaken for a bad response.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }

// cappedReader fails with ErrBodyTooLarge once more than left bytes are read.
type cappedReader struct {
	r    io.Reader
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// Probe one byte: a body of exactly the cap is fine.
		var one [1]byte
		if n, _ := c.r.Read(one[:]); n > 0 {
			return 0, ErrBodyTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
