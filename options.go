// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/posit-connect-exporter/posit_connect_exporter/collector"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/usage"
	"github.com/posit-connect-exporter/posit_connect_exporter/window"
)

// defaultListenAddress is outside the fully allocated 9100–9999 range of
// the Prometheus default-port wiki page.
const defaultListenAddress = ":10233"

// options are the parsed command-line flags.
type options struct {
	web *web.FlagConfig
	log *promslog.Config

	metricsPath          string
	disableExporterStats bool
	maxRequests          int
	timeoutOffset        time.Duration

	connectURL       string
	apiKeyFile       string
	connectTimeout   time.Duration
	caFile           string
	insecureSkip     bool
	licenseSeats     int64
	maxConcurrent    int
	maxBodyBytes     int64
	ttlSettings      time.Duration
	ttlUsers         time.Duration
	ttlGroups        time.Duration
	ttlContent       time.Duration
	activeWindowsRaw string
	activeWindows    []window.Window
	collectors       map[string]*bool

	demo         bool
	demoScenario string

	stateFile          string
	usageInterval      time.Duration
	usageOverlap       time.Duration
	usageReadTimeout   time.Duration
	ignoreUserAgentRaw string
	ignoreUserAgent    *regexp.Regexp
	minSessionDuration time.Duration
	excludeUsersFile   string
	excludeUsers       []string

	workbenchLogs       []string
	workbenchSeats      int
	workbenchWindowsRaw string
	workbenchWindows    []time.Duration

	configFile  string
	configCheck bool
	exited      bool
}

func newApp() (*kingpin.Application, *options) {
	o := &options{log: &promslog.Config{}, collectors: map[string]*bool{}}
	app := kingpin.New(exporterName, "Prometheus exporter for Posit Connect (licence, users, content, usage) and Posit Workbench named users.")
	o.web = kingpinflag.AddFlags(app, defaultListenAddress)
	promslogflag.AddFlags(app, o.log)
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	app.PreAction(func(*kingpin.ParseContext) error { return nil })
	app.Action(func(*kingpin.ParseContext) error { return nil })
	app.Terminate(func(int) { o.exited = true })

	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&o.metricsPath)
	app.Flag("web.disable-exporter-metrics", "Leave out the exporter's Go runtime and process metrics (promhttp_*, process_*, go_*).").BoolVar(&o.disableExporterStats)
	app.Flag("web.max-requests", "Maximum concurrent scrapes; more are answered 503. 0 means no limit.").Default("40").IntVar(&o.maxRequests)
	app.Flag("timeout-offset", "Subtracted from Prometheus' scrape timeout to leave time to send the answer.").Default("500ms").DurationVar(&o.timeoutOffset)

	app.Flag("connect.url", "Posit Connect server address, e.g. https://connect.example.com.").Envar("CONNECT_SERVER").StringVar(&o.connectURL)
	app.Flag("connect.api-key-file", "File holding an administrator API key; re-read when it changes. Without it the key comes from the CONNECT_API_KEY environment variable. The key is never accepted as a flag value.").Envar("CONNECT_API_KEY_FILE").StringVar(&o.apiKeyFile)
	app.Flag("connect.timeout", "Timeout of one Connect API fetch (all pages of a resource), and the scrape deadline when Prometheus sends none.").Default("30s").DurationVar(&o.connectTimeout)
	app.Flag("connect.ca-file", "CA certificate file to verify the Connect server.").StringVar(&o.caFile)
	app.Flag("connect.insecure-skip-verify", "Do not verify the Connect server's TLS certificate.").BoolVar(&o.insecureSkip)
	app.Flag("connect.license-seats", "Seat limit to report instead of the one the licence states (0: use the licence).").Default("0").Int64Var(&o.licenseSeats)
	app.Flag("connect.max-concurrent-requests", "Most requests in flight to Connect at once.").Default("4").IntVar(&o.maxConcurrent)
	app.Flag("connect.max-response-bytes", "Largest Connect API response body accepted.").Default(fmt.Sprint(connectapi.DefaultMaxBodyBytes)).Int64Var(&o.maxBodyBytes)
	app.Flag("connect.cache-ttl.server-settings", "How long server settings (version, licence) are cached; also how quickly posit_connect_up notices an outage.").Default("15s").DurationVar(&o.ttlSettings)
	app.Flag("connect.cache-ttl.users", "How long the users summary is cached.").Default("60s").DurationVar(&o.ttlUsers)
	app.Flag("connect.cache-ttl.groups", "How long the group count is cached.").Default("60s").DurationVar(&o.ttlGroups)
	app.Flag("connect.cache-ttl.content", "How long the content list is cached.").Default("60s").DurationVar(&o.ttlContent)
	app.Flag("collector.users.active-windows", "Comma-separated windows for posit_connect_users_active.").Default("30d,90d,365d").StringVar(&o.activeWindowsRaw)
	for _, d := range collector.Definitions {
		o.collectors[d.Name] = app.Flag("collector."+d.Name, fmt.Sprintf("Enable the %s collector: %s.", d.Name, d.Help)).
			Default(fmt.Sprint(d.DefaultEnabled)).Bool()
	}

	app.Flag("state.file", "File keeping the usage counters (shiny, visits, audit) and stream positions across restarts; written atomically after each read. Without it counters start at zero at start-up.").StringVar(&o.stateFile)
	app.Flag("collector.usage.interval", "Least time between two reads of a usage stream; scrapes in between are served from memory.").Default(usage.DefaultInterval.String()).DurationVar(&o.usageInterval)
	app.Flag("collector.usage.overlap", "How far before the previous read each usage read starts again, for records Connect writes late and clock skew between the exporter and Connect.").Default(usage.DefaultOverlap.String()).DurationVar(&o.usageOverlap)
	app.Flag("collector.usage.read-timeout", "Bound of one background read of a usage stream.").Default(usage.DefaultReadTimeout.String()).DurationVar(&o.usageReadTimeout)
	app.Flag("collector.usage.exclude-users-file", "File of user GUIDs or usernames (one per line, # comments) whose Shiny sessions and visits are not counted.").StringVar(&o.excludeUsersFile)
	app.Flag("collector.visits.ignore-user-agent", "Regular expression; visits whose user agent matches are not counted (empty: count all).").Default(usage.DefaultIgnoreUserAgent).StringVar(&o.ignoreUserAgentRaw)
	app.Flag("collector.shiny.min-session-duration", "Count a Shiny session only once it has lasted at least this long (0: count all).").Default("0s").DurationVar(&o.minSessionDuration)
	app.Flag("workbench.audit-log", "Posit Workbench session audit log (r-sessions.csv or its NDJSON variant), a file or a glob; repeat for each node. Enables posit_workbench_* metrics.").StringsVar(&o.workbenchLogs)
	app.Flag("workbench.license-seats", "Workbench named-user seats, exported as posit_workbench_license_user_seats (0: not exported).").Default("0").IntVar(&o.workbenchSeats)
	app.Flag("workbench.windows", "Comma-separated windows for posit_workbench_named_users.").Default("30d,90d,365d").StringVar(&o.workbenchWindowsRaw)
	app.Flag("config.file", "YAML file listing several Connect servers (see README). Their metrics are served on /probe?target=<name>, the distinct named-user count across them on /metrics.").StringVar(&o.configFile)
	app.Flag("config.check", "Check --config.file (syntax, servers, key files) and exit.").BoolVar(&o.configCheck)
	app.Flag("demo", "Run against a built-in simulated Connect server instead of a real one.").BoolVar(&o.demo)
	app.Flag("demo.scenario", "Simulated situation in --demo: healthy, license-breach, license-expiring, down, unauthorized.").Default("healthy").StringVar(&o.demoScenario)
	return app, o
}

// validate checks flag values that kingpin cannot, naming the flag.
func (o *options) validate() error {
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", flag, fmt.Sprintf(format, args...)))
	}
	switch {
	case o.configFile != "" && o.demo:
		bad("config.file", "cannot be combined with --demo")
	case o.configFile != "" && o.connectURL != "":
		bad("config.file", "lists the servers itself; drop --connect.url (or CONNECT_SERVER)")
	case o.configCheck && o.configFile == "":
		bad("config.check", "needs --config.file")
	case o.configFile != "":
		// The file names each server's URL and key.
	case o.workbenchOnly():
		// Workbench only: no Connect server to read.
	case !o.demo:
		if o.connectURL == "" {
			bad("connect.url", "required (or set CONNECT_SERVER), unless --demo, --config.file or --workbench.audit-log alone")
		} else if _, err := connectapi.ParseServerURL(o.connectURL); err != nil {
			bad("connect.url", "%v", err)
		}
		if o.apiKeyFile == "" && strings.TrimSpace(os.Getenv("CONNECT_API_KEY")) == "" {
			bad("connect.api-key-file", "no API key: set CONNECT_API_KEY or point --connect.api-key-file at a file holding it")
		}
	}
	if !slices.Contains(demoScenarios, o.demoScenario) {
		bad("demo.scenario", "unknown scenario %q; choose one of %s", o.demoScenario, strings.Join(demoScenarios, ", "))
	}
	if o.connectTimeout <= 0 {
		bad("connect.timeout", "must be positive, got %s", o.connectTimeout)
	}
	if o.timeoutOffset < 0 {
		bad("timeout-offset", "must not be negative, got %s", o.timeoutOffset)
	}
	if o.licenseSeats < 0 {
		bad("connect.license-seats", "must not be negative, got %d", o.licenseSeats)
	}
	if o.maxConcurrent < 1 {
		bad("connect.max-concurrent-requests", "must be at least 1, got %d", o.maxConcurrent)
	}
	if o.maxBodyBytes < 1024 {
		bad("connect.max-response-bytes", "must be at least 1024, got %d", o.maxBodyBytes)
	}
	if o.maxRequests < 0 {
		bad("web.max-requests", "must not be negative, got %d", o.maxRequests)
	}
	for flag, ttl := range map[string]time.Duration{
		"connect.cache-ttl.server-settings": o.ttlSettings, "connect.cache-ttl.users": o.ttlUsers,
		"connect.cache-ttl.groups": o.ttlGroups, "connect.cache-ttl.content": o.ttlContent,
	} {
		if ttl < 0 {
			bad(flag, "must not be negative, got %s", ttl)
		}
	}
	if !strings.HasPrefix(o.metricsPath, "/") {
		bad("web.telemetry-path", "must start with /, got %q", o.metricsPath)
	}
	if o.usageInterval <= 0 {
		bad("collector.usage.interval", "must be positive, got %s", o.usageInterval)
	}
	if o.usageOverlap < 0 {
		bad("collector.usage.overlap", "must not be negative, got %s", o.usageOverlap)
	}
	if o.usageReadTimeout <= 0 {
		bad("collector.usage.read-timeout", "must be positive, got %s", o.usageReadTimeout)
	}
	if o.minSessionDuration < 0 {
		bad("collector.shiny.min-session-duration", "must not be negative, got %s", o.minSessionDuration)
	}
	if re, err := regexp.Compile(o.ignoreUserAgentRaw); err != nil {
		bad("collector.visits.ignore-user-agent", "not a regular expression: %v", err)
	} else {
		o.ignoreUserAgent = re
	}
	if o.excludeUsersFile != "" {
		users, err := usage.LoadExcludeUsers(o.excludeUsersFile)
		if err != nil {
			bad("collector.usage.exclude-users-file", "%v", err)
		}
		o.excludeUsers = users
	}
	if o.stateFile != "" && o.configFile != "" {
		bad("state.file", "with --config.file, set state_file per server in the file")
	}
	if o.workbenchSeats < 0 {
		bad("workbench.license-seats", "must not be negative, got %d", o.workbenchSeats)
	}
	if wb, err := window.Parse(o.workbenchWindowsRaw); err != nil {
		bad("workbench.windows", "%v", err)
	} else {
		for _, w := range wb {
			o.workbenchWindows = append(o.workbenchWindows, w.Duration)
		}
	}
	ws, err := window.Parse(o.activeWindowsRaw)
	if err != nil {
		bad("collector.users.active-windows", "%v", err)
	}
	o.activeWindows = ws
	return errors.Join(errs...)
}

// plainTextToRemote reports whether the key would cross the network
// unencrypted: http:// to a host that is not loopback.
func plainTextToRemote(raw string) bool {
	u, err := connectapi.ParseServerURL(raw)
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// workbenchOnly is a Workbench site without Connect: only the audit log is
// read.
func (o *options) workbenchOnly() bool {
	return len(o.workbenchLogs) > 0 && o.connectURL == "" && o.configFile == "" && !o.demo
}
