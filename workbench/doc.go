// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package workbench counts Posit Workbench (formerly RStudio Workbench /
// RStudio Server Pro) named users from the session audit log and exposes them,
// with a few health metrics about the log itself, as a prometheus.Collector.
//
// # The session audit log
//
// Workbench writes session audit events when audit-r-sessions=1 is set in
// /etc/rstudio/rserver.conf, by default to
// /var/lib/rstudio-server/audit/r-sessions/r-sessions.csv (the audit
// directory can be moved in rserver.conf; check the setting on your version,
// commonly referred to as audit-data-path, which the pages below do not name).
// Sources: Posit support article "Session Auditing in
// Posit Workbench / RStudio Server Pro"
// (https://support.posit.co/hc/en-us/articles/231612428) and the Workbench
// admin guide, "Auditing Configuration"
// (https://docs.posit.co/ide/server-pro/auditing_and_monitoring/auditing_configuration.html).
//
// Each event has five fields:
//
//	pid        Unix process id (the rserver process for auth events, rsession for session events)
//	username   Unix user the event is about
//	timestamp  milliseconds since the Unix epoch
//	type       auth_login, auth_logout, auth_login_failed, session_start,
//	           session_suicide, session_suspend, session_quit, session_exit,
//	           session_admin_suspend, session_admin_terminate (newer releases add others)
//	data       the administrator who initiated the event (admin events, and
//	           auth_login when an administrator logs in as the user); often empty
//
// The default format is CSV with the header "pid, username, timestamp, type,
// data" and ", " (comma, space) between fields, so a naive split on "," leaves
// a leading space on every field after the first (Posit's own user-count
// script reads it with read.csv(strip.white = TRUE)). With
// audit-r-sessions-format=json each line is instead one JSON object with the
// same keys (newline-delimited JSON; the file as a whole is not JSON).
//
// # Parsing
//
// The format is decided per line, not per file: a line whose first non-blank
// byte is '{' is parsed as JSON, any other line as CSV. That covers .csv and
// .jsonl files alike, whatever their names, and a file whose format was
// switched while it was being written. A CSV line is split on its first four
// commas (fields may be double-quoted; blanks around fields are trimmed), so the
// data field may itself contain commas and quotes. The header line is skipped
// wherever it appears (a rotated file starts with one). pid and timestamp must
// be decimal integers, username and type non-empty; any other line is counted
// in posit_workbench_audit_log_parse_errors_total and skipped. Blank lines and
// a leading UTF-8 byte order mark are ignored. Lines longer than 1 MiB are skipped as malformed. Unknown event
// types are counted and otherwise ignored.
//
// # Named users
//
// A user is "named" in a window when the audit log holds a session_start or
// auth_login event for that username whose timestamp t satisfies
// t >= now - window. The window is inclusive at its old edge: an event exactly
// 30 days old counts for the 30d window, one a millisecond older does not.
// Events stamped in the future (clock skew between nodes) count in every
// window. An auth_login written when an administrator logs in as a user counts
// for that user. Events are never paired by pid: pids are reused across users
// and the count only needs the last start or login per username, so memory
// grows with distinct usernames, not with lines.
//
// Usernames from all configured files are unioned, so the per-node logs of a
// load-balanced cluster give one deduplicated count. Usernames never appear in
// labels or logs.
//
// When the oldest event read is newer than now minus the largest window, the
// log does not reach back far enough (retention, rotation, or auditing enabled
// recently) and named users may be undercounted: the collector logs a warning
// whenever that oldest timestamp changes, and exports
// posit_workbench_audit_log_oldest_event_timestamp_seconds for alerting.
//
// # Files
//
// Config.Paths holds files or glob patterns (filepath.Match syntax), expanded
// again on every refresh so new, rotated and per-node files are found. They
// are followed by package tail, which documents the guarantees in full: only
// appended bytes are read; files are tracked by device and inode, so a file
// renamed by rotation is never read twice; truncation (also when the file
// regrew past the old offset) restarts a file; a copy left by copytruncate
// rotation is recognised by its content fingerprint and only what it adds is
// read, so a glob such as r-sessions.* is safe; compressed rotations (.gz
// and the like, also recognised by their magic bytes) are skipped, never
// parsed; an incomplete last line waits for its newline; at most 32 files
// are held open, idle ones being reopened by name when they grow, so a glob
// matching thousands of files cannot exhaust descriptors; a path that is a
// directory is reported as such.
//
// Reading happens inside Collect, at most once per Config.MinInterval
// (default 10s; also whenever the clock was stepped back); scrapes in between
// get the values of the last read. The first scrape reads the whole log:
// about 3 s per GB on a 2-vCPU VM, with memory independent of the log's
// size. Counters count lines read since the exporter started.
//
// # Metrics
//
//	posit_workbench_named_users{window}                        gauge
//	posit_workbench_audit_events_total{type}                   counter
//	posit_workbench_audit_log_oldest_event_timestamp_seconds   gauge (absent before the first event)
//	posit_workbench_audit_log_parse_errors_total               counter
//	posit_workbench_audit_log_read_bytes_total                 counter
//	posit_workbench_audit_log_files                            gauge
//	posit_workbench_audit_log_read_success                     gauge, 0 when a path matched no file or a read failed
//	posit_workbench_license_user_seats                         gauge (only when Config.Seats > 0)
//
// The type label holds the event type as written for the documented types
// (always exported, zero included) and for up to 50 distinct types in all;
// further types, and types that are not 1–64 ASCII letters, digits, '_', '.'
// or '-', are counted as "other" (as would be a type literally named other).
package workbench
