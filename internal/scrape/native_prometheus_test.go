package scrape

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap/zaptest"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/promtest"
)

const (
	exprProofNative  = `proof_latency_seconds{job="native"}`
	exprProofClassic = `proof_latency_classic_seconds_bucket{job="native"}`
	proofThreshold   = 0.25
)

// proofValues are the observed latencies, cycled: 0.25 and 0.5 sit exactly
// on boundaries of schema 3 (2^(k/8)), 0.3 inside the bucket
// (2^(-14/8), 2^(-13/8)].
var proofValues = []float64{0.003, 0.04, 0.11, 0.2, 0.25, 0.26, 0.3, 0.45, 0.5, 0.8, 1.7, 0.07, 0.24}

// proofExporter is one process' registry: a native histogram (factor 1.1,
// so schema 3) and a classic one with a 0.25 bucket, both by model, fed
// the same observations.
type proofExporter struct {
	native, classic *prometheus.HistogramVec
	handler         http.Handler
}

func newProofExporter() *proofExporter {
	reg := prometheus.NewRegistry()
	e := &proofExporter{
		native: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "proof_latency_seconds", Help: "Request latency (native).",
			NativeHistogramBucketFactor: 1.1}, []string{"model"}),
		classic: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "proof_latency_classic_seconds", Help: "Request latency (classic).",
			Buckets: []float64{0.1, 0.25, 0.5, 1}}, []string{"model"}),
	}
	reg.MustRegister(e.native, e.classic)
	for _, m := range []string{"a", "b"} {
		e.native.WithLabelValues(m)
		e.classic.WithLabelValues(m)
	}
	e.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return e
}

// proofTruth is what the test observed, per model.
type proofTruth struct {
	mu        sync.Mutex
	good, all map[string]float64
}

func (p *proofTruth) observe(e *proofExporter, m string, v float64) {
	e.native.WithLabelValues(m).Observe(v)
	e.classic.WithLabelValues(m).Observe(v)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.all[m]++
	if v <= proofThreshold {
		p.good[m]++
	}
}

// TestNativeHistogramProof runs the puller against a real Prometheus
// (2.42 needs --enable-feature=native-histograms) scraping, every second,
// a client_golang registry with a native histogram by model. The test
// observes a known sequence for about 15s, with one restart of the
// exporter (a new registry: every histogram starts again from zero).
// Then, backfilling the span and evaluating the engine after every step:
//
//   - at every step, the 3s and 10s windows equal the step-by-step
//     differences of PromQL's own derivation on the same server,
//     histogram_count(x) and histogram_fraction(0, 0.25, x) *
//     histogram_count(x) at the same pinned steps, with the reset taken
//     where histogram_count drops;
//   - at every step, a classic histogram fed the same observations, read
//     through its le="0.25" bucket, gives the same counts in every window
//     and group;
//   - at the end, the whole span's good/valid at 0.25 (a boundary) equal
//     what the test observed, per model and in sum, exactly;
//   - ticks across the restart equal a backfill of the whole span;
//   - a threshold that is not a boundary (0.3) fails ticks and backfill
//     with the bucket around it.
func TestNativeHistogramProof(t *testing.T) {
	bin := promtest.Binary(t, "prometheus", "PROMETHEUS")
	var cur atomic.Pointer[proofExporter]
	cur.Store(newProofExporter())
	exp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { cur.Load().handler.ServeHTTP(w, r) }))
	defer exp.Close()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 15s\nscrape_configs:\n"+
		"  - job_name: native\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    static_configs:\n      - targets: [%q]\n",
		strings.TrimPrefix(exp.URL, "http://"))
	srv := promtest.Start(t, promtest.Options{Binary: bin, ConfigYAML: cfg, ExtraArgs: []string{"--enable-feature=native-histograms"}})
	if major := srv.Major(); major != 2 {
		// Prometheus 3 scrapes native histograms only when the scrape
		// configuration asks for them (2.42 refuses the field).
		v, _ := srv.Version()
		t.Logf("Prometheus %q: the proof was written for 2.42; asking for native histograms in the scrape configuration", v)
		cfg = strings.Replace(cfg, "    scrape_timeout: 1s\n", "    scrape_timeout: 1s\n    scrape_native_histograms: true\n", 1)
		if err := srv.UpdateConfig(cfg); err != nil {
			t.Fatal(err)
		}
		if err := srv.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	client := newTestClient(t, srv.URL)
	ctx := context.Background()

	// counts returns the histogram counts per model at ts, and whether
	// both models were returned as native histograms.
	counts := func(ts time.Time) (map[string]float64, bool) {
		v, err := client.Query(ctx, exprProofNative, ts)
		if err != nil {
			t.Fatalf("query %s: %v", exprProofNative, err)
		}
		out := map[string]float64{}
		for _, s := range v {
			if s.Histogram == nil {
				t.Fatalf("%s: a float sample %v; is the native-histograms feature on?", exprProofNative, s)
			}
			out[string(s.Metric["model"])] = float64(s.Histogram.Count)
		}
		return out, len(out) == 2
	}
	// waitCounts waits until Prometheus holds the wanted counts at a whole
	// second that has passed, and returns that second.
	waitCounts := func(what string, want map[string]float64) time.Time {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			ts := time.Now().Add(-50 * time.Millisecond).Truncate(time.Second)
			got, ok := counts(ts)
			if ok && got["a"] == want["a"] && got["b"] == want["b"] {
				return ts
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: Prometheus has counts %v, want %v", what, got, want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	zero := map[string]float64{"a": 0, "b": 0}
	start := waitCounts("first scrape", zero)

	truth := &proofTruth{good: map[string]float64{}, all: map[string]float64{}}
	run := func(n, offset int) {
		e := cur.Load()
		for i := 0; i < n; i++ {
			truth.observe(e, "a", proofValues[(offset+i)%len(proofValues)])
			truth.observe(e, "a", proofValues[(offset+3*i+5)%len(proofValues)])
			if i%2 == 0 {
				truth.observe(e, "b", proofValues[(offset+7*i+1)%len(proofValues)])
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// Phase one, until Prometheus has the final state.
	run(30, 0)
	phase1 := map[string]float64{"a": truth.all["a"], "b": truth.all["b"]}
	waitCounts("end of phase one", phase1)
	// The exporter restarts: a new registry, histograms at zero.
	cur.Store(newProofExporter())
	restarted := waitCounts("after the restart", zero)
	run(30, 4)
	end := waitCounts("end of phase two", map[string]float64{"a": truth.all["a"] - phase1["a"], "b": truth.all["b"] - phase1["b"]})
	T := end.Add(time.Second)
	time.Sleep(time.Until(T.Add(100 * time.Millisecond)))
	t.Logf("span %s..%s (%s), restart seen at %s; observed good/all a %v/%v b %v/%v", start.Format(time.TimeOnly), T.Format(time.TimeOnly),
		T.Sub(start), restarted.Format(time.TimeOnly), truth.good["a"], truth.all["a"], truth.good["b"], truth.all["b"])

	// Engines: the native histogram ungrouped and by model, and the
	// classic one the same two ways.
	const iv = time.Second
	windows := []time.Duration{3 * time.Second, 10 * time.Second, 5 * time.Minute}
	spec := func(name string) evaluator.Spec {
		return evaluator.Spec{Name: name, Service: "proof", Objective: 0.9, Period: time.Hour, Windows: windows}
	}
	inf := math.Inf(1)
	targets := []Target{
		{SLO: 0, Good: Selector{Expr: exprProofNative, NativeLE: le(proofThreshold)}, Valid: Selector{Expr: exprProofNative, NativeLE: &inf}},
		{SLO: 1, GroupBy: []string{"model"}, Good: Selector{Expr: exprProofNative, NativeLE: le(proofThreshold)}, Valid: Selector{Expr: exprProofNative, NativeLE: &inf}},
		{SLO: 2, Good: Selector{Expr: exprProofClassic, LE: le(proofThreshold)}, Valid: Selector{Expr: exprProofClassic, LE: &inf}},
		{SLO: 3, GroupBy: []string{"model"}, Good: Selector{Expr: exprProofClassic, LE: le(proofThreshold)}, Valid: Selector{Expr: exprProofClassic, LE: &inf}},
	}
	newSetup := func(after func(eng *evaluator.Engine, ts time.Time)) (*evaluator.Engine, *Puller) {
		eng, err := evaluator.New(iv, []evaluator.Spec{spec("native"), spec("native-by-model"), spec("classic"), spec("classic-by-model")})
		if err != nil {
			t.Fatal(err)
		}
		cfg := PullerConfig{Interval: iv, Logger: zaptest.NewLogger(t)}
		if after != nil {
			cfg.AfterStep = func(ts time.Time) { after(eng, ts) }
		}
		p, err := NewPuller(newTestClient(t, srv.URL), eng, targets, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return eng, p
	}
	group := func(sr evaluator.SLOResult, key string) *evaluator.GroupResult {
		for i, g := range sr.Groups {
			if (len(g.Labels) == 0 && key == "") || (len(g.Labels) > 0 && g.Labels[0].Value == key) {
				return &sr.Groups[i]
			}
		}
		t.Fatalf("%s: no group %q in %v", sr.Spec.Name, key, sr.Groups)
		return nil
	}

	// PromQL's derivation at every step of the span. histogram_fraction
	// interpolates only inside a bucket; at a boundary it is the exact
	// share, so fraction x count is the count at or below 0.25 up to float
	// rounding: the tolerance is 1e-6 events.
	steps := func(expr string) map[string][]float64 {
		m, err := client.QueryRange(ctx, expr, start, T, iv)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		n := int(T.Sub(start)/iv) + 1
		out := map[string][]float64{}
		for _, ss := range m {
			vals := make([]float64, n)
			for i := range vals {
				vals[i] = math.NaN()
			}
			for _, sp := range ss.Values {
				vals[int(sp.Timestamp.Time().Sub(start)/iv)] = float64(sp.Value)
			}
			out[string(ss.Metric["model"])] = vals
		}
		return out
	}
	cnt := steps(`histogram_count(` + exprProofNative + `)`)
	frac := steps(`histogram_fraction(0, 0.25, ` + exprProofNative + `) * histogram_count(` + exprProofNative + `)`)
	// promqlWindow sums the increments of the steps in (k - w, k].
	promqlWindow := func(key string, w time.Duration, k int) (good, valid float64) {
		c, f := cnt[key], frac[key]
		for j := max(1, k-int(w/iv)+1); j <= k; j++ {
			if math.IsNaN(c[j]) || math.IsNaN(c[j-1]) {
				t.Fatalf("model %s: no histogram_count at step %d", key, j)
			}
			fj, fp := f[j], f[j-1]
			if c[j] == 0 {
				fj = 0 // histogram_fraction of an empty histogram is NaN
			}
			if c[j-1] == 0 {
				fp = 0
			}
			if c[j] < c[j-1] { // reset
				good, valid = good+fj, valid+c[j]
				continue
			}
			good, valid = good+fj-fp, valid+c[j]-c[j-1]
		}
		return good, valid
	}
	compared, partial := 0, 0
	checkStep := func(eng *evaluator.Engine, ts time.Time) {
		snap := eng.Evaluate(ts)
		k := int(ts.Sub(start) / iv)
		for _, w := range windows[:2] {
			wi := snap.SLOs[0].Window(w)
			var sumG, sumV float64
			for _, key := range []string{"a", "b"} {
				pg, pv := promqlWindow(key, w, k)
				sumG, sumV = sumG+pg, sumV+pv
				if g := group(snap.SLOs[1], key).Windows[wi]; math.Abs(g.Good-pg) > 1e-6 || math.Abs(g.Valid-pv) > 1e-6 {
					t.Errorf("%s native-by-model %s %q: good/valid %v/%v, PromQL %v/%v", ts.Format(time.TimeOnly), fmtDur(w), key, g.Good, g.Valid, pg, pv)
				}
			}
			if g := group(snap.SLOs[0], "").Windows[wi]; math.Abs(g.Good-sumG) > 1e-6 || math.Abs(g.Valid-sumV) > 1e-6 {
				t.Errorf("%s native %s: good/valid %v/%v, PromQL %v/%v", ts.Format(time.TimeOnly), fmtDur(w), g.Good, g.Valid, sumG, sumV)
			}
			compared++
			if sumG > 0 && sumG < sumV {
				partial++
			}
		}
		// The classic histogram agrees in every window and group.
		for _, pair := range [][2]int{{0, 2}, {1, 3}} {
			nat, cla := snap.SLOs[pair[0]], snap.SLOs[pair[1]]
			for wi, w := range nat.Windows {
				for _, g := range nat.Groups {
					key := ""
					if len(g.Labels) > 0 {
						key = g.Labels[0].Value
					}
					c := group(cla, key).Windows[wi]
					if g.Windows[wi].Good != c.Good || g.Windows[wi].Valid != c.Valid {
						t.Errorf("%s %s %s %q: native %v/%v, classic %v/%v", ts.Format(time.TimeOnly), nat.Spec.Name, fmtDur(w), key,
							g.Windows[wi].Good, g.Windows[wi].Valid, c.Good, c.Valid)
					}
				}
			}
		}
	}

	// Reference: one backfill over the span, then the tick at T.
	refEng, refP := newSetup(checkStep)
	if err := refP.Backfill(ctx, start, T.Add(-iv), nil); err != nil {
		t.Fatal(err)
	}
	if r := refP.Tick(ctx, T); r.Failed != 0 || r.Down != 0 || len(r.Errors) != 0 || r.GapSteps != 0 {
		t.Fatalf("tick at %s: %+v", T, r)
	}
	ref := refEng.Evaluate(T)

	// Live: a backfill up to 5s before the restart, then one tick per
	// second across it.
	liveEng, liveP := newSetup(nil)
	mid := restarted.Add(-5 * time.Second)
	if err := liveP.Backfill(ctx, start, mid, nil); err != nil {
		t.Fatal(err)
	}
	ticks := 0
	for ts := mid.Add(iv); !ts.After(T); ts = ts.Add(iv) {
		if r := liveP.Tick(ctx, ts); r.Failed != 0 || r.Down != 0 || len(r.Errors) != 0 || r.GapSteps != 0 {
			t.Fatalf("tick at %s: %+v", ts, r)
		}
		ticks++
	}
	sameWindows(t, ref, liveEng.Evaluate(T))
	st := liveP.Stats()
	// The restart is a reset of each model's series in the two native and
	// the two classic sources.
	if st.Counters.Resets != 8 || st.NativeErrors != 0 || st.SkippedSamples != 0 {
		t.Errorf("live stats: resets %d (want 8), native errors %d, skipped %d", st.Counters.Resets, st.NativeErrors, st.SkippedSamples)
	}
	t.Logf("live: backfill to %s, %d ticks; stats %+v", mid.Format(time.TimeOnly), ticks, st)
	// Every step compared two windows; some of them must have held both
	// good and bad events for the comparison to mean something.
	if n := int(T.Sub(start)/iv) + 1; compared != 2*n || partial < n/2 {
		t.Errorf("%d window comparisons over %d steps, %d with good and bad events", compared, n, partial)
	}
	t.Logf("compared 3s and 10s windows with PromQL at %d steps (%d window comparisons with both good and bad events)", compared/2, partial)

	// The whole span (the 5m window holds it) against what was observed.
	whole := ref.SLOs[0].Window(5 * time.Minute)
	for si, sr := range ref.SLOs {
		keys := []string{""}
		if len(targets[si].GroupBy) > 0 {
			keys = []string{"a", "b"}
		}
		for _, key := range keys {
			wantG, wantV := truth.good[key], truth.all[key]
			if key == "" {
				wantG, wantV = truth.good["a"]+truth.good["b"], truth.all["a"]+truth.all["b"]
			}
			if g := group(sr, key).Windows[whole]; g.Good != wantG || g.Valid != wantV {
				t.Errorf("%s %q whole span: good/valid %v/%v, observed %v/%v", sr.Spec.Name, key, g.Good, g.Valid, wantG, wantV)
			}
		}
	}

	// 0.3 is not a boundary of schema 3 and 0.3 was observed: ticks
	// and backfill fail with the bucket around it.
	eng, err := evaluator.New(iv, []evaluator.Spec{spec("off-boundary")})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPuller(client, eng, []Target{{SLO: 0, Good: Selector{Expr: exprProofNative, NativeLE: le(0.3)}, Valid: Selector{Expr: exprProofNative, NativeLE: &inf}}},
		PullerConfig{Interval: iv})
	if err != nil {
		t.Fatal(err)
	}
	spans := regexp.MustCompile(`no native bucket boundary at 0\.3: a populated bucket spans \(([0-9.e-]+), ([0-9.e-]+)\] with \d+ observations; nearby boundaries are `)
	checkSpan := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		m := spans.FindStringSubmatch(err.Error())
		if m == nil {
			t.Fatalf("%s: error %q does not name the bucket around 0.3", what, err)
		}
		lo, _ := strconv.ParseFloat(m[1], 64)
		up, _ := strconv.ParseFloat(m[2], 64)
		if !nearBoundary(lo, math.Pow(2, -14.0/8)) || !nearBoundary(up, math.Pow(2, -13.0/8)) {
			t.Errorf("%s: bucket (%v, %v], want (2^(-14/8), 2^(-13/8)]", what, lo, up)
		}
		t.Logf("%s: %v", what, err)
	}
	r := p.Tick(ctx, T)
	if r.Down != 1 || len(r.Errors) != 1 {
		t.Fatalf("tick at 0.3: %+v", r)
	}
	checkSpan("tick", r.Errors[0])
	checkSpan("backfill", p.Backfill(ctx, start, T, nil))
	if eng.Evaluate(T).SLOs[0].DataUp {
		t.Error("data_up true with a threshold that is not a boundary")
	}
	if s := refEng.Stats(); s.OutOfOrder != 0 || s.Invalid != 0 || s.Clamped != 0 {
		t.Errorf("engine refused or clamped records: %+v", s)
	}
}
