// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import "time"

// Resource is a Connect answer kept in the cache for a time of its own,
// set by --connect.cache-ttl.<TTLFlag>. Each collector file declares the
// resources it fetches; a collector's row in the table names those it
// reads, and the TTL flags, the cache TTLs and the cache metrics' resource
// labels come from there. Resources refreshed together share a TTL flag
// (and its default).
type Resource struct {
	// Name is the cache key and the value of the resource label.
	Name       string
	TTLFlag    string
	DefaultTTL time.Duration
	TTLHelp    string
}

// Resources lists every resource the collector table reads, once each, in
// table order.
func Resources() []Resource {
	var out []Resource
	seen := map[string]bool{}
	for _, d := range Collectors {
		for _, r := range d.Reads {
			if !seen[r.Name] {
				seen[r.Name] = true
				out = append(out, r)
			}
		}
	}
	return out
}

// TTLFlags returns the distinct TTL flags, each with the default and help
// of the first resource that names it.
func TTLFlags() []Resource {
	var out []Resource
	seen := map[string]bool{}
	for _, r := range Resources() {
		if !seen[r.TTLFlag] {
			seen[r.TTLFlag] = true
			out = append(out, r)
		}
	}
	return out
}

// TTLs maps every resource's name to its TTL, given each TTL flag's value.
func TTLs(byFlag map[string]time.Duration) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, r := range Resources() {
		out[r.Name] = byFlag[r.TTLFlag]
	}
	return out
}
