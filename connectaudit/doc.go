// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package connectaudit counts the audited events that Posit Connect writes
// to its audit log files, one per node, and exposes them with the logins per
// window and a few health metrics as a prometheus.Collector.
//
// Besides its database (read through the Server API), Connect can write
// every audited event to a file on each node. A node writes only what
// happened through it; the files of all nodes together hold what the API
// shows. Reading the files works without an administrator API key and for
// sites that ship logs rather than open the API.
//
// # Formats
//
// Two generations exist, and a site may have files of both:
//
//   - Connect up to 2022.10: [Server] AuditLogFormat = CSV or JSON, file
//     [Server] AuditLog (default /var/log/rstudio-connect.audit.log). CSV
//     fields in order: the entry's database id, time (RFC 3339), the acting
//     user's database id, user description, action, event description,
//     quoted as encoding/csv does (a field holding a comma or quote is
//     double-quoted, a quote doubled). JSON: one object per line with id,
//     time, user_id, user_description, action and event_description, the
//     object the API returns (ids as strings or numbers).
//   - Connect 2022.11 and later: [Logging] AuditLog = a file, STDOUT or
//     STDERR; AuditLogFormat = TEXT (default) or JSON; default file
//     /var/log/rstudio/rstudio-connect/rstudio-connect.audit.log.
//
// TEXT is logfmt, and JSON has the same keys. The example of Connect's
// events catalog (GUIDs shortened):
//
//	time="2022-10-18T20:07:39.813Z" level=info msg="Added group Publishers" action=add_group actor_description="admin n (admin)" actor_guid=8c1c… actor_id=1 actor_role=administrator entry_id=73 group_guid=1b2c… group_id=2 group_name=Publishers type=audit
//
// Every current entry has time (UTC), level, msg, type=audit, action,
// actor_id, actor_description, actor_role, and actor_guid unless the actor
// is the system (actor_id=0, actor_role=system). *_id fields are integers,
// the rest strings; some actions add fields of their own.
//
// # Parsing
//
// The format is decided per line: a line starting with '{' is JSON (a
// current entry when it has a "type" key, a legacy one when it has "id" and
// "action" but no "type"); a line starting with an integer and a comma is
// legacy CSV ("id,time,…" as a header is ignored); a line starting with
// key= is logfmt. A line with a prefix such as a syslog or journal header
// ("Oct 18 20:07:39 node1 rstudio-connect[812]: time=…") is read from what
// follows the first ": ". So files of both generations, and a journal where
// audit entries (AuditLog = STDOUT or STDERR) are mixed with other log
// lines, are read alike.
//
// logfmt values are bare (up to the next blank) or double-quoted with Go
// escapes (\" \\ \n \t \uNNNN …); a key may lack a value. JSON is read by a
// fast scanner for the flat objects Connect writes and by encoding/json for
// anything else, which has the last word. Timestamps are RFC 3339 with any
// number of fractional digits and Z or an offset.
//
// A valid logfmt or JSON line whose type is not audit, or that has no type
// and is not a legacy entry, and any line in none of the formats, is not an
// audit entry: it is skipped and counted in
// posit_connect_audit_log_file_skipped_lines_total. An audit entry without a
// valid entry id, time, action or (current formats) actor_id, invalid JSON,
// broken quoting in logfmt or in the first five CSV fields, and lines longer
// than 1 MiB are counted in posit_connect_audit_log_file_parse_errors_total
// and skipped. A legacy event description holding a newline continues on
// the next line, which is then skipped as not an entry: the entry itself is
// counted, since the description is never read.
//
// # Counting once
//
// Entries are de-duplicated by entry id (legacy id and current entry_id
// are the same database sequence) across files, formats, nodes and re-reads
// (a truncated file read again, a rotated copy): an id counts once, later
// sightings go to posit_connect_audit_log_file_duplicate_entries_total. The
// ids seen are kept in a chunked bitmap (64 Ki ids per chunk: a sorted list
// of offsets up to 4,096 ids, then a bitmap, then nothing once the chunk is
// complete), about 1.2 MiB per ten million dense ids at most, whatever the
// order the nodes' files interleave them in.
//
// # Files
//
// Config.Paths holds files or glob patterns, followed by package tail with
// the same guarantees as the Workbench reader: appended bytes only,
// rotation by device and inode, truncation, partial last lines, a file
// matched twice read once, copytruncate copies recognised, compressed
// rotations skipped, at most 32 files open. Reading happens inside Collect,
// at most once per Config.MinInterval (default 10s). Counters count entries
// read since the exporter started; the first read takes the whole files.
//
// # Metrics
//
//	posit_connect_audit_log_file_events_total{action,actor_role}      counter
//	posit_connect_audit_log_file_logins{window}                       gauge
//	posit_connect_audit_log_file_files                                gauge
//	posit_connect_audit_log_file_read_bytes_total                     counter
//	posit_connect_audit_log_file_parse_errors_total                   counter
//	posit_connect_audit_log_file_skipped_lines_total                  counter
//	posit_connect_audit_log_file_duplicate_entries_total              counter
//	posit_connect_audit_log_file_oldest_event_timestamp_seconds       gauge (absent before the first entry)
//	posit_connect_audit_log_file_newest_event_timestamp_seconds       gauge (absent before the first entry)
//	posit_connect_audit_log_file_read_success                         gauge, 0 when a path matched no file or a read failed
//
// events_total has only the non-zero (action, actor_role) pairs. Legacy
// entries have actor_role="". The action label holds the action as written
// for the actions of Connect's events catalog and for up to 50 others; any
// further action, or one that is not 1–64 ASCII letters, digits, '_', '.'
// or '-', is counted as "other" (likewise roles beyond the known
// administrator, publisher, viewer and system and 5 others).
//
// logins{window} counts the distinct actors (actor_id, or the legacy
// user_id) with a user_login entry at or after now minus the window (30d,
// 90d and 365d by default), to compare with Connect's own active users;
// entries dated in the future count in every window. When the oldest entry
// read is newer than now minus the largest window, the files do not reach
// back far enough: a warning is logged whenever that oldest time changes.
// Actor descriptions, names and GUIDs never appear in labels or logs.
package connectaudit
