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
//	posit_connect_usage_rebaselines_total{stream}
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
// other field) the stream remembers how many copies one walk returned at
// most, and counts only copies beyond that. Keys expire by their time once
// the position minus Overlap has passed it, whatever order they arrived in.
// Visits whose user agent matches IgnoreUserAgent (Connect's health monitor
// by default) or whose user is excluded are ignored.
//
// A page that repeats rows of the page before (it starts before the
// previous page's last time, or at that time with a row already taken)
// means the server's cursor is an offset and records arrived behind it:
// the walk is read again from the first repeated row with fresh copy
// counts, so no row is counted twice.
//
// # Audit events
//
// The audit log has no time filter. A read walks it newest first until it
// reaches the highest id already applied (ids are decimal strings compared
// as numbers), totals the new entries by action, and applies the totals only
// when the walk completes; a failed walk applies nothing and is retried.
// The baseline records the newest id and counts nothing. Ids must decrease
// along each page (otherwise the read fails: the log is not newest first);
// a row at or above the lowest id already taken in the walk is a repeat (an
// offset cursor with entries arriving) and is skipped; the entries that
// pushed it are above the walk's newest id and are counted by the next
// read.
//
// When the newest id is below the highest one applied, Connect's database
// was restored from a backup (or replaced): the ids above its newest are
// gone and will be used again. The stream counts the entries newer than
// the newest one it had applied (written after the restore), takes the
// newest id as its position and adds one to rebaselines_total{stream=
// "audit"}; counting goes on from there.
//
// # Records dated ahead
//
// Connect has returned records dated a day ahead and in the year 3000.
// Such a record is counted once like any other, but it never moves the
// last-event time (which stays at or before the read's start plus
// Overlap), its visit key sits apart from the time-ordered keys so that it
// never holds back their expiry, and a Shiny session dated beyond the
// read's start plus Overlap never moves the mark (below). Times beyond
// what Unix nanoseconds hold (the year 2262) are held at that limit; a
// visit's key then hashes the real time too. Such keys are kept while the
// overlap can still return them, so they cost one key each.
//
// # Failures, read timeouts and restarts
//
// Shiny and visit pages are applied one by one; a page that fails (HTTP
// 500, truncated JSON), or a read cut by ReadTimeout, stops the read and
// what was applied stays applied. Visits resume from their position. A
// Shiny read keeps a mark: every ended record with a start before it was
// applied. The next read resumes from the mark rather than from the
// walk's start, so a backlog larger than one read can cover still gets
// through: a session not yet applied started at or after the mark, so it
// ended there or later. The resumed read asks from no later than any open
// session's last sighting minus Overlap, so that the end of a session seen
// open is still returned, and every open session is read on each read, so
// progress needs a read to get past the open sessions. Memory is bounded
// by the number of apps and actions, the open sessions and the events in
// the overlap window, never by the number of events read.
//
// # The state file
//
// With a state file, counters, positions and deduplication sets are written
// as versioned JSON after each read and at most every few seconds during a
// long one: temp file in the same directory, fsync, rename, fsync of the
// directory. Each file is a consistent snapshot, so a restart from it
// neither loses nor double counts. A file that cannot be decoded stops
// start-up with an error; it is never silently replaced.
//
// New takes an exclusive lock (flock) on .<name>.lock beside the state
// file and holds it until Close: a second exporter, or a second server of
// this one, fails at start-up naming the file. The lock holder then removes
// the .<name>.tmp-* and .<name>.check-* files that an exporter killed while
// writing left behind.
//
// The file records the Connect server it belongs to: ServerURL and the
// identity of Connect's database, its oldest audit entry (id, time,
// action), which Connect keeps indefinitely. Before the first read applies
// anything, the streams read that entry and compare:
//
//   - the same identity: the file is used (a changed URL is logged);
//   - another identity (a reinstall, a file from another server): the
//     counters are dropped with a warning, every stream starts again with
//     a baseline and rebaselines_total counts it;
//   - no identity to compare (the key may not read the audit log, or the
//     file predates identities) and another URL: every read fails with an
//     error naming both URLs until the file is moved or removed.
//
// # Deleted content
//
// After a successful Shiny or visits read, at most hourly (and at least
// four times per retention), the streams list Connect's content
// (Client.EachContent). Content with counters that the list does not hold
// is missing from then on; it is missing no longer once a list holds it
// again or its counters grew since the list before (GUIDs compare without
// regard to case). Content missing for DeletedContentRetention (30 days by
// default) loses its Shiny and visit series and its counters in the state
// file, unless it has a Shiny session open. A list that fails or holds
// nothing decides nothing. A negative retention keeps every series.
//
// # Replays
//
// A Replay (NewReplay) reads the streams by hand, on a clock the caller
// moves: each Read reads the three streams once as a read starting at that
// moment, against whatever the Client presents (the backfill presents
// Connect as it was then). The first Read is the baseline. It lists no
// content, and it writes its state file, which must not exist yet, only
// when Save is called: the same format, with the server's URL and
// identity, so an exporter started with it goes on from the last Read.
//
// Assumptions: Connect returns Shiny sessions in started order and visits
// in time order (as documented); if it does not, the streams notice, log a
// warning and fall back to keeping every key until each read completes.
package usage
