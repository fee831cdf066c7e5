// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectaudit

import (
	"math/bits"
	"slices"
)

// idSet remembers which entry ids were counted. Ids are database ids: mostly
// dense integers, read node by node (each node's file holds an interleaved
// share of them). The set splits the id space into chunks of 65,536 ids
// (like a roaring bitmap): a chunk holds a sorted list of 16-bit offsets
// while it has at most 4,096 ids (8 KiB at most), then a bitmap (8 KiB),
// and nothing at all once all 65,536 ids are in it. Memory is thus at most
// about 2 bytes per id, and about 8 KiB per 65,536 dense ids, however the
// ids interleave; ten million dense ids take about 1.2 MiB, or almost
// nothing once complete.
type idSet struct {
	chunks map[uint64]*chunk
	n      uint64

	lastKey   uint64 // cache: consecutive ids share a chunk
	lastChunk *chunk
}

const (
	chunkBits    = 16
	chunkIDs     = 1 << chunkBits
	maxArrayIDs  = 4096
	bitmapWords  = chunkIDs / 64
	fullChunkLen = chunkIDs
)

type chunk struct {
	array  []uint16             // sorted, when bitmap is nil and !full
	bitmap *[bitmapWords]uint64 // when more than maxArrayIDs ids
	n      int
	full   bool
}

func newIDSet() *idSet { return &idSet{chunks: make(map[uint64]*chunk)} }

// add records id and reports whether it was new.
func (s *idSet) add(id uint64) bool {
	key, low := id>>chunkBits, uint16(id)
	c := s.lastChunk
	if c == nil || s.lastKey != key {
		c = s.chunks[key]
		if c == nil {
			c = &chunk{}
			s.chunks[key] = c
		}
		s.lastKey, s.lastChunk = key, c
	}
	if !c.add(low) {
		return false
	}
	s.n++
	return true
}

// has reports whether id was added.
func (s *idSet) has(id uint64) bool {
	c := s.chunks[id>>chunkBits]
	return c != nil && c.has(uint16(id))
}

// len returns the number of ids added.
func (s *idSet) len() uint64 { return s.n }

// bytes estimates the memory held by the set.
func (s *idSet) bytes() int {
	b := len(s.chunks) * 64 // map entry and chunk header
	for _, c := range s.chunks {
		switch {
		case c.bitmap != nil:
			b += bitmapWords * 8
		default:
			b += cap(c.array) * 2
		}
	}
	return b
}

func (c *chunk) has(low uint16) bool {
	switch {
	case c.full:
		return true
	case c.bitmap != nil:
		return c.bitmap[low/64]&(1<<(low%64)) != 0
	default:
		_, found := slices.BinarySearch(c.array, low)
		return found
	}
}

func (c *chunk) add(low uint16) bool {
	switch {
	case c.full:
		return false
	case c.bitmap != nil:
		w, m := &c.bitmap[low/64], uint64(1)<<(low%64)
		if *w&m != 0 {
			return false
		}
		*w |= m
		c.n++
		if c.n == fullChunkLen {
			c.full, c.bitmap = true, nil
		}
		return true
	}
	// Appending in order is the common case.
	if n := len(c.array); n == 0 || c.array[n-1] < low {
		c.array = append(c.array, low)
	} else {
		i, found := slices.BinarySearch(c.array, low)
		if found {
			return false
		}
		c.array = slices.Insert(c.array, i, low)
	}
	c.n++
	if c.n > maxArrayIDs {
		c.bitmap = new([bitmapWords]uint64)
		for _, v := range c.array {
			c.bitmap[v/64] |= 1 << (v % 64)
		}
		c.array = nil
	}
	return true
}

// count returns the ids in the chunk (for tests).
func (c *chunk) count() int {
	switch {
	case c.full:
		return fullChunkLen
	case c.bitmap != nil:
		n := 0
		for _, w := range c.bitmap {
			n += bits.OnesCount64(w)
		}
		return n
	}
	return len(c.array)
}
