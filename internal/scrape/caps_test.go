package scrape

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// wideQuerier answers every raw query with n series of one sample at the
// query's end, spread over n/perGroup values of the "group" label; series
// i counts i+t/1000. It holds no samples: the answers are built per query.
type wideQuerier struct {
	NoStats
	n, perGroup int
	metrics     []model.Metric
}

func newWideQuerier(n, perGroup int) *wideQuerier {
	w := &wideQuerier{n: n, perGroup: perGroup, metrics: make([]model.Metric, n)}
	for i := range w.metrics {
		w.metrics[i] = model.Metric{"__name__": "wide_total", "group": model.LabelValue(fmt.Sprint(i / perGroup)),
			"instance": model.LabelValue(fmt.Sprint(i % perGroup))}
	}
	return w
}

func (w *wideQuerier) Query(context.Context, string, time.Time) (model.Vector, error) {
	return nil, fmt.Errorf("wide: instant queries are not used")
}

func (w *wideQuerier) QueryRange(context.Context, string, time.Time, time.Time, time.Duration) (model.Matrix, error) {
	return nil, fmt.Errorf("wide: range queries are not used")
}

func (w *wideQuerier) RawSamples(_ context.Context, sel string, _, end time.Time) (model.Matrix, error) {
	m := make(model.Matrix, w.n)
	for i := range m {
		v := model.SampleValue(float64(i) + float64(end.UnixMilli()/1000))
		m[i] = &model.SampleStream{Metric: w.metrics[i], Values: []model.SamplePair{{Timestamp: model.TimeFromUnixNano(end.UnixNano()), Value: v}}}
	}
	return m, nil
}

// capsPuller is a puller over one SLO grouped by "group", with the given
// group cap and series cap, good and valid both reading the wide series.
func capsPuller(t testing.TB, q Querier, maxGroups, maxSeries int, log *zap.Logger) *Puller {
	t.Helper()
	eng, err := evaluator.New(time.Minute, []evaluator.Spec{{Name: "wide", Objective: 0.99, Period: 24 * time.Hour,
		Windows: []time.Duration{time.Hour}, MaxGroups: maxGroups}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPuller(q, eng, []Target{{SLO: 0, GroupBy: []string{"group"}, MaxSeries: maxSeries,
		Good: Selector{Expr: `wide_total`}, Valid: Selector{Expr: `wide_total{instance!=""}`}}},
		PullerConfig{Interval: time.Minute, Logger: log, NoSharedReads: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// heapBytes is the live heap after a collection.
func heapBytes() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestSeriesCaps: a selector returning 100,000 series over 50,000 groups
// with max_groups 1,000 tracks only the series of the 1,000 groups admitted
// (2 per group, for each of the 2 selectors), counts the others as refused
// and logs the refusal once with the SLO and the cap; max_series caps the
// tracked series below that, shared by the selectors. The heap held per
// refused series is measured and bounded.
func TestSeriesCaps(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 100,000-series answers")
	}
	const n, perGroup, maxGroups = 100_000, 2, 1000
	q := newWideQuerier(n, perGroup)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name                  string
		maxSeries             int
		wantTracked           int
		wantRefusedGroups     uint64
		wantRefusedSeriesCap  uint64
		wantLog, wantLogField string
	}{
		{"group cap", 0, 2 * maxGroups * perGroup, 2 * (n - maxGroups*perGroup), 0, "too many groups", "max_groups"},
		{"series cap", 1000, 1000, 2 * (n - 500 - 0), 2 * 500, "too many series", "max_series"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.WarnLevel)
			before := heapBytes()
			p := capsPuller(t, q, maxGroups, tc.maxSeries, zap.New(core))
			for k := 0; k < 3; k++ {
				if res := p.Tick(context.Background(), t0.Add(time.Duration(k)*time.Minute)); len(res.Errors) > 0 {
					t.Fatal(res.Errors)
				}
			}
			held := heapBytes() - min(before, heapBytes())
			st := p.Stats()
			if st.SeriesTracked != tc.wantTracked {
				t.Errorf("tracked %d series, want %d", st.SeriesTracked, tc.wantTracked)
			}
			refused := st.SeriesRefusedGroups + st.SeriesRefusedCap
			if refused+uint64(st.SeriesTracked) != 2*n {
				t.Errorf("refused %d (groups %d, max_series %d) + tracked %d != %d series read", refused,
					st.SeriesRefusedGroups, st.SeriesRefusedCap, st.SeriesTracked, 2*n)
			}
			if tc.maxSeries == 0 && st.SeriesRefusedGroups != tc.wantRefusedGroups {
				t.Errorf("refused at the group cap %d, want %d", st.SeriesRefusedGroups, tc.wantRefusedGroups)
			}
			if tc.maxSeries > 0 && st.SeriesRefusedCap == 0 {
				t.Errorf("nothing refused at max_series %d", tc.maxSeries)
			}
			got := logs.FilterMessageSnippet(tc.wantLog).All()
			if len(got) != 1 || got[0].ContextMap()["slo"] != "wide" || got[0].ContextMap()[tc.wantLogField] == nil {
				t.Errorf("logs %+v, want one %q with slo and %s", logs.All(), tc.wantLog, tc.wantLogField)
			}
			perSeries := float64(held) / float64(2*n)
			t.Logf("%d series read twice, %d tracked, heap held %.1f MB: %.0f bytes per series read",
				n, st.SeriesTracked, float64(held)/1e6, perSeries)
			// Without the caps every series was tracked (550 MB for 300,000):
			// a refused series keeps only its refusal marker.
			if perSeries > 400 {
				t.Errorf("%.0f bytes held per series read, want under 400", perSeries)
			}
			runtime.KeepAlive(p)
		})
	}
}

// TestBytesPerTrackedSeries measures the heap one tracked series holds in
// a puller (counter state and series cache; groups are the engine's and
// cost per group, not per series): 50,000 series in one group, read by two
// selectors, all under the caps. The figure sizes the defaults of
// max_series (config.DefaultSeriesPerGroup).
func TestBytesPerTrackedSeries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 50,000-series answers")
	}
	const n = 50_000
	q := newWideQuerier(n, n)
	before := heapBytes()
	p := capsPuller(t, q, n, 0, zap.NewNop())
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for k := 0; k < 3; k++ {
		if res := p.Tick(context.Background(), t0.Add(time.Duration(k)*time.Minute)); len(res.Errors) > 0 {
			t.Fatal(res.Errors)
		}
	}
	held := heapBytes() - min(before, heapBytes())
	st := p.Stats()
	if st.SeriesTracked != 2*n || st.SeriesRefusedGroups+st.SeriesRefusedCap != 0 {
		t.Fatalf("tracked %d, refused %d+%d; want %d, 0", st.SeriesTracked, st.SeriesRefusedGroups, st.SeriesRefusedCap, 2*n)
	}
	per := float64(held) / float64(st.SeriesTracked)
	t.Logf("%d tracked series (%d groups) hold %.1f MB: %.0f bytes per tracked series", st.SeriesTracked, st.Groups, float64(held)/1e6, per)
	// The puller's share; config.DefaultMaxSeriesPerSelector assumes 2 KB
	// per series with its group and the decoded answer.
	if per > 512 {
		t.Errorf("%.0f bytes per tracked series, want under 512", per)
	}
	runtime.KeepAlive(p)
}

// churnQuerier answers raw queries with the series whose instance is in
// [lo, hi), one sample at the query's end counting one event a second.
type churnQuerier struct {
	wideQuerier
	lo, hi int
}

func (c *churnQuerier) RawSamples(_ context.Context, _ string, _, end time.Time) (model.Matrix, error) {
	var m model.Matrix
	for i := c.lo; i < c.hi; i++ {
		m = append(m, &model.SampleStream{Metric: model.Metric{"__name__": "wide_total", "instance": model.LabelValue(fmt.Sprint(i))},
			Values: []model.SamplePair{{Timestamp: model.TimeFromUnixNano(end.UnixNano()), Value: model.SampleValue(end.Unix())}}})
	}
	return m, nil
}

// TestSeriesCapRoom: an ungrouped SLO with max_series 4 over 6 series
// tracks 2 per selector (the cap is shared, so valid is never starved by
// good); when the tracked series go away and are forgotten, the refused
// ones are admitted at their next retry and counted from their next
// sample, and the refusals are counted once per series and selector.
func TestSeriesCapRoom(t *testing.T) {
	q := &churnQuerier{lo: 0, hi: 6}
	eng, err := evaluator.New(time.Minute, []evaluator.Spec{{Name: "room", Objective: 0.99, Period: 24 * time.Hour,
		Windows: []time.Duration{time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPuller(q, eng, []Target{{SLO: 0, MaxSeries: 4, Good: Selector{Expr: `wide_total`}, Valid: Selector{Expr: `wide_total{instance!=""}`}}},
		PullerConfig{Interval: time.Minute, ForgetAfter: 10 * time.Minute, NoSharedReads: true, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tick := func(k int) {
		t.Helper()
		if res := p.Tick(context.Background(), t0.Add(time.Duration(k)*time.Minute)); len(res.Errors) > 0 {
			t.Fatal(res.Errors)
		}
	}
	for k := 0; k < 3; k++ {
		tick(k)
	}
	if st := p.Stats(); st.SeriesTracked != 4 || st.SeriesRefusedCap != 8 {
		t.Fatalf("tracked %d, refused %d; want 4 (2 per selector), 8", st.SeriesTracked, st.SeriesRefusedCap)
	}
	// Instances 0 and 1 (the admitted ones) stop; after ForgetAfter and
	// the retry delay, two of the others take their place.
	q.lo = 2
	for k := 3; k < 30; k++ {
		tick(k)
	}
	st := p.Stats()
	if st.SeriesTracked != 4 || st.SeriesRefusedCap != 8 {
		t.Errorf("after churn: tracked %d, refused %d; want 4 readmitted, still 8 refusals", st.SeriesTracked, st.SeriesRefusedCap)
	}
	// Brute force: instances 0 and 1 count 60 events a minute each at
	// ticks 1 and 2 (tick 0 is the baseline); they are forgotten and their
	// places freed at the prune of tick 19; instances 2 and 3, refused at
	// ticks 0, 5, 10 and 15, are admitted at the retry of tick 20 (their
	// baseline) and count at ticks 21 to 29.
	want := float64(2*60*2 + 2*60*9)
	w := eng.Evaluate(t0.Add(29 * time.Minute)).SLOs[0].Groups[0].Windows[0]
	if w.Good != want || w.Valid != want {
		t.Errorf("1h window %v/%v events, want %v", w.Good, w.Valid, want)
	}
}
