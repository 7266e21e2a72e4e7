package scrape

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// bkt is a native histogram bucket: boundary rule (0: (l,u], 1: [l,u),
// 3: [l,u]), bounds and count.
type bkt struct {
	rule   int32
	lo, up float64
	n      float64
}

func nativeHist(count float64, bs ...bkt) *model.SampleHistogram {
	h := &model.SampleHistogram{Count: model.FloatString(count)}
	for _, b := range bs {
		h.Buckets = append(h.Buckets, &model.HistogramBucket{Boundaries: b.rule, Lower: model.FloatString(b.lo),
			Upper: model.FloatString(b.up), Count: model.FloatString(b.n)})
	}
	return h
}

func TestNativeAtOrBelow(t *testing.T) {
	// A negative bucket, the zero bucket, an empty bucket, and 1 NaN
	// observation that only the count holds.
	h := nativeHist(21,
		bkt{1, -0.5, -0.25, 2},
		bkt{3, -0.001, 0.001, 3},
		bkt{0, 0.1, 0.25, 4},
		bkt{0, 0.25, 0.5, 0},
		bkt{0, 0.5, 1, 5},
		bkt{0, 1, 2, 6},
	)
	for _, tc := range []struct {
		name string
		le   float64
		want float64
		err  string // straddle error part, "" for none
	}{
		{"boundary", 0.25, 2 + 3 + 4, ""},
		{"boundary one ulp above", math.Nextafter(0.25, 1), 9, ""},
		{"boundary within 1e-12", 0.25 * (1 - 1e-12), 9, ""},
		{"inside an empty bucket", 0.3, 9, ""},
		{"next boundary", 0.5, 9, ""},
		{"one", 1, 14, ""},
		{"top boundary leaves NaN out", 2, 20, ""},
		{"+Inf is the count", math.Inf(1), 21, ""},
		{"between the zero bucket and the first positive", 0.05, 5, ""},
		{"below everything", -1, 0, ""},
		{"inside the zero bucket", 0, 0, "spans [-0.001, 0.001] with 3 observations; nearby boundaries are -0.5, -0.25, -0.001, 0.001, 0.1, 0.25"},
		{"inclusive lower bound of a negative bucket", -0.5, 0, "spans [-0.5, -0.25) with 2 observations"},
		{"inside a negative bucket", -0.3, 0, "spans [-0.5, -0.25) with 2"},
		{"inside a positive bucket", 0.7, 0, "spans (0.5, 1] with 5 observations; nearby boundaries are 0.1, 0.25, 0.5, 1, 2"},
		{"below a lower bound within 1e-12", 0.5 * (1 - 1e-12), 9, ""},
		{"not within the tolerance", 0.5 * (1 + 1e-8), 0, "spans (0.5, 1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, st := nativeAtOrBelow(h, tc.le)
			if tc.err == "" {
				if st != nil {
					t.Fatalf("le %v: unexpected straddle of %s", tc.le, bucketString(st.bucket))
				}
				if got != tc.want {
					t.Errorf("le %v: %v observations, want %v", tc.le, got, tc.want)
				}
				return
			}
			if st == nil {
				t.Fatalf("le %v: %v observations, want a straddle error containing %q", tc.le, got, tc.err)
			}
			if msg := st.error(Selector{Expr: "x", NativeLE: &tc.le}, model.Metric{"__name__": "x"}).Error(); !strings.Contains(msg, tc.err) {
				t.Errorf("le %v: error %q, want it to contain %q", tc.le, msg, tc.err)
			}
		})
	}
	// An empty histogram has 0 observations at every finite threshold.
	if v, st := nativeAtOrBelow(nativeHist(0), 0.25); v != 0 || st != nil {
		t.Errorf("empty histogram: %v %v", v, st)
	}
}

func TestNativeStraddleMessage(t *testing.T) {
	h := nativeHist(10, bkt{0, 0.25, 0.2726, 1}, bkt{0, 0.2973, 0.3242, 4}, bkt{0, 0.5, 0.5453, 5})
	_, st := nativeAtOrBelow(h, 0.3)
	if st == nil {
		t.Fatal("no straddle")
	}
	le := 0.3
	got := st.error(Selector{Expr: `x{job="a"}`, NativeLE: &le}, model.Metric{"__name__": "x", "job": "a"}).Error()
	want := `selector x{job="a"} (native le=0.3): series x{job="a"}: no native bucket boundary at 0.3: ` +
		`a populated bucket spans (0.2973, 0.3242] with 4 observations; nearby boundaries are 0.25, 0.2726, 0.2973, 0.3242, 0.5, 0.5453`
	if got != want {
		t.Errorf("error\n got %s\nwant %s", got, want)
	}
}

func TestNativeSelectorValidation(t *testing.T) {
	eng, err := evaluator.New(interval, []evaluator.Spec{{Name: "lat", Objective: 0.9, Period: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	inf := math.Inf(1)
	for _, tc := range []struct {
		name string
		good Selector
		want string
	}{
		{"ok", Selector{Expr: "x", NativeLE: le(0.25)}, ""},
		{"NaN", Selector{Expr: "x", NativeLE: le(math.NaN())}, `slo lat: selector "x": native le is NaN`},
		{"with le", Selector{Expr: "x", NativeLE: le(0.25), LE: le(0.25)}, `slo lat: selector "x": native le 0.25 and le 0.25 exclude each other`},
		{"with gauge", Selector{Expr: "x", NativeLE: le(0.25), Gauge: &Condition{Op: "<", Value: 1}}, `slo lat: selector "x": native le 0.25 and gauge condition < 1 exclude each other`},
		{"without expr", Selector{NativeLE: le(0.25)}, `slo lat: native le 0.25 given without a selector`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPuller(nil, eng, []Target{{SLO: 0, Good: tc.good, Valid: Selector{Expr: "x", NativeLE: &inf}}}, PullerConfig{Interval: interval})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// fakeSeries is one series of a fakeQuerier: at each time (ms) a float or
// a native histogram.
type fakeSeries struct {
	metric model.Metric
	floats map[int64]float64
	hists  map[int64]*model.SampleHistogram
}

// fakeQuerier answers instant and range queries from fixed series, with
// samples only at the exact times they were given at.
type fakeQuerier struct {
	NoStats
	data                  map[string][]*fakeSeries
	queries, ranges, raws int
	probes                int
}

// probePart is one expression of the backfill's probe.
var probePart = regexp.MustCompile(`label_replace\(sum\(count_over_time\((.*?)\[(\d+)ms\]\)\), "` + probeLabel + `", "(\d+)", "", ""\)`)

func (f *fakeQuerier) Query(ctx context.Context, expr string, ts time.Time) (model.Vector, error) {
	if strings.HasPrefix(expr, "label_replace(") {
		// The probe: count the samples of each part, as count_over_time
		// over the part's range would (left-open, as Prometheus 3.x).
		var v model.Vector
		for _, m := range probePart.FindAllStringSubmatch(expr, -1) {
			span, _ := strconv.ParseInt(m[2], 10, 64)
			mat, err := f.RawSamples(ctx, m[1], ts.Add(-time.Duration(span)*time.Millisecond), ts)
			f.raws--
			if err != nil {
				return nil, err
			}
			for _, ss := range mat {
				metric := ss.Metric.Clone()
				delete(metric, model.MetricNameLabel)
				metric[probeLabel] = model.LabelValue(m[3])
				v = append(v, &model.Sample{Metric: metric, Value: model.SampleValue(len(ss.Values))})
			}
		}
		f.probes++
		return v, nil
	}
	ss, ok := f.data[expr]
	if !ok {
		return nil, fmt.Errorf("fake: unknown expression %q", expr)
	}
	f.queries++
	t := ts.UnixMilli()
	var v model.Vector
	for _, s := range ss {
		if h, ok := s.hists[t]; ok {
			v = append(v, &model.Sample{Metric: s.metric, Histogram: h, Timestamp: model.Time(t)})
		} else if x, ok := s.floats[t]; ok {
			v = append(v, &model.Sample{Metric: s.metric, Value: model.SampleValue(x), Timestamp: model.Time(t)})
		}
	}
	return v, nil
}

// RawSamples returns the samples in (start, end]; an expression that
// wraps a selector (the backfill's probe) is not known to it.
func (f *fakeQuerier) RawSamples(_ context.Context, sel string, start, end time.Time) (model.Matrix, error) {
	ss, ok := f.data[sel]
	if !ok {
		return nil, fmt.Errorf("fake: unknown expression %q", sel)
	}
	f.raws++
	var m model.Matrix
	for _, s := range ss {
		st := &model.SampleStream{Metric: s.metric}
		var ts []int64
		for t := range s.floats {
			ts = append(ts, t)
		}
		for t := range s.hists {
			ts = append(ts, t)
		}
		slices.Sort(ts)
		for _, t := range ts {
			if t <= start.UnixMilli() || t > end.UnixMilli() {
				continue
			}
			if h, ok := s.hists[t]; ok {
				st.Histograms = append(st.Histograms, model.SampleHistogramPair{Timestamp: model.Time(t), Histogram: h})
			} else {
				st.Values = append(st.Values, model.SamplePair{Timestamp: model.Time(t), Value: model.SampleValue(s.floats[t])})
			}
		}
		if len(st.Values)+len(st.Histograms) > 0 {
			m = append(m, st)
		}
	}
	return m, nil
}

func (f *fakeQuerier) QueryRange(_ context.Context, expr string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	ss, ok := f.data[expr]
	if !ok {
		return nil, fmt.Errorf("fake: unknown expression %q", expr)
	}
	f.ranges++
	var m model.Matrix
	for _, s := range ss {
		st := &model.SampleStream{Metric: s.metric}
		for t := start.UnixMilli(); t <= end.UnixMilli(); t += step.Milliseconds() {
			if h, ok := s.hists[t]; ok {
				st.Histograms = append(st.Histograms, model.SampleHistogramPair{Timestamp: model.Time(t), Histogram: h})
			} else if x, ok := s.floats[t]; ok {
				st.Values = append(st.Values, model.SamplePair{Timestamp: model.Time(t), Value: model.SampleValue(x)})
			}
		}
		if len(st.Values)+len(st.Histograms) > 0 {
			m = append(m, st)
		}
	}
	return m, nil
}

// nativeFixture is synthetic native histogram data with its ground truth:
// the events each step added, per model.
type nativeFixture struct {
	q       *fakeQuerier
	t0      time.Time
	steps   int                  // pulls at t0 + k*interval, k = 0..steps
	fast    map[string][]float64 // observations at or below 0.25 added at step k
	all     map[string][]float64 // all observations (with NaN ones) added at step k
	reqGood []float64            // increments of the float counters
	reqAll  []float64
}

const (
	exprNative = `lat_seconds{job="api"}`
	exprReq    = `req_total{job="api"}`
	exprReqOK  = `req_total{job="api",code="2xx"}`
)

// newNativeFixture builds 21 pulls of lat_seconds for models a and b,
// native histograms with a negative, a zero and three positive buckets,
// plus a float series of model c under the same name that native
// selectors must skip. Model a restarts at step 12 with more fast
// observations than it had before, so only its count shows the reset;
// model b is exposed as a float for steps 5 to 7 (a migration) and its
// boundaries carry float noise (one ulp off). req_total has float counters
// and one stray native histogram series that counter selectors skip.
func newNativeFixture() *nativeFixture {
	const steps = 20
	f := &nativeFixture{q: &fakeQuerier{data: map[string][]*fakeSeries{}}, t0: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), steps: steps,
		fast: map[string][]float64{}, all: map[string][]float64{}}
	iv := interval.Milliseconds()
	tAt := func(k int) int64 { return f.t0.UnixMilli() + int64(k)*iv }
	for mi, m := range []string{"a", "b"} {
		s := &fakeSeries{metric: model.Metric{"__name__": "lat_seconds", "job": "api", "model": model.LabelValue(m)},
			floats: map[int64]float64{}, hists: map[int64]*model.SampleHistogram{}}
		edge := 0.25
		if m == "b" {
			edge = math.Nextafter(0.25, 1)
		}
		var neg, zero, fast, mid, slow, nan float64 = 1, 1, 3, 2, 1, 0 // the baseline's
		fastInc, allInc := make([]float64, steps+1), make([]float64, steps+1)
		for k := 0; k <= steps; k++ {
			if k > 0 {
				dn, dz, df, dm, ds, dnan := float64(k%4/3), float64((k+mi)%2), float64(1+k%3), float64(k%2), float64((k+1)%3/2), float64(k%5/4)
				if m == "a" && k == 12 {
					// Restart: 45 fast observations, more than the 37 at or
					// below 0.25 before it, fewer than the 52 in all.
					neg, zero, fast, mid, slow, nan = 0, 0, 0, 0, 0, 0
					dn, dz, df, dm, ds, dnan = 0, 0, 45, 0, 0, 0
				}
				neg, zero, fast, mid, slow, nan = neg+dn, zero+dz, fast+df, mid+dm, slow+ds, nan+dnan
				fastInc[k] = dn + dz + df
				allInc[k] = dn + dz + df + dm + ds + dnan
			}
			if m == "b" && k >= 5 && k <= 7 {
				s.floats[tAt(k)] = 999
				continue
			}
			s.hists[tAt(k)] = nativeHist(neg+zero+fast+mid+slow+nan,
				bkt{1, -0.5, -0.25, neg}, bkt{3, -1e-3, 1e-3, zero}, bkt{0, 0.125, edge, fast},
				bkt{0, edge, 0.5, mid}, bkt{0, 0.5, 1, slow})
		}
		f.fast[m], f.all[m] = fastInc, allInc
		f.q.data[exprNative] = append(f.q.data[exprNative], s)
	}
	c := &fakeSeries{metric: model.Metric{"__name__": "lat_seconds", "job": "api", "model": "c"}, floats: map[int64]float64{}}
	for k := 0; k <= steps; k++ {
		c.floats[tAt(k)] = float64(10 * k)
	}
	f.q.data[exprNative] = append(f.q.data[exprNative], c)

	ok := &fakeSeries{metric: model.Metric{"__name__": "req_total", "job": "api", "code": "2xx"}, floats: map[int64]float64{}}
	bad := &fakeSeries{metric: model.Metric{"__name__": "req_total", "job": "api", "code": "5xx"}, floats: map[int64]float64{}}
	stray := &fakeSeries{metric: model.Metric{"__name__": "req_total", "job": "api", "code": "hist"}, hists: map[int64]*model.SampleHistogram{}}
	f.reqGood, f.reqAll = make([]float64, steps+1), make([]float64, steps+1)
	var g, b float64 = 100, 4
	for k := 0; k <= steps; k++ {
		if k > 0 {
			dg, db := float64(7+k%5), float64(k%3)
			g, b = g+dg, b+db
			f.reqGood[k], f.reqAll[k] = dg, dg+db
		}
		ok.floats[tAt(k)], bad.floats[tAt(k)] = g, b
		stray.hists[tAt(k)] = nativeHist(float64(1000*k), bkt{0, 0, 1, float64(1000 * k)})
	}
	f.q.data[exprReq] = []*fakeSeries{ok, bad, stray}
	f.q.data[exprReqOK] = []*fakeSeries{ok}
	return f
}

// sumSteps sums xs over the steps in (from, to].
func sumSteps(xs []float64, from, to int) float64 {
	var s float64
	for k := max(from+1, 0); k <= to && k < len(xs); k++ {
		s += xs[k]
	}
	return s
}

func TestNativePuller(t *testing.T) {
	inf := math.Inf(1)
	nativeWindows := []time.Duration{5 * time.Minute, 30 * time.Minute}
	spec := func(name string) evaluator.Spec {
		return evaluator.Spec{Name: name, Objective: 0.9, Period: time.Hour, Windows: nativeWindows}
	}
	targets := []Target{
		{SLO: 0, Good: Selector{Expr: exprNative, NativeLE: le(0.25)}, Valid: Selector{Expr: exprNative, NativeLE: &inf}},
		{SLO: 1, GroupBy: []string{"model"}, Good: Selector{Expr: exprNative, NativeLE: le(0.25)}, Valid: Selector{Expr: exprNative, NativeLE: &inf}},
		{SLO: 2, Good: Selector{Expr: exprReqOK}, Valid: Selector{Expr: exprReq}},
	}
	for _, tc := range []struct {
		name       string
		backfillTo int // last backfilled step, -1 for ticks only
	}{
		{"ticks", -1},
		{"backfill", 20},
		{"backfill then ticks across the reset", 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newNativeFixture()
			eng, err := evaluator.New(interval, []evaluator.Spec{spec("lat"), spec("lat-by-model"), spec("avail")})
			if err != nil {
				t.Fatal(err)
			}
			p, err := NewPuller(f.q, eng, targets, PullerConfig{Interval: interval})
			if err != nil {
				t.Fatal(err)
			}
			if q := p.Queries(); len(q) != 3 {
				t.Errorf("queries %v, want one per expression", q)
			}
			at := func(k int) time.Time { return f.t0.Add(time.Duration(k) * interval) }
			ctx := context.Background()
			if tc.backfillTo >= 0 {
				if err := p.Backfill(ctx, f.t0, at(tc.backfillTo), nil); err != nil {
					t.Fatal(err)
				}
			}
			for k := tc.backfillTo + 1; k <= f.steps; k++ {
				if r := p.Tick(ctx, at(k)); r.Failed != 0 || len(r.Errors) != 0 || r.Down != 0 || r.GapSteps != 0 {
					t.Fatalf("tick %d: %+v", k, r)
				}
			}
			T := at(f.steps)
			snap := eng.Evaluate(T)
			// Windows in steps: 5m is the last 10 steps, 30m all of them.
			for wi, w := range snap.SLOs[0].Windows {
				from := f.steps - int(w/interval)
				want := map[string][2]float64{}
				for _, m := range []string{"a", "b"} {
					want[m] = [2]float64{sumSteps(f.fast[m], from, f.steps), sumSteps(f.all[m], from, f.steps)}
				}
				want[""] = [2]float64{want["a"][0] + want["b"][0], want["a"][1] + want["b"][1]}
				check := func(slo int, g evaluator.GroupResult, key string, wantGV [2]float64) {
					t.Helper()
					if got := g.Windows[wi]; got.Good != wantGV[0] || got.Valid != wantGV[1] {
						t.Errorf("%s %s %q: good/valid %v/%v, want %v/%v", snap.SLOs[slo].Spec.Name, fmtDur(w), key, got.Good, got.Valid, wantGV[0], wantGV[1])
					}
				}
				if gs := snap.SLOs[0].Groups; len(gs) != 1 {
					t.Fatalf("lat: %d groups", len(gs))
				}
				check(0, snap.SLOs[0].Groups[0], "", want[""])
				if gs := snap.SLOs[1].Groups; len(gs) != 2 {
					t.Errorf("lat-by-model: groups %v, want a and b only (c has no histograms)", gs)
				}
				for _, g := range snap.SLOs[1].Groups {
					check(1, g, g.Labels[0].Value, want[g.Labels[0].Value])
				}
				check(2, snap.SLOs[2].Groups[0], "", [2]float64{sumSteps(f.reqGood, from, f.steps), sumSteps(f.reqAll, from, f.steps)})
			}
			st := p.Stats()
			// Two native sources skip model c at 21 pulls and model b's floats
			// at 3; the req_total valid source skips the stray histogram at 21.
			if want := uint64(2*(21+3) + 21); st.SkippedSamples != want {
				t.Errorf("skipped samples %d, want %d", st.SkippedSamples, want)
			}
			// Model a's restart: the count dropped, the fast count rose. Both
			// native sources count it once.
			if st.Counters.Resets != 2 || st.NativeErrors != 0 {
				t.Errorf("resets %d native errors %d, want 2 and 0", st.Counters.Resets, st.NativeErrors)
			}
		})
	}
}

func TestNativePullerStraddle(t *testing.T) {
	inf := math.Inf(1)
	f := newNativeFixture()
	eng, err := evaluator.New(interval, []evaluator.Spec{{Name: "lat", Objective: 0.9, Period: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPuller(f.q, eng, []Target{{SLO: 0, Good: Selector{Expr: exprNative, NativeLE: le(0.3)}, Valid: Selector{Expr: exprNative, NativeLE: &inf}}},
		PullerConfig{Interval: interval})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	want := `selector lat_seconds{job="api"} (native le=0.3): series lat_seconds{job="api", model="a"}: no native bucket boundary at 0.3: ` +
		`a populated bucket spans (0.25, 0.5] with 2 observations; nearby boundaries are 0.001, 0.125, 0.25, 0.5, 1`
	r := p.Tick(ctx, f.t0)
	if len(r.Errors) != 1 || r.Errors[0].Error() != want || r.Down != 1 {
		t.Errorf("tick: %+v\nwant one error %s", r, want)
	}
	if eng.Evaluate(f.t0).SLOs[0].DataUp {
		t.Error("data_up true with a straddled threshold")
	}
	if st := p.Stats(); st.NativeErrors != 1 {
		t.Errorf("native errors %d, want 1", st.NativeErrors)
	}
	err = p.Backfill(ctx, f.t0, f.t0.Add(10*interval), nil)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("backfill: %v, want %q", err, want)
	}
}

func TestNativeKindWarning(t *testing.T) {
	f := newNativeFixture()
	// The stray histogram of req_total alone, and the float 2xx counter.
	f.q.data["hist_only"] = f.q.data[exprReq][2:]
	inf := math.Inf(1)
	for _, tc := range []struct {
		name   string
		target Target
		want   string
		n      int // warnings: one per source with only the other kind
	}{
		{"counter selector on histograms", Target{SLO: 0, Good: Selector{Expr: "hist_only"}, Valid: Selector{Expr: exprReq}},
			"selector returned only native histograms; they are skipped: a native threshold reads them", 1},
		{"native selectors on floats", Target{SLO: 0, Good: Selector{Expr: exprReqOK, NativeLE: le(0.25)}, Valid: Selector{Expr: exprReqOK, NativeLE: &inf}},
			"selector returned only float samples; they are skipped: a native threshold reads only native histograms", 2},
		{"mixed samples are not warned about", Target{SLO: 0, Good: Selector{Expr: exprNative, NativeLE: le(0.25)}, Valid: Selector{Expr: exprNative, NativeLE: &inf}}, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng, err := evaluator.New(interval, []evaluator.Spec{{Name: "s", Objective: 0.9, Period: time.Hour}})
			if err != nil {
				t.Fatal(err)
			}
			core, logs := observer.New(zap.WarnLevel)
			p, err := NewPuller(f.q, eng, []Target{tc.target}, PullerConfig{Interval: interval, Logger: zap.New(core)})
			if err != nil {
				t.Fatal(err)
			}
			for k := 0; k < 3; k++ {
				p.Tick(context.Background(), f.t0.Add(time.Duration(k)*interval))
			}
			var msgs []string
			for _, e := range logs.All() {
				if e.Message == tc.want {
					msgs = append(msgs, e.Message)
				}
			}
			if len(logs.All()) != tc.n || len(msgs) != tc.n {
				t.Errorf("warnings %v over 3 ticks, want %d times %q", logs.All(), tc.n, tc.want)
			}
			if p.Stats().SkippedSamples == 0 {
				t.Error("nothing counted as skipped")
			}
		})
	}
}

// BenchmarkNativeDerive measures the derivation of one series' value from
// its native histogram sample (ns per sample), for latency histograms of
// schema 3 with 10, 40 and 160 populated buckets around the threshold.
func BenchmarkNativeDerive(b *testing.B) {
	for _, n := range []int{10, 40, 160} {
		b.Run(fmt.Sprintf("buckets=%d", n), func(b *testing.B) {
			// Boundaries 2^(k/8): 0.25 is k = -16.
			h := &model.SampleHistogram{}
			var want float64
			for i := 0; i < n; i++ {
				k := -16 - n/2 + i
				lo, up := math.Pow(2, float64(k-1)/8), math.Pow(2, float64(k)/8)
				c := float64(1 + i%7)
				h.Buckets = append(h.Buckets, &model.HistogramBucket{Lower: model.FloatString(lo), Upper: model.FloatString(up), Count: model.FloatString(c)})
				h.Count += model.FloatString(c)
				if k <= -16 {
					want += c
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			var v float64
			for i := 0; i < b.N; i++ {
				v, _ = nativeAtOrBelow(h, 0.25)
			}
			b.StopTimer()
			if v != want {
				b.Fatalf("derived %v, want %v", v, want)
			}
		})
	}
}
