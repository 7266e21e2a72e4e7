package synth

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/promtest"
)

// TestPrometheusRoundTrip backfills two days of the standard history (plus a
// jittered metric) into a real Prometheus and checks that it serves the
// generated samples exactly and that increase() stays within the
// extrapolation bounds computed from the samples.
func TestPrometheusRoundTrip(t *testing.T) {
	promtool := promtest.Binary(t, "promtool", "PROMTOOL")
	prometheus := promtest.Binary(t, "prometheus", "PROMETHEUS")

	cfg := standard2d()
	series := Generate(cfg)
	jittered := Generate(Config{
		Start: cfg.Start, End: cfg.End, Seed: 3, Jitter: 1500 * time.Millisecond,
		Metric: "synth_jittered_total", Groups: []Group{{Name: "j"}},
	})
	var om bytes.Buffer
	if err := WriteOpenMetrics(&om, append(append([]Series{}, series...), jittered...)); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	promtest.CreateBlocks(t, promtool, om.Bytes(), dataDir)
	srv := promtest.Start(t, promtest.Options{Binary: prometheus, DataDir: dataDir})
	major := srv.Major()
	if major != 2 && major != 3 {
		v, err := srv.Version()
		t.Fatalf("cannot tell the PromQL version of %q (%v)", v, err)
	}
	ctx := context.Background()

	index := map[string]Series{}
	for _, s := range append(append([]Series{}, series...), jittered...) {
		key, _ := renderLabels(s.Labels)
		index[s.Labels["__name__"]+key] = s
	}
	lookup := func(m model.Metric) (Series, bool) {
		labels := map[string]string{}
		for k, v := range m {
			labels[string(k)] = string(v)
		}
		key, _ := renderLabels(labels)
		s, ok := index[labels["__name__"]+key]
		return s, ok
	}
	query := func(expr string, ts int64) model.Vector {
		t.Helper()
		v, err := srv.Query(ctx, expr, time.UnixMilli(ts))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	step := cfg.Step.Milliseconds()
	ms := func(tm time.Time) int64 { return tm.UnixMilli() }

	t.Run("raw samples", func(t *testing.T) {
		// Every 97th grid point, plus the edges of the gap and the restarts.
		var times []int64
		for ts := ms(cfg.Start); ts <= ms(cfg.End); ts += 97 * step {
			times = append(times, ts)
		}
		g := cfg.Gaps[0]
		times = append(times, ms(g.Start)-step, ms(g.Start.Add(g.Duration)))
		for _, r := range cfg.Restarts {
			at := ms(r.At) + step - ms(r.At)%step
			times = append(times, at-step, at)
		}
		checked := 0
		for _, ts := range times {
			vec := query(`synth_requests_total`, ts)
			want := 0
			for _, s := range series {
				if _, ok := valueAt(s, ts, 5*time.Minute); ok {
					want++
				}
			}
			if len(vec) != want {
				t.Errorf("at %d Prometheus has %d series, the generated history %d", ts, len(vec), want)
			}
			for _, smp := range vec {
				s, ok := lookup(smp.Metric)
				if !ok {
					t.Fatalf("Prometheus returned an unknown series %v", smp.Metric)
				}
				want, ok := valueAt(s, ts, 5*time.Minute)
				if !ok {
					t.Errorf("%v at %d: Prometheus has %v, generated series has no sample in lookback", smp.Metric, ts, smp.Value)
					continue
				}
				if float64(smp.Value) != want {
					t.Errorf("%v at %d = %v, generated %v", smp.Metric, ts, smp.Value, want)
				}
				checked++
			}
		}
		// Jittered samples: at a sample's time the sample itself, 1 ms
		// before it the previous one (millisecond timestamps survive).
		j := jittered[0]
		for i := 1; i < len(j.Samples); i += 211 {
			p := j.Samples[i]
			for _, tc := range []struct {
				at   int64
				want float64
			}{{p.T, p.V}, {p.T - 1, j.Samples[i-1].V}} {
				v := query(`synth_jittered_total{code="200"}`, tc.at)
				if len(v) != 1 || float64(v[0].Value) != tc.want {
					t.Errorf("synth_jittered_total{code=200} at %d = %v, want %v", tc.at, v, tc.want)
				}
				checked++
			}
		}
		t.Logf("%d raw values equal", checked)
		if checked < 100 {
			t.Errorf("only %d raw values checked", checked)
		}
	})

	t.Run("gap", func(t *testing.T) {
		g := cfg.Gaps[0]
		late := ms(g.Start) + 6*time.Minute.Milliseconds() // last sample 6.5 min ago: beyond the 5m lookback
		if v := query(`synth_requests_total`, late); len(v) != 0 {
			t.Errorf("inside the gap Prometheus has %d series, want none: %v", len(v), v)
		}
	})

	t.Run("increase within extrapolation bounds", func(t *testing.T) {
		window := time.Hour.Milliseconds()
		var times []int64
		for ts := ms(cfg.Start) + window/2; ts <= ms(cfg.End); ts += 2 * window {
			times = append(times, ts) // includes times near churn, gap and restarts
		}
		for _, tm := range []time.Time{cfg.Restarts[0].At, cfg.Restarts[1].At, cfg.Gaps[0].Start, cfg.Groups[2].From, cfg.Groups[3].Until, cfg.Incidents[0].Start} {
			times = append(times, ms(tm)+10*time.Minute.Milliseconds())
		}
		checked, wrongVersion := 0, 0
		for _, ts := range times {
			got := map[string]float64{}
			for _, smp := range query(`increase({__name__=~"synth_.*_total"}[1h])`, ts) {
				s, ok := lookup(smp.Metric)
				if !ok {
					// increase() drops the name; find the series by labels.
					s, ok = lookupWithoutName(index, smp.Metric)
				}
				if !ok {
					t.Fatalf("unknown series %v", smp.Metric)
				}
				key, _ := renderLabels(s.Labels)
				got[s.Labels["__name__"]+key] = float64(smp.Value)
			}
			for key, s := range index {
				lo, hi, ok := ExtrapolationBounds(s, ts-window, ts, major == 2)
				r, present := got[key]
				if ok != present {
					t.Errorf("%s at %d: Prometheus has a value: %v, bounds computable: %v", key, ts, present, ok)
					continue
				}
				if !ok {
					continue
				}
				eps := 1e-9 * math.Max(1, hi)
				if r < lo-eps || r > hi+eps {
					t.Errorf("%s: increase[1h] at %d = %v, want within [%v, %v] (exact Increase %v)", key, ts, r, lo, hi, Increase(s, ts-window, ts))
				}
				if wlo, whi, wok := ExtrapolationBounds(s, ts-window, ts, major != 2); wok && (r < wlo-eps || r > whi+eps) {
					wrongVersion++
				}
				checked++
			}
		}
		t.Logf("Prometheus %d.x: %d increase values within bounds; %d would be out of bounds under the other major version's range semantics", major, checked, wrongVersion)
		if checked < 100 {
			t.Errorf("only %d increase values checked", checked)
		}
	})
}

// valueAt is what an instant query returns at ts for s: the latest sample
// at or before ts and not older than lookback.
func valueAt(s Series, ts int64, lookback time.Duration) (float64, bool) {
	for i := len(s.Samples) - 1; i >= 0; i-- {
		p := s.Samples[i]
		if p.T > ts {
			continue
		}
		if p.T <= ts-lookback.Milliseconds() {
			return 0, false
		}
		return p.V, true
	}
	return 0, false
}

// lookupWithoutName finds the series whose labels other than __name__ equal
// m's; both metrics in the test have distinct label sets (model values).
func lookupWithoutName(index map[string]Series, m model.Metric) (Series, bool) {
	var found Series
	n := 0
	for _, s := range index {
		if len(s.Labels)-1 != len(m) {
			continue
		}
		match := true
		for k, v := range m {
			if s.Labels[string(k)] != string(v) {
				match = false
				break
			}
		}
		if match {
			found = s
			n++
		}
	}
	return found, n == 1
}
