// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

// Defaults for Config fields left zero.
const (
	DefaultInterval    = 30 * time.Second
	DefaultOverlap     = 5 * time.Minute
	DefaultReadTimeout = 10 * time.Minute
)

// DefaultIgnoreUserAgent matches Connect's own content health monitor.
const DefaultIgnoreUserAgent = `^ContentHealthMonitor/`

// saveEvery bounds how often the state file is written in the middle of a
// long read; it is always written when a read ends.
const saveEvery = 5 * time.Second

// ErrClosed is returned by Update after Close.
var ErrClosed = errors.New("usage streams closed")

// Client is what the streams read from Connect. *connectapi.Client
// satisfies it.
type Client interface {
	EachShinySessionPage(ctx context.Context, q connectapi.UsageQuery, fn func([]connectapi.ShinySession) error) error
	EachVisitPage(ctx context.Context, q connectapi.UsageQuery, fn func([]connectapi.Visit) error) error
	EachAuditPage(ctx context.Context, newestFirst bool, fn func([]connectapi.AuditEntry) error) error
	EachUserPage(ctx context.Context, fn func([]connectapi.User) error) error
	EachContent(ctx context.Context, fn func(*connectapi.Content) error) error
}

var _ Client = (*connectapi.Client)(nil)

// Config configures the usage streams.
type Config struct {
	// Client reads Connect's API.
	Client Client
	// Interval is the least time between two reads of one stream; scrapes
	// in between are served from memory. Default DefaultInterval.
	Interval time.Duration
	// Overlap is how far before the previous read each read starts again,
	// to catch records Connect writes late and to absorb clock skew
	// between the exporter and Connect. Default DefaultOverlap.
	Overlap time.Duration
	// StateFile, when set, keeps counters, stream positions and the
	// deduplication sets across restarts. "" means counters start at zero.
	StateFile string
	// IgnoreUserAgent drops visits whose user agent matches. nil means
	// DefaultIgnoreUserAgent; an empty expression drops nothing.
	IgnoreUserAgent *regexp.Regexp
	// MinSessionDuration counts a Shiny session only once it is known to
	// have lasted at least this long. 0 counts every session.
	MinSessionDuration time.Duration
	// ExcludeUsers lists user GUIDs or usernames whose Shiny sessions and
	// visits are ignored. Usernames are resolved through the users list,
	// refreshed at most hourly.
	ExcludeUsers []string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger; default discards.
	Logger *slog.Logger
	// ReadTimeout bounds one read of one stream, which runs in the
	// background once a scrape stops waiting for it. Default
	// DefaultReadTimeout.
	ReadTimeout time.Duration
	// DeletedContentRetention is how long the Shiny and visit series of
	// content that Connect no longer lists are kept; content is listed at
	// most hourly. 0 means DefaultDeletedContentRetention; negative keeps
	// them for ever (and never lists content).
	DeletedContentRetention time.Duration
	// ServerURL is the Connect server's URL, recorded in the state file
	// with the server's identity. A state file recorded for another
	// database is dropped (counting starts afresh); one recorded for
	// another URL is used only when Connect's identity shows it is the
	// same database. "" skips the URL comparison.
	ServerURL string
}

// Streams holds the three usage streams: Shiny sessions, content visits
// and audit events.
type Streams struct {
	cfg    Config
	logger *slog.Logger
	ignore *regexp.Regexp // nil: drop nothing
	excl   *excluder

	// Shiny, Visits and Audit are the three streams as collectors.
	Shiny, Visits, Audit *Stream

	shiny  *shinyStream
	visits *visitStream
	audit  *auditStream

	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	server  serverCheck
	content contentTracker

	saveMu   sync.Mutex
	lastSave time.Time  // wall clock, for throttling
	closed   bool       // guarded by saveMu
	lock     *stateLock // held from New to Close; nil without a state file
}

// New validates cfg, loads the state file when there is one and returns
// the streams. A state file that exists but cannot be read or decoded is
// an error: counters are never silently reset.
func New(cfg Config) (*Streams, error) {
	if cfg.Client == nil {
		return nil, errors.New("usage: no Client")
	}
	if cfg.Interval < 0 || cfg.Overlap < 0 || cfg.ReadTimeout < 0 || cfg.MinSessionDuration < 0 {
		return nil, errors.New("usage: negative durations are not allowed")
	}
	if cfg.DeletedContentRetention > 0 && cfg.DeletedContentRetention < time.Minute {
		return nil, errors.New("usage: the retention of deleted content's series must be at least a minute")
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Overlap == 0 {
		cfg.Overlap = DefaultOverlap
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Streams{cfg: cfg, logger: cfg.Logger}
	s.server.url = normalizeURL(cfg.ServerURL)
	switch {
	case cfg.IgnoreUserAgent == nil:
		s.ignore = regexp.MustCompile(DefaultIgnoreUserAgent)
	case cfg.IgnoreUserAgent.String() != "":
		s.ignore = cfg.IgnoreUserAgent
	}
	s.excl = newExcluder(cfg.Client, cfg.ExcludeUsers, cfg.Now, cfg.Logger)
	s.shiny = newShinyStream(s)
	s.visits = newVisitStream(s)
	s.audit = newAuditStream(s)
	if cfg.StateFile != "" {
		if err := s.openStateFile(); err != nil {
			s.lock.release()
			return nil, err
		}
	}
	s.base, s.cancel = context.WithCancel(context.Background())
	s.Shiny, s.Visits, s.Audit = s.newStream(s.shiny), s.newStream(s.visits), s.newStream(s.audit)
	return s, nil
}

// openStateFile locks the state file, removes what an interrupted write
// left beside it, and restores the streams from it.
func (s *Streams) openStateFile() error {
	path := s.cfg.StateFile
	lock, err := lockStateFile(path)
	if err != nil {
		return err
	}
	s.lock = lock
	if n, err := removeStaleTemps(path); err != nil {
		s.logger.Warn("Cannot remove temporary files left beside the usage state file", "file", path, "err", err)
	} else if n > 0 {
		s.logger.Info("Removed temporary files that an interrupted exporter left beside the usage state file", "file", path, "files", n)
	}
	st, err := loadStateFile(path)
	if err != nil {
		return err
	}
	if st != nil {
		if err := s.restore(st); err != nil {
			return fmt.Errorf("usage: state file %s: %w", path, err)
		}
		s.server.stored = st.Server
		s.logger.Info("Usage state restored", "file", path, "saved_at", st.SavedAt)
	}
	return checkWritable(path)
}

func (s *Streams) newStream(impl stream) *Stream {
	return &Stream{s: s, impl: impl, logger: s.logger.With("stream", impl.name())}
}

func (s *Streams) all() []*Stream { return []*Stream{s.Shiny, s.Visits, s.Audit} }

// Close stops background reads, waits for them, and saves the state.
func (s *Streams) Close() error {
	// Cancel under every stream's lock, so no read starts after Wait.
	for _, r := range s.all() {
		r.mu.Lock()
	}
	s.cancel()
	for _, r := range s.all() {
		r.mu.Unlock()
	}
	s.wg.Wait()
	err := s.save(true)
	s.saveMu.Lock()
	if !s.closed {
		s.closed = true
		s.lock.release()
	}
	s.saveMu.Unlock()
	return err
}

// save writes the state file. Unless force, it writes at most once per
// saveEvery. Snapshots are taken under saveMu, so files are written in the
// order their snapshots were taken and the file never goes back in time.
func (s *Streams) save(force bool) error {
	if s.cfg.StateFile == "" {
		return nil
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	if s.closed || (!force && time.Since(s.lastSave) < saveEvery) {
		return nil
	}
	data, err := encodeState(s.snapshot())
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.cfg.StateFile, data); err != nil {
		return err
	}
	s.lastSave = time.Now()
	return nil
}

// snapshot is what the state file holds now.
func (s *Streams) snapshot() *stateFile {
	st := &stateFile{Version: stateVersion, SavedAt: s.cfg.Now().UTC(), Server: s.serverRecord()}
	st.Shiny = s.shiny.export()
	st.Visits = s.visits.export()
	st.Audit = s.audit.export()
	st.Content = s.exportContent()
	return st
}

// saved is called after a page was applied.
func (s *Streams) saved() {
	if err := s.save(false); err != nil {
		s.logger.Error("Cannot write the usage state file; counters are kept in memory", "file", s.cfg.StateFile, "err", err)
	}
}

func (s *Streams) restore(st *stateFile) error {
	if st.Shiny != nil {
		if err := s.shiny.restore(st.Shiny); err != nil {
			return fmt.Errorf("shiny: %w", err)
		}
	}
	if st.Visits != nil {
		if err := s.visits.restore(st.Visits); err != nil {
			return fmt.Errorf("visits: %w", err)
		}
	}
	if st.Audit != nil {
		if err := s.audit.restore(st.Audit); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	if st.Content != nil {
		s.restoreContent(st.Content)
	}
	return nil
}

// stream is one usage stream's state machine. read applies pages under
// the stream's own lock; collect and export take it too.
type stream interface {
	name() string
	read(ctx context.Context, now time.Time) error
	describe(ch chan<- *prometheus.Desc)
	collect(ch chan<- prometheus.Metric)
}

// Stream is one usage stream as a collector. Update emits the stream's
// metrics after reading what is new, at most once per Interval: at most one
// read at a time, in the background once the scrape stops waiting. ctx is
// the scrape's deadline: when the read takes longer, Update emits the
// counters as they are. Update returns an error, and emits nothing, when
// the stream's latest completed read failed.
type Stream struct {
	s      *Streams
	impl   stream
	logger *slog.Logger

	mu      sync.Mutex
	running chan struct{} // closed when the current read ends; nil when idle
	lastOK  time.Time     // start of the last successful read
	lastErr error         // result of the last completed read
	ready   bool          // a read has succeeded since start-up
}

// Describe sends the descriptors of the stream's metrics.
func (r *Stream) Describe(ch chan<- *prometheus.Desc) {
	r.impl.describe(ch)
	ch <- rebaselinesDesc
	ch <- lastEventDesc
}

// Update reads what is new, when a read is due, and emits the counters.
func (r *Stream) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	done, err := r.start()
	if err != nil {
		return err
	}
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			r.logger.Debug("Read outlasts the scrape; serving counters from memory while it finishes")
		}
	}
	r.mu.Lock()
	err, ready := r.lastErr, r.ready
	r.mu.Unlock()
	if err != nil {
		return err
	}
	if !ready {
		// Until the first read after start-up completes, the counters
		// restored from the state file may be older than what was
		// exposed before a crash; a gap is better than a false reset.
		r.logger.Debug("First read still running; no series yet")
		return nil
	}
	r.impl.collect(ch)
	return nil
}

// start begins a read when one is due and returns a channel closed when
// the read (new or already running) ends; nil when nothing runs.
func (r *Stream) start() (<-chan struct{}, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running != nil {
		return r.running, nil
	}
	if r.s.base.Err() != nil {
		return nil, ErrClosed
	}
	now := r.s.cfg.Now()
	if r.lastErr == nil && !r.lastOK.IsZero() && !now.Before(r.lastOK) && now.Sub(r.lastOK) < r.s.cfg.Interval {
		return nil, nil
	}
	done := make(chan struct{})
	r.running = done
	r.s.wg.Go(func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(r.s.base, r.s.cfg.ReadTimeout)
		err := r.s.verify(ctx)
		if err == nil {
			err = r.impl.read(ctx, now)
		}
		cancel()
		if err != nil && r.s.base.Err() != nil {
			err = ErrClosed // cut short by Close, not by Connect
		}
		if serr := r.s.save(true); serr != nil {
			r.logger.Error("Cannot write the usage state file; counters are kept in memory", "file", r.s.cfg.StateFile, "err", serr)
		}
		if err != nil {
			r.logger.Debug("Usage read failed", "err", err)
		}
		if err == nil && (r.impl == stream(r.s.shiny) || r.impl == stream(r.s.visits)) {
			r.s.maybeList(now)
		}
		r.mu.Lock()
		if err == nil {
			r.lastOK, r.ready = now, true
		}
		r.lastErr = err
		r.running = nil
		r.mu.Unlock()
	})
	return done, nil
}
