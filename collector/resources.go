// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import "time"

// Cache resource names, also the values of the cache metrics' resource label.
const (
	ResourceServerSettings = "server_settings"
	ResourceUsers          = "users"
	ResourceActiveUsers    = "active_users"
	ResourceGroups         = "groups"
	ResourceContent        = "content"
)

// Resource is a Connect answer kept in the cache for a time of its own,
// set by --connect.cache-ttl.<TTLFlag>. Resources that are refreshed
// together share a TTL flag; the first to name it gives its default and
// help.
type Resource struct {
	Name       string
	TTLFlag    string
	DefaultTTL time.Duration
	TTLHelp    string
}

// Resources lists every cached resource.
var Resources = []Resource{
	{ResourceServerSettings, "server-settings", 15 * time.Second,
		"How long server settings (version, licence) are cached; also how quickly posit_connect_up notices an outage."},
	{ResourceUsers, "users", 60 * time.Second, "How long the users summary is cached."},
	{ResourceActiveUsers, "users", 0, ""},
	{ResourceGroups, "groups", 60 * time.Second, "How long the group count is cached."},
	{ResourceContent, "content", 60 * time.Second, "How long the content list is cached."},
}

// TTLFlags returns the distinct TTL flags in table order, each with the
// default and help of the first resource that names it.
func TTLFlags() []Resource {
	var out []Resource
	seen := map[string]bool{}
	for _, r := range Resources {
		if !seen[r.TTLFlag] {
			seen[r.TTLFlag] = true
			out = append(out, r)
		}
	}
	return out
}

// TTLs maps every resource to its TTL, given the value of each TTL flag.
func TTLs(byFlag map[string]time.Duration) map[string]time.Duration {
	out := make(map[string]time.Duration, len(Resources))
	for _, r := range Resources {
		out[r.Name] = byFlag[r.TTLFlag]
	}
	return out
}
