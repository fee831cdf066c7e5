// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// HeapSampler records the largest live heap (bytes of heap objects) seen
// while it runs, sampled every millisecond.
type HeapSampler struct {
	base uint64
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

// HeapObjects is the size of the heap's objects, live or not yet swept.
func HeapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// StartHeapSampler collects garbage, notes the heap as the base and
// starts sampling.
func StartHeapSampler() *HeapSampler {
	runtime.GC()
	h := &HeapSampler{stop: make(chan struct{}), base: HeapObjects()}
	h.peak.Store(h.base)
	h.wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-t.C:
				if v := HeapObjects(); v > h.peak.Load() {
					h.peak.Store(v)
				}
			}
		}
	})
	return h
}

// Stop ends sampling and returns the peak heap and the peak above the
// heap at start (what the work added).
func (h *HeapSampler) Stop() (peak, aboveBase uint64) {
	close(h.stop)
	h.wg.Wait()
	peak = h.peak.Load()
	if peak > h.base {
		aboveBase = peak - h.base
	}
	return peak, aboveBase
}

// PeakHeapAbove runs fn and returns the peak heap above the heap before it
// started.
func PeakHeapAbove(fn func()) uint64 {
	h := StartHeapSampler()
	fn()
	_, above := h.Stop()
	return above
}

// HeapAfterGC is the live heap after two full collections.
func HeapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
