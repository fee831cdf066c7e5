// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package testutil

import (
	"testing"
	"time"
)

func TestValueMatchesEveryGivenLabel(t *testing.T) {
	mfs := ParseText(t, []byte(`# TYPE x gauge
x{a="1",b="2"} 3
x{a="1",b="3"} 4
# TYPE y counter
y_total 5
`))
	if v, ok := mfs.Value("x", "a", "1", "b", "3"); !ok || v != 4 {
		t.Errorf("x{a=1,b=3} = %v, %v", v, ok)
	}
	if _, ok := mfs.Value("x", "a", "2"); ok {
		t.Error("found x{a=2}")
	}
	if v, ok := mfs.Value("y_total"); !ok || v != 5 {
		t.Errorf("y_total = %v, %v", v, ok)
	}
	flat := mfs.Flat()
	if flat[`x{a="1",b="2"}`] != 3 || flat["y_total"] != 5 || len(flat) != 3 {
		t.Errorf("Flat() = %v", flat)
	}
}

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewClock(t0)
	if got := c.Advance(-time.Hour); !got.Equal(t0.Add(-time.Hour)) || !c.Now().Equal(got) {
		t.Errorf("Advance(-1h) = %s, Now %s", got, c.Now())
	}
	c.Set(t0)
	if !c.Now().Equal(t0) {
		t.Errorf("Set: %s", c.Now())
	}
}
