// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/posit-connect-exporter/posit_connect_exporter/collector"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

// readmeTable returns the first-column code spans of the README table that
// follows the heading.
func readmeTable(t *testing.T, heading string) []string {
	t.Helper()
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(raw), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README has no %q section", heading)
	}
	cell := regexp.MustCompile("^\\| `([^`]+)` \\|")
	var out []string
	for line := range strings.SplitSeq(after, "\n") {
		if strings.HasPrefix(line, "## ") {
			break
		}
		if m := cell.FindStringSubmatch(line); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

func TestREADMEFlagTableMatchesTheFlags(t *testing.T) {
	app, _ := newApp()
	documented := readmeTable(t, "## Flags")
	var flags []string
	for _, f := range app.Model().Flags {
		if f.Name == "help" || f.Name == "help-long" || f.Name == "help-man" || f.Hidden {
			continue
		}
		name := "--" + f.Name
		if f.IsBoolFlag() && strings.HasPrefix(f.Name, "collector.") {
			name = "--[no-]" + f.Name
		}
		flags = append(flags, name)
		if !slices.Contains(documented, name) {
			t.Errorf("flag %s is missing from the README's flag table", name)
		}
	}
	for _, d := range documented {
		if !slices.Contains(flags, d) {
			t.Errorf("the README documents %s, which is not a flag", d)
		}
	}
}

func TestREADMEMetricTableMatchesTheExposition(t *testing.T) {
	opts, err := parseOpts(t, "--demo")
	if err != nil {
		t.Fatal(err)
	}
	_, hs := startExporter(t, opts)
	mfs := testutil.ParseText(t, scrapeBody(t, hs.URL+"/metrics", nil))
	documented := readmeTable(t, "## Metrics")
	for name := range mfs {
		if !strings.HasPrefix(name, "posit_") {
			continue // go_*, process_*, promhttp_*
		}
		if !slices.Contains(documented, name) {
			t.Errorf("metric %s is missing from the README's metric table", name)
		}
	}
}

func TestREADMEMetricTableCoversSeveralServers(t *testing.T) {
	_, path := threeServers(t)
	opts, err := parseOpts(t, "--config.file="+path)
	if err != nil {
		t.Fatal(err)
	}
	_, hs := startExporter(t, opts)
	documented := readmeTable(t, "## Metrics")
	for name := range testutil.ParseText(t, scrapeBody(t, hs.URL+"/metrics", nil)) {
		if strings.HasPrefix(name, "posit_") && !slices.Contains(documented, name) {
			t.Errorf("metric %s is missing from the README's metric table", name)
		}
	}
}

func TestREADMECollectorTableMatchesTheCollectorTable(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(raw), "\n## Collectors\n")
	section, _, _ = strings.Cut(section, "\n## ")
	ttlFlag := map[string]string{}
	for _, r := range collector.Resources() {
		ttlFlag[r.Name] = "--connect.cache-ttl." + r.TTLFlag
	}
	var documented []string
	for _, d := range collector.Collectors {
		row := ""
		for line := range strings.SplitSeq(section, "\n") {
			if strings.HasPrefix(line, "| `"+d.Name+"` |") {
				row = line
			}
		}
		if row == "" {
			t.Errorf("collector %s has no row in the README's collector table", d.Name)
			continue
		}
		documented = append(documented, d.Name)
		cells := strings.Split(row, "|")
		if want := map[bool]string{true: "on", false: "off"}[d.Default]; strings.TrimSpace(cells[2]) != want {
			t.Errorf("%s: default %q, want %q", d.Name, strings.TrimSpace(cells[2]), want)
		}
		if !strings.Contains(cells[3], strings.TrimSuffix(d.Help, " (incremental)")) {
			t.Errorf("%s: the README says %q, the table %q", d.Name, strings.TrimSpace(cells[3]), d.Help)
		}
		for _, r := range d.Reads {
			if !strings.Contains(cells[4], "`"+r.Name+"`") || !strings.Contains(cells[4], ttlFlag[r.Name]) {
				t.Errorf("%s reads %s (TTL %s), not documented in %q", d.Name, r.Name, ttlFlag[r.Name], cells[4])
			}
		}
	}
	if got := readmeTable(t, "## Collectors"); !slices.Equal(got, documented) {
		t.Errorf("README collector rows %v, want %v in table order", got, documented)
	}
}
