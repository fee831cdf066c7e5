// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/posit-connect-exporter/posit_connect_exporter/backfill"
	"github.com/posit-connect-exporter/posit_connect_exporter/config"
	"github.com/posit-connect-exporter/posit_connect_exporter/redact"
	"github.com/posit-connect-exporter/posit_connect_exporter/target"
	"github.com/posit-connect-exporter/posit_connect_exporter/usage"
)

// The commands: serve (the default, the exporter) and backfill.
const (
	serveCommand    = "serve"
	backfillCommand = "backfill"
)

// backfillOptions are the backfill command's own flags.
type backfillOptions struct {
	cmd    *kingpin.CmdClause
	since  string
	output string
	step   string
	labels []string
	target string
}

// backfillSharedFlags are the exporter's flags that the backfill command
// reads: how to reach Connect, the usage streams' rules, the state file,
// the servers file, logging. Any other exporter flag is refused.
var backfillSharedFlags = []string{
	"connect.url", "connect.api-key-file", "connect.timeout", "connect.ca-file", "connect.insecure-skip-verify",
	"connect.max-concurrent-requests", "connect.max-response-bytes",
	"collector.usage.overlap", "collector.usage.exclude-users-file", "collector.visits.ignore-user-agent",
	"collector.shiny.min-session-duration", "state.file", "config.file", "log.level", "log.format",
}

// addCommands adds the serve command (the default) and the backfill
// command with its flags.
func addCommands(app *kingpin.Application) *backfillOptions {
	app.Command(serveCommand, "Serve the metrics (the default: the exporter's flags alone run it).").Default()
	b := &backfillOptions{}
	b.cmd = app.Command(backfillCommand, "Write the usage counters' history (Shiny sessions, visits, audit events) since --since as OpenMetrics for `promtool tsdb create-blocks-from openmetrics`, and with --state.file the state the exporter goes on from. "+
		"Takes the exporter's "+strings.Join(prefixed(backfillSharedFlags), ", ")+".")
	b.cmd.Flag("since", "Start of the history: a duration before now (365d, 12w, 36h) or an RFC 3339 date or time (2025-01-31, 2025-01-31T08:00:00Z). Required.").StringVar(&b.since)
	b.cmd.Flag("output", "OpenMetrics file to write (through a temporary file beside it). Required.").StringVar(&b.output)
	b.cmd.Flag("step", "Time between samples, whole seconds (Prometheus units: 1h, 15m, 1d).").Default("1h").StringVar(&b.step)
	b.cmd.Flag("label", "Label added to every series, name=value (repeatable): the job and instance Prometheus gives the exporter's series, e.g. --label=job=posit_connect --label=instance=exporter.example.com:10233.").StringsVar(&b.labels)
	b.cmd.Flag("target", "With --config.file: the server (its name) to backfill; its state_file is the state file written.").StringVar(&b.target)
	return b
}

func prefixed(flags []string) []string {
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = "--" + f
	}
	return out
}

// runBackfill runs the backfill command; it returns the exit code.
func runBackfill(ctx context.Context, app *kingpin.Application, args []string, opts *options, stderr io.Writer) int {
	b := opts.backfill
	secrets := &redact.Secrets{}
	opts.log.Writer = stderr
	logger := newLogger(opts.log, secrets)
	cfg, spec, err := b.config(app, args, opts)
	if err != nil {
		fmt.Fprintf(stderr, "%s %s: error: %v\n", exporterName, backfillCommand, err)
		return 2
	}
	sh, err := opts.shared(nil, logger)
	if err == nil {
		sh.Secrets = secrets
		cfg.Client, err = target.NewClient(spec, sh, logger)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s %s: error: %v\n", exporterName, backfillCommand, err)
		return 2
	}
	cfg.Usage.IgnoreUserAgent, cfg.Usage.ExcludeUsers = sh.Usage.IgnoreUserAgent, sh.Usage.ExcludeUsers
	cfg.Logger = logger
	logger.Info("Backfilling usage history", "url", spec.URL, "since", cfg.Since.UTC().Format(time.RFC3339), "step", cfg.Step,
		"output", cfg.Output, "state_file", cfg.Usage.StateFile)
	if _, err := backfill.Run(ctx, cfg); err != nil {
		logger.Error("Backfill failed", "err", err)
		return 1
	}
	return 0
}

// config checks the backfill's flags and the exporter flags given with
// it, and returns the backfill's configuration (without its client) and
// the server to read.
func (b *backfillOptions) config(app *kingpin.Application, args []string, opts *options) (backfill.Config, config.Target, error) {
	var errs []error
	if pc, err := app.ParseContext(args); err == nil {
		own := map[string]bool{}
		for _, f := range b.cmd.Model().Flags {
			own[f.Name] = true
		}
		for _, e := range pc.Elements {
			if f, ok := e.Clause.(*kingpin.FlagClause); ok {
				name := f.Model().Name
				if !own[name] && !slices.Contains(backfillSharedFlags, name) && name != "help" && name != "version" {
					errs = append(errs, fmt.Errorf("--%s is not used by the backfill command", name))
				}
			}
		}
	}
	if err := opts.validate(); err != nil { // the exporter's flags, checked as the exporter checks them
		errs = append(errs, err)
	}
	flags := backfill.Flags{Since: b.since, Output: b.output, Step: b.step, Labels: b.labels, Target: b.target}
	cfg, spec, err := flags.Resolve(time.Now(), opts.configFile, opts.spec, opts.single())
	errs = append(errs, err)
	cfg.Usage = usage.Config{StateFile: spec.StateFile, ServerURL: spec.URL, Overlap: opts.sh.Usage.Overlap, MinSessionDuration: opts.sh.Usage.MinSessionDuration}
	return cfg, spec, errors.Join(errs...)
}
