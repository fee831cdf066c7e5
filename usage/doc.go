// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package usage keeps exact, incremental, restart-safe counters of Shiny
// sessions, content visits and audit events read from the Connect Server
// API, and emits them as Prometheus const metrics:
//
//	posit_connect_shiny_sessions_total{content_guid}
//	posit_connect_shiny_sessions_ended_total{content_guid}
//	posit_connect_shiny_session_duration_seconds_total{content_guid}
//	posit_connect_content_visits_total{content_guid}
//	posit_connect_audit_events_total{action}
//	posit_connect_usage_last_event_timestamp_seconds{stream}
//
// # Reads
//
// Each stream (Streams.Shiny, Visits, Audit) is an Updater. A scrape reads
// what is new when the stream was last read Interval ago or more, and
// serves the counters from memory otherwise. A read that outlasts the
// scrape's deadline goes on in the background (bounded by ReadTimeout); the
// scrape gets the counters as they are. One stream never has two reads at
// once. When the latest completed read failed, Update returns its error and
// emits nothing for that stream; the counters stay in memory and come back
// with the next good read. Counters never decrease and never count an event
// twice.
//
// Counting starts with the first complete read after start-up (the
// baseline): what that read returns already existed and is remembered but
// not counted. So Shiny sessions already open then are never counted, not
// even when they end. With a state file, counting goes on from where the
// file left off, including events that happened while the exporter was
// down.
//
// # Shiny sessions
//
// A read asks for sessions with from = start of the previous complete read
// minus Overlap, measured on the exporter's clock. Connect returns every
// open session and every session that ended at or after from. Connect has
// no session id: a session is (content_guid, user_guid, started). It is
// counted in sessions_total when first seen, and in sessions_ended_total
// and session_duration_seconds_total (ended minus started) when first seen
// ended; a session seen open and later ended counts once in each. The
// stream keeps the set of open sessions and the keys of sessions that ended
// at or after the next read's from; an open session that a complete read no
// longer returns is forgotten. With MinSessionDuration, a session counts
// once it is known to have lasted that long (open for that long at a read,
// or ended that long after it started); shorter ended sessions never count.
// Sessions of ExcludeUsers are ignored.
//
// Overlap must exceed both how late Connect records a session's end and how
// far Connect's clock lags the exporter's; the default 5m is generous.
//
// # Visits
//
// Visits are point events. A read asks for from = position minus Overlap,
// where the position moves to the time of the last record of each applied
// page (records come in time order) and to the read's start when the read
// completes. Identical records are distinct visits, so deduplication is a
// multiset: for each distinct record (time plus a 64-bit hash of every
// other field) the stream remembers how many copies it has seen and counts
// only copies beyond that. Visits whose user agent matches IgnoreUserAgent
// (Connect's health monitor by default) or whose user is excluded are
// ignored.
//
// # Audit events
//
// The audit log has no time filter. A read walks it newest first until it
// reaches the highest id already applied (ids are decimal strings compared
// as numbers), totals the new entries by action, and applies the totals only
// when the walk completes; a failed walk applies nothing and is retried.
// The baseline records the newest id and counts nothing.
//
// # Failures and restarts
//
// Shiny and visit pages are applied one by one; a page that fails (HTTP
// 500, truncated JSON) stops the read and what was applied stays applied.
// The retry reads the same window again and the deduplication state makes
// it exact. For Shiny the retry keeps the previous from, and every ended
// record it returns with a start before the last applied page's started
// (the mark) was already applied. Memory is bounded by the number of apps
// and actions, the open sessions and the events in the overlap window,
// never by the number of events read.
//
// With a state file, counters, positions and deduplication sets are written
// as versioned JSON after each read and at most every few seconds during a
// long one: temp file in the same directory, fsync, rename, fsync of the
// directory. Each file is a consistent snapshot, so a restart from it
// neither loses nor double counts. A file that cannot be decoded stops
// start-up with an error; it is never silently replaced.
//
// Assumptions: Connect returns Shiny sessions in started order and visits
// in time order (as documented); if it does not, the streams notice, log a
// warning and fall back to keeping every key until each read completes.
package usage
