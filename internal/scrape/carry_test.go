package scrape

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// carryPuller builds a puller (no querier: Carryable reads plans only)
// over SLOs named by the targets' keys.
func carryPuller(t *testing.T, q Querier, targets map[string]Target) *Puller {
	t.Helper()
	names := slices.Sorted(maps.Keys(targets))
	var specs []evaluator.Spec
	var ts []Target
	for i, n := range names {
		specs = append(specs, evaluator.Spec{Name: n, Objective: 0.99, Period: time.Hour, Windows: []time.Duration{5 * time.Minute}})
		tg := targets[n]
		tg.SLO = i
		ts = append(ts, tg)
	}
	return newTestPuller(t, q, interval, specs, ts)
}

func TestCarryable(t *testing.T) {
	good, valid := Selector{Expr: `req_total{code="200"}`}, Selector{Expr: `req_total`}
	other := Selector{Expr: `other_total`}
	ratio := Target{Good: good, Valid: valid}
	for _, tc := range []struct {
		name       string
		old, new   map[string]Target
		candidates []string
		want       []string
	}{
		{"identical SLOs keep their state",
			map[string]Target{"a": ratio, "b": {Good: other, Valid: valid}},
			map[string]Target{"a": ratio, "b": {Good: other, Valid: valid}},
			[]string{"a", "b"}, []string{"a", "b"}},
		{"a source shared with a changed SLO is backfilled again, so its SLOs are too",
			map[string]Target{"a": ratio, "b": {Good: other, Valid: valid}},
			map[string]Target{"a": ratio, "b": {Good: other, Valid: valid}},
			[]string{"a"}, nil},
		{"a new SLO is not carried",
			map[string]Target{"a": ratio},
			map[string]Target{"a": ratio, "c": {Good: other, Valid: Selector{Expr: "c_total"}}},
			[]string{"a", "c"}, []string{"a"}},
		{"a source the old puller did not read cannot be carried",
			map[string]Target{"a": {Good: other, Valid: Selector{Expr: "x_total"}}},
			map[string]Target{"a": ratio},
			[]string{"a"}, nil},
		{"the same expression with another le is another source",
			map[string]Target{"a": {Good: Selector{Expr: "h_bucket", LE: le(0.2)}, Valid: Selector{Expr: "h_count"}}},
			map[string]Target{"a": {Good: Selector{Expr: "h_bucket", LE: le(0.5)}, Valid: Selector{Expr: "h_count"}}},
			[]string{"a"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, p := carryPuller(t, nil, tc.old), carryPuller(t, nil, tc.new)
			cand := map[string]bool{}
			for _, n := range tc.candidates {
				cand[n] = true
			}
			got := slices.Sorted(maps.Keys(p.Carryable(old, cand)))
			if !slices.Equal(got, tc.want) {
				t.Errorf("carried %v, want %v", got, tc.want)
			}
		})
	}
}

// stepQuerier answers raw reads with one counter per expression that
// grows by 10 every 15 s from 0 at t=0.
type stepQuerier struct{ NoStats }

func (q *stepQuerier) Query(context.Context, string, time.Time) (model.Vector, error) {
	return nil, nil
}
func (q *stepQuerier) QueryRange(context.Context, string, time.Time, time.Time, time.Duration) (model.Matrix, error) {
	return nil, nil
}
func (q *stepQuerier) RawSamples(_ context.Context, sel string, start, end time.Time) (model.Matrix, error) {
	ss := &model.SampleStream{Metric: model.Metric{"__name__": model.LabelValue(sel)}}
	for ts := start.UnixMilli() - start.UnixMilli()%15000 + 15000; ts <= end.UnixMilli(); ts += 15000 {
		ss.Values = append(ss.Values, model.SamplePair{Timestamp: model.Time(ts), Value: model.SampleValue(ts / 1500)})
	}
	return model.Matrix{ss}, nil
}

// TestTakeState ticks one puller, moves an SLO's state to another built
// from the same plan, and checks that the second resumes where the first
// stopped: the same window counts as a puller that never stopped.
func TestTakeState(t *testing.T) {
	targets := map[string]Target{"a": {Good: Selector{Expr: "good_total"}, Valid: Selector{Expr: "valid_total"}}}
	q := &stepQuerier{}
	ref, old := carryPuller(t, q, targets), carryPuller(t, q, targets)
	t0 := time.Unix(1_800_000_000, 0).Truncate(interval)
	for i := 0; i < 4; i++ {
		for _, p := range []*Puller{ref, old} {
			if res := p.Tick(context.Background(), t0.Add(time.Duration(i)*interval)); res.Down != 0 {
				t.Fatalf("tick %d: %+v", i, res)
			}
		}
	}
	p := carryPuller(t, q, targets)
	if err := p.eng.Adopt(0, old.eng, 0); err != nil {
		t.Fatal(err)
	}
	p.TakeState(old, map[string]bool{"a": true})
	for si := range p.sources {
		gotLast, _ := p.sources[si].tracker.Last()
		wantLast, _ := ref.sources[si].tracker.Last()
		if gotLast != wantLast {
			t.Errorf("source %d resumes after %d, want %d", si, gotLast, wantLast)
		}
	}
	for i := 4; i < 8; i++ {
		at := t0.Add(time.Duration(i) * interval)
		ref.Tick(context.Background(), at)
		if res := p.Tick(context.Background(), at); res.Down != 0 || res.GapSteps != 0 {
			t.Fatalf("tick %d after the move: %+v", i, res)
		}
		want, got := ref.eng.Evaluate(at), p.eng.Evaluate(at)
		sameWindows(t, want, got)
		if g := got.SLOs[0].Groups; len(g) != 1 || g[0].Windows[0].Valid == 0 {
			t.Fatalf("no events counted after the move: %+v", g)
		}
	}
}
