// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/dashboards"
)

// mapFlag collects a repeatable key=value flag.
type mapFlag map[string]string

func (m mapFlag) String() string { return fmt.Sprint(map[string]string(m)) }

func (m mapFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" || v == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	m[k] = v
	return nil
}

// pendingIn returns the pending metrics expr reads.
func pendingIn(expr string, pending []string) []string {
	var out []string
	for _, m := range pending {
		if strings.Contains(expr, m) {
			out = append(out, m)
		}
	}
	return out
}

// checkQueries runs every panel target and every label_values variable of
// every dashboard and requires each to return at least one numeric value.
// Data keeps arriving while it runs, so it retries the empty ones until
// -timeout. A target that reads a metric of dashboards.Pending (one the
// exporter does not export yet) and returns nothing is listed as pending,
// not failed.
func checkQueries(args []string) error {
	fs := flag.NewFlagSet("queries", flag.ExitOnError)
	base := fs.String("prom", "", "Prometheus base URL")
	job := fs.String("job", ".+", "value of $job (a regex)")
	instance := fs.String("instance", ".+", "value of $instance (a regex)")
	timeout := fs.Duration("timeout", 90*time.Second, "give up after")
	jobFor := mapFlag{}
	fs.Var(jobFor, "dashboard-job", "uid=regex: $job for one dashboard instead of -job (repeatable)")
	_ = fs.Parse(args)
	if *base == "" {
		return errors.New("-prom is required")
	}
	ds, err := dashboards.All()
	if err != nil {
		return err
	}
	varsFor := func(uid string) dashboards.Vars {
		j := *job
		if re, ok := jobFor[uid]; ok {
			j = re
		}
		return dashboards.Vars{Job: j, Instance: *instance, RateInterval: "1m", Range: "1h", Interval: "1m"}
	}
	for uid := range jobFor {
		if !slices.ContainsFunc(ds, func(d *dashboards.Dashboard) bool { return d.UID == uid }) {
			return fmt.Errorf("-dashboard-job: no dashboard with uid %q", uid)
		}
	}
	p := newProm(*base)
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	type check struct {
		what    string
		run     func(context.Context) (string, error) // "" when fine, else why not
		pending []string
	}
	var checks []check
	for _, d := range ds {
		vars := varsFor(d.UID)
		for _, v := range d.Templating.List {
			sel, label, ok := dashboards.LabelValuesQuery(v.Query)
			if !ok {
				continue
			}
			sel = vars.Expand(sel)
			checks = append(checks, check{
				what: fmt.Sprintf("%s: variable $%s: label_values(%s, %s)", d.UID, v.Name, sel, label),
				run: func(ctx context.Context) (string, error) {
					vals, err := p.labelValues(ctx, label, sel)
					if err != nil || len(vals) > 0 {
						return "", err
					}
					return "no values", nil
				},
			})
		}
		for _, pn := range d.Panels {
			for _, t := range pn.Targets {
				expr := vars.Expand(t.Expr)
				checks = append(checks, check{
					what:    fmt.Sprintf("%s ($job=%s): panel %q %s", d.UID, vars.Job, pn.Title, t.RefID),
					pending: pendingIn(t.Expr, dashboards.Pending),
					run: func(ctx context.Context) (string, error) {
						res, err := p.query(ctx, expr, time.Now())
						if err != nil {
							return "", err
						}
						for _, s := range res {
							if v := s.instant(); !math.IsNaN(v) && !math.IsInf(v, 0) {
								return "", nil
							}
						}
						if len(res) > 0 {
							return "only NaN/Inf values", nil
						}
						return "empty result", nil
					},
				})
			}
		}
	}
	todo := checks
	start := time.Now()
	var waiting []string // pending-metric queries without data
	var late []string    // queries that had data only after retries
	for round := 0; ; round++ {
		var still []check
		var reasons []string
		for _, c := range todo {
			why, err := c.run(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", c.what, err)
			}
			switch {
			case why != "" && len(c.pending) > 0:
				waiting = append(waiting, fmt.Sprintf("%s: %s (reads %s, which this exporter does not export yet)",
					c.what, why, strings.Join(c.pending, ", ")))
			case why != "":
				still = append(still, c)
				reasons = append(reasons, c.what+": "+why)
			case round > 0:
				late = append(late, fmt.Sprintf("%s (after %s)", c.what, time.Since(start).Round(time.Second)))
			}
		}
		if len(still) == 0 {
			fmt.Printf("queries: %d of %d panel and variable queries return data (after %s)\n",
				len(checks)-len(waiting), len(checks), time.Since(start).Round(time.Second))
			for _, l := range late {
				fmt.Printf("queries: waited for %s\n", l)
			}
			for _, w := range waiting {
				fmt.Printf("queries: PENDING, not checked: %s\n", w)
			}
			return nil
		}
		todo = still
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d queries return no data:\n  %s", len(still), len(checks), strings.Join(reasons, "\n  "))
		case <-time.After(2 * time.Second):
		}
	}
}

// expectFlag collects -expect job=AlertA,AlertB (an empty list: no alerts).
type expectFlag map[string][]string

func (e expectFlag) String() string { return fmt.Sprint(map[string][]string(e)) }

func (e expectFlag) Set(s string) error {
	job, list, ok := strings.Cut(s, "=")
	if !ok || job == "" {
		return fmt.Errorf("want job=Alert,Alert, got %q", s)
	}
	var names []string
	for n := range strings.SplitSeq(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	e[job] = names
	return nil
}

// checkAlerts requires every rule to be healthy and, for each job named in
// -expect, exactly the listed alerts to be pending or firing, and to stay so
// for -settle.
func checkAlerts(args []string) error {
	fs := flag.NewFlagSet("alerts", flag.ExitOnError)
	base := fs.String("prom", "", "Prometheus base URL")
	expect := expectFlag{}
	fs.Var(expect, "expect", "job=AlertA,AlertB (repeatable; job= for none)")
	timeout := fs.Duration("timeout", 90*time.Second, "give up after")
	settle := fs.Duration("settle", 5*time.Second, "the expected state must hold this long")
	_ = fs.Parse(args)
	if *base == "" || len(expect) == 0 {
		return errors.New("-prom and -expect are required")
	}
	p := newProm(*base)
	ctx, cancel := context.WithTimeout(context.Background(), *timeout+*settle)
	defer cancel()
	start := time.Now()
	var matchedAt time.Time
	for {
		problems, err := alertProblems(ctx, p, expect)
		if err != nil {
			return err
		}
		switch {
		case len(problems) > 0:
			matchedAt = time.Time{}
		case matchedAt.IsZero():
			matchedAt = time.Now()
		case time.Since(matchedAt) >= *settle:
			for _, job := range sortedKeys(expect) {
				fmt.Printf("alerts: %s: %s\n", job, orNone(expect[job]))
			}
			fmt.Printf("alerts: all rules healthy, expected alerts active (after %s)\n", time.Since(start).Round(time.Second))
			return nil
		}
		if len(problems) > 0 && time.Since(start) > *timeout {
			return fmt.Errorf("after %s:\n  %s", *timeout, strings.Join(problems, "\n  "))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out: %v", problems)
		case <-time.After(time.Second):
		}
	}
}

func alertProblems(ctx context.Context, p *prom, expect expectFlag) ([]string, error) {
	var rules struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name      string `json:"name"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := p.get(ctx, "/api/v1/rules", nil, &rules); err != nil {
		return nil, err
	}
	var problems []string
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health != "ok" {
				problems = append(problems, fmt.Sprintf("rule %s/%s: health %q %s", g.Name, r.Name, r.Health, r.LastError))
			}
		}
	}
	if n == 0 {
		problems = append(problems, "no rules loaded")
	}
	var alerts struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	if err := p.get(ctx, "/api/v1/alerts", nil, &alerts); err != nil {
		return nil, err
	}
	got := map[string]map[string]bool{}
	for _, a := range alerts.Alerts {
		job := a.Labels["job"]
		if got[job] == nil {
			got[job] = map[string]bool{}
		}
		got[job][a.Labels["alertname"]] = true
	}
	for _, job := range sortedKeys(expect) {
		var have []string
		for name := range got[job] {
			have = append(have, name)
		}
		sort.Strings(have)
		if strings.Join(have, ",") != strings.Join(expect[job], ",") {
			problems = append(problems, fmt.Sprintf("job %s: active alerts %s, want %s", job, orNone(have), orNone(expect[job])))
		}
	}
	return problems, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}
