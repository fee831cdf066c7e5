// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !unix

package usage

import "os"

// flock does nothing where flock(2) does not exist: the state file is then
// not protected against a second writer.
func flock(*os.File) error { return nil }
