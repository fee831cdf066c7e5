// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

//go:build race

package usage

// raceEnabled shortens the simulator runs under the race detector, which
// slows JSON work about tenfold.
const raceEnabled = true
