// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package exposition writes the Prometheus text format from pieces, some
// encoded (and compressed) once and kept while their data does not change,
// others encoded for each scrape, as one plain or gzip answer. A large,
// unchanged part of a scrape (10,000 content_info series, say) then costs
// a copy, not a fresh encoding and compression every time.
package exposition

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"io"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Format is the exposition format written: the Prometheus text format,
// version 0.0.4.
var Format = expfmt.NewFormat(expfmt.TypeTextPlain)

// Chunk is encoded text kept with its DEFLATE compression: raw blocks that
// end in a sync flush, so that other blocks can follow them in one stream.
type Chunk struct {
	text     []byte
	deflated []byte
}

// NewChunk compresses text once.
func NewChunk(text []byte) (*Chunk, error) {
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := fw.Write(text); err != nil {
		return nil, err
	}
	if err := fw.Flush(); err != nil { // byte-aligned, not final
		return nil, err
	}
	return &Chunk{text: text, deflated: buf.Bytes()}, nil
}

// Encode groups metrics into families, checks them as a registry does,
// and writes them in Format.
func Encode(metrics []prometheus.Metric) ([]byte, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(replay(metrics)); err != nil {
		return nil, err
	}
	families, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, Format)
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// replay is an unchecked collector (it describes nothing) that sends
// metrics already built.
type replay []prometheus.Metric

func (replay) Describe(chan<- *prometheus.Desc) {}

func (r replay) Collect(ch chan<- prometheus.Metric) {
	for _, m := range r {
		ch <- m
	}
}

// Writer writes one answer: kept chunks and fresh text in any order,
// plain, or as one gzip member whose DEFLATE stream splices the chunks'
// kept blocks with blocks compressed now. Close must be called.
type Writer struct {
	w       io.Writer
	gzip    bool
	started bool
	fresh   *flate.Writer // compressing fresh text since the last chunk
	crc     uint32
	size    uint32 // uncompressed length mod 2^32, as gzip records it
	err     error
}

// NewWriter returns a writer of plain text, or of gzip when gzip is true.
func NewWriter(w io.Writer, gzip bool) *Writer { return &Writer{w: w, gzip: gzip} }

// WriteChunk writes a kept chunk.
func (w *Writer) WriteChunk(c *Chunk) error {
	if !w.gzip {
		_, err := w.w.Write(c.text)
		return err
	}
	if err := w.endFresh(); err != nil {
		return err
	}
	w.account(c.text)
	return w.raw(c.deflated)
}

// Write writes fresh text.
func (w *Writer) Write(p []byte) (int, error) {
	if !w.gzip {
		return w.w.Write(p)
	}
	if err := w.header(); err != nil {
		return 0, err
	}
	if w.fresh == nil {
		fw, err := flate.NewWriter(writerFunc(w.raw), flate.BestSpeed)
		if err != nil {
			return 0, err
		}
		w.fresh = fw
	}
	w.account(p)
	return w.fresh.Write(p)
}

// Close ends the answer: for gzip, the final block and the trailer.
func (w *Writer) Close() error {
	if !w.gzip {
		return nil
	}
	if err := w.header(); err != nil {
		return err
	}
	if w.fresh != nil {
		if err := w.fresh.Close(); err != nil { // the final block
			return err
		}
		w.fresh = nil
	} else if err := w.raw(finalEmptyBlock); err != nil {
		return err
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], w.crc)
	binary.LittleEndian.PutUint32(trailer[4:], w.size)
	return w.raw(trailer[:])
}

// finalEmptyBlock is a final, empty stored DEFLATE block (byte-aligned).
var finalEmptyBlock = []byte{0x01, 0x00, 0x00, 0xff, 0xff}

// gzipHeader: magic, DEFLATE, no flags, no mtime, no extra flags, unknown OS.
var gzipHeader = []byte{0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff}

func (w *Writer) header() error {
	if w.started {
		return w.err
	}
	w.started = true
	return w.raw(gzipHeader)
}

// endFresh flushes the fresh compressor to a byte boundary and drops it,
// so that a chunk's blocks can follow.
func (w *Writer) endFresh() error {
	if err := w.header(); err != nil {
		return err
	}
	if w.fresh == nil {
		return nil
	}
	err := w.fresh.Flush()
	w.fresh = nil
	return err
}

func (w *Writer) account(p []byte) {
	w.crc = crc32.Update(w.crc, crc32.IEEETable, p)
	w.size += uint32(len(p)) //nolint:gosec // gzip keeps the length modulo 2^32
}

func (w *Writer) raw(p []byte) error {
	if w.err != nil {
		return w.err
	}
	_, w.err = w.w.Write(p)
	return w.err
}

type writerFunc func([]byte) error

func (f writerFunc) Write(p []byte) (int, error) {
	if err := f(p); err != nil {
		return 0, err
	}
	return len(p), nil
}
