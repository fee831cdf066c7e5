// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// auditFileActions reads the actions and ids of the audit entries in a
// written file with the standard library only, independently of the
// exporter's parsers.
func auditFileActions(t *testing.T, f AuditLogFormat, data []byte) (map[string]int, []int64, int) {
	t.Helper()
	actions := map[string]int{}
	var ids []int64
	other := 0
	if f == AuditLogLegacyCSV {
		recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if len(r) != 6 {
				t.Fatalf("CSV record of %d fields: %q", len(r), r)
			}
			if _, err := time.Parse(time.RFC3339Nano, r[1]); err != nil {
				t.Fatalf("CSV time: %v", err)
			}
			id, err := strconv.ParseInt(r[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
			actions[r[4]]++
		}
		return actions, ids, 0
	}
	kv := regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*"|\S*)`)
	for line := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
		if _, rest, ok := strings.Cut(line, "]: "); ok {
			line = rest
		}
		m := map[string]any{}
		switch f {
		case AuditLogText:
			for _, p := range kv.FindAllStringSubmatch(line, -1) {
				v := p[2]
				if strings.HasPrefix(v, `"`) {
					u, err := strconv.Unquote(v)
					if err != nil {
						t.Fatalf("logfmt value %s: %v", v, err)
					}
					v = u
				}
				m[p[1]] = v
			}
		default:
			d := json.NewDecoder(strings.NewReader(line))
			d.UseNumber()
			if err := d.Decode(&m); err != nil {
				t.Fatalf("JSON line %q: %v", line, err)
			}
		}
		typ, _ := m["type"].(string)
		switch {
		case f == AuditLogLegacyJSON:
			id, err := strconv.ParseInt(m["id"].(string), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
			actions[m["action"].(string)]++
		case typ == "audit":
			var raw string
			switch v := m["entry_id"].(type) {
			case string: // logfmt
				raw = v
			case json.Number: // JSON: an integer, not a string
				raw = v.String()
			}
			id, err := strconv.ParseInt(raw, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			if m["actor_role"] == nil || m["actor_id"] == nil || m["time"] == nil || m["level"] != "info" {
				t.Fatalf("entry lacks a field Connect always writes: %q", line)
			}
			ids = append(ids, id)
			actions[m["action"].(string)]++
		default:
			other++
		}
	}
	return actions, ids, other
}

func TestWriteAuditLogMatchesTheAPIData(t *testing.T) {
	clk := newClock()
	s := New(smallConfig(clk))
	want := s.AuditTotals(0)
	first, last := s.LastAuditID()-int64(len(s.audits))+1, s.LastAuditID()
	for _, f := range AuditLogFormats {
		t.Run(f.String(), func(t *testing.T) {
			current := f == AuditLogText || f == AuditLogJSON
			got := map[string]int{}
			var all []int64
			others := 0
			const nodes = 3
			for node := range nodes {
				var b bytes.Buffer
				opts := AuditLogOptions{Format: f, Nodes: nodes, Node: node, Journal: current, SyslogPrefix: f == AuditLogJSON}
				n, err := s.WriteAuditLog(&b, opts)
				if err != nil {
					t.Fatal(err)
				}
				actions, ids, other := auditFileActions(t, f, b.Bytes())
				if len(ids) != n {
					t.Errorf("node %d: %d entries written, %d read back", node, n, len(ids))
				}
				for _, id := range ids {
					if AuditNode(id, nodes) != node {
						t.Fatalf("entry %d written by node %d, belongs to %d", id, node, AuditNode(id, nodes))
					}
				}
				got = mergeCounts(got, actions)
				all = append(all, ids...)
				others += other
			}
			if !maps.Equal(got, want) {
				t.Errorf("actions from the files %v, from the data %v", got, want)
			}
			seen := map[int64]bool{}
			for _, id := range all {
				if seen[id] || id < first || id > last {
					t.Fatalf("id %d duplicated or out of range [%d, %d]", id, first, last)
				}
				seen[id] = true
			}
			if len(seen) != len(s.audits) {
				t.Errorf("%d distinct ids, want %d", len(seen), len(s.audits))
			}
			if current && (others < len(s.audits)/3 || others > len(s.audits)) {
				t.Errorf("%d journal lines for %d entries", others, len(s.audits))
			}
			if !current && others != 0 {
				t.Errorf("%d lines that are not entries in a legacy file", others)
			}
		})
	}
}

func mergeCounts(a, b map[string]int) map[string]int {
	out := maps.Clone(a)
	for k, v := range b {
		out[k] += v
	}
	return out
}

func TestWriteAuditLogAfterID(t *testing.T) {
	clk := newClock()
	s := New(smallConfig(clk))
	last := s.LastAuditID()
	clk.Advance(time.Hour)
	s.Step(time.Hour)
	var b bytes.Buffer
	n, err := s.WriteAuditLog(&b, AuditLogOptions{Format: AuditLogText, AfterID: last})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, c := range s.AuditTotals(last) {
		want += c
	}
	if n != want || want == 0 {
		t.Errorf("%d entries written after id %d, want %d (>0)", n, last, want)
	}
	if strings.Contains(b.String(), "entry_id="+strconv.FormatInt(last, 10)+" ") {
		t.Errorf("entry %d written again", last)
	}
}

func TestWriteAuditLogRejectsBadOptions(t *testing.T) {
	s := New(Config{Seed: 1, Users: 5, AuditEntries: 5})
	for _, o := range []AuditLogOptions{
		{Format: AuditLogFormat(9)},
		{Format: AuditLogLegacyCSV, Journal: true},
		{Format: AuditLogLegacyJSON, SyslogPrefix: true},
		{Format: AuditLogText, Nodes: 2, Node: 2},
	} {
		if _, err := s.WriteAuditLog(&bytes.Buffer{}, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}
