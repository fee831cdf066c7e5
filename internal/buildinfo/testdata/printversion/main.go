// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Command printversion prints what the exporter's --version prints, after
// buildinfo.Init with the fallback version given as its argument.
// scripts/test.d/30-release.sh builds it with a plain go build and go
// install, as a user would build the exporter.
package main

import (
	"fmt"
	"os"

	"github.com/prometheus/common/version"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/buildinfo"
)

func main() {
	fallback := ""
	if len(os.Args) > 1 {
		fallback = os.Args[1]
	}
	buildinfo.Init(fallback)
	fmt.Println(version.Print("printversion"))
}
