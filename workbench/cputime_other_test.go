// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !unix

package workbench

import "time"

// cpuTime is unknown here: benchmarks report no CPU throughput.
func cpuTime() time.Duration { return 0 }
