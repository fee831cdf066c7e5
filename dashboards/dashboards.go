// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package dashboards

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.json
var files embed.FS

// Dashboard is the part of a Grafana dashboard JSON model that the checks and
// the renderer read. Unknown fields are ignored here; the schema check in
// schema/ covers the rest.
type Dashboard struct {
	File         string                    `json:"-"`
	ID           *int                      `json:"id"`
	UID          string                    `json:"uid"`
	Title        string                    `json:"title"`
	Description  string                    `json:"description"`
	Tags         []string                  `json:"tags"`
	Editable     bool                      `json:"editable"`
	GraphTooltip int                       `json:"graphTooltip"`
	Schema       int                       `json:"schemaVersion"`
	Time         struct{ From, To string } `json:"time"`
	Templating   struct {
		List []Variable `json:"list"`
	} `json:"templating"`
	Panels []Panel `json:"panels"`
}

// Variable is a dashboard template variable.
type Variable struct {
	Type       string      `json:"type"`
	Name       string      `json:"name"`
	Label      string      `json:"label"`
	Query      string      `json:"query"`
	Datasource *DataSource `json:"datasource"`
	Multi      bool        `json:"multi"`
	IncludeAll bool        `json:"includeAll"`
	AllValue   string      `json:"allValue"`
	Refresh    int         `json:"refresh"`
}

// DataSource is a datasource reference.
type DataSource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// GridPos places a panel on Grafana's 24-column grid.
type GridPos struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// Panel is a dashboard panel (rows included, Type "row").
type Panel struct {
	ID          int         `json:"id"`
	Type        string      `json:"type"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Datasource  *DataSource `json:"datasource"`
	GridPos     GridPos     `json:"gridPos"`
	FieldConfig struct {
		Defaults  FieldDefaults     `json:"defaults"`
		Overrides []json.RawMessage `json:"overrides"`
	} `json:"fieldConfig"`
	Options json.RawMessage `json:"options"`
	Targets []Target        `json:"targets"`
}

// FieldDefaults is fieldConfig.defaults.
type FieldDefaults struct {
	Unit       string     `json:"unit"`
	Min        *float64   `json:"min"`
	Max        *float64   `json:"max"`
	Decimals   *int       `json:"decimals"`
	Thresholds Thresholds `json:"thresholds"`
	Mappings   []Mapping  `json:"mappings"`
}

// Thresholds is fieldConfig.defaults.thresholds.
type Thresholds struct {
	Mode  string `json:"mode"`
	Steps []struct {
		Color string   `json:"color"`
		Value *float64 `json:"value"`
	} `json:"steps"`
}

// Mapping is a value mapping of type "value".
type Mapping struct {
	Type    string `json:"type"`
	Options map[string]struct {
		Text  string `json:"text"`
		Color string `json:"color"`
	} `json:"options"`
}

// Target is a Prometheus query of a panel.
type Target struct {
	RefID        string      `json:"refId"`
	Expr         string      `json:"expr"`
	LegendFormat string      `json:"legendFormat"`
	Instant      bool        `json:"instant"`
	Range        bool        `json:"range"`
	Datasource   *DataSource `json:"datasource"`
}

// All returns every embedded dashboard, sorted by file name.
func All() ([]*Dashboard, error) {
	names, err := fs.Glob(files, "*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]*Dashboard, 0, len(names))
	for _, name := range names {
		raw, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		d, err := Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		d.File = name
		out = append(out, d)
	}
	return out, nil
}

// Parse decodes a dashboard JSON model.
func Parse(raw []byte) (*Dashboard, error) {
	var d Dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Vars holds the values that Grafana would substitute into a query.
type Vars struct {
	Job, Instance string // regexes, as with allValue ".+"
	RateInterval  string // $__rate_interval, e.g. "1m"
	Range         string // $__range, e.g. "1h"
	Interval      string // $__interval
}

// Expand substitutes Grafana's variables in a query the way Grafana would
// for the given values.
func (v Vars) Expand(expr string) string {
	return strings.NewReplacer(
		"$__rate_interval", v.RateInterval,
		"$__interval", v.Interval,
		"$__range", v.Range,
		"${job}", v.Job,
		"$job", v.Job,
		"${instance}", v.Instance,
		"$instance", v.Instance,
	).Replace(expr)
}

// LabelValuesQuery splits a label_values(selector, label) variable query.
func LabelValuesQuery(q string) (selector, label string, ok bool) {
	q = strings.TrimSpace(q)
	if !strings.HasPrefix(q, "label_values(") || !strings.HasSuffix(q, ")") {
		return "", "", false
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(q, "label_values("), ")")
	i := strings.LastIndex(inner, ",")
	if i < 0 {
		return "", "", false
	}
	return strings.TrimSpace(inner[:i]), strings.TrimSpace(inner[i+1:]), true
}
