// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"context"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	unionDesc = prometheus.NewDesc(namespace+"_named_users_union",
		"Distinct named users across all configured Connect servers, matched by the configured union_key. Counts only servers that answered; see posit_connect_named_users_union_complete.",
		nil, nil)
	unionOverlapDesc = prometheus.NewDesc(namespace+"_named_users_union_overlap",
		"Named users who are named users on more than one configured Connect server.",
		nil, nil)
	unionCompleteDesc = prometheus.NewDesc(namespace+"_named_users_union_complete",
		"1 if every configured Connect server answered, so the union is complete; 0 if the union leaves a server out.",
		nil, nil)
	unionServerDesc = prometheus.NewDesc(namespace+"_named_users_union_server_success",
		"1 if the server's named users were read for the union in this scrape, else 0.",
		[]string{"server"}, nil)
)

// UnionMember is one server taking part in the distinct count. Its Source
// must have NamedKey set.
type UnionMember struct {
	Name   string
	Source *Source
}

// Union counts distinct named users across servers.
type Union struct {
	members func() []UnionMember
	logger  *slog.Logger
	alarms  *alarm
}

// NewUnion returns a union over the servers that members lists at scrape
// time (the list changes on reload).
func NewUnion(members func() []UnionMember, logger *slog.Logger) *Union {
	return &Union{members: members, logger: logger, alarms: newAlarm()}
}

// Scrape returns a collector bound to one scrape's context.
func (u *Union) Scrape(ctx context.Context) prometheus.Collector { return &unionScrape{u: u, ctx: ctx} }

type unionScrape struct {
	u   *Union
	ctx context.Context
}

func (s *unionScrape) Describe(ch chan<- *prometheus.Desc) {
	ch <- unionDesc
	ch <- unionOverlapDesc
	ch <- unionCompleteDesc
	ch <- unionServerDesc
}

func (s *unionScrape) Collect(ch chan<- prometheus.Metric) {
	members := s.u.members()
	summaries := make([]*UserSummary, len(members))
	errs := make([]error, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Go(func() { summaries[i], errs[i] = m.Source.Users(s.ctx) })
	}
	wg.Wait()

	// seenOn counts, per user key, the servers naming that user. Memory is
	// bounded by the distinct named users.
	seenOn := map[string]uint16{}
	complete := true
	var failures []namedErr
	for i, m := range members {
		ok := errs[i] == nil
		ch <- prometheus.MustNewConstMetric(unionServerDesc, prometheus.GaugeValue, boolFloat(ok), m.Name)
		if !ok {
			complete = false
			failures = append(failures, namedErr{"union/" + m.Name, errs[i]})
			continue
		}
		for k := range summaries[i].NamedKeys {
			seenOn[k]++
		}
	}
	overlap := 0
	for _, n := range seenOn {
		if n > 1 {
			overlap++
		}
	}
	ch <- prometheus.MustNewConstMetric(unionDesc, prometheus.GaugeValue, float64(len(seenOn)))
	ch <- prometheus.MustNewConstMetric(unionOverlapDesc, prometheus.GaugeValue, float64(overlap))
	ch <- prometheus.MustNewConstMetric(unionCompleteDesc, prometheus.GaugeValue, boolFloat(complete))
	s.u.alarms.scrape(s.u.logger, failures)
}
