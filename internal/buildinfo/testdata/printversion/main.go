// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Command printversion prints what prometheus/common/version reports after
// buildinfo.Init, one field a line; buildinfo's tests build it like a user
// would build the exporter.
package main

import (
	"fmt"

	"github.com/prometheus/common/version"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/buildinfo"
)

func main() {
	buildinfo.Init("9.9.9-fallback")
	fmt.Printf("version=%s\nrevision=%s\nbranch=%s\nbuild_user=%s\nbuild_date=%s\n",
		version.Version, version.GetRevision(), version.Branch, version.BuildUser, version.BuildDate)
}
