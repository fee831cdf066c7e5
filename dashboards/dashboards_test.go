// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// knownMetrics is the exporter's metric contract (the README's metric
// table) plus Prometheus' own `up`. Dashboards may use nothing else.
var knownMetrics = map[string]bool{
	"up":                                     true,
	"posit_connect_up":                       true,
	"posit_connect_scrape_collector_success": true,
	"posit_connect_scrape_collector_duration_seconds":    true,
	"posit_connect_version_info":                         true,
	"posit_connect_license_user_seats":                   true,
	"posit_connect_license_named_users":                  true,
	"posit_connect_license_expiry_timestamp_seconds":     true,
	"posit_connect_users":                                true,
	"posit_connect_users_active":                         true,
	"posit_connect_groups":                               true,
	"posit_connect_content":                              true,
	"posit_connect_content_info":                         true,
	"posit_connect_usage_last_event_timestamp_seconds":   true,
	"posit_connect_shiny_sessions_total":                 true,
	"posit_connect_shiny_sessions_ended_total":           true,
	"posit_connect_shiny_session_duration_seconds_total": true,
	"posit_connect_content_visits_total":                 true,
	"posit_connect_audit_events_total":                   true,
	"posit_connect_exporter_build_info":                  true,
	"posit_connect_exporter_api_requests_total":          true,
	"posit_connect_exporter_cache_requests_total":        true,
	"posit_connect_exporter_cache_hits_total":            true,
	"posit_connect_named_users_union":                    true,
	"posit_connect_named_users_union_overlap":            true,
	"posit_connect_named_users_union_complete":           true,
	"posit_workbench_named_users":                        true,
}

var wantUIDs = map[string]string{
	"posit-connect-license.json": "posit-connect-license",
	"posit-connect-usage.json":   "posit-connect-usage",
}

const schemaVersion = 39

func loadAll(t *testing.T) []*Dashboard {
	t.Helper()
	ds, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != len(wantUIDs) {
		t.Fatalf("got %d dashboards, want %d (%v)", len(ds), len(wantUIDs), wantUIDs)
	}
	return ds
}

func TestDashboardFrame(t *testing.T) {
	for _, d := range loadAll(t) {
		t.Run(d.File, func(t *testing.T) {
			if d.UID != wantUIDs[d.File] {
				t.Errorf("uid = %q, want %q", d.UID, wantUIDs[d.File])
			}
			if len(d.UID) > 40 {
				t.Errorf("uid %q longer than 40 characters", d.UID)
			}
			raw, err := files.ReadFile(d.File)
			if err != nil {
				t.Fatal(err)
			}
			var top map[string]json.RawMessage
			if err := json.Unmarshal(raw, &top); err != nil {
				t.Fatal(err)
			}
			if id, ok := top["id"]; !ok || string(id) != "null" {
				t.Errorf("id = %s, want null", id)
			}
			if _, ok := top["__inputs"]; ok {
				t.Error("dashboard has __inputs: use the datasource variable, not ${DS_...}")
			}
			if strings.Contains(string(raw), "DS_PROMETHEUS") {
				t.Error("dashboard mentions DS_PROMETHEUS")
			}
			if d.Schema != schemaVersion {
				t.Errorf("schemaVersion = %d, want %d", d.Schema, schemaVersion)
			}
			if d.Title == "" || d.Description == "" {
				t.Error("title or description empty")
			}
			if !slices.Contains(d.Tags, "posit-connect") {
				t.Errorf("tags %v lack posit-connect", d.Tags)
			}
			if d.GraphTooltip != 1 {
				t.Errorf("graphTooltip = %d, want 1 (shared crosshair)", d.GraphTooltip)
			}
			if d.Editable {
				t.Error("editable must be false")
			}
		})
	}
}

func TestVariables(t *testing.T) {
	for _, d := range loadAll(t) {
		t.Run(d.File, func(t *testing.T) {
			vars := map[string]Variable{}
			for i, v := range d.Templating.List {
				vars[v.Name] = v
				if i == 0 && v.Name != "datasource" {
					t.Errorf("first variable is %q, want datasource", v.Name)
				}
			}
			ds, ok := vars["datasource"]
			if !ok || ds.Type != "datasource" || ds.Query != "prometheus" || ds.Label != "Data source" {
				t.Errorf("datasource variable = %+v, want type datasource, query prometheus, label \"Data source\"", ds)
			}
			for _, name := range []string{"job", "instance"} {
				v, ok := vars[name]
				if !ok {
					t.Errorf("no %s variable", name)
					continue
				}
				if v.Type != "query" || !v.Multi || !v.IncludeAll || v.AllValue != ".+" || v.Refresh != 2 {
					t.Errorf("%s variable = %+v, want query, multi, includeAll, allValue .+, refresh 2", name, v)
				}
				checkDatasource(t, "variable "+name, v.Datasource)
				sel, label, ok := LabelValuesQuery(v.Query)
				if !ok || label != name {
					t.Errorf("%s variable query %q is not label_values(..., %s)", name, v.Query, name)
					continue
				}
				for _, s := range selectors(t, sel) {
					if !knownMetrics[s.name] {
						t.Errorf("%s variable uses unknown metric %q", name, s.name)
					}
					if name == "instance" && !s.has(`job=~"$job"`) {
						t.Errorf("instance variable does not filter by $job: %q", v.Query)
					}
				}
			}
		})
	}
}

func TestPanels(t *testing.T) {
	for _, d := range loadAll(t) {
		t.Run(d.File, func(t *testing.T) {
			ids := map[int]bool{}
			var placed []Panel
			for _, p := range d.Panels {
				name := fmt.Sprintf("panel %d %q", p.ID, p.Title)
				if p.ID == 0 || ids[p.ID] {
					t.Errorf("%s: id missing or duplicate", name)
				}
				ids[p.ID] = true
				g := p.GridPos
				if g.W <= 0 || g.H <= 0 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
					t.Errorf("%s: gridPos %+v outside the 24-column grid", name, g)
				}
				for _, q := range placed {
					if overlap(q.GridPos, g) {
						t.Errorf("%s overlaps panel %d %q", name, q.ID, q.Title)
					}
				}
				placed = append(placed, p)
				if p.Title == "" {
					t.Errorf("%s: no title", name)
				}
				if p.Type == "row" {
					continue
				}
				if p.Description == "" {
					t.Errorf("%s: no description", name)
				}
				checkDatasource(t, name, p.Datasource)
				unit := p.FieldConfig.Defaults.Unit
				if unit == "" {
					t.Errorf("%s: no unit", name)
				}
				if m := p.FieldConfig.Defaults.Min; unit == "short" && (m == nil || *m != 0) {
					t.Errorf("%s: a count (unit short) needs min 0", name)
				}
				if d.UID == "posit-connect-license" && p.Type == "stat" && unit == "percentunit" {
					checkLicenseThresholds(t, name, p.FieldConfig.Defaults.Thresholds)
				}
				if len(p.Targets) == 0 {
					t.Errorf("%s: no targets", name)
				}
				for _, tg := range p.Targets {
					checkDatasource(t, name+" target "+tg.RefID, tg.Datasource)
					if tg.RefID == "" || tg.Expr == "" {
						t.Errorf("%s: target without refId or expr", name)
					}
					if tg.Instant == tg.Range {
						t.Errorf("%s %s: set exactly one of instant and range", name, tg.RefID)
					}
					if p.Type == "timeseries" && !tg.Range {
						t.Errorf("%s %s: time series targets are range queries", name, tg.RefID)
					}
					checkExpr(t, name+" "+tg.RefID, tg.Expr, tg.Instant)
				}
			}
		})
	}
}

// TestPromQLParses feeds every expression, variables substituted as Grafana
// would, to Prometheus 2.42's own parser through `promtool check rules`.
func TestPromQLParses(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool not on PATH (apt-get install prometheus)")
		}
		t.Skip("promtool not on PATH")
	}
	vars := Vars{Job: ".+", Instance: ".+", RateInterval: "1m", Range: "1h", Interval: "1m"}
	var b strings.Builder
	b.WriteString("groups:\n- name: dashboard-queries\n  rules:\n")
	n := 0
	add := func(expr string) {
		n++
		js, _ := json.Marshal(vars.Expand(expr)) // a JSON string is a valid YAML string
		fmt.Fprintf(&b, "  - record: q%d\n    expr: %s\n", n, js)
	}
	for _, d := range loadAll(t) {
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				add(tg.Expr)
			}
		}
		for _, v := range d.Templating.List {
			if sel, _, ok := LabelValuesQuery(v.Query); ok {
				add(sel)
			}
		}
	}
	file := filepath.Join(t.TempDir(), "queries.yml")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s\n%s", err, out, b.String())
	}
	if !strings.Contains(string(out), fmt.Sprintf("SUCCESS: %d rules found", n)) {
		t.Fatalf("promtool did not check %d rules:\n%s", n, out)
	}
}

func checkDatasource(t *testing.T, what string, ds *DataSource) {
	t.Helper()
	if ds == nil || ds.Type != "prometheus" || ds.UID != "${datasource}" {
		t.Errorf("%s: datasource = %+v, want {prometheus ${datasource}}", what, ds)
	}
}

func checkLicenseThresholds(t *testing.T, name string, th Thresholds) {
	t.Helper()
	want := []struct {
		color string
		value *float64
	}{{"green", nil}, {"yellow", new(0.8)}, {"red", new(0.9)}}
	ok := th.Mode == "absolute" && len(th.Steps) == len(want)
	for i := 0; ok && i < len(want); i++ {
		s := th.Steps[i]
		ok = s.Color == want[i].color && (s.Value == nil) == (want[i].value == nil) &&
			(s.Value == nil || *s.Value == *want[i].value)
	}
	if !ok {
		t.Errorf("%s: license thresholds must be green, yellow at 0.8, red at 0.9; got %+v", name, th)
	}
}

var rangeRE = regexp.MustCompile(`^\[(\$__rate_interval|\$__range|\d+[smhdwy])\]$`)

// checkExpr enforces the selector and counter conventions on one expression.
func checkExpr(t *testing.T, name, expr string, instant bool) {
	t.Helper()
	sels := selectors(t, expr)
	if len(sels) == 0 {
		t.Errorf("%s: no metric selector in %q", name, expr)
	}
	for _, s := range sels {
		if !knownMetrics[s.name] {
			t.Errorf("%s: unknown metric %q", name, s.name)
		}
		if !s.has(`job=~"$job"`) || !s.has(`instance=~"$instance"`) {
			t.Errorf("%s: selector %s%s lacks job=~\"$job\", instance=~\"$instance\"", name, s.name, s.matchers)
		}
		if s.rangeSel != "" && !rangeRE.MatchString(s.rangeSel) {
			t.Errorf("%s: odd range %s", name, s.rangeSel)
		}
		if strings.HasSuffix(s.name, "_total") {
			if s.fn != "rate" && s.fn != "increase" {
				t.Errorf("%s: counter %s used outside rate/increase (in %q)", name, s.name, s.fn)
			}
			// Range queries follow the graph's resolution ($__rate_interval);
			// instant "in the selected range" totals use $__range.
			want := "[$__rate_interval]"
			if instant {
				want = "[$__range]"
			}
			if s.rangeSel != want {
				t.Errorf("%s: counter %s uses range %q, want %q", name, s.name, s.rangeSel, want)
			}
		}
		if (s.fn == "rate" || s.fn == "increase") && !strings.HasSuffix(s.name, "_total") {
			t.Errorf("%s: %s over a gauge %s", name, s.fn, s.name)
		}
	}
}

// selector is a metric selector found in an expression.
type selector struct {
	name     string
	matchers string // "{...}" as written, or ""
	rangeSel string // "[...]" as written, or ""
	fn       string // innermost enclosing function call, "" at top level
}

func (s selector) has(matcher string) bool {
	inner := strings.TrimSuffix(strings.TrimPrefix(s.matchers, "{"), "}")
	for m := range strings.SplitSeq(inner, ",") {
		if strings.TrimSpace(m) == matcher {
			return true
		}
	}
	return false
}

var keywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "and": true, "or": true, "unless": true, "offset": true, "inf": true, "nan": true,
}

var aggregations = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
}

var labelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// selectors is a small PromQL scanner: enough to find metric selectors, their
// matchers and ranges, and the function that encloses each. Full syntax is
// checked by TestPromQLParses with Prometheus' own parser.
func selectors(t *testing.T, expr string) []selector {
	t.Helper()
	var out []selector
	var stack []string // one entry per open paren: function name, "" for grouping, "#labels" for label lists
	isIdent := func(c byte, first bool) bool {
		return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
	}
	skipSpace := func(i int) int {
		for i < len(expr) && strings.ContainsRune(" \t\n\r", rune(expr[i])) {
			i++
		}
		return i
	}
	closing := func(i int, opening, closer byte) int { // index after the matching closer, skipping strings
		depth := 0
		for j := i; j < len(expr); j++ {
			switch c := expr[j]; c {
			case '"', '\'', '`':
				k := strings.IndexByte(expr[j+1:], c)
				if k < 0 {
					t.Fatalf("unterminated string in %q", expr)
				}
				j += k + 1
			case opening:
				depth++
			case closer:
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		t.Fatalf("unbalanced %c in %q", opening, expr)
		return len(expr)
	}
	prevKeyword, pendingAgg := "", ""
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			k := strings.IndexByte(expr[i+1:], c)
			if k < 0 {
				t.Fatalf("unterminated string in %q", expr)
			}
			i += k + 2
		case c == '(':
			ctx := ""
			switch {
			case labelListKeywords[prevKeyword]:
				ctx = "#labels"
			case pendingAgg != "":
				ctx, pendingAgg = pendingAgg, ""
			}
			stack = append(stack, ctx)
			prevKeyword = ""
			i++
		case c == ')':
			if len(stack) == 0 {
				t.Fatalf("unbalanced ) in %q", expr)
			}
			stack = stack[:len(stack)-1]
			i++
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isIdent(expr[i], false) || expr[i] == '.') {
				i++
			}
		case isIdent(c, true):
			j := i
			for j < len(expr) && isIdent(expr[j], false) {
				j++
			}
			word := expr[i:j]
			next := skipSpace(j)
			inLabels := len(stack) > 0 && stack[len(stack)-1] == "#labels"
			switch {
			case inLabels:
				// a label name in by (...), on (...), group_left (...)
			case keywords[strings.ToLower(word)]:
				prevKeyword = strings.ToLower(word)
				i = j
				continue
			case aggregations[word]:
				pendingAgg = word
				prevKeyword = ""
				i = j
				continue
			case next < len(expr) && expr[next] == '(':
				stack = append(stack, word)
				prevKeyword = ""
				i = next + 1
				continue
			default:
				s := selector{name: word}
				if next < len(expr) && expr[next] == '{' {
					end := closing(next, '{', '}')
					s.matchers, j = expr[next:end], end
					next = skipSpace(j)
				}
				if next < len(expr) && expr[next] == '[' {
					end := closing(next, '[', ']')
					s.rangeSel, j = expr[next:end], end
				}
				for _, fn := range slices.Backward(stack) {
					if fn != "" {
						s.fn = fn
						break
					}
				}
				out = append(out, s)
			}
			prevKeyword = ""
			i = j
		default:
			i++
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unbalanced ( in %q", expr)
	}
	return out
}

func overlap(a, b GridPos) bool {
	return a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H
}

func TestSelectorScanner(t *testing.T) {
	got := selectors(t, `topk(10, max by (content_guid) (increase(a_total{job=~"$job", x="}("}[$__range])) * on (content_guid) group_left (title) max(b{y="1"}) by (job)) / bool c offset 5m`)
	want := []selector{
		{name: "a_total", matchers: `{job=~"$job", x="}("}`, rangeSel: "[$__range]", fn: "increase"},
		{name: "b", matchers: `{y="1"}`, fn: "max"},
		{name: "c"}, // outside topk: its paren closed before "/"
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("selectors:\n got %+v\nwant %+v", got, want)
	}
}
