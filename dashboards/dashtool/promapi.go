// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// prom is a minimal client for the Prometheus HTTP API.
type prom struct {
	base string
	hc   *http.Client
}

func newProm(base string) *prom {
	return &prom{base: base, hc: &http.Client{Timeout: 30 * time.Second}}
}

type series struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`  // instant: [ts, "v"]
	Values [][2]any          `json:"values"` // range
}

type point struct {
	T float64
	V float64
}

func (s series) instant() float64 { return num(s.Value[1]) }

func (s series) points() []point {
	out := make([]point, 0, len(s.Values))
	for _, v := range s.Values {
		out = append(out, point{T: num(v[0]), V: num(v[1])})
	}
	return out
}

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	}
	return 0
}

func (p *prom) get(ctx context.Context, path string, q url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("%s: %s: %w", path, resp.Status, err)
	}
	if env.Status != "success" {
		return fmt.Errorf("%s %s: %s", path, q.Get("query"), env.Error)
	}
	return json.Unmarshal(env.Data, out)
}

func (p *prom) query(ctx context.Context, expr string, at time.Time) ([]series, error) {
	var data struct {
		Result []series `json:"result"`
	}
	q := url.Values{"query": {expr}, "time": {strconv.FormatInt(at.Unix(), 10)}}
	err := p.get(ctx, "/api/v1/query", q, &data)
	return data.Result, err
}

func (p *prom) queryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]series, error) {
	var data struct {
		Result []series `json:"result"`
	}
	q := url.Values{
		"query": {expr},
		"start": {strconv.FormatInt(start.Unix(), 10)},
		"end":   {strconv.FormatInt(end.Unix(), 10)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}
	err := p.get(ctx, "/api/v1/query_range", q, &data)
	return data.Result, err
}

func (p *prom) labelValues(ctx context.Context, label, match string) ([]string, error) {
	var data []string
	err := p.get(ctx, "/api/v1/label/"+url.PathEscape(label)+"/values", url.Values{"match[]": {match}}, &data)
	return data, err
}
