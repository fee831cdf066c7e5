// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/posit-connect-exporter/posit_connect_exporter/collector"
	"github.com/posit-connect-exporter/posit_connect_exporter/config"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/demo"
	"github.com/posit-connect-exporter/posit_connect_exporter/target"
	"github.com/posit-connect-exporter/posit_connect_exporter/usage"
	"github.com/posit-connect-exporter/posit_connect_exporter/window"
	"github.com/posit-connect-exporter/posit_connect_exporter/workbench"
)

// defaultListenAddress is outside the fully allocated 9100–9999 range of
// the Prometheus default-port wiki page.
const defaultListenAddress = ":10233"

// options are the parsed command-line flags. Those that configure a
// Connect target are parsed straight into its settings.
type options struct {
	web *web.FlagConfig
	log *promslog.Config

	metricsPath          string
	disableExporterStats bool
	maxRequests          int
	timeoutOffset        time.Duration

	spec          config.Target // the command line's Connect server
	sh            target.Shared
	ttls          map[string]*time.Duration // by collector.Resource TTLFlag
	activeWindows string
	collectors    map[string]*bool

	ignoreUserAgent  string
	excludeUsersFile string

	workbenchLogs    []string
	workbenchSeats   int
	workbenchWindows string

	auditLogWindows string

	configFile   string
	configCheck  bool
	demo         bool
	demoScenario string
	exited       bool

	backfill *backfillOptions // the backfill command's flags
}

func newApp() (*kingpin.Application, *options) {
	o := &options{log: &promslog.Config{}, collectors: map[string]*bool{}, ttls: map[string]*time.Duration{}}
	def := target.Defaults()
	app := kingpin.New(exporterName, "Prometheus exporter for Posit Connect (licence, users, content, usage) and Posit Workbench named users.")
	o.web = kingpinflag.AddFlags(app, defaultListenAddress)
	promslogflag.AddFlags(app, o.log)
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	app.Terminate(func(int) { o.exited = true })

	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&o.metricsPath)
	app.Flag("web.disable-exporter-metrics", "Leave out the exporter's Go runtime and process metrics (promhttp_*, process_*, go_*).").BoolVar(&o.disableExporterStats)
	app.Flag("web.max-requests", "Maximum concurrent scrapes; more are answered 503. 0 means no limit.").Default("40").IntVar(&o.maxRequests)
	app.Flag("timeout-offset", "Subtracted from Prometheus' scrape timeout to leave time to send the answer.").Default("500ms").DurationVar(&o.timeoutOffset)

	app.Flag("connect.url", "Posit Connect server address, e.g. https://connect.example.com.").Envar("CONNECT_SERVER").StringVar(&o.spec.URL)
	app.Flag("connect.api-key-file", "File holding an administrator API key; re-read when it changes. Without it the key comes from the CONNECT_API_KEY environment variable. The key is never accepted as a flag value.").Envar("CONNECT_API_KEY_FILE").StringVar(&o.spec.APIKeyFile)
	app.Flag("connect.timeout", "Timeout of one request to Connect, and the scrape deadline when Prometheus sends none.").Default(def.Timeout.String()).DurationVar(&o.sh.Timeout)
	app.Flag("connect.walk-timeout", "Bound of one complete fetch of a resource (all pages of the users table, say). It runs in the background: a scrape that ends first is answered from the cache.").Default(def.WalkTimeout.String()).DurationVar(&o.sh.WalkTimeout)
	app.Flag("connect.cache-max-age", "How long cached Connect data is still served after its TTL while a refresh runs or fails (stale-while-revalidate); see posit_connect_cache_age_seconds.").Default(def.CacheMaxAge.String()).DurationVar(&o.sh.CacheMaxAge)
	app.Flag("connect.ca-file", "CA certificate file to verify the Connect server.").StringVar(&o.spec.CAFile)
	app.Flag("connect.insecure-skip-verify", "Do not verify the Connect server's TLS certificate.").BoolVar(&o.spec.InsecureSkipVerify)
	app.Flag("connect.license-seats", "Seat limit to report instead of the one the licence states (0: use the licence).").Default("0").Int64Var(&o.spec.LicenseSeats)
	app.Flag("connect.max-concurrent-requests", "Most requests in flight to Connect at once.").Default(fmt.Sprint(def.MaxConcurrent)).IntVar(&o.sh.MaxConcurrent)
	app.Flag("connect.max-response-bytes", "Largest Connect API response body accepted.").Default(fmt.Sprint(def.MaxBodyBytes)).Int64Var(&o.sh.MaxBodyBytes)
	for _, r := range collector.TTLFlags() {
		o.ttls[r.TTLFlag] = app.Flag("connect.cache-ttl."+r.TTLFlag, r.TTLHelp).Default(r.DefaultTTL.String()).Duration()
	}
	app.Flag("collector.users.active-windows", "Comma-separated windows for posit_connect_users_active.").Default(target.DefaultWindows).StringVar(&o.activeWindows)
	for _, d := range collector.Collectors {
		o.collectors[d.Name] = app.Flag("collector."+d.Name, fmt.Sprintf("Enable the %s collector: %s.", d.Name, d.Help)).
			Default(fmt.Sprint(d.Default)).Bool()
	}

	app.Flag("state.file", "File keeping the usage counters (shiny, visits, audit) and stream positions across restarts; written atomically after each read. Without it counters start at zero at start-up.").StringVar(&o.spec.StateFile)
	app.Flag("collector.usage.interval", "Least time between two reads of a usage stream; scrapes in between are served from memory.").Default(usage.DefaultInterval.String()).DurationVar(&o.sh.Usage.Interval)
	app.Flag("collector.usage.overlap", "How far before the previous read each usage read starts again, for records Connect writes late and clock skew between the exporter and Connect.").Default(usage.DefaultOverlap.String()).DurationVar(&o.sh.Usage.Overlap)
	app.Flag("collector.usage.read-timeout", "Bound of one background read of a usage stream.").Default(usage.DefaultReadTimeout.String()).DurationVar(&o.sh.Usage.ReadTimeout)
	app.Flag("collector.usage.exclude-users-file", "File of user GUIDs or usernames (one per line, # comments) whose Shiny sessions and visits are not counted.").StringVar(&o.excludeUsersFile)
	app.Flag("collector.visits.ignore-user-agent", "Regular expression; visits whose user agent matches are not counted (empty: count all).").Default(usage.DefaultIgnoreUserAgent).StringVar(&o.ignoreUserAgent)
	app.Flag("collector.usage.deleted-content-retention", "How long the Shiny and visit series of content deleted from Connect are kept once Connect's content list (read at most hourly) no longer holds it; 0 keeps them for ever.").Default(usage.DefaultDeletedContentRetention.String()).DurationVar(&o.sh.Usage.DeletedContentRetention)
	app.Flag("collector.shiny.min-session-duration", "Count a Shiny session only once it has lasted at least this long (0: count all).").Default("0s").DurationVar(&o.sh.Usage.MinSessionDuration)
	app.Flag("connect.audit-log", "Connect audit log file (Server.AuditLog, [Logging] AuditLog), a file or a glob; repeat for each node. Read incrementally: posit_connect_audit_log_file_*. Works without --connect.url.").StringsVar(&o.spec.AuditLog)
	app.Flag("connect.audit-log.windows", "Comma-separated windows for posit_connect_audit_log_file_logins.").Default(target.DefaultWindows).StringVar(&o.auditLogWindows)
	app.Flag("workbench.audit-log", "Posit Workbench session audit log (r-sessions.csv or its NDJSON variant), a file or a glob; repeat for each node. Enables posit_workbench_* metrics.").StringsVar(&o.workbenchLogs)
	app.Flag("workbench.license-seats", "Workbench named-user seats, exported as posit_workbench_license_user_seats (0: not exported).").Default("0").IntVar(&o.workbenchSeats)
	app.Flag("workbench.windows", "Comma-separated windows for posit_workbench_named_users.").Default(target.DefaultWindows).StringVar(&o.workbenchWindows)
	app.Flag("config.file", "YAML file listing several Connect servers (see README). Their metrics are served on /probe?target=<name>, the distinct named-user count across them on /metrics.").StringVar(&o.configFile)
	app.Flag("config.check", "Check --config.file (syntax, servers, key files) and exit.").BoolVar(&o.configCheck)
	app.Flag("demo", "Run against a built-in simulated Connect server instead of a real one.").BoolVar(&o.demo)
	app.Flag("demo.scenario", "Simulated situation in --demo: "+strings.Join(demo.Scenarios, ", ")+".").Default("healthy").StringVar(&o.demoScenario)
	o.backfill = addCommands(app)
	return app, o
}

// validate checks the flag values that kingpin cannot, naming the flag. It
// reads no files: what the flags name is opened when the exporter is built.
func (o *options) validate() error {
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", flag, fmt.Sprintf(format, args...)))
	}
	switch {
	case o.configFile != "" && o.demo:
		bad("config.file", "cannot be combined with --demo")
	case o.configFile != "" && o.spec.URL != "":
		bad("config.file", "lists the servers itself; drop --connect.url (or CONNECT_SERVER)")
	case o.configCheck && o.configFile == "":
		bad("config.check", "needs --config.file")
	case o.configFile != "", o.filesOnly():
		// The file names each server's URL and key; or no Connect at all.
	case !o.demo:
		if o.spec.URL == "" {
			bad("connect.url", "required (or set CONNECT_SERVER), unless --demo, --config.file, or log files alone (--workbench.audit-log, --connect.audit-log)")
		} else if _, err := connectapi.ParseServerURL(o.spec.URL); err != nil {
			bad("connect.url", "%v", err)
		}
		if o.spec.APIKeyFile == "" && strings.TrimSpace(os.Getenv("CONNECT_API_KEY")) == "" {
			bad("connect.api-key-file", "no API key: set CONNECT_API_KEY or point --connect.api-key-file at a file holding it")
		}
	}
	if o.spec.StateFile != "" && o.configFile != "" {
		bad("state.file", "with --config.file, set state_file per server in the file")
	}
	if len(o.spec.AuditLog) > 0 && o.configFile != "" {
		bad("connect.audit-log", "with --config.file, list audit_log per server in the file")
	}
	if err := demo.CheckScenario(o.demoScenario); err != nil {
		bad("demo.scenario", "%v", err)
	}
	positive := map[string]time.Duration{"connect.timeout": o.sh.Timeout, "connect.walk-timeout": o.sh.WalkTimeout,
		"collector.usage.interval": o.sh.Usage.Interval, "collector.usage.read-timeout": o.sh.Usage.ReadTimeout}
	notNegative := map[string]time.Duration{"timeout-offset": o.timeoutOffset, "collector.usage.overlap": o.sh.Usage.Overlap,
		"connect.cache-max-age":                     o.sh.CacheMaxAge,
		"collector.shiny.min-session-duration":      o.sh.Usage.MinSessionDuration,
		"collector.usage.deleted-content-retention": o.sh.Usage.DeletedContentRetention}
	for flag, ttl := range o.ttls {
		notNegative["connect.cache-ttl."+flag] = *ttl
	}
	for flag, d := range positive {
		if d <= 0 {
			bad(flag, "must be positive, got %s", d)
		}
	}
	for flag, d := range notNegative {
		if d < 0 {
			bad(flag, "must not be negative, got %s", d)
		}
	}
	for flag, n := range map[string]int64{"connect.license-seats": o.spec.LicenseSeats, "web.max-requests": int64(o.maxRequests),
		"workbench.license-seats": int64(o.workbenchSeats)} {
		if n < 0 {
			bad(flag, "must not be negative, got %d", n)
		}
	}
	if o.sh.MaxConcurrent < 1 {
		bad("connect.max-concurrent-requests", "must be at least 1, got %d", o.sh.MaxConcurrent)
	}
	if o.sh.MaxBodyBytes < 1024 {
		bad("connect.max-response-bytes", "must be at least 1024, got %d", o.sh.MaxBodyBytes)
	}
	if !strings.HasPrefix(o.metricsPath, "/") {
		bad("web.telemetry-path", "must start with /, got %q", o.metricsPath)
	}
	if _, err := regexp.Compile(o.ignoreUserAgent); err != nil {
		bad("collector.visits.ignore-user-agent", "not a regular expression: %v", err)
	}
	for flag, list := range map[string]string{"collector.users.active-windows": o.activeWindows, "workbench.windows": o.workbenchWindows,
		"connect.audit-log.windows": o.auditLogWindows} {
		if _, err := window.Parse(list); err != nil {
			bad(flag, "%v", err)
		}
	}
	return errors.Join(errs...)
}

// filesOnly reads log files and no Connect API: a Workbench site without
// Connect, or Connect's audit log files without an API key.
func (o *options) filesOnly() bool {
	return (len(o.workbenchLogs) > 0 || len(o.spec.AuditLog) > 0) && o.spec.URL == "" && o.configFile == "" && !o.demo
}

// shared completes the settings every Connect target shares; it reads the
// exclude-users file.
func (o *options) shared(self *collector.SelfMetrics, logger *slog.Logger) (*target.Shared, error) {
	sh := o.sh
	sh.Collectors, sh.Self, sh.Logger, sh.CheckOnly = map[string]bool{}, self, logger, o.configCheck
	sh.UserAgent = version.ComponentUserAgent(exporterName)
	sh.Usage.IgnoreUserAgent = regexp.MustCompile(o.ignoreUserAgent)
	if sh.Usage.DeletedContentRetention == 0 {
		sh.Usage.DeletedContentRetention = -1 // the flag's 0 keeps them for ever; usage.Config's 0 is its default
	}
	byFlag := map[string]time.Duration{}
	for flag, ttl := range o.ttls {
		byFlag[flag] = *ttl
	}
	sh.TTLs = collector.TTLs(byFlag)
	for name, on := range o.collectors {
		sh.Collectors[name] = *on
	}
	sh.ActiveWindows, _ = window.Parse(o.activeWindows)
	sh.AuditLogWindows, _ = window.Parse(o.auditLogWindows)
	if o.excludeUsersFile != "" {
		users, err := usage.LoadExcludeUsers(o.excludeUsersFile)
		if err != nil {
			return nil, fmt.Errorf("--collector.usage.exclude-users-file: %w", err)
		}
		sh.Usage.ExcludeUsers = users
	}
	return &sh, nil
}

// single is the one Connect server of the command line.
func (o *options) single() config.Target {
	spec := o.spec
	if spec.APIKeyFile == "" {
		spec.APIKeyEnv = "CONNECT_API_KEY"
	}
	return spec
}

// workbench configures the Workbench collector.
func (o *options) workbench(logger *slog.Logger) workbench.Config {
	ws, _ := window.Parse(o.workbenchWindows)
	cfg := workbench.Config{Paths: o.workbenchLogs, Seats: o.workbenchSeats, Logger: logger.With("component", "workbench")}
	for _, w := range ws {
		cfg.Windows = append(cfg.Windows, w.Duration)
	}
	return cfg
}
