// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package backfill

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/posit-connect-exporter/posit_connect_exporter/usage"
)

// passChanges bounds the changes one pass over the spool gathers in
// memory (16 bytes each: 4 MiB). A variable for the tests.
var passChanges int64 = 1 << 18

// recordSize is one spooled change: series, step, value.
const recordSize = 16

type seriesKey struct {
	family int
	label  string
}

// samples records the counters step by step, and writes them out series
// by series, as OpenMetrics wants (all samples of one series together, in
// time order). A step appends to a temporary file only the series whose
// value changed; memory holds one entry per series. Writing reads the file
// once per batch of series whose changes fit in passChanges (one pass for
// all but the largest histories).
type samples struct {
	file *os.File
	w    *bufio.Writer
	size int64

	ids     map[seriesKey]uint32
	keys    []seriesKey
	last    []float64
	changes []int64
	buf     [recordSize]byte
}

func newSamples(dir, prefix string) (*samples, error) {
	f, err := os.CreateTemp(dir, prefix)
	if err != nil {
		return nil, err
	}
	return &samples{file: f, w: bufio.NewWriterSize(f, 1<<20), ids: map[seriesKey]uint32{}}, nil
}

// observe records a counter's value at step; write errors show in finish.
func (s *samples) observe(step uint32, family int, label string, v float64) {
	k := seriesKey{family, label}
	id, ok := s.ids[k]
	if !ok {
		id = uint32(len(s.keys))
		s.ids[k] = id
		s.keys = append(s.keys, k)
		s.last = append(s.last, 0)
		s.changes = append(s.changes, 0)
	}
	if v == s.last[id] {
		return
	}
	s.last[id] = v
	s.changes[id]++
	binary.LittleEndian.PutUint32(s.buf[0:], id)
	binary.LittleEndian.PutUint32(s.buf[4:], step)
	binary.LittleEndian.PutUint64(s.buf[8:], math.Float64bits(v))
	_, _ = s.w.Write(s.buf[:])
	s.size += recordSize
}

func (s *samples) series() int { return len(s.keys) }

// finish flushes what was recorded.
func (s *samples) finish() error { return s.w.Flush() }

func (s *samples) close() {
	s.file.Close()
	os.Remove(s.file.Name())
}

type change struct {
	step uint32
	v    float64
}

// writeTo writes the OpenMetrics families (without "# EOF"): for each
// counter family with series, its HELP and TYPE, then each series (sorted
// by label) with one sample per step, from 0 at step 0. ts gives a step's
// timestamp in seconds; extra is rendered after the family's label.
// progress is called after each series.
func (s *samples) writeTo(w io.Writer, families []usage.CounterFamily, extra string, steps int, ts func(int) int64, progress func(done, total int)) (int64, error) {
	order := make([]uint32, len(s.keys))
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(a, b uint32) int {
		ka, kb := s.keys[a], s.keys[b]
		return cmp.Or(cmp.Compare(ka.family, kb.family), cmp.Compare(ka.label, kb.label))
	})
	slot := make([]int32, len(s.keys))
	for i := range slot {
		slot[i] = -1
	}
	var (
		written int64
		line    []byte
		family  = -1
		done    int
	)
	for start := 0; start < len(order); {
		// A batch of series whose changes fit in one pass.
		end, n := start, int64(0)
		for end < len(order) && (end == start || n+s.changes[order[end]] <= passChanges) {
			n += s.changes[order[end]]
			end++
		}
		batch := order[start:end]
		offsets := make([]int64, len(batch)+1)
		for i, id := range batch {
			slot[id] = int32(i)
			offsets[i+1] = offsets[i] + s.changes[id]
		}
		all := make([]change, n)
		fill := slices.Clone(offsets[:len(batch)])
		r := bufio.NewReaderSize(io.NewSectionReader(s.file, 0, s.size), 1<<20)
		var rec [recordSize]byte
		for range s.size / recordSize {
			if _, err := io.ReadFull(r, rec[:]); err != nil {
				return written, fmt.Errorf("reading the samples back: %w", err)
			}
			id := binary.LittleEndian.Uint32(rec[0:])
			if i := slot[id]; i >= 0 {
				all[fill[i]] = change{binary.LittleEndian.Uint32(rec[4:]), math.Float64frombits(binary.LittleEndian.Uint64(rec[8:]))}
				fill[i]++
			}
		}
		for i, id := range batch {
			k := s.keys[id]
			if k.family != family {
				family = k.family
				f := families[family]
				base := strings.TrimSuffix(f.Name, "_total")
				if _, err := fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", base, escapeHelp(f.Help), base); err != nil {
					return written, err
				}
			}
			prefix := families[family].Name + "{" + families[family].Label + `="` + escapeLabel(k.label) + `"` + extra + "} "
			ch := all[offsets[i]:offsets[i+1]]
			value := []byte("0")
			for step := range steps {
				for len(ch) > 0 && int(ch[0].step) <= step {
					value = strconv.AppendFloat(value[:0], ch[0].v, 'g', -1, 64)
					ch = ch[1:]
				}
				line = append(line[:0], prefix...)
				line = append(line, value...)
				line = append(line, ' ')
				line = strconv.AppendInt(line, ts(step), 10)
				line = append(line, '\n')
				if _, err := w.Write(line); err != nil {
					return written, err
				}
			}
			written += int64(steps)
			slot[id] = -1
			done++
			if progress != nil {
				progress(done, len(order))
			}
		}
		start = end
	}
	return written, nil
}

// escaper escapes label values and help texts for OpenMetrics.
var escaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return escaper.Replace(s) }

func escapeHelp(s string) string { return escaper.Replace(s) }
