// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectaudit

import (
	"math/rand/v2"
	"testing"
)

func TestIDSetAgainstAMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	s := newIDSet()
	ref := map[uint64]bool{}
	for i := range 300_000 {
		var id uint64
		switch i % 4 {
		case 0: // dense, in order
			id = uint64(i)
		case 1: // dense, random
			id = r.Uint64N(200_000)
		case 2: // sparse
			id = r.Uint64N(1 << 40)
		default: // near a chunk edge
			id = 5*chunkIDs - 3 + r.Uint64N(6)
		}
		if got, want := s.add(id), !ref[id]; got != want {
			t.Fatalf("add(%d) = %v, want %v", id, got, want)
		}
		ref[id] = true
	}
	if s.len() != uint64(len(ref)) {
		t.Fatalf("len %d, want %d", s.len(), len(ref))
	}
	for id := range ref {
		if !s.has(id) {
			t.Fatalf("%d missing", id)
		}
	}
	for range 10_000 {
		if id := r.Uint64N(1 << 41); s.has(id) != ref[id] {
			t.Fatalf("has(%d) = %v", id, !ref[id])
		}
	}
	n := 0
	for _, c := range s.chunks {
		n += c.count()
	}
	if n != len(ref) {
		t.Errorf("chunks hold %d ids, want %d", n, len(ref))
	}
}

// Millions of dense ids, read node by node (each node's file holds an
// interleaved share): memory stays about a bitmap per 65,536 ids while
// incomplete, and collapses once the ids are all there.
func TestIDSetMemoryAtMillionsOfIDs(t *testing.T) {
	const total, nodes = 4_000_000, 4
	s := newIDSet()
	r := rand.New(rand.NewPCG(3, 4))
	node := make([]uint8, total)
	for i := range node {
		node[i] = uint8(r.IntN(nodes))
	}
	for n := range nodes {
		for id := range total {
			if int(node[id]) == n && !s.add(uint64(id)+1) {
				t.Fatalf("id %d reported as seen", id+1)
			}
		}
		if n == 0 {
			// A quarter of the ids, scattered: one bitmap per chunk.
			if b := s.bytes(); b > (total/chunkIDs+2)*(bitmapWords*8+64) {
				t.Errorf("after one node: %d bytes for %d ids", b, s.len())
			}
		}
	}
	if s.len() != total {
		t.Fatalf("len %d, want %d", s.len(), total)
	}
	// Complete chunks hold nothing; only the first (ids start at 1) and the
	// last, partial ones keep a bitmap.
	if b := s.bytes(); b > (total/chunkIDs+2)*64+2*bitmapWords*8 {
		t.Errorf("complete: %d bytes for %d ids", b, s.len())
	}
	// Re-reading every node finds only duplicates.
	for id := 1; id <= total; id += 7 {
		if s.add(uint64(id)) {
			t.Fatalf("id %d counted twice", id)
		}
	}
}
