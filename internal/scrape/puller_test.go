package scrape

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.uber.org/zap/zaptest"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// newTestPuller returns a puller reading q for targets, every iv, on an
// engine of its own holding specs.
func newTestPuller(tb testing.TB, q Querier, iv time.Duration, specs []evaluator.Spec, targets []Target) *Puller {
	tb.Helper()
	eng, err := evaluator.New(iv, specs)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := NewPuller(q, eng, targets, PullerConfig{Interval: iv})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

const exprBucket = `synth_latency_seconds_bucket{job="synth"}`

func le(v float64) *float64 { return &v }

var shortWindows = []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour}

// liveSetup is an engine with four SLOs over the one-day history and a
// puller on a real Prometheus.
type liveSetup struct {
	eng     *evaluator.Engine
	p       *Puller
	targets []Target
}

func newLiveSetup(t *testing.T, q Querier) *liveSetup {
	t.Helper()
	return newLiveSetupConfig(t, q, PullerConfig{})
}

// newLiveSetupConfig is newLiveSetup with a puller configuration (its
// Interval and Logger are set here).
func newLiveSetupConfig(t *testing.T, q Querier, cfg PullerConfig) *liveSetup {
	t.Helper()
	spec := func(name string) evaluator.Spec {
		return evaluator.Spec{Name: name, Objective: 0.99, Period: 24 * time.Hour, Windows: shortWindows}
	}
	eng, err := evaluator.New(interval, []evaluator.Spec{spec("avail"), spec("avail-by-model"), spec("bad-valid"), spec("latency")})
	if err != nil {
		t.Fatal(err)
	}
	targets := []Target{
		{SLO: 0, Good: Selector{Expr: exprGood}, Valid: Selector{Expr: exprValid}},
		{SLO: 1, GroupBy: []string{"model"}, Good: Selector{Expr: exprGood}, Valid: Selector{Expr: exprValid}},
		{SLO: 2, Bad: Selector{Expr: exprBad}, Valid: Selector{Expr: exprValid}},
		// le spelled differently from the series' "0.20".
		{SLO: 3, Good: Selector{Expr: exprBucket, LE: le(2e-01)}, Valid: Selector{Expr: exprBucket, LE: le(math.Inf(1))}},
	}
	cfg.Interval, cfg.Logger = interval, zaptest.NewLogger(t)
	p, err := NewPuller(q, eng, targets, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &liveSetup{eng: eng, p: p, targets: targets}
}

// checkExact compares every window of the synth SLOs at T with brute-force
// arithmetic on the generated samples: windows up to 6h are exact.
func checkExact(t *testing.T, h *history, eng *evaluator.Engine, T time.Time) *evaluator.Snapshot {
	t.Helper()
	snap := eng.Evaluate(T)
	for si, sr := range snap.SLOs[:3] {
		by := ""
		if si == 1 {
			by = "model"
		}
		for wi, w := range sr.Windows {
			if w > 6*time.Hour {
				continue // the tests backfill 7h: the 1d period is not covered
			}
			from, to := ms(T)-w.Milliseconds(), ms(T)
			good := exactIncrease(h.series, selGood, by, from, to)
			valid := exactIncrease(h.series, selValid, by, from, to)
			got := map[string]evaluator.WindowResult{}
			for _, g := range sr.Groups {
				key := ""
				if len(g.Labels) > 0 {
					key = g.Labels[0].Value
				}
				got[key] = g.Windows[wi]
			}
			for key := range valid {
				g := got[key]
				if math.Abs(g.Good-good[key]) > 1e-6 || math.Abs(g.Valid-valid[key]) > 1e-6 {
					t.Errorf("%s %s %q: engine %v/%v, exact %v/%v", sr.Spec.Name, fmtDur(w), key, g.Good, g.Valid, good[key], valid[key])
				}
			}
		}
	}
	// Latency: 5 events per step at or below 0.2s, 6 in all, from T-2h on.
	lat := snap.SLOs[3]
	for wi, w := range lat.Windows {
		steps := float64(min(w, 2*time.Hour) / interval)
		if g := lat.Groups[0].Windows[wi]; g.Good != 5*steps || g.Valid != 6*steps {
			t.Errorf("latency %s: good/valid %v/%v, want %v/%v", fmtDur(w), g.Good, g.Valid, 5*steps, 6*steps)
		}
	}
	return snap
}

// sameWindows fails when two snapshots' window counts differ.
func sameWindows(t *testing.T, a, b *evaluator.Snapshot) {
	t.Helper()
	compareWindows(t, a, b, 1e-6, 1e-9)
}

// compareWindows fails unless two snapshots have the same SLOs and groups,
// and every window's events within eventTol and coverage within covTol.
func compareWindows(t *testing.T, a, b *evaluator.Snapshot, eventTol, covTol float64) {
	t.Helper()
	if len(a.SLOs) != len(b.SLOs) {
		t.Fatalf("%d SLOs vs %d", len(a.SLOs), len(b.SLOs))
	}
	for si := range a.SLOs {
		ga, gb := a.SLOs[si].Groups, b.SLOs[si].Groups
		if len(ga) != len(gb) {
			t.Errorf("slo %d: %d groups vs %d", si, len(ga), len(gb))
			continue
		}
		for gi := range ga {
			for wi := range ga[gi].Windows {
				wa, wb := ga[gi].Windows[wi], gb[gi].Windows[wi]
				if math.Abs(wa.Good-wb.Good) > eventTol || math.Abs(wa.Valid-wb.Valid) > eventTol || math.Abs(wa.Coverage-wb.Coverage) > covTol {
					t.Errorf("slo %d group %v window %s: %+v vs %+v", si, ga[gi].Labels, fmtDur(a.SLOs[si].Windows[wi]), wa, wb)
				}
			}
		}
	}
}

// flaky fails chosen queries of a real Querier, to make some queries of a
// tick fail while others succeed.
type flaky struct {
	Querier
	mu        sync.Mutex
	failExpr  string
	failing   bool
	failRange bool
}

func (f *flaky) set(failing, failRange bool) {
	f.mu.Lock()
	f.failing, f.failRange = failing, failRange
	f.mu.Unlock()
}

func (f *flaky) Query(ctx context.Context, expr string, ts time.Time) (model.Vector, error) {
	f.mu.Lock()
	fail := f.failing && expr == f.failExpr
	f.mu.Unlock()
	if fail {
		return nil, &QueryError{Reason: ReasonHTTP5xx, Endpoint: "query", Expr: expr, Status: 503, Err: errors.New("injected")}
	}
	return f.Querier.Query(ctx, expr, ts)
}

// RawSamples fails like Query for a tick's span (at most two intervals
// and the overlap) and like QueryRange for a longer one (a backfill).
func (f *flaky) RawSamples(ctx context.Context, sel string, start, end time.Time) (model.Matrix, error) {
	f.mu.Lock()
	fail := f.failing
	if end.Sub(start) > 3*interval {
		fail = f.failRange
	}
	fail = fail && sel == f.failExpr
	f.mu.Unlock()
	if fail {
		return nil, &QueryError{Reason: ReasonHTTP5xx, Endpoint: "query", Expr: sel, Status: 503, Err: errors.New("injected")}
	}
	return f.Querier.RawSamples(ctx, sel, start, end)
}

func (f *flaky) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	f.mu.Lock()
	fail := f.failRange && expr == f.failExpr
	f.mu.Unlock()
	if fail {
		return nil, &QueryError{Reason: ReasonHTTP5xx, Endpoint: "query_range", Expr: expr, Status: 503, Err: errors.New("injected")}
	}
	return f.Querier.QueryRange(ctx, expr, start, end, step)
}

// TestPullerLive runs ticks and backfills against a real Prometheus
// serving one day of synthetic history; the outage subtest stops and
// restarts it, so it runs last.
func TestPullerLive(t *testing.T) {
	h := newHistory(t, 1, 7)
	ctx := context.Background()
	T := h.end
	tickFrom := T.Add(-time.Hour)

	// The reference: the last 6h backfilled in one go.
	ref := newLiveSetup(t, newTestClient(t, h.srv.URL))
	if err := ref.p.Backfill(ctx, T.Add(-7*time.Hour), T, nil); err != nil {
		t.Fatal(err)
	}
	refSnap := checkExact(t, h, ref.eng, T)

	// ticks runs one tick per interval in (from, to] and returns the results.
	ticks := func(p *Puller, from, to time.Time, each func(i int, r TickResult)) {
		i := 0
		for tm := from.Add(interval); !tm.After(to); tm = tm.Add(interval) {
			r := p.Tick(ctx, tm)
			if each != nil {
				each(i, r)
			}
			i++
		}
	}

	t.Run("ticks equal backfill and brute force", func(t *testing.T) {
		client := newTestClient(t, h.srv.URL)
		s := newLiveSetup(t, client)
		if err := s.p.Backfill(ctx, T.Add(-7*time.Hour), tickFrom, nil); err != nil {
			t.Fatal(err)
		}
		q0 := client.Stats().Queries
		n := 0
		ticks(s.p, tickFrom, T, func(i int, r TickResult) {
			n++
			// 2 reads: valid (which holds the good and bad series) and the
			// bucket selector that serves both latency sources.
			if r.Queries != 2 || r.Failed != 0 || r.Up != 4 || r.Down != 0 || r.GapSteps != 0 || len(r.Errors) != 0 {
				t.Fatalf("tick %d: %+v", i, r)
			}
		})
		if got := client.Stats().Queries - q0; got != uint64(2*n) {
			t.Errorf("%d ticks issued %d queries, want %d (one per read)", n, got, 2*n)
		}
		snap := checkExact(t, h, s.eng, T)
		sameWindows(t, refSnap, snap)
		for _, sr := range snap.SLOs {
			if !sr.DataUp {
				t.Errorf("%s: data_up false after successful ticks", sr.Spec.Name)
			}
		}
		st := s.p.Stats()
		// Models a, b and c (d vanished before the backfill): 3 good, 6
		// valid and 3 bad series, and two buckets; groups: 1 + 3 + 1 + 1.
		if st.SeriesTracked != 3+6+3+2 || st.Groups != 6 || st.PointsFetched == 0 {
			t.Errorf("stats %+v", st)
		}
	})

	t.Run("missing le boundary", func(t *testing.T) {
		eng, err := evaluator.New(interval, []evaluator.Spec{{Name: "lat", Objective: 0.9, Period: time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewPuller(newTestClient(t, h.srv.URL), eng, []Target{
			{SLO: 0, Good: Selector{Expr: exprBucket, LE: le(0.25)}, Valid: Selector{Expr: exprBucket, LE: le(math.Inf(1))}},
		}, PullerConfig{Interval: interval})
		if err != nil {
			t.Fatal(err)
		}
		r := p.Tick(ctx, T)
		want := `no bucket with le=0.25; the boundaries that exist are 0.1, 0.20, +Inf`
		if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Error(), want) || r.Down != 1 {
			t.Errorf("tick: %+v, want one error containing %q", r, want)
		}
		if eng.Evaluate(T).SLOs[0].DataUp {
			t.Error("data_up true with a missing boundary")
		}
		err = p.Backfill(ctx, T.Add(-time.Hour), T, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("backfill: %v, want %q", err, want)
		}
	})

	t.Run("partial failure keeps pending increments", func(t *testing.T) {
		for _, rangeFails := range []bool{false, true} {
			f := &flaky{Querier: newTestClient(t, h.srv.URL), failExpr: exprGood}
			// The good selector read by itself, so that it can fail alone.
			s := newLiveSetupConfig(t, f, PullerConfig{NoSharedReads: true})
			if err := s.p.Backfill(ctx, T.Add(-7*time.Hour), tickFrom, nil); err != nil {
				t.Fatal(err)
			}
			ticks(s.p, tickFrom, T, func(i int, r TickResult) {
				failing := i >= 60 && i < 70
				f.set(i >= 59 && i < 69, rangeFails) // state for the next tick
				wantDown := 0
				if failing {
					// avail and avail-by-model need the good query.
					wantDown = 2
					up := s.eng.Evaluate(tickFrom.Add(time.Duration(i+1) * interval)).SLOs
					if up[0].DataUp || up[1].DataUp || !up[2].DataUp || !up[3].DataUp {
						t.Errorf("tick %d: data_up %v %v %v %v", i, up[0].DataUp, up[1].DataUp, up[2].DataUp, up[3].DataUp)
					}
				}
				if r.Down != wantDown {
					t.Errorf("tick %d: %d targets down, want %d: %v", i, r.Down, wantDown, r.Errors)
				}
				if i == 70 && !rangeFails && r.GapSteps != 10 {
					t.Errorf("recovery tick: %d gap steps, want 10", r.GapSteps)
				}
			})
			snap := s.eng.Evaluate(T)
			if !rangeFails {
				// The gap was backfilled: the same as never failing.
				checkExact(t, h, s.eng, T)
				sameWindows(t, refSnap, snap)
				continue
			}
			// The gap backfill failed too: the outage's events are counted
			// at the recovery tick, so windows that hold the whole outage
			// and the recovery tick are still exact.
			if st := s.p.Stats(); st.GapBackfillErrors != 1 {
				t.Errorf("gap backfill errors %d, want 1", st.GapBackfillErrors)
			}
			for si := 0; si < 2; si++ {
				for wi, w := range snap.SLOs[si].Windows {
					if w < time.Hour {
						continue
					}
					for gi, g := range snap.SLOs[si].Groups {
						want := refSnap.SLOs[si].Groups[gi].Windows[wi]
						if got := g.Windows[wi]; math.Abs(got.Good-want.Good) > 1e-6 || math.Abs(got.Valid-want.Valid) > 1e-6 {
							t.Errorf("range failing, slo %d %s: %v/%v, reference %v/%v", si, fmtDur(w), got.Good, got.Valid, want.Good, want.Valid)
						}
					}
				}
			}
		}
	})

	t.Run("outage is backfilled after restart", func(t *testing.T) {
		client := newTestClient(t, h.srv.URL)
		s := newLiveSetup(t, client)
		if err := s.p.Backfill(ctx, T.Add(-7*time.Hour), tickFrom, nil); err != nil {
			t.Fatal(err)
		}
		ticks(s.p, tickFrom, T, func(i int, r TickResult) {
			switch {
			case i == 100:
				h.srv.Stop()
			case i > 100 && i <= 105:
				if r.Failed != 2 || r.Up != 0 || ReasonOf(r.Errors[0]) != ReasonUnreachable {
					t.Errorf("tick %d during the outage: %+v", i, r)
				}
				if s.eng.Evaluate(tickFrom.Add(time.Duration(i+1) * interval)).SLOs[0].DataUp {
					t.Errorf("tick %d: data_up true during the outage", i)
				}
				if i == 105 {
					h.srv.Restart(t)
				}
			case i == 106:
				if r.GapSteps != 5 || r.Up != 4 || len(r.Errors) != 0 {
					t.Errorf("first tick after the outage: %+v, want 5 gap steps", r)
				}
			}
		})
		snap := checkExact(t, h, s.eng, T)
		sameWindows(t, refSnap, snap)
		if st := client.Stats(); st.Errors[ReasonUnreachable] != 5*2 {
			t.Errorf("unreachable errors %d, want 10 (5 ticks x 2 reads)", st.Errors[ReasonUnreachable])
		}
	})
}
