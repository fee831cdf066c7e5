// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package backfill

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/posit-connect-exporter/posit_connect_exporter/collector"
	"github.com/posit-connect-exporter/posit_connect_exporter/config"
)

// Flags are the backfill command's own flag values, as written.
type Flags struct {
	Since, Output, Step string
	Labels              []string
	Target              string
}

// Resolve checks the command's flags, naming each one that is wrong, and
// returns the run's configuration (without its client, its usage rules or
// its logger) and the server to read: with configFile, the server named by
// --target; otherwise single, the command line's. flagged is the command
// line's server as the flags gave it, to refuse what --config.file replaces.
func (f Flags) Resolve(now time.Time, configFile string, flagged, single config.Target) (Config, config.Target, error) {
	var (
		cfg  Config
		spec config.Target
		errs []error
	)
	bad := func(flag, format string, a ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", flag, fmt.Sprintf(format, a...)))
	}
	// The samples are whole steps before the end; a duration of whole
	// steps puts the first one at --since.
	now = now.Truncate(time.Second)
	cfg.End = now
	if f.Since == "" {
		bad("since", "required, e.g. --since=365d")
	} else {
		since, err := ParseSince(f.Since, now)
		if err != nil {
			bad("since", "%v", err)
		} else if !since.Before(now) {
			bad("since", "%s is in the future", since.UTC().Format(time.RFC3339))
		}
		cfg.Since = since
	}
	if f.Output == "" {
		bad("output", "required, e.g. --output=history.om")
	}
	cfg.Output = f.Output
	if d, err := model.ParseDuration(f.Step); err != nil {
		bad("step", "%v", err)
	} else {
		cfg.Step = time.Duration(d)
	}
	for _, l := range f.Labels {
		label, err := ParseLabel(l)
		if err != nil {
			bad("label", "%v", err)
			continue
		}
		cfg.Labels = append(cfg.Labels, label)
	}
	switch {
	case configFile != "" && (flagged.URL != "" || flagged.StateFile != ""):
		// The exporter's own check of its flags names the problem.
	case configFile != "" && f.Target == "":
		bad("target", "required with --config.file: the name of the server to backfill")
	case configFile != "":
		file, err := config.Load(configFile, collector.Names())
		if err != nil {
			bad("config.file", "%v", err)
			break
		}
		var names []string
		for _, s := range file.Servers {
			names = append(names, s.Name)
			if s.Name == f.Target {
				spec = s
			}
		}
		if spec.Name == "" {
			bad("target", "%s lists no server %q (it lists %s)", configFile, f.Target, strings.Join(names, ", "))
		}
	case f.Target != "":
		bad("target", "needs --config.file")
	default:
		spec = single
	}
	return cfg, spec, errors.Join(errs...)
}
