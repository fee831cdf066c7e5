// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

//go:build unix

package workbench

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user and system) this process used so far,
// so that benchmarks can report throughput per CPU second, which other
// processes on a shared machine do not distort as much as wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
