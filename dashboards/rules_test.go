// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package dashboards

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The rules, their promtool tests and the runbook, relative to this package.
const (
	rulesFile   = "../examples/alerts.yml"
	runbookFile = "../docs/runbook.md"
	runbookURL  = "https://github.com/posit-connect-exporter/posit_connect_exporter/blob/main/docs/runbook.md"
	// exporterUpRule is the one rule allowed to name jobs.
	exporterUpRule = "posit_connect_exporter:up"
)

var ruleTestFiles = []string{"../examples/alerts_test.yml", "../examples/alerts_forecast_test.yml"}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type ruleTestFile struct {
	RuleFiles      []string `yaml:"rule_files"`
	GroupEvalOrder []string `yaml:"group_eval_order"`
	Tests          []struct {
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func readYAML(t *testing.T, path string, out any) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return raw
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	var rf ruleFile
	readYAML(t, rulesFile, &rf)
	if len(rf.Groups) == 0 {
		t.Fatalf("%s: no groups", rulesFile)
	}
	return rf
}

// TestRuleGroupsIndependent: Prometheus evaluates groups independently and
// in no fixed order, and the rules of one group in sequence. So a rule may
// read a recording rule only when it is recorded earlier in the same group;
// read from another group, its result would depend on which group ran first
// (and in promtool on a random order).
func TestRuleGroupsIndependent(t *testing.T) {
	rf := loadRules(t)
	recordedIn := map[string]string{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record == "" {
				continue
			}
			if other, dup := recordedIn[r.Record]; dup {
				t.Errorf("%s is recorded in both %s and %s", r.Record, other, g.Name)
			}
			recordedIn[r.Record] = g.Name
		}
	}
	for _, g := range rf.Groups {
		seen := map[string]bool{}
		for _, r := range g.Rules {
			name := r.Record + r.Alert
			for _, s := range selectors(t, r.Expr) {
				group, recorded := recordedIn[s.name]
				switch {
				case !recorded && strings.Contains(s.name, ":"):
					t.Errorf("%s/%s reads %s, which no rule records", g.Name, name, s.name)
				case !recorded:
					if s.name != "up" && !knownMetrics[s.name] {
						t.Errorf("%s/%s reads %s, which the exporter does not export", g.Name, name, s.name)
					}
				case group != g.Name:
					t.Errorf("%s/%s reads %s, recorded in group %s: groups run independently, so the result depends on their order",
						g.Name, name, s.name, group)
				case !seen[s.name]:
					t.Errorf("%s/%s reads %s before the rule that records it", g.Name, name, s.name)
				}
			}
			if r.Record != "" {
				seen[r.Record] = true
			}
		}
	}
}

// TestJobSelectorInOnePlace: only posit_connect_exporter:up says which jobs
// are the exporter; every other rule finds its series by metric name.
func TestJobSelectorInOnePlace(t *testing.T) {
	rf := loadRules(t)
	var down *rule
	for _, g := range rf.Groups {
		for i, r := range g.Rules {
			for _, s := range selectors(t, r.Expr) {
				if strings.Contains(s.matchers, "job") && r.Record != exporterUpRule {
					t.Errorf("%s%s selects %s%s by job: only %s may name jobs", r.Record, r.Alert, s.name, s.matchers, exporterUpRule)
				}
			}
			if r.Alert == "PositConnectExporterDown" {
				down = &g.Rules[i]
			}
		}
	}
	if down == nil {
		t.Fatal("no PositConnectExporterDown alert")
	}
	sels := selectors(t, down.Expr)
	if len(sels) != 1 || sels[0].name != exporterUpRule || sels[0].matchers != "" {
		t.Errorf("PositConnectExporterDown should read only %s, got %q", exporterUpRule, down.Expr)
	}
}

var alertNameRE = regexp.MustCompile(`^Posit(Connect|Workbench)([A-Z][a-z0-9]*|API)+$`)

// TestAlertConventions: names, severities, annotations, `for`, and a
// runbook section per alert.
func TestAlertConventions(t *testing.T) {
	rf := loadRules(t)
	runbook, err := os.ReadFile(runbookFile)
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for line := range strings.SplitSeq(string(runbook), "\n") {
		if name, ok := strings.CutPrefix(line, "## "); ok && strings.HasPrefix(name, "Posit") {
			sections[strings.TrimSpace(name)] = true
		}
	}
	alerts := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			a := r.Alert
			alerts[a] = true
			if !alertNameRE.MatchString(a) {
				t.Errorf("%s: not a CamelCase PositConnect…/PositWorkbench… name", a)
			}
			if !slices.Contains([]string{"critical", "warning", "info"}, r.Labels["severity"]) {
				t.Errorf("%s: severity %q", a, r.Labels["severity"])
			}
			if r.For == "" {
				t.Errorf("%s: no `for:`", a)
			}
			sum := r.Annotations["summary"]
			if sum == "" || !strings.HasSuffix(sum, ".") || strings.Contains(sum, "{{") || strings.ToUpper(sum[:1]) != sum[:1] {
				t.Errorf("%s: summary %q should be plain, capitalised and end with a period", a, sum)
			}
			if !strings.Contains(r.Annotations["description"], "{{") {
				t.Errorf("%s: description has no template", a)
			}
			if want := runbookURL + "#" + strings.ToLower(a); r.Annotations["runbook_url"] != want {
				t.Errorf("%s: runbook_url = %q, want %q", a, r.Annotations["runbook_url"], want)
			}
			if !sections[a] {
				t.Errorf("%s: docs/runbook.md has no section \"## %s\"", a, a)
			}
			for k := range r.Annotations {
				if !slices.Contains([]string{"summary", "description", "runbook_url"}, k) {
					t.Errorf("%s: unexpected annotation %q", a, k)
				}
			}
		}
	}
	for s := range sections {
		if !alerts[s] {
			t.Errorf("docs/runbook.md has a section for %s, which is no alert", s)
		}
	}
}

// TestEveryAlertTested: each alert is tested firing and not firing, and the
// test files fix the order of all groups.
func TestEveryAlertTested(t *testing.T) {
	rf := loadRules(t)
	var groups []string
	for _, g := range rf.Groups {
		groups = append(groups, g.Name)
	}
	firing, quiet := map[string]bool{}, map[string]bool{}
	for _, path := range ruleTestFiles {
		var tf ruleTestFile
		readYAML(t, path, &tf)
		if !slices.Equal(tf.RuleFiles, []string{"alerts.yml"}) {
			t.Errorf("%s: rule_files = %v, want [alerts.yml]", path, tf.RuleFiles)
		}
		if !slices.Equal(tf.GroupEvalOrder, groups) {
			t.Errorf("%s: group_eval_order = %v, want every group of alerts.yml in file order %v", path, tf.GroupEvalOrder, groups)
		}
		for _, tc := range tf.Tests {
			for _, at := range tc.AlertRuleTest {
				if len(at.ExpAlerts) > 0 {
					firing[at.Alertname] = true
				} else {
					quiet[at.Alertname] = true
				}
			}
		}
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if !firing[r.Alert] {
				t.Errorf("%s: no promtool test where it fires", r.Alert)
			}
			if !quiet[r.Alert] {
				t.Errorf("%s: no promtool test where it stays quiet", r.Alert)
			}
		}
	}
}

// TestRuleTestsInReverseGroupOrder runs the promtool tests with the groups
// evaluated in the reverse of the order the test files fix: independent
// groups give the same results.
func TestRuleTestsInReverseGroupOrder(t *testing.T) {
	promtool := needPromtool(t)
	rules, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	args := []string{"test", "rules"}
	for _, path := range ruleTestFiles {
		var doc map[string]any
		readYAML(t, path, &doc)
		order, ok := doc["group_eval_order"].([]any)
		if !ok || len(order) < 2 {
			t.Fatalf("%s: group_eval_order missing or too short", path)
		}
		slices.Reverse(order)
		doc["rule_files"] = []string{rules}
		out, err := yaml.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		reversed := filepath.Join(dir, filepath.Base(path))
		if err := os.WriteFile(reversed, out, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, reversed)
	}
	if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func needPromtool(t *testing.T) string {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool not on PATH (apt-get install prometheus)")
		}
		t.Skip("promtool not on PATH")
	}
	return promtool
}
