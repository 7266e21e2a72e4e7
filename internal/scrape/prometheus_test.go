package scrape

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"go.uber.org/zap/zaptest"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// The tests in this file run against a real Prometheus (2.42 from Debian,
// or a 3.x binary given by PROMETHEUS) serving synthetic history built with
// promtool. They skip when the binaries are missing, except with CI=true.

const interval = 30 * time.Second

var proofWindows = []time.Duration{
	5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour,
	24 * time.Hour, 72 * time.Hour, 30 * 24 * time.Hour,
}

// Selectors of the standard history.
const (
	exprGood  = `synth_requests_total{job="synth",code="200"}`
	exprBad   = `synth_requests_total{job="synth",code="500"}`
	exprValid = `synth_requests_total{job="synth"}`
)

var (
	selGood  = map[string]string{"code": "200"}
	selValid = map[string]string{}
)

func proofSpec(name string, objective float64) evaluator.Spec {
	return evaluator.Spec{Name: name, Service: "synth", Objective: objective, Period: 30 * 24 * time.Hour,
		Windows: proofWindows, Tiers: slo.DefaultTiers()}
}

func newTestClient(t testing.TB, url string) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{URL: url, Timeout: 20 * time.Second, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEngineProof is the end-to-end proof of the engine: 31 days of
// synthetic counters (incidents, counter resets, series churn, a scrape
// gap) in a real Prometheus, backfilled over the last 30 days, must give
// at the final instant, for every window from 5m to 30d:
//
//   - (i) the same good and valid counts as brute-force arithmetic on the
//     generated samples (synth.Increase, sample by sample): exactly for
//     windows up to 6h, which sit on the 30s tier with the final instant on
//     the grid; within the documented edge-bucket bound for longer windows,
//     which is the events of the single 5m (up to 3d) or 1h bucket that
//     straddles the window's start;
//   - (ii) SLIs consistent with PromQL's sum(increase(good[W])) /
//     sum(increase(valid[W])) on the same server: increase() extrapolates
//     towards the window's edges, so its values are only known to lie
//     within synth.ExtrapolationBounds of the samples, computed for the
//     range semantics of the server's major version (2.x includes a sample
//     exactly at the window start, 3.x does not);
//   - the 30d budget remaining within 0.1 percentage points of the
//     brute-force figure.
func TestEngineProof(t *testing.T) {
	h := newHistory(t, 31, 42)
	ctx := context.Background()
	// Whether range selectors hold a sample exactly at their start (2.x)
	// or not (3.x), asked of the server itself: a go install build of 3.x
	// reports no version. The history has a sample at T and at T-30s.
	cnt, err := h.srv.Query(ctx, `count_over_time(`+exprValid+`[30s])`, h.end)
	if err != nil || len(cnt) == 0 || (cnt[0].Value != 1 && cnt[0].Value != 2) {
		t.Fatalf("cannot tell the range semantics of the server: %v %v", cnt, err)
	}
	leftClosed := cnt[0].Value == 2
	major := 3
	if leftClosed {
		major = 2
	}
	specs := []evaluator.Spec{proofSpec("good-valid", 0.999), proofSpec("bad-valid", 0.999), proofSpec("good-bad-by-model", 0.99)}
	eng, err := evaluator.New(interval, specs)
	if err != nil {
		t.Fatal(err)
	}
	targets := []Target{
		{SLO: 0, Good: Selector{Expr: exprGood}, Valid: Selector{Expr: exprValid}},
		{SLO: 1, Bad: Selector{Expr: exprBad}, Valid: Selector{Expr: exprValid}},
		{SLO: 2, GroupBy: []string{"model"}, Good: Selector{Expr: exprGood}, Bad: Selector{Expr: exprBad}},
	}
	client := newTestClient(t, h.srv.URL)
	p, err := NewPuller(client, eng, targets, PullerConfig{Interval: interval, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.Queries()); got != 3 {
		t.Errorf("%d unique queries for 3 targets over 3 expressions: %v", got, p.Queries())
	}
	T := h.end
	var last BackfillProgress
	began := time.Now()
	if err := p.Backfill(ctx, T.Add(-30*24*time.Hour), T, func(bp BackfillProgress) { last = bp }); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	t.Logf("backfill 30d: %s, %d/%d steps, %d range queries, %d points, %d bytes; resets %d, new series %d",
		time.Since(began).Round(time.Millisecond), last.StepsDone, last.StepsTotal, last.Queries, last.Points, last.Bytes,
		st.Counters.Resets, st.Counters.NewSeries)
	if want := int(30*24*time.Hour/interval) + 1; last.StepsDone != want || last.StepsTotal != want {
		t.Errorf("progress %d/%d steps, want %d", last.StepsDone, last.StepsTotal, want)
	}
	// Every raw sample is read exactly once: those of the 30 days, and the
	// hour before them where the baselines are. The good and bad series
	// are read with the valid ones, which hold them.
	wantPoints := 0
	for _, sel := range []map[string]string{selValid} {
		for _, ser := range h.series {
			if !matches(ser, sel) {
				continue
			}
			for _, smp := range ser.Samples {
				if smp.T > ms(T)-(30*24+1)*time.Hour.Milliseconds() && smp.T <= ms(T) {
					wantPoints++
				}
			}
		}
	}
	// The history streams through remote read: every raw sample once,
	// and at most one more per series and request (the head's baseline
	// before the span, a sample on a segment's first instant, which a
	// segment reads so that Prometheus need not cut the chunk it starts).
	if extra := len(h.series) * last.Queries; last.Points < uint64(wantPoints) || last.Points > uint64(wantPoints+extra) {
		t.Errorf("%d points streamed, want the %d raw samples of the span (and at most %d more)", last.Points, wantPoints, extra)
	}
	if st.Counters.Resets == 0 || st.Counters.NewSeries < 8 {
		t.Errorf("the history's resets and churn were not seen: %+v", st.Counters)
	}
	// The steps wait at least for the first segment, and never longer
	// than the backfill took.
	if last.ReadWait <= 0 || last.ReadWait >= last.Elapsed {
		t.Errorf("read wait %s of a %s backfill", last.ReadWait, last.Elapsed)
	}
	snap := eng.Evaluate(T)

	// The same backfill from every raw sample: the numbers must be
	// identical, window by window and group by group.
	began = time.Now()
	rawEng, _, rawLast := backfillOnce(t, client, specs, targets, PullerConfig{Interval: interval, RawBackfill: true}, T)
	t.Logf("raw backfill 30d: %s, %d range queries, %d points, %d bytes; streamed: %d requests, %d points, %d bytes",
		time.Since(began).Round(time.Millisecond), rawLast.Queries, rawLast.Points, rawLast.Bytes, last.Queries, last.Points, last.Bytes)
	if rawLast.Points != uint64(wantPoints) {
		t.Errorf("raw backfill: %d points fetched, want the %d raw samples of the span, each once", rawLast.Points, wantPoints)
	}
	t.Logf("streamed slots (thinned, -, every step): %v", st.BackfillSlots)
	rawSnap := rawEng.Evaluate(T)
	sameSnapshots(t, snap, rawSnap)

	// Where remote read is not served: bucket-boundary values through
	// PromQL where counters did not drop, far fewer points than raw
	// samples, and the same numbers.
	t.Run("boundary values", func(t *testing.T) {
		bEng, bP, bLast := backfillOnce(t, client, specs, targets, PullerConfig{Interval: interval, NoRemoteRead: true}, T)
		t.Logf("boundary values: %d queries, %d points, %d bytes; coarse slots (clean, one drop, raw): %v",
			bLast.Queries, bLast.Points, bLast.Bytes, bP.Stats().BackfillSlots)
		if bLast.Points*10 > uint64(wantPoints) {
			t.Errorf("%d points fetched, want under a tenth of the %d raw samples of the span", bLast.Points, wantPoints)
		}
		sameSnapshots(t, bEng.Evaluate(T), rawSnap)
	})

	Tms := ms(T)
	for si, sr := range snap.SLOs {
		for wi, w := range sr.Windows {
			from := Tms - w.Milliseconds()
			by := ""
			if len(targets[si].GroupBy) > 0 {
				by = "model"
			}
			good := exactIncrease(h.series, selGood, by, from, Tms)
			valid := exactIncrease(h.series, selValid, by, from, Tms)
			// The edge bound: events in the one bucket of the window's
			// tier that contains its start.
			res := eng.Layout(si).Resolution(eng.Layout(si).Index(w)).Milliseconds()
			edge := from - floorTo(from, res)
			var edgeGood, edgeValid map[string]float64
			if edge != 0 {
				edgeGood = exactIncrease(h.series, selGood, by, from-edge, from-edge+res)
				edgeValid = exactIncrease(h.series, selValid, by, from-edge, from-edge+res)
			}
			if w <= 6*time.Hour && edge != 0 {
				t.Fatalf("window %s should be on the fine tier at a grid instant", fmtDur(w))
			}
			groups := map[string]evaluator.WindowResult{}
			for _, g := range sr.Groups {
				key := ""
				if len(g.Labels) > 0 {
					key = g.Labels[0].Value
				}
				groups[key] = g.Windows[wi]
			}
			for _, key := range sortedKeys(valid) {
				got, ok := groups[key]
				if valid[key] == 0 {
					continue
				}
				if !ok {
					t.Errorf("%s %s group %q: missing, exact valid %v", sr.Spec.Name, fmtDur(w), key, valid[key])
					continue
				}
				bg, bv := edgeGood[key], edgeValid[key]
				const eps = 1e-9
				if math.Abs(got.Good-good[key]) > bg+eps*good[key] || math.Abs(got.Valid-valid[key]) > bv+eps*valid[key] {
					t.Errorf("%s %s group %q: engine good/valid %v/%v, exact %v/%v, edge bound %v/%v",
						sr.Spec.Name, fmtDur(w), key, got.Good, got.Valid, good[key], valid[key], bg, bv)
				}
			}
			if by != "" {
				continue
			}
			// (ii) PromQL at the same instant.
			got := groups[""]
			lg, hg := promqlBounds(h.series, selGood, from, Tms, major == 2)
			lv, hv := promqlBounds(h.series, selValid, from, Tms, major == 2)
			q := func(expr string) float64 {
				v, err := client.Query(ctx, expr, T)
				if err != nil {
					t.Fatal(err)
				}
				return scalarOf(t, v, expr)
			}
			pg := q(`sum(increase(` + exprGood + `[` + fmtDur(w) + `]))`)
			pv := q(`sum(increase(` + exprValid + `[` + fmtDur(w) + `]))`)
			ratio := q(`sum(increase(` + exprGood + `[` + fmtDur(w) + `])) / sum(increase(` + exprValid + `[` + fmtDur(w) + `]))`)
			tol := 1e-9 * hv
			if pg < lg-tol || pg > hg+tol || pv < lv-tol || pv > hv+tol {
				t.Errorf("%s: PromQL increase good %v valid %v outside the extrapolation bounds [%v, %v] / [%v, %v] (Prometheus %d.x)",
					fmtDur(w), pg, pv, lg, hg, lv, hv, major)
			}
			if math.Abs(ratio-pg/pv) > 1e-12 {
				t.Errorf("%s: PromQL ratio %v != %v/%v", fmtDur(w), ratio, pg, pv)
			}
			// The engine's SLI and PromQL's differ only by what increase()
			// extrapolates: both lie in the SLI range the bounds allow,
			// widened by the engine's edge bound.
			loSLI := math.Min((lg-edgeGood[""])/(hv+edgeValid[""]), got.SLI)
			hiSLI := math.Max((hg+edgeGood[""])/(lv-edgeValid[""]), got.SLI)
			if ratio < loSLI-1e-12 || ratio > hiSLI+1e-12 || math.Abs(ratio-got.SLI) > hiSLI-loSLI+1e-12 {
				t.Errorf("%s: PromQL SLI %v, engine %v: apart by more than the bounds [%v, %v] allow", fmtDur(w), ratio, got.SLI, loSLI, hiSLI)
			}
			t.Logf("%s %-4s SLI engine %.9f exact %.9f PromQL %.9f (valid %.0f, PromQL %.1f)", sr.Spec.Name, fmtDur(w),
				got.SLI, good[""]/valid[""], ratio, got.Valid, pv)
		}

		// Budget remaining over 30d, within 0.1 percentage points.
		good := exactIncrease(h.series, selGood, "", Tms-sr.Period.Milliseconds(), Tms)[""]
		valid := exactIncrease(h.series, selValid, "", Tms-sr.Period.Milliseconds(), Tms)[""]
		if len(sr.Groups) == 0 {
			t.Fatalf("%s: no groups", sr.Spec.Name)
		}
		if targets[si].GroupBy == nil {
			want := 1 - (valid-good)/((1-sr.Spec.Objective)*valid)
			gotB := sr.Groups[0].Budget.RemainingRatio
			if math.Abs(gotB-want) > 0.001 {
				t.Errorf("%s: budget remaining %.5f, exact %.5f", sr.Spec.Name, gotB, want)
			}
			t.Logf("%s: 30d budget remaining %.6f, exact %.6f", sr.Spec.Name, gotB, want)
		}
	}
	if s := eng.Stats(); s.OutOfOrder != 0 || s.Invalid != 0 || s.GroupsRefused != 0 {
		t.Errorf("engine refused records: %+v", s)
	}
}

// sameSnapshots fails unless two snapshots hold exactly the same events
// and coverage in every window of every group of every SLO.
func sameSnapshots(t *testing.T, got, want *evaluator.Snapshot) {
	t.Helper()
	compareWindows(t, got, want, 0, 0)
}

// backfillOnce backfills 30 days up to T into a new engine of specs
// through a new puller with cfg, and returns both and the last progress.
func backfillOnce(t *testing.T, q Querier, specs []evaluator.Spec, targets []Target, cfg PullerConfig, T time.Time) (*evaluator.Engine, *Puller, BackfillProgress) {
	t.Helper()
	eng, err := evaluator.New(interval, specs)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPuller(q, eng, targets, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var last BackfillProgress
	if err := p.Backfill(context.Background(), T.Add(-30*24*time.Hour), T, func(bp BackfillProgress) { last = bp }); err != nil {
		t.Fatal(err)
	}
	return eng, p, last
}
