// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package tail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

const (
	// DefaultMaxLineBytes is the default for Config.MaxLineBytes.
	DefaultMaxLineBytes = 1 << 20
	// DefaultMaxOpen is the default for Config.MaxOpen.
	DefaultMaxOpen = 32
	// DefaultDirHint is the default for Config.DirHint.
	DefaultDirHint = "*.log"

	// readChunk is the size of each read.
	readChunk = 1 << 20
	// maxLoggedLineErrors bounds the malformed lines logged (at debug) per
	// refresh.
	maxLoggedLineErrors = 5
	// maxResultErrors bounds the errors a Result keeps.
	maxResultErrors = 5
	// maxProblemBytes bounds Result.Problem.
	maxProblemBytes = 2048
	// budgetShare is the fraction (1/budgetShare) of the process's
	// descriptor limit that all Tailers together may hold open.
	budgetShare = 4
)

// openFiles counts the descriptors held by every Tailer in the process.
var openFiles atomic.Int64

// Sink receives the lines of the followed files.
type Sink interface {
	// Line receives one complete line without its newline. The slice is
	// reused after Line returns. A returned error marks the line as
	// malformed; the first few per refresh are logged at debug level.
	Line(line []byte) error
	// TooLong is called for each line longer than Config.MaxLineBytes,
	// which is skipped.
	TooLong()
}

// Config configures a Tailer. The zero value is valid.
type Config struct {
	// Logger receives notices about files; discarded when nil. Give it the
	// caller's component, e.g. logger.With("component", "workbench").
	Logger *slog.Logger
	// MaxOpen bounds the files this Tailer keeps open (DefaultMaxOpen when
	// 0). Whatever it says, all Tailers of the process together hold at
	// most a quarter of the process's open-file limit.
	MaxOpen int
	// MaxLineBytes bounds one line (DefaultMaxLineBytes when 0); longer
	// lines are skipped and reported to Sink.TooLong.
	MaxLineBytes int
	// DirHint completes the advice given when a path is a directory:
	// "DIR is a directory; give a file or a glob such as DIR/<DirHint>".
	// DefaultDirHint when empty.
	DirHint string
}

// Tailer follows the files matched by a set of glob patterns. It is not safe
// for concurrent use: callers serialize Refresh and Close.
type Tailer struct {
	logger  *slog.Logger
	sink    Sink
	maxOpen int
	maxLine int
	dirHint string

	files map[fileID]*file
	idx   fpIndex
	dead  []*file // fingerprints of files no longer followed, oldest first
	open  []*file // files of this Tailer holding a descriptor
	gen   uint64  // refresh generation
	buf   []byte

	budget       int64 // process-wide descriptor budget, read at each refresh
	loggedErrors int   // malformed lines logged during the current refresh
	warnedMany   bool
	res          *Result
}

// file is one followed file (or, in Tailer.dead, the fingerprint of one that
// no longer is).
type file struct {
	id   fileID
	path string // the name it was last matched under
	f    *os.File
	size int64 // size at the last stat

	offset     int64 // bytes consumed: complete lines and skipped over-long ones
	headLen    int   // leading bytes fingerprinted, min(offset, fpHead)
	headSum    uint64
	tail       [fpTail]byte // the bytes just before offset
	tailLen    int
	discarding bool // inside an over-long line: skip to the next newline

	compressed bool   // skipped, never read
	seen       uint64 // generation in which a pattern last matched it
	used       uint64 // generation in which it was last opened or read
	dead       bool

	key     fpKey
	indexed bool
}

// New returns a Tailer that hands lines to sink.
func New(cfg Config, sink Sink) *Tailer {
	t := &Tailer{
		logger:  cfg.Logger,
		sink:    sink,
		maxOpen: cfg.MaxOpen,
		maxLine: cfg.MaxLineBytes,
		dirHint: cfg.DirHint,
		files:   make(map[fileID]*file),
		idx:     newIndex(),
	}
	if t.logger == nil {
		t.logger = slog.New(slog.DiscardHandler)
	}
	if t.maxOpen <= 0 {
		t.maxOpen = DefaultMaxOpen
	}
	if t.maxLine <= 0 {
		t.maxLine = DefaultMaxLineBytes
	}
	if t.dirHint == "" {
		t.dirHint = DefaultDirHint
	}
	return t
}

// ValidatePattern checks a configured path: not blank, a valid glob.
func ValidatePattern(p string) error {
	if strings.TrimSpace(p) == "" {
		return errors.New("empty path")
	}
	if _, err := filepath.Match(p, ""); err != nil {
		return fmt.Errorf("%q is not a valid glob pattern: %w", p, err)
	}
	return nil
}

// Result reports one refresh.
type Result struct {
	// Files is the number of distinct files matched and followed (a file
	// matched by two patterns or two names counts once).
	Files int
	// Compressed is the number of distinct compressed files matched and
	// skipped.
	Compressed int
	// BytesRead is the number of bytes consumed: complete lines, and
	// skipped over-long ones.
	BytesRead int64
	// Unmatched lists the patterns that matched no regular file.
	Unmatched []string
	// Dirs lists the patterns that matched only directories.
	Dirs []string
	// Errs holds the first few errors; ErrCount counts them all.
	Errs     []error
	ErrCount int
}

// OK reports whether every pattern matched a file and nothing failed.
func (r Result) OK() bool {
	return len(r.Unmatched) == 0 && len(r.Dirs) == 0 && r.ErrCount == 0
}

// Problem describes what was not OK in one line of bounded length, or
// returns "".
func (r Result) Problem() string {
	parts := slices.Clone(r.Dirs)
	if len(r.Unmatched) > 0 {
		parts = append(parts, "no file matches "+strings.Join(r.Unmatched, ", "))
	}
	for _, err := range r.Errs {
		parts = append(parts, err.Error())
	}
	if more := r.ErrCount - len(r.Errs); more > 0 {
		parts = append(parts, "and "+strconv.Itoa(more)+" more errors")
	}
	s := strings.Join(parts, "; ")
	if len(s) > maxProblemBytes {
		s = s[:maxProblemBytes] + "…"
	}
	return s
}

func (r *Result) addErr(err error) {
	r.ErrCount++
	if len(r.Errs) < maxResultErrors {
		r.Errs = append(r.Errs, err)
	}
}

// Tracked returns the number of files followed (compressed ones included).
func (t *Tailer) Tracked() int { return len(t.files) }

// Open returns the number of files this Tailer holds open.
func (t *Tailer) Open() int { return len(t.open) }

// Refresh expands the patterns, starts following new files, and reads what
// was appended to every followed file since the last refresh.
func (t *Tailer) Refresh(patterns []string) Result {
	var res Result
	t.res = &res
	defer func() { t.res = nil }()
	t.gen++
	t.loggedErrors = 0
	t.budget = budget()

	newFiles := t.match(patterns, &res)

	// 1. Files already followed: detect truncation (or rewriting) before
	// new files are matched against what was read from them.
	seen := t.sortedFiles(func(fl *file) bool { return fl.seen == t.gen && !fl.compressed })
	for _, fl := range seen {
		t.check(fl)
	}
	// 2. New files: skip compressed ones, and recognise copies of what was
	// already read (copytruncate rotation).
	slices.SortFunc(newFiles, func(a, b *file) int { return strings.Compare(a.path, b.path) })
	var compressed []string
	for _, fl := range newFiles {
		t.adopt(fl)
		if fl.compressed {
			compressed = append(compressed, fl.path)
		}
	}
	if len(compressed) > 0 {
		t.logger.Info("Skipping compressed files: their lines are not read",
			"count", len(compressed), "first", compressed[0])
	}
	// 3. Read every matched file.
	for _, fl := range t.sortedFiles(func(fl *file) bool { return fl.seen == t.gen }) {
		if fl.compressed {
			res.Compressed++
			continue
		}
		res.Files++
		n, err := t.read(fl)
		res.BytesRead += n
		if err != nil {
			res.addErr(err)
		}
	}
	// 4. Files no longer matched. Rotated away or deleted: drain what is
	// left and stop following them once a refresh finds them no larger. Still
	// at their name (a glob can hide an I/O error on a network file
	// system): keep them, so they are not read again from the start.
	for _, fl := range t.sortedFiles(func(fl *file) bool { return fl.seen != t.gen }) {
		if fl.compressed {
			if t.gone(fl) {
				t.forget(fl)
			}
			continue
		}
		before := fl.size
		var err error
		if fl.f != nil {
			var n int64
			n, err = t.read(fl)
			res.BytesRead += n
		}
		if t.gone(fl) && (err != nil || fl.size == before) {
			t.retire(fl, &res)
		}
	}
	if total := res.Files + res.Compressed; total > t.maxOpen && !t.warnedMany {
		t.warnedMany = true
		t.logger.Warn("More files match than are kept open: idle ones are closed and reopened by name when they grow (narrow the glob if that many files are not meant)",
			"files", total, "max_open", t.maxOpen)
	}
	return res
}

// match expands the patterns, records which followed files were matched,
// and returns the files seen for the first time.
func (t *Tailer) match(patterns []string, res *Result) []*file {
	var newFiles []*file
	fresh := make(map[fileID]*file)
	for _, p := range patterns {
		matches, err := filepath.Glob(p)
		if err != nil { // patterns are validated up front; be safe anyway
			res.addErr(fmt.Errorf("pattern %q: %w", p, err))
			continue
		}
		hit, dir := false, ""
		for _, m := range matches {
			fi, err := os.Stat(m)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				res.addErr(fmt.Errorf("stat %s: %w", m, err))
				continue
			}
			if fi.IsDir() {
				dir = m
				continue
			}
			if !fi.Mode().IsRegular() {
				continue
			}
			hit = true
			id := identity(m, fi)
			fl := t.files[id]
			if fl == nil {
				fl = fresh[id]
			}
			if fl == nil {
				fl = &file{id: id, path: m, headSum: fnvOffset}
				fresh[id] = fl
				newFiles = append(newFiles, fl)
			}
			if fl.seen != t.gen {
				fl.path, fl.size, fl.seen = m, fi.Size(), t.gen
			}
		}
		switch {
		case hit:
		case dir != "" && len(matches) == 1 && matches[0] == p:
			res.Dirs = append(res.Dirs, fmt.Sprintf("%s is a directory; give a file or a glob such as %s",
				p, filepath.Join(p, t.dirHint)))
		case dir != "":
			res.Dirs = append(res.Dirs, fmt.Sprintf("%s matches only directories; give files or a glob such as %s",
				p, filepath.Join(dir, t.dirHint)))
		default:
			res.Unmatched = append(res.Unmatched, p)
		}
	}
	return newFiles
}

func (t *Tailer) sortedFiles(keep func(*file) bool) []*file {
	out := make([]*file, 0, len(t.files))
	for _, fl := range t.files {
		if keep(fl) {
			out = append(out, fl)
		}
	}
	slices.SortFunc(out, func(a, b *file) int { return strings.Compare(a.path, b.path) })
	return out
}

// check detects that a followed file was truncated, or rewritten in place
// (copytruncate followed by new lines past the old offset before this
// refresh): the bytes just before the offset are no longer those read.
func (t *Tailer) check(fl *file) {
	switch {
	case fl.size < fl.offset:
		t.truncated(fl, "truncated")
	case fl.size > fl.offset && fl.tailLen > 0:
		if err := t.ensureOpen(fl); err != nil {
			return // read reports it
		}
		got := make([]byte, fl.tailLen)
		if n, err := fl.f.ReadAt(got, fl.offset-int64(fl.tailLen)); n == len(got) || err == nil {
			if !bytes.Equal(got[:n], fl.tail[:fl.tailLen]) {
				t.truncated(fl, "rewritten")
			}
		}
	}
}

// truncated starts fl again from its beginning, remembering what had been
// read so that a copy of it (copytruncate's rotated file) is recognised.
func (t *Tailer) truncated(fl *file, how string) {
	t.logger.Info("File was "+how+"; reading it from the start", "path", fl.path)
	if fl.offset > 0 {
		old := &file{id: fl.id, path: fl.path, dead: true}
		old.copyStateFrom(fl)
		t.bury(old)
	}
	fl.resetState()
	t.idx.update(fl)
}

// bury remembers the fingerprint of a file no longer followed.
func (t *Tailer) bury(fl *file) {
	fl.dead = true
	t.dead = append(t.dead, fl)
	t.idx.update(fl)
	if len(t.dead) > maxDead {
		t.idx.remove(t.dead[0])
		t.dead = slices.Delete(t.dead, 0, 1)
	}
}

func (t *Tailer) unbury(fl *file) {
	t.idx.remove(fl)
	if i := slices.Index(t.dead, fl); i >= 0 {
		t.dead = slices.Delete(t.dead, i, i+1)
	}
}

// adopt starts following a file seen for the first time.
func (t *Tailer) adopt(fl *file) {
	if compressedName(fl.path) {
		fl.compressed = true
		t.files[fl.id] = fl
		return
	}
	if err := t.ensureOpen(fl); err != nil {
		// Replaced or gone between stat and open, or unreadable: try again
		// at the next refresh. Leave a trace for the errors of this one.
		if !errors.Is(err, errReplaced) && !errors.Is(err, fs.ErrNotExist) {
			t.res.addErr(err)
		}
		return
	}
	t.files[fl.id] = fl
	t.logger.Debug("Following file", "path", fl.path)

	head := make([]byte, min(fl.size, fpHead))
	n, _ := fl.f.ReadAt(head, 0)
	head = head[:n]
	if compressedMagic(head) {
		fl.compressed = true
		t.closeFile(fl)
		return
	}
	t.matchCopy(fl, head)
}

// matchCopy recognises a new file whose beginning is a file already read
// (or one that was, before it was truncated or rotated away): only what
// follows is read.
func (t *Tailer) matchCopy(fl *file, head []byte) {
	if len(head) == 0 || len(t.idx.lens) == 0 {
		return
	}
	prefix := make([]uint64, len(head)+1)
	prefix[0] = fnvOffset
	for i, c := range head {
		prefix[i+1] = (prefix[i] ^ uint64(c)) * fnvPrime
	}
	var best *file
	var bestOffset int64
	for n := range t.idx.lens {
		if n > len(head) {
			continue
		}
		for _, c := range t.idx.m[fpKey{n, prefix[n]}] {
			if c == fl {
				continue
			}
			if off := t.copyOffset(fl, c); off > bestOffset {
				best, bestOffset = c, off
			}
		}
	}
	if best == nil || bestOffset == 0 {
		return
	}
	fl.copyStateFrom(best)
	if bestOffset != best.offset { // all of fl is in best, which goes further
		fl.offset, fl.discarding = bestOffset, false
		fl.headLen, fl.headSum = min(len(head), fpHead), prefix[min(len(head), fpHead)]
		fl.tailLen = int(min(bestOffset, fpTail))
		if n, err := t.readAt(fl, fl.tail[:fl.tailLen], bestOffset-int64(fl.tailLen)); n != fl.tailLen && err != nil {
			fl.resetState()
			return
		}
	}
	if best.dead {
		t.unbury(best)
	}
	t.idx.update(fl)
	t.logger.Info("File starts with lines already read (a rotated copy); reading only what follows",
		"path", fl.path, "copy_of", best.path, "skipped_bytes", bestOffset)
}

// copyOffset returns how much of fl was already read from c: c's offset if
// fl holds at least what was read from c, fl's whole size if fl is a prefix
// of what c holds now (c still followed), else 0. The heads are known to
// match.
func (t *Tailer) copyOffset(fl, c *file) int64 {
	if c.offset <= fl.size && c.offset > 0 {
		if !t.sameAt(fl, c.offset, c.tail[:c.tailLen]) {
			return 0
		}
		if !c.dead && c.size >= fl.size && fl.size > c.offset && t.sameBytes(fl, c, fl.size) {
			return fl.size
		}
		return c.offset
	}
	if !c.dead && c.offset > fl.size && c.headLen >= min(int(fl.size), fpHead) && t.sameBytes(fl, c, fl.size) {
		return fl.size
	}
	return 0
}

// sameAt reports whether fl holds want just before end.
func (t *Tailer) sameAt(fl *file, end int64, want []byte) bool {
	got := make([]byte, len(want))
	n, err := t.readAt(fl, got, end-int64(len(want)))
	if n != len(got) && err != nil {
		return false
	}
	return bytes.Equal(got, want)
}

// sameBytes reports whether fl and c hold the same fpTail bytes before end.
func (t *Tailer) sameBytes(fl, c *file, end int64) bool {
	n := min(end, fpTail)
	want := make([]byte, n)
	if m, err := t.readAt(c, want, end-n); int64(m) != n && err != nil {
		return false
	}
	return t.sameAt(fl, end, want)
}

// readAt reads from fl at off, opening it if it is not open.
func (t *Tailer) readAt(fl *file, p []byte, off int64) (int, error) {
	if err := t.ensureOpen(fl); err != nil {
		return 0, err
	}
	return fl.f.ReadAt(p, off)
}

// read consumes the bytes appended to fl since the last read, up to the size
// the file had when the read started.
func (t *Tailer) read(fl *file) (int64, error) {
	if fl.f == nil && fl.seen == t.gen && fl.size == fl.offset {
		return 0, nil // nothing new: no need to reopen it
	}
	if err := t.ensureOpen(fl); err != nil {
		if errors.Is(err, errReplaced) || errors.Is(err, fs.ErrNotExist) {
			return 0, nil // no longer at its name: retired when unmatched
		}
		return 0, err
	}
	fi, err := fl.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", fl.path, err)
	}
	size := fi.Size()
	fl.size = size
	if size < fl.offset {
		t.truncated(fl, "truncated")
	}
	if size <= fl.offset {
		return 0, nil
	}
	fl.used = t.gen
	if t.buf == nil {
		t.buf = make([]byte, t.maxLine+readChunk)
	}
	buf := t.buf
	start, n := fl.offset, 0 // buf[:n] holds the file's bytes from start
	var consumed int64
	for start+int64(n) < size {
		want := min(int64(len(buf)-n), size-start-int64(n))
		m, err := fl.f.ReadAt(buf[n:int64(n)+want], start+int64(n))
		n += m
		if start == 0 && fl.headLen == 0 && compressedMagic(buf[:n]) {
			fl.compressed = true
			t.logger.Info("Skipping compressed file: its lines are not read", "path", fl.path)
			t.closeFile(fl)
			return consumed, nil
		}
		i := t.lines(fl, buf[:n])
		if fl.discarding || n-i > t.maxLine {
			if !fl.discarding {
				t.tooLong(fl)
			}
			i = n
		}
		fl.absorb(buf[:i])
		fl.offset += int64(i)
		consumed += int64(i)
		start += int64(i)
		n = copy(buf, buf[i:n])
		if errors.Is(err, io.EOF) {
			break // shrank while reading; the next refresh sees it
		}
		if err != nil {
			t.idx.update(fl)
			return consumed, fmt.Errorf("read %s: %w", fl.path, err)
		}
		if m == 0 {
			break
		}
	}
	t.idx.update(fl)
	return consumed, nil
}

// lines hands the complete lines of data to the sink and returns the bytes
// they took (through the last newline).
func (t *Tailer) lines(fl *file, data []byte) int {
	done := 0
	for {
		i := bytes.IndexByte(data[done:], '\n')
		if i < 0 {
			return done
		}
		seg := data[done : done+i]
		done += i + 1
		switch {
		case fl.discarding:
			fl.discarding = false
		case len(seg) > t.maxLine:
			t.tooLong(fl)
			fl.discarding = false
		default:
			t.line(fl, seg)
		}
	}
}

func (t *Tailer) line(fl *file, line []byte) {
	if err := t.sink.Line(line); err != nil && t.loggedErrors < maxLoggedLineErrors {
		t.loggedErrors++
		t.logger.Debug("Skipping malformed line", "path", fl.path, "err", err)
	}
}

func (t *Tailer) tooLong(fl *file) {
	t.sink.TooLong()
	fl.discarding = true
	if t.loggedErrors < maxLoggedLineErrors {
		t.loggedErrors++
		t.logger.Debug("Skipping over-long line", "path", fl.path, "limit_bytes", t.maxLine)
	}
}

// gone reports whether fl's name no longer leads to fl: removed or replaced.
// Any other error (I/O, permissions) says nothing, and fl is kept.
func (t *Tailer) gone(fl *file) bool {
	fi, err := os.Stat(fl.path)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	return err == nil && identity(fl.path, fi) != fl.id
}

// retire stops following a file that is no longer matched. Its incomplete
// last line, if any, will never be completed: it is parsed as it is.
func (t *Tailer) retire(fl *file, res *Result) {
	if fl.f != nil && !fl.discarding {
		if fi, err := fl.f.Stat(); err == nil && fi.Size() > fl.offset && fi.Size()-fl.offset <= int64(t.maxLine) {
			rest := make([]byte, fi.Size()-fl.offset)
			if n, err := fl.f.ReadAt(rest, fl.offset); n == len(rest) || err == nil {
				t.line(fl, rest[:n])
				fl.absorb(rest[:n])
				fl.offset += int64(n)
				res.BytesRead += int64(n)
			}
		}
	}
	t.forget(fl)
	if fl.offset > 0 {
		t.bury(fl)
	}
	t.logger.Debug("Stopped following file", "path", fl.path)
}

// forget stops following fl.
func (t *Tailer) forget(fl *file) {
	t.closeFile(fl)
	t.idx.remove(fl)
	delete(t.files, fl.id)
}

var errReplaced = errors.New("the name leads to another file")

// ensureOpen gives fl a descriptor, closing idle files first to stay within
// the bounds, and checks that its name still leads to it.
func (t *Tailer) ensureOpen(fl *file) error {
	if fl.f != nil {
		return nil
	}
	t.makeRoom(fl)
	// O_NONBLOCK: a FIFO put in place of the file must not block the
	// open; it is then refused as another file.
	f, err := os.OpenFile(fl.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil && (errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)) {
		for t.evict(fl) {
		}
		f, err = os.OpenFile(fl.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return fmt.Errorf("open %s: %w", fl.path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("stat %s: %w", fl.path, err)
	}
	if identity(fl.path, fi) != fl.id {
		_ = f.Close()
		return errReplaced
	}
	fl.f, fl.used = f, t.gen
	t.open = append(t.open, fl)
	openFiles.Add(1)
	return nil
}

// makeRoom closes idle files until one more may be opened for fl.
func (t *Tailer) makeRoom(fl *file) {
	for len(t.open) > 0 && (len(t.open) >= t.maxOpen || openFiles.Load() >= t.budget) {
		if !t.evict(fl) {
			return
		}
	}
}

// evict closes the least recently used open file other than keep.
func (t *Tailer) evict(keep *file) bool {
	var lru *file
	for _, fl := range t.open {
		if fl != keep && (lru == nil || fl.used < lru.used ||
			(fl.used == lru.used && fl.path < lru.path)) {
			lru = fl
		}
	}
	if lru == nil {
		return false
	}
	t.closeFile(lru)
	return true
}

func (t *Tailer) closeFile(fl *file) {
	if fl.f == nil {
		return
	}
	if err := fl.f.Close(); err != nil {
		t.logger.Debug("Closing file", "path", fl.path, "err", err)
	}
	fl.f = nil
	if i := slices.Index(t.open, fl); i >= 0 {
		t.open = slices.Delete(t.open, i, i+1)
	}
	openFiles.Add(-1)
}

// Close closes every file without reading further, returning the Tailer's
// descriptors to the process-wide budget (a Tailer dropped without Close
// keeps its share). The Tailer may be used again: files are then reopened
// by name.
func (t *Tailer) Close() error {
	var errs []error
	for _, fl := range t.open {
		errs = append(errs, fl.f.Close())
		fl.f = nil
		openFiles.Add(-1)
	}
	t.open = nil
	return errors.Join(errs...)
}

// budget returns how many descriptors all Tailers together may hold.
func budget() int64 {
	limit := descriptorLimit()
	if limit == 0 || limit > 1<<40 {
		return 1 << 40
	}
	return max(int64(limit/budgetShare), 4)
}
