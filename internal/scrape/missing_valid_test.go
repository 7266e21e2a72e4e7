package scrape

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.uber.org/zap/zaptest"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// TestMissingValidSeries: a classic histogram whose _count series is
// missing (and a ratio whose valid selector matches nothing) cannot give
// valid events. The tick reports it naming the SLO and the selectors, the
// SLO goes down and the stat counts it; once _count appears the SLO is up
// and counts again, while a healthy SLO next to them is unaffected.
func TestMissingValidSeries(t *testing.T) {
	const (
		bucket = `lat_bucket{job="a"}`
		count  = `lat_count{job="a"}`
		good   = `req_total{job="a",code="200"}`
		typo   = `req_totl{job="a"}`
		valid  = `req_total{job="a"}`
	)
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	iv := 30 * time.Second
	at := func(k int) int64 { return t0.Add(time.Duration(k) * iv).UnixMilli() }
	ramp := func(from, n int, rate float64) map[int64]float64 {
		m := map[int64]float64{}
		for k := from; k < n; k++ {
			m[at(k)] = rate * float64(k)
		}
		return m
	}
	q := &fakeQuerier{data: map[string][]*fakeSeries{
		bucket: {{metric: model.Metric{"__name__": "lat_bucket", "job": "a", "le": "0.25"}, floats: ramp(0, 10, 9)}},
		// _count only from step 5 on.
		count: {{metric: model.Metric{"__name__": "lat_count", "job": "a"}, floats: ramp(5, 10, 10)}},
		good:  {{metric: model.Metric{"__name__": "req_total", "job": "a", "code": "200"}, floats: ramp(0, 10, 9)}},
		typo:  nil,
		valid: {{metric: model.Metric{"__name__": "req_total", "job": "a", "code": "200"}, floats: ramp(0, 10, 9)}},
	}}
	spec := func(name string) evaluator.Spec {
		return evaluator.Spec{Name: name, Objective: 0.99, Period: time.Hour, Windows: []time.Duration{5 * time.Minute}}
	}
	eng, err := evaluator.New(iv, []evaluator.Spec{spec("latency"), spec("typo"), spec("healthy")})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPuller(q, eng, []Target{
		{SLO: 0, Good: Selector{Expr: bucket, LE: le(0.25)}, Valid: Selector{Expr: count}},
		{SLO: 1, Good: Selector{Expr: good}, Valid: Selector{Expr: typo}},
		{SLO: 2, Good: Selector{Expr: good}, Valid: Selector{Expr: valid}},
	}, PullerConfig{Interval: iv, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	for k := range 10 {
		res := p.Tick(context.Background(), time.UnixMilli(at(k)))
		var msgs []string
		for _, e := range res.Errors {
			msgs = append(msgs, e.Error())
		}
		all := strings.Join(msgs, "\n")
		snap := eng.Evaluate(time.UnixMilli(at(k)))
		wantLatencyDown := k < 5
		if got := strings.Contains(all, `slo latency: selector lat_bucket{job="a"} (le=0.25) returned 1 series but the valid selector lat_count{job="a"} none, so no valid events can be counted; a classic histogram exposes _count next to _bucket`); got != wantLatencyDown {
			t.Errorf("step %d: latency error reported %v, want %v; errors:\n%s", k, got, wantLatencyDown, all)
		}
		if snap.SLOs[0].DataUp == wantLatencyDown {
			t.Errorf("step %d: latency data_up %v, want %v", k, snap.SLOs[0].DataUp, !wantLatencyDown)
		}
		if !strings.Contains(all, `slo typo: selector req_total{job="a",code="200"} returned 1 series but the valid selector req_totl{job="a"} none`) || snap.SLOs[1].DataUp {
			t.Errorf("step %d: the mistyped valid selector was not reported or the SLO is up; errors:\n%s", k, all)
		}
		if !snap.SLOs[2].DataUp || strings.Contains(all, "slo healthy") {
			t.Errorf("step %d: the healthy SLO is affected: up %v; errors:\n%s", k, snap.SLOs[2].DataUp, all)
		}
	}
	// From step 6 (the first increment of _count) the latency SLO counts:
	// 4 pulls of 10 valid and 9 good.
	snap := eng.Evaluate(time.UnixMilli(at(9)))
	if w := snap.SLOs[0].Groups[0].Windows[0]; w.Valid != 40 || w.Good != 36 {
		t.Errorf("latency after _count appeared: %v good of %v valid, want 36 of 40", w.Good, w.Valid)
	}
	if got := p.Stats().MissingValid; got != 5+10 {
		t.Errorf("MissingValid = %d, want 15 (5 latency pulls and 10 of the typo)", got)
	}
}
