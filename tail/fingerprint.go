// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package tail

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
)

const (
	// fpHead is how many leading bytes of a file fingerprint its start.
	fpHead = 256
	// fpTail is how many bytes before the read offset are kept to check
	// that what was read is still there (and to recognise a copy of it).
	fpTail = 64
	// maxDead bounds the fingerprints kept of files no longer followed
	// (truncated, rotated away, deleted), against which new files are
	// matched.
	maxDead = 1024
)

// FNV-1a, 64 bit: its state is the sum itself, so a prefix hash can be
// extended byte by byte and kept in a uint64.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvAdd(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// fpKey indexes fingerprints: the length of the fingerprinted head and its
// hash.
type fpKey struct {
	n   int
	sum uint64
}

// fpIndex finds the files, followed or remembered, whose head matches the
// head of a newly seen file.
type fpIndex struct {
	m    map[fpKey][]*file
	lens map[int]int // head lengths in use → number of files
}

func newIndex() fpIndex {
	return fpIndex{m: make(map[fpKey][]*file), lens: make(map[int]int)}
}

// update (re)indexes fl under its current head.
func (x *fpIndex) update(fl *file) {
	k := fpKey{fl.headLen, fl.headSum}
	if fl.indexed && fl.key == k {
		return
	}
	x.remove(fl)
	if fl.headLen == 0 {
		return
	}
	x.m[k] = append(x.m[k], fl)
	x.lens[k.n]++
	fl.key, fl.indexed = k, true
}

func (x *fpIndex) remove(fl *file) {
	if !fl.indexed {
		return
	}
	list := x.m[fl.key]
	for i, o := range list {
		if o == fl {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(x.m, fl.key)
	} else {
		x.m[fl.key] = list
	}
	if x.lens[fl.key.n]--; x.lens[fl.key.n] <= 0 {
		delete(x.lens, fl.key.n)
	}
	fl.indexed = false
}

// absorb records bytes just consumed from fl (contiguous, from fl.offset
// before they were added) in its head and tail fingerprints.
func (fl *file) absorb(b []byte) {
	if fl.headLen < fpHead {
		n := min(fpHead-fl.headLen, len(b))
		fl.headSum = fnvAdd(fl.headSum, b[:n])
		fl.headLen += n
	}
	if len(b) >= fpTail {
		copy(fl.tail[:], b[len(b)-fpTail:])
		fl.tailLen = fpTail
		return
	}
	keep := min(fl.tailLen, fpTail-len(b))
	copy(fl.tail[:keep], fl.tail[fl.tailLen-keep:fl.tailLen])
	copy(fl.tail[keep:], b)
	fl.tailLen = keep + len(b)
}

// resetState forgets what was read from fl.
func (fl *file) resetState() {
	fl.offset, fl.headLen, fl.headSum, fl.tailLen, fl.discarding = 0, 0, fnvOffset, 0, false
}

// copyStateFrom makes fl continue where o stopped.
func (fl *file) copyStateFrom(o *file) {
	fl.offset, fl.headLen, fl.headSum, fl.discarding = o.offset, o.headLen, o.headSum, o.discarding
	fl.tail, fl.tailLen = o.tail, o.tailLen
}

// compressedSuffixes name rotated files that are compressed.
var compressedSuffixes = []string{".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip", ".z"}

func compressedName(path string) bool {
	return slices.Contains(compressedSuffixes, strings.ToLower(filepath.Ext(path)))
}

// compressedMagic reports whether b starts like a gzip, bzip2, xz or zstd
// stream.
func compressedMagic(b []byte) bool {
	return bytes.HasPrefix(b, []byte{0x1f, 0x8b}) ||
		bytes.HasPrefix(b, []byte("BZh")) ||
		bytes.HasPrefix(b, []byte{0xfd, '7', 'z', 'X', 'Z', 0}) ||
		bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd})
}
