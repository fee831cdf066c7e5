// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"math"
	"time"
)

// Times are held as Unix nanoseconds, which cover the years 1678 to 2262.
// Connect has been seen to return records dated in the year 3000; nanos
// holds such times at the nearest end of the range, so that every read maps
// a record to the same key and the state file can hold it.
var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// nanoSecLimit is a whole number of seconds inside which UnixNano is exact.
const nanoSecLimit = math.MaxInt64/int64(time.Second) - 1

// nanos returns t in Unix nanoseconds, saturated to the int64 range.
func nanos(t time.Time) int64 {
	if sec := t.Unix(); sec > -nanoSecLimit && sec < nanoSecLimit {
		return t.UnixNano() // the common case, without time.Time comparisons
	}
	switch {
	case t.Before(minNanoTime):
		return math.MinInt64
	case t.After(maxNanoTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// lastEvent is the newest event time a stream took, with its Unix
// nanoseconds for cheap comparisons.
type lastEvent struct {
	t time.Time
	n int64
}

// observe moves to t (n = nanos(t)) when it is newer.
func (l *lastEvent) observe(t time.Time, n int64) {
	if l.t.IsZero() || n > l.n {
		l.t, l.n = t, n
	}
}

func (l *lastEvent) set(t time.Time) { l.t, l.n = t, nanos(t) }

// inNanoRange reports whether nanos(t) is exact.
func inNanoRange(t time.Time) bool { return !t.Before(minNanoTime) && !t.After(maxNanoTime) }

// addNanos is a+d, saturated.
func addNanos(a int64, d time.Duration) int64 {
	if d > 0 && a > math.MaxInt64-int64(d) {
		return math.MaxInt64
	}
	if d < 0 && a < math.MinInt64-int64(d) {
		return math.MinInt64
	}
	return a + int64(d)
}

// visitQueue holds the visit keys for expiry by time, whatever order they
// arrive in. Records come in time order, so almost every key goes to the
// FIFO, whose times never decrease; keys that arrive out of order, and
// keys dated beyond the read's horizon (Connect's clock ahead, or a
// record dated in the future), go to a min-heap. Expiry takes from both in
// time order, so one key dated a day ahead never holds back the keys that
// came after it.
type visitQueue struct {
	fifo []visitKey
	head int
	heap []visitKey // min-heap on t
}

// push adds k. Keys dated after horizon never enter the FIFO.
func (q *visitQueue) push(k visitKey, horizon int64) {
	if k.t <= horizon && (q.head == len(q.fifo) || q.fifo[len(q.fifo)-1].t <= k.t) {
		q.fifo = append(q.fifo, k)
		return
	}
	q.heap = append(q.heap, k)
	for i := len(q.heap) - 1; i > 0; {
		p := (i - 1) / 2
		if q.heap[p].t <= q.heap[i].t {
			break
		}
		q.heap[p], q.heap[i] = q.heap[i], q.heap[p]
		i = p
	}
}

// expire removes every key dated before cut from the queue and from seen,
// and returns how many it removed.
func (q *visitQueue) expire(cut int64, seen map[visitKey]visitSeen) int {
	n := 0
	for q.head < len(q.fifo) && q.fifo[q.head].t < cut {
		delete(seen, q.fifo[q.head])
		q.head++
		n++
	}
	if q.head == len(q.fifo) {
		q.fifo, q.head = q.fifo[:0], 0
	} else if q.head > 1024 && q.head*2 > len(q.fifo) {
		q.fifo = append(q.fifo[:0:0], q.fifo[q.head:]...)
		q.head = 0
	}
	for len(q.heap) > 0 && q.heap[0].t < cut {
		delete(seen, q.heap[0])
		q.popMin()
		n++
	}
	return n
}

func (q *visitQueue) popMin() {
	n := len(q.heap) - 1
	q.heap[0] = q.heap[n]
	q.heap = q.heap[:n]
	for i := 0; ; {
		l, small := 2*i+1, i
		if l < n && q.heap[l].t < q.heap[small].t {
			small = l
		}
		if r := l + 1; r < n && q.heap[r].t < q.heap[small].t {
			small = r
		}
		if small == i {
			return
		}
		q.heap[i], q.heap[small] = q.heap[small], q.heap[i]
		i = small
	}
}

// len is the number of keys held.
func (q *visitQueue) len() int { return len(q.fifo) - q.head + len(q.heap) }
