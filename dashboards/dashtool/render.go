// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/dashboards"
)

// Grafana's grid: 24 columns, rows of 30 px with 8 px gaps.
const (
	cellH  = 30
	gap    = 8
	header = 64
)

var palette = []string{"#73BF69", "#F2CC0C", "#8AB8FF", "#FF780A", "#F2495C", "#5794F2", "#B877D9", "#705DA0", "#37872D", "#FADE2A", "#447EBC", "#C4162A"}

var namedColors = map[string]string{
	"green": "#73BF69", "yellow": "#FADE2A", "red": "#F2495C", "orange": "#FF9830",
	"blue": "#5794F2", "purple": "#B877D9", "text": "#CCCCDC", "transparent": "transparent",
}

func color(c string) string {
	if v, ok := namedColors[c]; ok {
		return v
	}
	return c
}

// render writes an HTML preview of one dashboard from live query results and
// prints the page height in pixels (for the screenshot window).
func render(args []string) error {
	fs := flag.NewFlagSet("render", flag.ExitOnError)
	base := fs.String("prom", "", "Prometheus base URL")
	uid := fs.String("uid", "", "dashboard uid")
	job := fs.String("job", ".+", "value of $job")
	instance := fs.String("instance", ".+", "value of $instance")
	rangeFlag := fs.String("range", "", "time range shown, e.g. 30d (default: the dashboard's)")
	width := fs.Int("width", 1400, "page width, px")
	out := fs.String("out", "", "output HTML file")
	_ = fs.Parse(args)
	if *base == "" || *uid == "" || *out == "" {
		return errors.New("-prom, -uid and -out are required")
	}
	all, err := dashboards.All()
	if err != nil {
		return err
	}
	var d *dashboards.Dashboard
	for _, x := range all {
		if x.UID == *uid {
			d = x
		}
	}
	if d == nil {
		return fmt.Errorf("no dashboard with uid %q", *uid)
	}
	span, err := parseSpan(strings.TrimPrefix(firstNonEmpty(*rangeFlag, d.Time.From), "now-"))
	if err != nil {
		return err
	}
	// Not truncated to the minute: the live scrapes may have begun within it.
	end := time.Now().Truncate(time.Second)
	start := end.Add(-span)
	step := (span / 240).Truncate(time.Second)
	rateIv := max(step+time.Minute, 4*time.Minute)
	vars := dashboards.Vars{Job: *job, Instance: *instance, RateInterval: promDur(rateIv), Range: promDur(span), Interval: promDur(step)}
	r := &renderer{p: newProm(*base), vars: vars, start: start, end: end, step: step, pending: dashboards.Pending}

	colW := float64(*width-2*gap) / 24
	bottom := 0
	var body strings.Builder
	for _, pn := range d.Panels {
		g := pn.GridPos
		left := float64(gap) + float64(g.X)*colW
		top := header + g.Y*(cellH+gap)
		w := float64(g.W)*colW - gap
		h := g.H*(cellH+gap) - gap
		bottom = max(bottom, top+h)
		if pn.Type == "row" {
			fmt.Fprintf(&body, `<div class="row" style="left:%.0fpx;top:%dpx;width:%.0fpx">%s</div>`, left, top, w, html.EscapeString(pn.Title))
			continue
		}
		inner, err := r.panel(pn, int(w), h-30)
		if err != nil {
			return fmt.Errorf("panel %q: %w", pn.Title, err)
		}
		fmt.Fprintf(&body, `<div class="panel" style="left:%.0fpx;top:%dpx;width:%.0fpx;height:%dpx"><div class="title">%s <span class="unit">%s</span></div><div class="body">%s</div></div>`,
			left, top, w, h, html.EscapeString(pn.Title), html.EscapeString(pn.FieldConfig.Defaults.Unit), inner)
	}
	height := bottom + gap
	page := fmt.Sprintf(`<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;background:#111217;color:#CCCCDC;font:13px/1.3 "DejaVu Sans",Arial,sans-serif;width:%dpx;height:%dpx;position:relative;overflow:hidden}
.hdr{position:absolute;left:%dpx;top:8px;right:%dpx;height:48px}
.hdr h1{font-size:19px;margin:0 0 4px;font-weight:500;color:#fff}.hdr .sub{color:#8e8e9e;font-size:12px}
.row{position:absolute;height:30px;line-height:30px;font-size:15px;font-weight:500;color:#fff;border-bottom:1px solid #2c2f36}
.panel{position:absolute;background:#181b1f;border:1px solid #2c2f36;border-radius:3px;box-sizing:border-box;overflow:hidden}
.title{height:28px;line-height:28px;padding:0 8px;font-weight:500;color:#fff;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.unit{color:#6e6e7e;font-weight:400;font-size:11px}
.body{position:absolute;top:28px;left:0;right:0;bottom:0}
.stats{display:flex;flex-wrap:wrap;height:100%%;padding:2px 6px 6px;box-sizing:border-box;gap:4px}
.stat{flex:1 1 0;min-width:60px;display:flex;flex-direction:column;justify-content:center;align-items:center;border-radius:2px;overflow:hidden}
.stat .v{font-weight:500;white-space:nowrap}.stat .n{font-size:11px;color:#ccccdc;white-space:nowrap}
.nodata{display:flex;height:100%%;align-items:center;justify-content:center;color:#F2495C;font-size:16px;text-align:center;padding:0 12px}
.nodata.pending{color:#8e8e9e;font-size:13px;overflow-wrap:anywhere}
.bars{padding:2px 8px;box-sizing:border-box;height:100%%;display:flex;flex-direction:column;justify-content:space-around}
.bar{display:flex;align-items:center;gap:6px;font-size:12px}.bar .l{width:32%%;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;text-align:right}
.bar .t{flex:1;background:#22252b;height:70%%;min-height:10px;position:relative}.bar .f{position:absolute;left:0;top:0;bottom:0;background:linear-gradient(90deg,#5794F2,#B877D9)}
.bar .val{width:90px;color:#fff;white-space:nowrap}
.legend{font-size:11px;padding:0 8px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.legend span{margin-right:12px}.sw{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
</style></head><body><div class="hdr"><h1>%s</h1><div class="sub">job=%s · instance=%s · last %s · rendered %s from live Prometheus queries by dashtool (a preview, not Grafana)</div></div>%s</body></html>`,
		*width, height, gap, gap, html.EscapeString(d.Title), html.EscapeString(*job), html.EscapeString(*instance),
		promDur(span), end.UTC().Format("2006-01-02 15:04 UTC"), body.String())
	if err := os.WriteFile(*out, []byte(page), 0o644); err != nil {
		return err
	}
	fmt.Println(height)
	for _, w := range r.waiting {
		fmt.Fprintf(os.Stderr, "render %s: PENDING, no data yet in %q (it reads a metric this exporter does not export yet)\n", *uid, w)
	}
	if len(r.empty) > 0 {
		// The page is still written, so the picture shows what is missing.
		return fmt.Errorf("render %s: no data in: %s", *uid, strings.Join(r.empty, "; "))
	}
	return nil
}

type renderer struct {
	p          *prom
	vars       dashboards.Vars
	start, end time.Time
	step       time.Duration
	pending    []string
	empty      []string
	waiting    []string // empty panels that read pending metrics
}

type result struct {
	name   string
	refID  string
	value  float64
	points []point
}

// noData is the body of an empty panel: red, or grey for a panel waiting for
// a metric of dashboards.Pending.
func (r *renderer) noData(pn dashboards.Panel) string {
	var reads []string
	for _, t := range pn.Targets {
		reads = append(reads, pendingIn(t.Expr, r.pending)...)
	}
	if len(reads) > 0 {
		return `<div class="nodata pending">Pending: ` + html.EscapeString(strings.Join(slices.Compact(reads), ", ")) + ` is not exported by this build</div>`
	}
	return `<div class="nodata">No data</div>`
}

func (r *renderer) fetch(pn dashboards.Panel, ranged bool) ([]result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out []result
	for _, t := range pn.Targets {
		expr := r.vars.Expand(t.Expr)
		var res []series
		var err error
		if ranged {
			res, err = r.p.queryRange(ctx, expr, r.start, r.end, r.step)
		} else {
			res, err = r.p.query(ctx, expr, r.end)
		}
		if err != nil {
			return nil, err
		}
		for _, s := range res {
			x := result{name: legend(t.LegendFormat, s.Metric), refID: t.RefID}
			if ranged {
				x.points = s.points()
			} else {
				x.value = s.instant()
			}
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		var reads []string
		for _, t := range pn.Targets {
			reads = append(reads, pendingIn(t.Expr, r.pending)...)
		}
		if len(reads) > 0 {
			r.waiting = append(r.waiting, pn.Title)
		} else {
			r.empty = append(r.empty, pn.Title)
		}
	}
	return out, nil
}

var legendRE = regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`)

func legend(format string, m map[string]string) string {
	if format == "" || format == "__auto" {
		var parts []string
		for k, v := range m {
			parts = append(parts, k+"="+v)
		}
		sort.Strings(parts)
		return strings.Join(parts, ", ")
	}
	return legendRE.ReplaceAllStringFunc(format, func(s string) string {
		return m[legendRE.FindStringSubmatch(s)[1]]
	})
}

func (r *renderer) panel(pn dashboards.Panel, w, h int) (string, error) {
	switch pn.Type {
	case "stat":
		return r.stat(pn, w, h)
	case "bargauge":
		return r.bars(pn)
	case "timeseries":
		return r.timeseries(pn, w, h)
	}
	return "", fmt.Errorf("cannot render panel type %q", pn.Type)
}

type statOptions struct {
	ColorMode string `json:"colorMode"`
	TextMode  string `json:"textMode"`
}

func (r *renderer) stat(pn dashboards.Panel, w, h int) (string, error) {
	res, err := r.fetch(pn, false)
	if err != nil {
		return "", err
	}
	if len(res) == 0 {
		return r.noData(pn), nil
	}
	var opt statOptions
	_ = json.Unmarshal(pn.Options, &opt)
	sort.Slice(res, func(i, j int) bool { return res[i].name < res[j].name })
	def := pn.FieldConfig.Defaults
	var b strings.Builder
	b.WriteString(`<div class="stats">`)
	for _, x := range res {
		text, col := display(def, x.value)
		if opt.TextMode == "name" {
			text = x.name
		}
		// As Grafana does: the value fills its box, width permitting.
		box := float64(w-12)/float64(len(res)) - 8
		size := math.Max(13, math.Min(float64(h)*0.42, box/(0.62*float64(len([]rune(text)))+0.5)))
		style := ""
		switch opt.ColorMode {
		case "background", "background_solid":
			style = "background:" + col + ";"
			col = "#fff"
		case "none":
			col = "#CCCCDC"
		}
		name := ""
		if len(res) > 1 && opt.TextMode != "name" {
			name = `<div class="n">` + html.EscapeString(x.name) + `</div>`
		}
		fmt.Fprintf(&b, `<div class="stat" style="%s"><div class="v" style="color:%s;font-size:%.0fpx">%s</div>%s</div>`,
			style, col, size, html.EscapeString(text), name)
	}
	b.WriteString(`</div>`)
	return b.String(), nil
}

// display formats a value with the panel's unit and picks its color from
// value mappings, else thresholds.
func display(def dashboards.FieldDefaults, v float64) (string, string) {
	for _, m := range def.Mappings {
		if o, ok := m.Options[fmt.Sprint(v)]; ok {
			return o.Text, color(o.Color)
		}
	}
	col := "#CCCCDC"
	for _, s := range def.Thresholds.Steps {
		if s.Value == nil || v >= *s.Value {
			col = color(s.Color)
		}
	}
	return format(def.Unit, v, def.Decimals), col
}

func (r *renderer) bars(pn dashboards.Panel) (string, error) {
	res, err := r.fetch(pn, false)
	if err != nil {
		return "", err
	}
	if len(res) == 0 {
		return r.noData(pn), nil
	}
	sort.SliceStable(res, func(i, j int) bool { return res[i].value > res[j].value })
	top := res[0].value
	var b strings.Builder
	b.WriteString(`<div class="bars">`)
	for _, x := range res {
		frac := 0.0
		if top > 0 {
			frac = x.value / top
		}
		fmt.Fprintf(&b, `<div class="bar"><div class="l">%s</div><div class="t"><div class="f" style="width:%.1f%%"></div></div><div class="val">%s</div></div>`,
			html.EscapeString(x.name), 100*frac, html.EscapeString(format(pn.FieldConfig.Defaults.Unit, x.value, pn.FieldConfig.Defaults.Decimals)))
	}
	b.WriteString(`</div>`)
	return b.String(), nil
}

type override struct {
	Matcher struct {
		ID      string `json:"id"`
		Options string `json:"options"`
	} `json:"matcher"`
	Properties []struct {
		ID    string          `json:"id"`
		Value json.RawMessage `json:"value"`
	} `json:"properties"`
}

func (r *renderer) timeseries(pn dashboards.Panel, w, h int) (string, error) {
	res, err := r.fetch(pn, true)
	if err != nil {
		return "", err
	}
	if len(res) == 0 {
		return r.noData(pn), nil
	}
	// Per refId color and dash from byFrameRefID overrides.
	style := map[string][2]string{}
	for _, raw := range pn.FieldConfig.Overrides {
		var o override
		if json.Unmarshal(raw, &o) != nil || o.Matcher.ID != "byFrameRefID" {
			continue
		}
		s := style[o.Matcher.Options]
		for _, p := range o.Properties {
			switch p.ID {
			case "color":
				var c struct {
					FixedColor string `json:"fixedColor"`
				}
				_ = json.Unmarshal(p.Value, &c)
				s[0] = color(c.FixedColor)
			case "custom.lineStyle":
				var ls struct {
					Fill string `json:"fill"`
				}
				_ = json.Unmarshal(p.Value, &ls)
				s[1] = map[string]string{"dash": "8,6", "dot": "2,5"}[ls.Fill]
			}
		}
		style[o.Matcher.Options] = s
	}
	def := pn.FieldConfig.Defaults
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range res {
		for _, p := range x.points {
			if !math.IsNaN(p.V) && !math.IsInf(p.V, 0) {
				lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
			}
		}
	}
	if def.Min != nil {
		lo = math.Min(lo, *def.Min)
	}
	if hi <= lo {
		hi = lo + 1
	}
	hi += (hi - lo) * 0.05
	legendRows := 1 + len(res)/6
	plotH := h - 16*legendRows - 22
	const axisW = 86
	plotW := w - axisW - 12
	x0, y0 := float64(axisW), 6.0
	sx := func(t float64) float64 {
		return x0 + (t-float64(r.start.Unix()))/r.end.Sub(r.start).Seconds()*float64(plotW)
	}
	sy := func(v float64) float64 { return y0 + (hi-v)/(hi-lo)*float64(plotH) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="%d" height="%d" style="display:block">`, w, plotH+22)
	for i := 0; i <= 4; i++ {
		v := lo + (hi-lo)*float64(i)/4
		y := sy(v)
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%d" y1="%.1f" y2="%.1f" stroke="#2c2f36"/><text x="%.0f" y="%.1f" fill="#8e8e9e" font-size="11" text-anchor="end">%s</text>`,
			x0, axisW+plotW, y, y, x0-6, y+4, html.EscapeString(format(def.Unit, v, nil)))
	}
	for i := 0; i <= 5; i++ {
		t := r.start.Add(r.end.Sub(r.start) * time.Duration(i) / 5)
		layout := "01-02 15:04"
		if r.end.Sub(r.start) > 72*time.Hour {
			layout = "01-02"
		}
		anchor := map[int]string{0: "start", 5: "end"}[i]
		if anchor == "" {
			anchor = "middle"
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" fill="#8e8e9e" font-size="11" text-anchor="%s">%s</text>`,
			sx(float64(t.Unix())), plotH+20, anchor, t.UTC().Format(layout))
	}
	var leg strings.Builder
	for i, x := range res {
		col, dash := palette[i%len(palette)], ""
		if s, ok := style[x.refID]; ok {
			if s[0] != "" {
				col = s[0]
			}
			dash = s[1]
		}
		var pts []string
		var prev float64
		flush := func() {
			if len(pts) > 0 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.6" stroke-dasharray="%s" points="%s"/>`, col, dash, strings.Join(pts, " "))
			}
			pts = nil
		}
		for _, p := range x.points {
			if math.IsNaN(p.V) || math.IsInf(p.V, 0) || len(pts) > 0 && p.T-prev > 1.5*r.step.Seconds() {
				flush()
			}
			if !math.IsNaN(p.V) && !math.IsInf(p.V, 0) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", sx(p.T), sy(p.V)))
			}
			prev = p.T
		}
		flush()
		fmt.Fprintf(&leg, `<span><i class="sw" style="background:%s"></i>%s</span>`, col, html.EscapeString(x.name))
	}
	b.WriteString(`</svg><div class="legend">` + leg.String() + `</div>`)
	return b.String(), nil
}

// format renders v in a Grafana unit (the ones the dashboards use).
func format(unit string, v float64, decimals *int) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	dec := func(def int) int {
		if decimals != nil {
			return *decimals
		}
		return def
	}
	switch unit {
	case "percentunit":
		return trim(fmt.Sprintf("%.*f", dec(1), v*100)) + "%"
	case "reqps":
		return short(v, dec(-1)) + " req/s"
	case "Bps":
		return bytesSI(v, dec(-1)) + "/s"
	case "dateTimeFromNow":
		return fromNow(time.Since(time.UnixMilli(int64(v))))
	case "s":
		return seconds(v)
	case "dtdurations":
		return durations(v)
	case "dateTimeAsIso", "dateTimeAsIsoNoDateIfToday":
		return time.UnixMilli(int64(v)).UTC().Format("2006-01-02 15:04")
	case "none":
		return short(v, dec(-1))
	default: // short
		return short(v, dec(-1))
	}
}

// auto picks decimals as Grafana roughly does: about three significant digits.
func auto(a float64) int {
	switch {
	case a == 0 || a >= 100:
		return 0
	case a >= 10:
		return 1
	case a >= 1:
		return 2
	}
	return min(6, 1+int(math.Ceil(-math.Log10(a))))
}

// short formats with SI-like suffixes; d < 0 means automatic decimals.
func short(v float64, d int) string {
	a := math.Abs(v)
	for _, s := range []struct {
		div float64
		suf string
	}{{1e9, " Bil"}, {1e6, " Mil"}, {1e3, " K"}} {
		if a >= s.div {
			return trim(fmt.Sprintf("%.*f", max(d, auto(a/s.div)), v/s.div)) + s.suf
		}
	}
	if d < 0 {
		d = auto(a)
	}
	return trim(fmt.Sprintf("%.*f", d, v))
}

// bytesSI formats bytes with SI prefixes, as Grafana's "bytes(SI)" family.
func bytesSI(v float64, d int) string {
	a := math.Abs(v)
	for _, s := range []struct {
		div float64
		suf string
	}{{1e9, " GB"}, {1e6, " MB"}, {1e3, " kB"}} {
		if a >= s.div {
			return trim(fmt.Sprintf("%.*f", max(d, auto(a/s.div)), v/s.div)) + s.suf
		}
	}
	if d < 0 {
		d = auto(a)
	}
	return trim(fmt.Sprintf("%.*f", d, v)) + " B"
}

// fromNow says how long ago, roughly, as Grafana's dateTimeFromNow does.
func fromNow(ago time.Duration) string {
	switch {
	case ago < 45*time.Second:
		return "a few seconds ago"
	case ago < 90*time.Second:
		return "a minute ago"
	case ago < 45*time.Minute:
		return fmt.Sprintf("%d minutes ago", int(math.Round(ago.Minutes())))
	case ago < 90*time.Minute:
		return "an hour ago"
	case ago < 22*time.Hour:
		return fmt.Sprintf("%d hours ago", int(math.Round(ago.Hours())))
	}
	return fmt.Sprintf("%d days ago", int(math.Round(ago.Hours()/24)))
}

func seconds(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0 s"
	case a < 0.001:
		return short(v*1e6, -1) + " µs"
	case a < 1:
		return short(v*1000, -1) + " ms"
	case a < 60:
		return trim(fmt.Sprintf("%.2f", v)) + " s"
	case a < 3600:
		return trim(fmt.Sprintf("%.1f", v/60)) + " min"
	case a < 86400:
		return trim(fmt.Sprintf("%.1f", v/3600)) + " hour"
	}
	return trim(fmt.Sprintf("%.1f", v/86400)) + " day"
}

func durations(v float64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	units := []struct {
		n    float64
		name string
	}{{86400 * 365, "year"}, {86400, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}}
	var parts []string
	for _, u := range units {
		if k := math.Floor(v / u.n); k >= 1 {
			s := fmt.Sprintf("%.0f %s", k, u.name)
			if k > 1 {
				s += "s"
			}
			parts = append(parts, s)
			v -= k * u.n
		}
		if len(parts) == 2 {
			break
		}
	}
	if len(parts) == 0 {
		return "0 seconds"
	}
	return sign + strings.Join(parts, ", ")
}

func trim(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func parseSpan(s string) (time.Duration, error) {
	if strings.HasSuffix(s, "d") {
		var n float64
		if _, err := fmt.Sscanf(s, "%gd", &n); err != nil {
			return 0, err
		}
		return time.Duration(n * 24 * float64(time.Hour)), nil
	}
	return time.ParseDuration(s)
}

func promDur(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return fmt.Sprintf("%ds", int64(d.Seconds()))
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
