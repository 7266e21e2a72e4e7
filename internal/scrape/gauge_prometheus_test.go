package scrape

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/synth"
)

const (
	exprFresh    = `synth_freshness_seconds{job="synth"}`
	gaugeScrape  = 15 * time.Second
	gaugeOffset  = 7 * time.Second // samples never sit on the 30s grid, so lookback edges are unambiguous
	gaugeLookbck = 5 * time.Minute // Prometheus' default lookback delta
)

// gaugeHistory returns freshness gauges of models a, b and c, one sample
// every 15s from start to end: a slow wave around 250s that crosses the
// 300s bound for stretches, NaN and +Inf samples now and then, and model c
// silent for 20 minutes (longer than the lookback, so it yields no events
// there) before it comes back.
func gaugeHistory(start, end time.Time) []synth.Series {
	var out []synth.Series
	for mi, model := range []string{"a", "b", "c"} {
		s := synth.Series{Labels: map[string]string{"__name__": "synth_freshness_seconds", "job": "synth", "model": model}}
		silentFrom, silentTo := start.Add(3*time.Hour), start.Add(3*time.Hour+20*time.Minute)
		k := 0
		for ts := start.Add(gaugeOffset); !ts.After(end); ts = ts.Add(gaugeScrape) {
			k++
			if model == "c" && !ts.Before(silentFrom) && ts.Before(silentTo) {
				continue
			}
			v := 250 + 80*math.Sin(float64(k)/(60+7*float64(mi))) + float64((k*7919+mi*104729)%41) - 20
			switch {
			case k%997 == mi:
				v = math.NaN()
			case k%1201 == mi:
				v = math.Inf(1)
			}
			s.Samples = append(s.Samples, synth.Sample{T: ts.UnixMilli(), V: v})
		}
		out = append(out, s)
	}
	return out
}

// bruteGauge counts, per group ("" or the model), the events a gauge
// threshold has at the steps in (from, to]: at each step every series with
// a sample in the lookback (step - 5m, step] is one valid event, good when
// its latest such sample satisfies cond.
func bruteGauge(series []synth.Series, cond Condition, grouped bool, from, to, step int64) (good, valid map[string]float64) {
	good, valid = map[string]float64{}, map[string]float64{}
	for s := from + step; s <= to; s += step {
		for _, ser := range series {
			var v float64
			found := false
			for _, smp := range ser.Samples {
				if smp.T > s {
					break
				}
				if smp.T > s-gaugeLookbck.Milliseconds() {
					v, found = smp.V, true
				}
			}
			if !found {
				continue
			}
			key := ""
			if grouped {
				key = ser.Labels["model"]
			}
			valid[key]++
			if cond.Holds(v) {
				good[key]++
			}
		}
	}
	return good, valid
}

// TestGaugeThresholdProof runs gauge-threshold targets against a real
// Prometheus serving 7 hours of freshness gauges: a backfill of 6h up to
// ten minutes before the final instant, then live ticks, must give for
// every window from 5m to 6h exactly the counts of the brute-force
// evaluation of the samples (one event per series per 30s step, good when
// within the bound). Three targets with different conditions share one
// query.
func TestGaugeThresholdProof(t *testing.T) {
	promtool := promtest.Binary(t, "promtool", "PROMTOOL")
	bin := promtest.Binary(t, "prometheus", "PROMETHEUS")
	end := time.Date(2024, 3, 1, 7, 0, 0, 0, time.UTC)
	series := gaugeHistory(end.Add(-7*time.Hour), end)
	dir := filepath.Join(t.TempDir(), "data")
	createBlocksByDay(t, promtool, series, dir)
	srv := promtest.Start(t, promtest.Options{Binary: bin, DataDir: dir})

	windows := []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour}
	spec := func(name string) evaluator.Spec {
		return evaluator.Spec{Name: name, Service: "synth", Objective: 0.9, Period: 6 * time.Hour, Windows: windows}
	}
	within := Condition{Op: "<=", Value: 300}
	over := Condition{Op: ">", Value: 320}
	targets := []Target{
		{SLO: 0, Good: Selector{Expr: exprFresh, Gauge: &within}, Valid: Selector{Expr: exprFresh, Gauge: &Condition{}}},
		{SLO: 1, GroupBy: []string{"model"}, Good: Selector{Expr: exprFresh, Gauge: &within}, Valid: Selector{Expr: exprFresh, Gauge: &Condition{}}},
		{SLO: 2, Bad: Selector{Expr: exprFresh, Gauge: &over}, Valid: Selector{Expr: exprFresh, Gauge: &Condition{}}},
	}
	eng, err := evaluator.New(interval, []evaluator.Spec{spec("fresh"), spec("fresh-by-model"), spec("not-stale")})
	if err != nil {
		t.Fatal(err)
	}
	client := newTestClient(t, srv.URL)
	p, err := NewPuller(client, eng, targets, PullerConfig{Interval: interval, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if q := p.Queries(); len(q) != 1 {
		t.Errorf("queries %v, want the one gauge expression", q)
	}
	ctx := context.Background()
	live := end.Add(-10 * time.Minute)
	if err := p.Backfill(ctx, end.Add(-6*time.Hour), live, nil); err != nil {
		t.Fatal(err)
	}
	for ts := live.Add(interval); !ts.After(end); ts = ts.Add(interval) {
		if r := p.Tick(ctx, ts); r.Failed > 0 || r.Down > 0 {
			t.Fatalf("tick %s: %+v", ts, r)
		}
	}
	snap := eng.Evaluate(end)
	Tms, iv := end.UnixMilli(), interval.Milliseconds()
	for si, sr := range snap.SLOs {
		grouped := len(targets[si].GroupBy) > 0
		for wi, w := range sr.Windows {
			from := Tms - w.Milliseconds()
			good, valid := bruteGauge(series, within, grouped, from, Tms, iv)
			if si == 2 {
				good, valid = bruteGaugeNotBad(series, over, from, Tms, iv)
			}
			got := map[string]evaluator.WindowResult{}
			for _, g := range sr.Groups {
				key := ""
				if len(g.Labels) > 0 {
					key = g.Labels[0].Value
				}
				got[key] = g.Windows[wi]
			}
			if len(got) != len(valid) {
				t.Errorf("%s %s: groups %d, want %d", sr.Spec.Name, fmtDur(w), len(got), len(valid))
			}
			for key, v := range valid {
				if g := got[key]; g.Good != good[key] || g.Valid != v {
					t.Errorf("%s %s group %q: engine %v/%v, brute force %v/%v", sr.Spec.Name, fmtDur(w), key, g.Good, g.Valid, good[key], v)
				}
			}
			if w == 6*time.Hour {
				t.Logf("%s 6h: good %v of valid %v", sr.Spec.Name, good, valid)
			}
		}
	}
	if s := eng.Stats(); s.OutOfOrder != 0 || s.Invalid != 0 || s.Clamped != 0 {
		t.Errorf("engine refused or clamped records: %+v", s)
	}
}

// bruteGaugeNotBad counts the events of a bad-selector target: valid minus
// the events whose sample satisfies the bad condition (so a NaN sample,
// which satisfies no ordering, is good here).
func bruteGaugeNotBad(series []synth.Series, bad Condition, from, to, step int64) (good, valid map[string]float64) {
	b, v := bruteGauge(series, bad, false, from, to, step)
	good = map[string]float64{"": v[""] - b[""]}
	return good, v
}
