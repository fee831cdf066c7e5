// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package backfill

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

// spoolChunk is how many audit entries the spool holds in memory. A
// variable for the tests.
var spoolChunk = 1 << 15

// auditSpool turns the audit log, read newest first, into oldest first
// with bounded memory: entries are gathered in chunks of spoolChunk; a full
// chunk is written, oldest first, to a temporary file, and the chunks are
// read back from the last written (the oldest) to the first. Only the id,
// time and action of each entry are kept (about 40 bytes). A log that fits
// in one chunk never touches the disk.
type auditSpool struct {
	dir, prefix string // where the file goes, and its name's start

	file    *os.File
	chunks  []spoolRange // in the order written: newest entries first
	mem     []spooled
	actions map[string]uint32 // index in names
	names   []string

	// reading
	cur  []spooled // oldest first
	next int       // the chunk to read next, counting down
	head connectapi.AuditEntry
}

// spooled is an audit entry as the spool holds it.
type spooled struct {
	id     string
	sec    int64
	nsec   int32
	action uint32
}

type spoolRange struct{ off, n int64 }

func (s *auditSpool) add(e *connectapi.AuditEntry) error {
	if s.actions == nil {
		s.actions = map[string]uint32{}
	}
	ai, ok := s.actions[e.Action]
	if !ok {
		ai = uint32(len(s.names))
		s.actions[e.Action] = ai
		s.names = append(s.names, e.Action)
	}
	s.mem = append(s.mem, spooled{string(e.ID), e.Time.Unix(), int32(e.Time.Nanosecond()), ai})
	if len(s.mem) == spoolChunk {
		return s.flush()
	}
	return nil
}

func (s *auditSpool) flush() error {
	if len(s.mem) == 0 {
		return nil
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, s.prefix)
		if err != nil {
			return fmt.Errorf("spooling the audit log: %w", err)
		}
		s.file = f
	}
	var b []byte
	for _, e := range slices.Backward(s.mem) {
		b = binary.AppendUvarint(b, uint64(len(e.id)))
		b = append(b, e.id...)
		b = binary.AppendVarint(b, e.sec)
		b = binary.AppendUvarint(b, uint64(e.nsec))
		b = binary.AppendUvarint(b, uint64(e.action))
	}
	off := int64(0)
	if n := len(s.chunks); n > 0 {
		off = s.chunks[n-1].off + s.chunks[n-1].n
	}
	if _, err := s.file.WriteAt(b, off); err != nil {
		return fmt.Errorf("spooling the audit log: %w", err)
	}
	s.chunks = append(s.chunks, spoolRange{off, int64(len(b))})
	s.mem = s.mem[:0]
	return nil
}

// finish ends the writing; reading starts with the oldest entry.
func (s *auditSpool) finish() error {
	if s.file == nil {
		slices.Reverse(s.mem)
		s.cur, s.mem = s.mem, nil
	} else if err := s.flush(); err != nil {
		return err
	}
	s.next = len(s.chunks) - 1
	return nil
}

// peek returns the oldest entry not yet taken (valid until the next
// call); nil when none is left.
func (s *auditSpool) peek() (*connectapi.AuditEntry, error) {
	for len(s.cur) == 0 {
		if s.next < 0 || s.file == nil {
			return nil, nil
		}
		if err := s.load(s.chunks[s.next]); err != nil {
			return nil, err
		}
		s.next--
	}
	e := &s.cur[0]
	s.head = connectapi.AuditEntry{ID: connectapi.FlexString(e.id), Time: time.Unix(e.sec, int64(e.nsec)).UTC(), Action: s.names[e.action]}
	return &s.head, nil
}

func (s *auditSpool) take() { s.cur = s.cur[1:] }

func (s *auditSpool) load(r spoolRange) error {
	b := make([]byte, r.n)
	if _, err := s.file.ReadAt(b, r.off); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	s.cur = s.cur[:0]
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return errors.New("corrupt spool")
		}
		id := string(b[k : k+int(n)])
		b = b[k+int(n):]
		sec, k1 := binary.Varint(b)
		if k1 <= 0 {
			return errors.New("corrupt spool")
		}
		nsec, k2 := binary.Uvarint(b[k1:])
		if k2 <= 0 {
			return errors.New("corrupt spool")
		}
		ai, k3 := binary.Uvarint(b[k1+k2:])
		if k3 <= 0 || ai >= uint64(len(s.names)) {
			return errors.New("corrupt spool")
		}
		b = b[k1+k2+k3:]
		s.cur = append(s.cur, spooled{id, sec, int32(nsec), uint32(ai)})
	}
	return nil
}

// close removes the file.
func (s *auditSpool) close() {
	if s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
		s.file = nil
	}
	s.mem, s.cur = nil, nil
}
