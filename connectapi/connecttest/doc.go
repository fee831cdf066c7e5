// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package connecttest is a simulated Posit Connect server for tests,
// benchmarks and the exporter's --demo mode.
//
// It speaks the Connect Server API wire format (JSON over HTTP) as Posit
// documents it and as recorded responses show it (the same shapes and
// quirks the client in package connectapi handles), and deliberately does
// not import that client, so that the two can be checked against each other.
//
// # What is simulated
//
// New generates a deterministic data set from Config.Seed: users (roles,
// locked accounts, never-active users, active_time skewed to recent days),
// groups, content (an open set of app modes including an odd future value,
// popular and long-tail items), and historical Shiny sessions, content visits
// and audit log entries spread over Config.History with a daily and weekly
// rhythm. Popular content gets most events (Zipf-like). The same seed and the
// same clock give byte-identical responses.
//
// The server answers:
//
//	GET /__api__/server_settings                      (no key needed)
//	GET /__api__/v1/users, /v1/users/{guid}           offset paging
//	GET /__api__/v1/groups                            offset paging
//	GET /__api__/v1/content, /v1/content/{guid}       one bare array
//	GET /__api__/v1/instrumentation/shiny/usage       cursor paging
//	GET /__api__/v1/instrumentation/content/visits    cursor paging
//	GET /__api__/v1/audit_logs                        cursor paging (ascOrder)
//	GET /__api__/v1/system/hosts                      bare array
//	GET /__api__/v1/metrics/users/active              switchable
//	GET /__ping__                                     {} or 402 when the licence expired
//
// Quirks reproduced on purpose: "Authorization: Key <key>" only; offset pages
// past the end return empty results with the total; cursor pages return a
// next cursor even when short, the following page is empty with no next;
// paging.* links are absolute URLs on Config.PageHost (not the listening
// address) and carry only the cursor; content id and bundle_id are strings
// (some bundle_id numbers or null); visits' rendering_id and bundle_id are
// numbers for some content and strings for others; timestamps mix "Z" and
// numeric offsets with 0 to 9 fractional digits; users carry an unknown extra
// field; the licence block uses strings (2023.11) or numbers and booleans
// (2024.09); unknown routes answer 404 "404 page not found" with no JSON code,
// while known routes with a missing object answer {"code":4,...}.
//
// Shiny usage window semantics: a record is returned iff (ended is null or
// ended >= from) and (to is empty or started <= to). Open sessions are
// always returned; a session returned while open is returned again, with its
// end time, by a later query whose window covers the end.
//
// Live mode (Step, RunLive) starts and ends sessions, records visits (some
// anonymous, some from "ContentHealthMonitor/1.0"), moves users' active_time
// and appends audit entries, all stamped near Config.Now() and deterministic
// from the seed and the sequence of Step calls.
//
// Faults (SetFault) make matching requests fail in the ways a real
// deployment does: connection refused, slow answers, 401, 403, 429, 500,
// truncated JSON, an HTML page from a proxy, a huge body, a reset connection.
//
// Latency (Config.Latency, SetLatency) delays every answer by a fixed time
// per request plus a time per row returned, to model a slow database.
// Hooks (AddHook) change the data at a chosen point of a client's walk, for
// example insert users at the front after page 1 (AddUser) or delete some
// (RemoveUsers). OffsetQuirks break the offset-paged lists: total missing,
// 0 or a string, rows repeated across pages.
//
// Truth, ShinyTotals, VisitTotals and AuditTotals compute the expected values
// directly from the data so tests can compare exporter output exactly.
//
// # Guesses
//
// These are not evidenced by recorded responses and may differ from a real
// server:
//   - /v1/groups with groups disabled answers HTTP 400
//     {"code":3,"error":"Groups are not enabled on this server.","payload":null}.
//   - Cursors are decimal strings naming a record position (like the
//     "23948901087" in Posit's fixtures). "next=K" returns records after K in
//     the requested order, "previous=K" those before it. A page's
//     cursors.previous names its first record and cursors.next its last one;
//     an empty page carries the request's cursor as cursors.previous.
//   - 429 bodies use code 277, 500 bodies code 1, bad parameters code 3.
//   - Audit action names and event descriptions are plausible, not copied.
//   - Visits have data_version 3 (min_data_version defaults to 3 on visits and
//     to 1 on Shiny usage); visits older than about 200 days have a null
//     user_agent, as servers before user-agent recording would return.
//   - Health-monitor visits are anonymous, so VisitTotal.Anonymous includes
//     them. The visits user_agent filter is an exact match.
//   - /v1/users supports page_number, page_size, asc_order, prefix (first
//     page only, like Connect), user_role and account_status ("|" for OR);
//     sort is ignored (default order: first name, last name, username).
//   - Live activity continues the generated rates (see Step); a second of
//     RunLive adds about a second's worth of events, not one of each.
//   - The 2023.11 licence style keeps ts, expiration and days-left as numbers
//     and has-key/has-trial as booleans, exactly like the recorded response;
//     LicenseAllStrings makes every value a string for harsher decoding tests.
package connecttest
