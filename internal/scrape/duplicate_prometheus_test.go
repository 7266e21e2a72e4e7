package scrape

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/synth"
)

// duplicateHistory is 4 hours of two counters sampled every 15s up to end:
// dup_interleaved_total holds the samples of two replicas of one counter
// (100000, 99995, 100001, 99996, ...: one event per sample each), as a
// remote write of an HA pair without dedup stores them; dup_deploys_total
// is a genuine counter that restarts every 7 samples.
func duplicateHistory(end time.Time) []synth.Series {
	inter := synth.Series{Labels: map[string]string{"__name__": "dup_interleaved_total", "job": "dup"}}
	deploys := synth.Series{Labels: map[string]string{"__name__": "dup_deploys_total", "job": "dup"}}
	rng := rand.New(rand.NewPCG(15, 15))
	v := 500.0
	k := 0
	for tm := end.Add(-4 * time.Hour); !tm.After(end); tm = tm.Add(15 * time.Second) {
		base := 100_000.0
		if k%2 == 1 {
			base = 99_995
		}
		inter.Samples = append(inter.Samples, synth.Sample{T: tm.UnixMilli(), V: base + float64(k/2)})
		if k > 0 && k%7 == 0 {
			v = float64(rng.IntN(5))
		} else {
			v += float64(rng.IntN(40))
		}
		deploys.Samples = append(deploys.Samples, synth.Sample{T: tm.UnixMilli(), V: v})
		k++
	}
	return []synth.Series{inter, deploys}
}

// TestDuplicateReplicaProof runs a real Prometheus on the history of
// duplicateHistory: after a 3h backfill, the interleaved series is flagged
// by both selectors that read it (logged once per selector with its labels
// and the hint, listed once in Stats) and counts
// nothing in the last 2 hours, where the unguarded reset-aware sum is
// about 4.8e7; the deploying counter is not flagged and every window
// equals the brute-force reset-aware delta sum of its raw samples.
func TestDuplicateReplicaProof(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus")
	}
	promtool := promtest.Binary(t, "promtool", "PROMTOOL")
	bin := promtest.Binary(t, "prometheus", "PROMETHEUS")
	end := time.Date(2024, 3, 1, 4, 0, 0, 0, time.UTC)
	series := duplicateHistory(end)
	dir := filepath.Join(t.TempDir(), "data")
	createBlocksByDay(t, promtool, series, dir)
	srv := promtest.Start(t, promtest.Options{Binary: bin, DataDir: dir})

	windows := []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour}
	spec := func(name string) evaluator.Spec {
		return evaluator.Spec{Name: name, Objective: 0.99, Period: 3 * time.Hour, Windows: windows}
	}
	eng, err := evaluator.New(interval, []evaluator.Spec{spec("interleaved"), spec("deploys")})
	if err != nil {
		t.Fatal(err)
	}
	targets := []Target{
		{SLO: 0, Good: Selector{Expr: `dup_interleaved_total{job="dup"}`}, Valid: Selector{Expr: `dup_interleaved_total`}},
		{SLO: 1, Good: Selector{Expr: `dup_deploys_total{job="dup"}`}, Valid: Selector{Expr: `dup_deploys_total`}},
	}
	core, logs := observer.New(zapcore.InfoLevel)
	p, err := NewPuller(newTestClient(t, srv.URL), eng, targets, PullerConfig{Interval: interval, Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Backfill(context.Background(), end.Add(-3*time.Hour), end, nil); err != nil {
		t.Fatal(err)
	}
	snap := eng.Evaluate(end)
	T := end.UnixMilli()
	for wi, w := range windows {
		from := T - w.Milliseconds()
		inter := snap.SLOs[0].Groups[0].Windows[wi]
		if inter.Valid != 0 || inter.Good != 0 {
			t.Errorf("interleaved %s: %v/%v events, want 0 (unguarded: %v)", fmtDur(w), inter.Good, inter.Valid, synth.Increase(series[0], from, T))
		}
		dep := snap.SLOs[1].Groups[0].Windows[wi]
		if want := synth.Increase(series[1], from, T); dep.Valid != want || dep.Good != want {
			t.Errorf("deploys %s: %v/%v events, brute force %v", fmtDur(w), dep.Good, dep.Valid, want)
		}
	}
	st := p.Stats()
	if st.DuplicateSeries != 1 || len(st.Duplicates) != 1 || !strings.Contains(st.Duplicates[0].Series, "dup_interleaved_total") ||
		st.Duplicates[0].SLOs[0] != "interleaved" {
		t.Errorf("duplicates %d %+v, want the interleaved series", st.DuplicateSeries, st.Duplicates)
	}
	if st.Counters.DuplicateFlags != 2 || st.Counters.DroppedEvents < 2*2.4e7 {
		t.Errorf("counters %+v: want a flag per selector and the dropped events", st.Counters)
	}
	warn := logs.FilterMessageSnippet("resets on nearly every sample").All()
	if len(warn) != 2 {
		t.Errorf("logs %+v, want one warning per selector", logs.All())
	}
	for _, w := range warn {
		if !strings.Contains(w.ContextMap()["series"].(string), `dup_interleaved_total{job="dup"}`) ||
			!strings.Contains(w.ContextMap()["hint"].(string), "replica") {
			t.Errorf("log %+v, want the series and the hint", w.ContextMap())
		}
	}
	t.Logf("interleaved: last 2h unguarded %v events, counted %v; %v events dropped over the 3h backfill by the 2 selectors",
		synth.Increase(series[0], T-2*time.Hour.Milliseconds(), T), snap.SLOs[0].Groups[0].Windows[len(windows)-1].Valid, st.Counters.DroppedEvents)
}
