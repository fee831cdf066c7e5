// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package exposition

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestGzipSplicesKeptChunksWithFreshText(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	piece := func(n int) []byte {
		var b strings.Builder
		for range n {
			b.WriteString("series_")
			b.WriteString(strings.Repeat(string(rune('a'+r.IntN(26))), 1+r.IntN(30)))
			b.WriteString(" 1\n")
		}
		return []byte(b.String())
	}
	// Every order of kept and fresh pieces, empty ones included, must
	// decompress to exactly the plain answer, with Go's reader and gzip(1).
	for _, layout := range []string{"", "c", "f", "cf", "fc", "ccf", "fcfcf", "cfc", "ffcc", "c0f", "0c", "f0"} {
		var plain, zipped bytes.Buffer
		pw, zw := NewWriter(&plain, false), NewWriter(&zipped, true)
		for _, kind := range layout {
			switch kind {
			case 'c', '0':
				n := 2000
				if kind == '0' {
					n = 0
				}
				c, err := NewChunk(piece(n))
				if err != nil {
					t.Fatal(err)
				}
				if err := pw.WriteChunk(c); err != nil {
					t.Fatal(err)
				}
				if err := zw.WriteChunk(c); err != nil {
					t.Fatal(err)
				}
			case 'f':
				p := piece(300)
				if _, err := pw.Write(p); err != nil {
					t.Fatal(err)
				}
				if _, err := zw.Write(p); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(zipped.Bytes()))
		if err != nil {
			t.Fatalf("%q: %v", layout, err)
		}
		zr.Multistream(false) // one member, as every client can read
		got, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%q: %v", layout, err)
		}
		if !bytes.Equal(got, plain.Bytes()) {
			t.Fatalf("%q: gzip answer differs from the plain one (%d vs %d bytes)", layout, len(got), plain.Len())
		}
		if path, err := exec.LookPath("gzip"); err == nil {
			cmd := exec.Command(path, "-dc")
			cmd.Stdin = bytes.NewReader(zipped.Bytes())
			out, err := cmd.Output()
			if err != nil || !bytes.Equal(out, plain.Bytes()) {
				t.Fatalf("%q: gzip -d: %v (%d bytes, want %d)", layout, err, len(out), plain.Len())
			}
		}
	}
}

func TestEncodeGroupsFamiliesAndRejectsDuplicates(t *testing.T) {
	desc := prometheus.NewDesc("x", "An x.", []string{"l"}, nil)
	a := prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, 1, "a")
	b := prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, 2, "b")
	text, err := Encode([]prometheus.Metric{b, a})
	if err != nil {
		t.Fatal(err)
	}
	if want := "# HELP x An x.\n# TYPE x gauge\nx{l=\"a\"} 1\nx{l=\"b\"} 2\n"; string(text) != want {
		t.Errorf("got %q, want %q", text, want)
	}
	if _, err := Encode([]prometheus.Metric{a, a}); err == nil {
		t.Error("a duplicate series was encoded")
	}
}
