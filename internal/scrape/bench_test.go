package scrape

import (
	"fmt"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// BenchmarkTickMerge measures the per-tick merge path for one SLO grouped
// by model with 10,000 groups: two sources (good, valid) of 10,000 series
// each, increments summed per group and recorded into the engine. The
// queries themselves are not part of it.
func BenchmarkTickMerge(b *testing.B) {
	for _, groups := range []int{100, 10000} {
		b.Run(fmt.Sprintf("groups=%d", groups), func(b *testing.B) {
			eng, err := evaluator.New(interval, []evaluator.Spec{{Name: "bench", Objective: 0.99, Period: 24 * time.Hour,
				Windows: shortWindows, MaxGroups: groups}})
			if err != nil {
				b.Fatal(err)
			}
			p, err := NewPuller(nil, eng, []Target{{SLO: 0, GroupBy: []string{"model"},
				Good: Selector{Expr: `good`}, Valid: Selector{Expr: `valid`}}}, PullerConfig{Interval: interval})
			if err != nil {
				b.Fatal(err)
			}
			vec := func(name string) model.Vector {
				v := make(model.Vector, groups)
				for i := range v {
					v[i] = &model.Sample{Metric: model.Metric{"__name__": model.LabelValue(name), "model": model.LabelValue(fmt.Sprintf("m%05d", i))}}
				}
				return v
			}
			good, valid := vec("good"), vec("valid")
			inputs := [][]point{vectorPoints(good, 0), vectorPoints(valid, 0)}
			ok := []bool{true, true}
			t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
			step := func(k int) {
				tk := t0 + int64(k)*interval.Milliseconds()
				for i := range inputs[0] {
					inputs[0][i].vals[0] = model.SamplePair{Timestamp: model.Time(tk), Value: model.SampleValue(k * 99)}
					inputs[1][i].vals[0] = model.SamplePair{Timestamp: model.Time(tk), Value: model.SampleValue(k * 100)}
				}
				p.step(tk, inputs, ok)
			}
			step(0)
			step(1)
			b.ReportAllocs()
			b.ResetTimer()
			for k := 2; k < b.N+2; k++ {
				step(k)
			}
			b.StopTimer()
			if n := eng.Groups(0); n != groups {
				b.Fatalf("%d groups, want %d", n, groups)
			}
			snap := eng.Evaluate(time.UnixMilli(t0 + int64(b.N+1)*interval.Milliseconds()))
			if w := snap.SLOs[0].Groups[0].Windows[0]; w.Valid == 0 || w.Good/w.Valid != 0.99 {
				b.Fatalf("window %+v, want SLI 0.99", w)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(groups), "ns/group")
		})
	}
}

// BenchmarkVectorPoints measures turning a decoded 10,000-series vector
// into points (label fingerprints), the other per-tick cost.
func BenchmarkVectorPoints(b *testing.B) {
	v := make(model.Vector, 10000)
	for i := range v {
		v[i] = &model.Sample{Metric: model.Metric{"__name__": "x", "job": "j", "model": model.LabelValue(fmt.Sprintf("m%05d", i))}}
	}
	b.ReportAllocs()
	for b.Loop() {
		vectorPoints(v, 0)
	}
}

// BenchmarkBackfill backfills a 30d period for 100 SLOs from a real
// Prometheus serving 31 days of synthetic history: 200 distinct
// expressions (each SLO's good and valid selectors differ by a matcher
// that every series passes), so nothing is deduplicated. Run it with
// scripts/bench-backfill.sh; it reports wall time, queries and points.
func BenchmarkBackfill(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	h := newHistory(b, 31, 42)
	const slos = 100
	specs := make([]evaluator.Spec, slos)
	targets := make([]Target, slos)
	for i := range specs {
		specs[i] = proofSpec(fmt.Sprintf("slo-%03d", i), 0.999)
		targets[i] = Target{SLO: i,
			Good:  Selector{Expr: fmt.Sprintf(`synth_requests_total{job="synth",code="200",bench!="%d"}`, i)},
			Valid: Selector{Expr: fmt.Sprintf(`synth_requests_total{job="synth",bench!="%d"}`, i)}}
	}
	for b.Loop() {
		eng, err := evaluator.New(interval, specs)
		if err != nil {
			b.Fatal(err)
		}
		metrics, _ := NewClientMetrics(nil)
		client, err := NewClient(ClientConfig{URL: h.srv.URL, Timeout: time.Minute, Metrics: metrics})
		if err != nil {
			b.Fatal(err)
		}
		p, err := NewPuller(client, eng, targets, PullerConfig{Interval: interval})
		if err != nil {
			b.Fatal(err)
		}
		var last BackfillProgress
		began := time.Now()
		cpu0 := processCPU()
		peak := peakHeap(func() {
			err = p.Backfill(b.Context(), h.end.Add(-30*24*time.Hour), h.end, func(bp BackfillProgress) { last = bp })
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		b.ReportMetric((processCPU() - cpu0).Seconds(), "cpu-s")
		wall := time.Since(began)
		snap := eng.Evaluate(h.end)
		for _, s := range snap.SLOs[1:] {
			if s.Groups[0].Windows[0] != snap.SLOs[0].Groups[0].Windows[0] {
				b.Fatalf("%s differs from %s", s.Spec.Name, snap.SLOs[0].Spec.Name)
			}
		}
		cs := client.Stats()
		fmt.Printf("backfill 30d x %d SLOs: wall %s, %d steps, %d range queries (%d retries), %d points, %.1f MiB read, query p50 bucket <= %s\n",
			slos, wall.Round(time.Millisecond), last.StepsDone, last.Queries, cs.Retries, last.Points,
			float64(last.Bytes)/(1<<20), medianBucket(metrics.duration))
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(last.Queries), "queries")
		b.ReportMetric(float64(last.Points), "points")
	}
}

// processCPU returns the user and system CPU time this process has used
// (Prometheus runs in a process of its own, so it is not counted).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// medianBucket returns the upper bound of the bucket holding the median.
func medianBucket(h prometheus.Histogram) string {
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		return err.Error()
	}
	total := m.GetHistogram().GetSampleCount()
	for _, b := range m.GetHistogram().GetBucket() {
		if 2*b.GetCumulativeCount() >= total {
			return fmt.Sprintf("%gs", b.GetUpperBound())
		}
	}
	return "+Inf"
}
