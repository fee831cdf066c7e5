// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultAPIKey is the key a Server accepts when Config.APIKey is empty.
const DefaultAPIKey = "connecttest-api-key"

// DefaultPageHost is the host paging links are built on by default. It is not
// the address the server listens on: clients must not follow these links.
const DefaultPageHost = "http://localhost:3443"

// LicenseStyle selects the JSON types used in server_settings.license.
type LicenseStyle int

const (
	// LicenseTyped uses numbers and booleans, like Connect 2024.09
	// ("users": 0, "allow-apis": true, "users-grace": "true").
	LicenseTyped LicenseStyle = iota
	// LicenseStrings uses strings for counts and flags, like Connect 2023.11
	// ("users": "20", "user-activity-days": "365", "allow-apis": "1"), with
	// ts, expiration and days-left numbers and has-key/has-trial booleans
	// exactly as recorded.
	LicenseStrings
	// LicenseAllStrings makes every licence value a JSON string, including
	// ts, expiration and days-left. Not observed; for lenient decoders.
	LicenseAllStrings
)

// Config describes the simulated server. The zero value is a valid, empty
// server; scale fields default to zero.
type Config struct {
	Seed int64 // deterministic data

	Users, Content, Groups int

	// Historical events generated over History.
	ShinySessions, Visits, AuditEntries int

	History time.Duration    // default 400*24h
	Now     func() time.Time // clock; default time.Now

	APIKey  string // the only valid key; default DefaultAPIKey
	Version string // server_settings.version; "" means the field is absent

	LicenseSeats        int       // license.users; 0 means not enforced
	LicenseExpiry       time.Time // default: one year after Now at New
	LicenseActivityDays int       // license.user-activity-days; default 365
	LicenseStyle        LicenseStyle

	PageHost string // host of absolute paging links; default DefaultPageHost

	// UserPrefix is prepended to generated usernames and email local parts,
	// so that servers with different seeds do not share users by accident.
	// Use AddUser to create deliberately shared users.
	UserPrefix string

	Hosts int // entries in /v1/system/hosts; default 1

	// Latency delays every answer, to model a slow database (see
	// SetLatency to change it while the server runs).
	Latency Latency
}

// Server is a simulated Posit Connect server. All methods are safe for
// concurrent use.
type Server struct {
	cfg Config

	mu            sync.RWMutex
	users         []user
	userOrder     []int32 // users in the default list order
	userByGUID    map[string]int32
	usernames     map[string]bool
	regulars      []int32 // users a live step prefers
	groups        []group
	content       []content
	contentByGUID map[string]int32
	shinyPick     picker
	visitPick     picker
	contentJSON   []byte // cached /v1/content body
	sessions      []session
	open          []int32 // positions of open sessions, ascending
	maxDur        int64   // longest ended session, ns
	visits        []visit
	audits        []audit
	auditBase     int64
	groupsOn      bool
	activeOn      bool
	seats         int
	expiry        time.Time
	live          *rand.Rand
	due           [numStreams]float64 // live events owed, carried between steps

	fmu    sync.Mutex
	faults []*faultState
	down   bool

	rmu      sync.Mutex
	reqs     map[string]int
	pageReqs map[pageKey]int

	hmu     sync.Mutex
	latency Latency
	hooks   []Hook
	quirks  OffsetQuirks

	lmu       sync.Mutex
	hs        *http.Server
	port      int
	started   bool
	closed    bool
	listenErr error
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// New generates the data described by cfg. It does not listen.
func New(cfg Config) *Server {
	if cfg.History <= 0 {
		cfg.History = 400 * 24 * time.Hour
	}
	if cfg.APIKey == "" {
		cfg.APIKey = DefaultAPIKey
	}
	if cfg.LicenseActivityDays <= 0 {
		cfg.LicenseActivityDays = 365
	}
	if cfg.PageHost == "" {
		cfg.PageHost = DefaultPageHost
	}
	cfg.PageHost = strings.TrimRight(cfg.PageHost, "/")
	if cfg.Hosts <= 0 {
		cfg.Hosts = 1
	}
	s := &Server{
		cfg:      cfg,
		groupsOn: true,
		activeOn: true,
		seats:    cfg.LicenseSeats,
		reqs:     map[string]int{},
		pageReqs: map[pageKey]int{},
		latency:  cfg.Latency,
	}
	now := cfg.now()
	s.expiry = cfg.LicenseExpiry
	if s.expiry.IsZero() {
		s.expiry = now.Add(365 * 24 * time.Hour).UTC().Truncate(24 * time.Hour)
	}
	s.generate(now.UnixNano())
	return s
}

// Handler returns the HTTP handler serving the simulated API.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// Start listens on 127.0.0.1 on a free port and serves in the background.
func (s *Server) Start() error {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if s.started {
		return errors.New("connecttest: server already started")
	}
	ln, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("connecttest: listen: %w", err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	s.started = true
	s.fmu.Lock()
	down := s.down
	s.fmu.Unlock()
	if down {
		return ln.Close()
	}
	s.serveOn(ln)
	return nil
}

// serveOn starts an http.Server on ln. Callers hold lmu.
func (s *Server) serveOn(ln net.Listener) {
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.hs = hs
	go func() { _ = hs.Serve(ln) }()
}

// URL returns "http://127.0.0.1:PORT" once Start has been called.
func (s *Server) URL() string {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if !s.started {
		return ""
	}
	return fmt.Sprintf("http://127.0.0.1:%d", s.port)
}

// Close stops listening and closes all connections.
func (s *Server) Close() {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	s.closed = true
	if s.hs != nil {
		_ = s.hs.Close()
		s.hs = nil
	}
}

// goDown stops the listener (connection refused) and closes open
// connections.
func (s *Server) goDown() {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if s.hs != nil {
		_ = s.hs.Close()
		s.hs = nil
	}
}

// goUp listens again on the same port.
func (s *Server) goUp() error {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if !s.started || s.closed || s.hs != nil {
		return nil
	}
	var ln net.Listener
	var err error
	// The port was ours a moment ago; retry briefly in case the kernel
	// has not released it yet.
	for range 50 {
		ln, err = new(net.ListenConfig).Listen(context.Background(), "tcp", fmt.Sprintf("127.0.0.1:%d", s.port))
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("connecttest: listen again on port %d: %w", s.port, err)
	}
	s.serveOn(ln)
	return nil
}

// RunLive calls Step(every) every interval of real time until ctx is done.
func (s *Server) RunLive(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Step(every)
		}
	}
}

// SetGroupsEnabled switches groups on or off. Off: server_settings reports
// authentication.groups_enabled=false and /v1/groups answers HTTP 400 with
// code 3.
func (s *Server) SetGroupsEnabled(on bool) {
	s.mu.Lock()
	s.groupsOn = on
	s.mu.Unlock()
}

// SetActiveUsersEndpoint switches /v1/metrics/users/active. Off simulates an
// older server: 404 with the plain body "404 page not found" and no code.
func (s *Server) SetActiveUsersEndpoint(on bool) {
	s.mu.Lock()
	s.activeOn = on
	s.mu.Unlock()
}

// SetLicense changes the seat limit and expiry.
func (s *Server) SetLicense(seats int, expiry time.Time) {
	s.mu.Lock()
	s.seats = seats
	s.expiry = expiry
	s.mu.Unlock()
}

// Requests returns the number of requests received whose path starts with
// pathPrefix (faulted requests included; "" counts all).
func (s *Server) Requests(pathPrefix string) int {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	n := 0
	for p, c := range s.reqs {
		if strings.HasPrefix(p, pathPrefix) {
			n += c
		}
	}
	return n
}

// ResetRequests sets all request counts to zero.
func (s *Server) ResetRequests() {
	s.rmu.Lock()
	clear(s.reqs)
	clear(s.pageReqs)
	s.rmu.Unlock()
}
