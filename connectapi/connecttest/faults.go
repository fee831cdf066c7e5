// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// FaultKind is a way for requests to fail.
type FaultKind int

const (
	// FaultDown stops listening: new connections are refused and open
	// ones are closed. Path and Times are ignored; ClearFaults listens
	// again on the same port. With Handler() only (no Start), matching
	// connections are closed without a response instead.
	FaultDown FaultKind = iota + 1
	// FaultSlow sleeps Delay (or until the request is canceled), then
	// answers normally.
	FaultSlow
	// FaultUnauthorized answers 401 {"code":30,"error":"Invalid login."}.
	FaultUnauthorized
	// FaultForbidden answers 403 {"code":22,...}.
	FaultForbidden
	// FaultRateLimited answers 429 with Retry-After (seconds, from
	// RetryAfter rounded up, at least 1).
	FaultRateLimited
	// FaultServerError answers 500 with a JSON error body.
	FaultServerError
	// FaultTruncatedJSON answers 200 with the first half of the real body
	// (no Content-Length; the body just ends).
	FaultTruncatedJSON
	// FaultProxyHTML answers 502 text/html, as nginx in front of Connect.
	FaultProxyHTML
	// FaultHugeBody answers 200 with the real response padded to Size
	// bytes (default 64 MiB) of valid JSON: an extra "padding" string
	// member for objects, leading whitespace for arrays.
	FaultHugeBody
	// FaultConnReset closes the connection without answering.
	FaultConnReset
)

var faultNames = map[FaultKind]string{
	FaultDown: "down", FaultSlow: "slow", FaultUnauthorized: "unauthorized", FaultForbidden: "forbidden",
	FaultRateLimited: "rate-limited", FaultServerError: "server-error", FaultTruncatedJSON: "truncated-json",
	FaultProxyHTML: "proxy-html", FaultHugeBody: "huge-body", FaultConnReset: "conn-reset",
}

func (k FaultKind) String() string {
	if n, ok := faultNames[k]; ok {
		return n
	}
	return "fault(" + strconv.Itoa(int(k)) + ")"
}

// Fault makes matching requests fail.
type Fault struct {
	Kind       FaultKind
	Path       string        // path prefix, e.g. "/__api__/v1/users"; "" matches all
	Page       int           // if not 0, only requests for page_number=Page (offset paging)
	Times      int           // fail the next Times matching requests, then clear; 0: until cleared
	Delay      time.Duration // FaultSlow
	RetryAfter time.Duration // FaultRateLimited
	Size       int           // FaultHugeBody: body size in bytes; default 64 MiB
	// Echo makes the error answers (401, 403, 500, the proxy's 502) repeat
	// the request's Authorization header in their body, as some proxies
	// and debugging middleware do.
	Echo bool
}

type faultState struct {
	Fault
	left int
}

// SetFault adds a fault. Faults are checked in the order they were set; the
// first one matching a request applies.
func (s *Server) SetFault(f Fault) {
	if f.Kind == FaultDown {
		s.fmu.Lock()
		s.down = true
		s.fmu.Unlock()
		s.goDown()
		return
	}
	s.fmu.Lock()
	s.faults = append(s.faults, &faultState{Fault: f, left: f.Times})
	s.fmu.Unlock()
}

// ClearFaults removes all faults. A server that was down listens again on
// the same port (ListenErr reports if that failed).
func (s *Server) ClearFaults() {
	s.fmu.Lock()
	s.faults = nil
	wasDown := s.down
	s.down = false
	s.fmu.Unlock()
	if wasDown {
		err := s.goUp()
		s.lmu.Lock()
		s.listenErr = err
		s.lmu.Unlock()
	}
}

// ListenErr returns the error of the last attempt to listen again after
// FaultDown was cleared, or nil.
func (s *Server) ListenErr() error {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	return s.listenErr
}

// takeFault returns the fault that applies to r, consuming one use of a
// Times-limited fault.
func (s *Server) takeFault(r *http.Request) (Fault, bool) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.down {
		return Fault{Kind: FaultDown}, true
	}
	for i, f := range s.faults {
		if !strings.HasPrefix(r.URL.Path, f.Path) || (f.Page != 0 && f.Page != requestPage(r)) {
			continue
		}
		if f.Times > 0 {
			f.left--
			if f.left <= 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return f.Fault, true
	}
	return Fault{}, false
}

func hijackClose(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			_ = c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

const proxyHTML = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx/1.24.0</center>
</body>
</html>
`

// writeFault answers a request failing with f. body is the normal answer
// (used by the truncated and huge faults). It reports whether it answered;
// FaultSlow returns false after its delay so the normal answer follows.
func (s *Server) writeFault(w http.ResponseWriter, r *http.Request, f Fault, normal func() response) bool {
	h := w.Header()
	switch f.Kind {
	case FaultDown, FaultConnReset:
		hijackClose(w)
	case FaultSlow:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return true
		case <-t.C:
		}
		return false
	case FaultUnauthorized:
		writeJSON(w, http.StatusUnauthorized, echoed(errInvalidLogin, r, f.Echo))
	case FaultForbidden:
		writeJSON(w, http.StatusForbidden, echoed(errPermission, r, f.Echo))
	case FaultRateLimited:
		secs := int((f.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(max(secs, 1)))
		writeJSON(w, http.StatusTooManyRequests, []byte(`{"code":277,"error":"Rate limit exceeded. Try again later.","payload":null}`))
	case FaultServerError:
		writeJSON(w, http.StatusInternalServerError, echoed([]byte(`{"code":1,"error":"An internal error occurred.","payload":null}`), r, f.Echo))
	case FaultProxyHTML:
		h.Set("Content-Type", "text/html")
		h.Set("Server", "nginx/1.24.0")
		w.WriteHeader(http.StatusBadGateway)
		body := proxyHTML
		if f.Echo {
			body = strings.Replace(body, "</body>", "<pre>Authorization: "+r.Header.Get("Authorization")+"</pre>\n</body>", 1)
		}
		_, _ = w.Write([]byte(body))
	case FaultTruncatedJSON:
		resp := normal()
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(resp.body[:len(resp.body)/2])
	case FaultHugeBody:
		resp := normal()
		writeHuge(w, resp.body, f.Size)
	default:
		return false
	}
	return true
}

// echoed puts the request's Authorization header into a JSON error body:
// in the message and in the payload.
func echoed(body []byte, r *http.Request, echo bool) []byte {
	if !echo {
		return body
	}
	auth := r.Header.Get("Authorization")
	b := []byte(`{"code":30,"error":`)
	b = appendJSONString(b, "Request rejected (Authorization: "+auth+")")
	b = append(b, `,"payload":{"authorization":`...)
	b = appendJSONString(b, auth)
	b = append(b, `,"original":`...)
	b = append(b, body...)
	return append(b, `}}`...)
}

func writeHuge(w http.ResponseWriter, body []byte, size int) {
	if size <= 0 {
		size = 64 << 20
	}
	pad := max(size-len(body), 0)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	obj := len(trimmed) > 0 && trimmed[0] == '{'
	chunk := bytes.Repeat([]byte{' '}, 64<<10)
	if obj {
		chunk = bytes.Repeat([]byte{'x'}, 64<<10)
		_, _ = w.Write([]byte(`{"padding":"`))
	}
	for pad > 0 {
		n := min(pad, len(chunk))
		if _, err := w.Write(chunk[:n]); err != nil {
			return
		}
		pad -= n
	}
	if obj {
		rest := bytes.TrimSpace(trimmed[1:])
		if len(rest) > 0 && rest[0] != '}' {
			_, _ = w.Write([]byte(`",`))
		} else {
			_, _ = w.Write([]byte(`"`))
		}
		_, _ = w.Write(rest)
		return
	}
	_, _ = w.Write(body)
}
