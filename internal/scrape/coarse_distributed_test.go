package scrape

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/synth"
)

// hostileTargets are TestCoarseBackfillHostile's SLOs over hostileSeries.
func hostileTargets() ([]evaluator.Spec, []Target) {
	specs := []evaluator.Spec{proofSpec("all", 0.99), proofSpec("by-pod", 0.99), proofSpec("sparse", 0.99)}
	targets := []Target{
		{SLO: 0, Good: Selector{Expr: `hostile_requests_total{job="h",code="ok"}`}, Valid: Selector{Expr: `hostile_requests_total{job="h"}`}},
		{SLO: 1, GroupBy: []string{"pod"}, Good: Selector{Expr: `hostile_requests_total{job="h",code="ok"}`},
			Bad: Selector{Expr: `hostile_requests_total{job="h",code="error"}`}},
		{SLO: 2, Good: Selector{Expr: `hostile_requests_total{job="sparse",code="ok"}`}, Valid: Selector{Expr: `hostile_requests_total{job="sparse"}`}},
	}
	return specs, targets
}

// backfillRun is one backfill of hostileSeries' last four days.
type backfillRun struct {
	snap  *evaluator.Snapshot
	prog  BackfillProgress
	stats Stats
	// fallbacks are the reasons the puller logged for reading a query's
	// coarse history from raw samples instead of boundary values.
	fallbacks []string
}

// coarseUsed tells whether any slot was read from boundary values.
func (r backfillRun) coarseUsed() bool {
	return r.stats.BackfillSlots[0]+r.stats.BackfillSlots[1] > 0
}

// backfillHostile backfills the four days before end through client, from
// boundary values where the puller can (raw false) or from every raw
// sample (raw true).
func backfillHostile(t *testing.T, client *Client, end time.Time, raw bool) backfillRun {
	t.Helper()
	specs, targets := hostileTargets()
	eng, err := evaluator.New(interval, specs)
	if err != nil {
		t.Fatal(err)
	}
	// The fallback is logged at debug level: observe it, and keep the
	// test's own log for the rest.
	core, logs := observer.New(zapcore.DebugLevel)
	logger := zaptest.NewLogger(t, zaptest.Level(zapcore.InfoLevel)).WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapcore.NewTee(c, core)
	}))
	p, err := NewPuller(client, eng, targets, PullerConfig{Interval: interval, RawBackfill: raw,
		MaxIncreaseRate: 1e6, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	var run backfillRun
	if err := p.Backfill(context.Background(), end.Add(-4*24*time.Hour), end, func(bp BackfillProgress) { run.prog = bp }); err != nil {
		t.Fatal(err)
	}
	for _, e := range logs.FilterMessageSnippet("raw samples instead of boundary values").All() {
		run.fallbacks = append(run.fallbacks, fmt.Sprintf("%v: %v", e.ContextMap()["query"], e.ContextMap()["error"]))
	}
	sort.Strings(run.fallbacks)
	run.snap, run.stats = eng.Evaluate(end), p.Stats()
	return run
}

// checkCoarseEqualsRaw backfills hostile history through client coarsely
// and from raw samples and requires identical windows in every group; it
// returns the coarse run, whose fallbacks say whether the server allowed
// boundary values.
// With spike false the history has no 1e300 sample, and no refused sample
// is required.
func checkCoarseEqualsRaw(t *testing.T, client *Client, end time.Time, spike bool) (coarse, raw backfillRun) {
	t.Helper()
	coarse = backfillHostile(t, client, end, false)
	raw = backfillHostile(t, client, end, true)
	t.Logf("boundary values: %d queries, %d points, slots (clean, one drop, raw) %v; raw: %d queries, %d points",
		coarse.prog.Queries, coarse.prog.Points, coarse.stats.BackfillSlots, raw.prog.Queries, raw.prog.Points)
	for _, f := range coarse.fallbacks {
		t.Logf("fallback to raw samples: %s", f)
	}
	if !coarse.coarseUsed() && len(coarse.fallbacks) == 0 {
		t.Errorf("no slot read from boundary values and no fallback logged")
	}
	if coarse.coarseUsed() && coarse.prog.Points >= raw.prog.Points {
		t.Errorf("boundary values fetched %d points, raw samples %d", coarse.prog.Points, raw.prog.Points)
	}
	if raw.stats.Counters.InvalidSamples < 2 || (spike && raw.stats.Counters.ImplausibleSamples == 0) {
		t.Errorf("the spike, NaN and negative samples were not all met: %+v", raw.stats.Counters)
	}
	sameSnapshots(t, coarse.snap, raw.snap)
	for _, s := range raw.snap.SLOs {
		for _, g := range s.Groups {
			if w := g.Windows[len(g.Windows)-1]; w.Valid == 0 {
				t.Errorf("%s %v: no events", s.Spec.Name, g.Labels)
			}
		}
	}
	return coarse, raw
}

// importPrometheusText renders series in the Prometheus text format with
// millisecond timestamps, the body of VictoriaMetrics'
// /api/v1/import/prometheus.
func importPrometheusText(series []synth.Series) string {
	var b strings.Builder
	for _, s := range series {
		keys := make([]string, 0, len(s.Labels))
		for k := range s.Labels {
			if k != "__name__" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		var ls strings.Builder
		ls.WriteString(s.Labels["__name__"])
		ls.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				ls.WriteByte(',')
			}
			fmt.Fprintf(&ls, "%s=%q", k, s.Labels[k])
		}
		ls.WriteByte('}')
		name := ls.String()
		for _, sp := range s.Samples {
			v := fmt.Sprint(sp.V)
			if math.IsNaN(sp.V) {
				v = "NaN"
			}
			fmt.Fprintf(&b, "%s %s %d\n", name, v, sp.T)
		}
	}
	return b.String()
}

// importVictoriaMetrics loads series into vm through its import API and
// flushes them so that queries see them.
func importVictoriaMetrics(t *testing.T, vm *vmServer, series []synth.Series) {
	t.Helper()
	resp, err := http.Post(vm.url+"/api/v1/import/prometheus", "text/plain", strings.NewReader(importPrometheusText(series)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("import: status %s", resp.Status)
	}
	if err := vm.forceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestCoarseBackfillVictoriaMetrics is TestCoarseBackfillHostile against
// VictoriaMetrics single-node, with the hostile history imported through
// its import API (it cannot load promtool's blocks): the backfill from
// boundary values, or the raw-sample fallback the puller chooses when the
// server's last_over_time drops metric names, equals the raw backfill in
// every window. The raw backfill equals the raw backfill of the same
// samples in Prometheus, served from promtool's blocks, when both are
// installed: the two servers give the same numbers. The binary comes from
// VICTORIA_METRICS, PATH or ~/go/bin (promtest.Binary).
func TestCoarseBackfillVictoriaMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts VictoriaMetrics")
	}
	end := historyEnd
	// VictoriaMetrics stores the values of a block as integers with one
	// decimal exponent: the 1e300 spike zeroes the other values of its
	// series for days (NaN samples are dropped, which the tracker's
	// skipping of them makes no difference). The spike stays out.
	series := withoutSpikes(hostileSeries(end))
	// The history is from 2024: keep it (the default retention is a month).
	vm := startVictoriaMetrics(t, "", "-retentionPeriod=100y")
	importVictoriaMetrics(t, vm, series)

	// Every generated sample is there before the backfills start.
	want := 0
	for _, s := range series {
		want += len(s.Samples)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := vm.QueryMatrix(context.Background(), `hostile_requests_total[5d]`, end.Add(time.Hour))
		got := 0
		for _, ss := range m {
			got += len(ss.Values)
		}
		if err == nil && len(m) == len(series) && got >= want-4 {
			t.Logf("%d series, %d of %d samples imported (NaN samples may be dropped)", len(m), got, want)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("imported history not visible: %d series of %d, %d samples of %d, err %v", len(m), len(series), got, want, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	coarse, raw := checkCoarseEqualsRaw(t, newTestClient(t, vm.url), end, false)
	if coarse.coarseUsed() {
		t.Logf("VictoriaMetrics kept metric names in last_over_time: boundary values used")
	} else {
		t.Logf("VictoriaMetrics: boundary values refused, raw-sample fallback used")
	}

	t.Run("equals Prometheus", func(t *testing.T) {
		promtool := promtest.Binary(t, "promtool", "PROMTOOL")
		dir := filepath.Join(t.TempDir(), "data")
		createBlocksByDay(t, promtool, series, dir)
		srv := promtest.Start(t, promtest.Options{DataDir: dir})
		prom := backfillHostile(t, newTestClient(t, srv.URL), end, true)
		sameSnapshots(t, raw.snap, prom.snap)
	})
}

// withoutSpikes drops the samples above 1e15 from series.
func withoutSpikes(series []synth.Series) []synth.Series {
	out := make([]synth.Series, len(series))
	for i, s := range series {
		out[i] = synth.Series{Labels: s.Labels}
		for _, sp := range s.Samples {
			if !(sp.V > 1e15) {
				out[i].Samples = append(out[i].Samples, sp)
			}
		}
	}
	return out
}
