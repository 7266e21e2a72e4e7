package scrape

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.uber.org/zap/zaptest"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/promtest"
)

// liveCounters is a counter source that Prometheus scrapes: at every scrape
// each series grows by a pseudo-random amount, so that every raw sample
// carries events. It restarts model "a" (its counters drop to a small
// value) at chosen scrapes, exposes model "c" only from a chosen scrape on
// (and only once non-zero), and fails a run of scrapes (a scrape gap).
type liveCounters struct {
	mu       sync.Mutex
	scrapes  int
	rng      *rand.Rand
	vals     map[string]float64 // by "model/code"
	resets   map[int]bool       // scrape numbers where model a restarts
	sinceA   int                // scrapes served since model a (re)started
	lateFrom int                // first scrape that exposes model c
	gap      [2]int             // scrapes in [gap[0], gap[1]) fail
}

// restartShape shapes model a's increment inc of code at the pos-th scrape
// served since it (re)started (0: the restart itself), so that a restart
// always drops its counters to less than half of their value before, as
// a process restart does, even when the server lost up to two scrapes
// right after the restart or three right before it (scrapes that time out
// under load are served, and their events happen, but never stored): the
// first three scrapes after a restart add little (200: 1 each, 500: 1 then
// 0), every later one much more (200: 30 to 69, 500: 2 to 4). A drop to at
// least half looks like two replicas of one counter to the tracker's
// duplicate guard, which holds it back for a few samples by design; the
// raw-sample truth does not model that (checkRestartsClear says so if it
// ever happens).
func restartShape(code string, pos int, inc float64) float64 {
	switch {
	case code == "200" && pos < 3:
		return 1
	case code == "200":
		return 29 + inc
	case pos == 0:
		return 1
	case pos < 3:
		return 0
	default:
		return 2 + math.Mod(inc, 3)
	}
}

func newLiveCounters() *liveCounters {
	lc := &liveCounters{rng: rand.New(rand.NewPCG(16, 61)), vals: map[string]float64{},
		resets: map[int]bool{}, lateFrom: 26, gap: [2]int{34, 39}}
	// Model a restarts every 7 scrapes: with 1s scrapes and 3s ticks, most
	// restarts fall between two ticks.
	for k := 9; k < 400; k += 7 {
		lc.resets[k] = true
	}
	return lc
}

func (lc *liveCounters) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.scrapes++
	k := lc.scrapes
	if k >= lc.gap[0] && k < lc.gap[1] {
		http.Error(w, "scrape gap", http.StatusServiceUnavailable)
		return
	}
	if lc.resets[k] {
		lc.sinceA = 0
	}
	var b strings.Builder
	b.WriteString("# TYPE app_requests_total counter\n")
	for _, m := range []string{"a", "b", "c"} {
		if m == "c" && k < lc.lateFrom {
			continue
		}
		for _, code := range []string{"200", "500"} {
			key := m + "/" + code
			inc := float64(lc.rng.IntN(40) + 1)
			if code == "500" {
				inc = float64(lc.rng.IntN(4))
			}
			if m == "a" {
				inc = restartShape(code, lc.sinceA, inc)
			}
			if m == "a" && lc.resets[k] {
				lc.vals[key] = inc // restarted: counting again from zero
			} else {
				lc.vals[key] += inc
			}
			if lc.vals[key] == 0 {
				continue // exposed only once non-zero
			}
			fmt.Fprintf(&b, "app_requests_total{model=%q,code=%q} %g\n", m, code, lc.vals[key])
		}
	}
	lc.sinceA++
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = w.Write([]byte(b.String()))
}

// Selectors of the live source.
const (
	liveGood  = `app_requests_total{job="app",code="200"}`
	liveBad   = `app_requests_total{job="app",code="500"}`
	liveValid = `app_requests_total{job="app"}`
)

// liveModelMatchers pick models of the live source; each has an SLO of its
// own (SLOs 3 on of newLiveEngine), whose selectors differ only in their
// matcher on model, so that a tick reads them through one union: three by
// value, two by overlapping regexes.
var liveModelMatchers = []string{`model="a"`, `model="b"`, `model="c"`, `model=~"a|b"`, `model=~"[bc]"`}

// liveModelGood and liveModelValid are the selectors of SLO 3+i. job=~
// keeps them from being read inside liveValid (see shareReads).
func liveModelGood(i int) string {
	return fmt.Sprintf(`app_requests_total{job=~"app",%s,code="200"}`, liveModelMatchers[i])
}
func liveModelValid(i int) string {
	return fmt.Sprintf(`app_requests_total{job=~"app",%s}`, liveModelMatchers[i])
}

// refuseUnions refuses every union selector (planUnions writes them with
// a __name__ matcher), as a server would refuse a request over its size
// limit.
type refuseUnions struct {
	Querier
	refused atomic.Int64
}

func (r *refuseUnions) RawSamples(ctx context.Context, sel string, start, end time.Time) (model.Matrix, error) {
	if strings.HasPrefix(sel, `{__name__=`) {
		r.refused.Add(1)
		return nil, &QueryError{Reason: ReasonHTTP4xx, Endpoint: "query", Expr: sel, Status: http.StatusRequestURITooLong, Err: errors.New("URI too long")}
	}
	return r.Querier.RawSamples(ctx, sel, start, end)
}

// liveInterval is the engine's tick in the live proof; Prometheus scrapes
// every second.
const liveInterval = 3 * time.Second

var liveWindows = []time.Duration{3 * time.Second, 6 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 3 * time.Minute}

// newLiveEngine builds an engine with eight SLOs (good/valid, by model;
// bad/valid; good/bad; good/valid of each of liveModelMatchers) and a
// puller on q.
func newLiveEngine(t *testing.T, q Querier) (*evaluator.Engine, *Puller) {
	t.Helper()
	spec := func(name string) evaluator.Spec {
		return evaluator.Spec{Name: name, Objective: 0.99, Period: 5 * time.Minute, Windows: liveWindows}
	}
	specs := []evaluator.Spec{spec("by-model"), spec("bad-valid"), spec("good-bad")}
	targets := []Target{
		{SLO: 0, GroupBy: []string{"model"}, Good: Selector{Expr: liveGood}, Valid: Selector{Expr: liveValid}},
		{SLO: 1, Bad: Selector{Expr: liveBad}, Valid: Selector{Expr: liveValid}},
		{SLO: 2, Good: Selector{Expr: liveGood}, Bad: Selector{Expr: liveBad}},
	}
	for i := range liveModelMatchers {
		targets = append(targets, Target{SLO: len(specs), Good: Selector{Expr: liveModelGood(i)}, Valid: Selector{Expr: liveModelValid(i)}})
		specs = append(specs, spec(fmt.Sprintf("models-%d", i)))
	}
	eng, err := evaluator.New(liveInterval, specs)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPuller(q, eng, targets, PullerConfig{Interval: liveInterval, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return eng, p
}

// rawTruth computes, from the raw samples Prometheus returns for
// sel[range] at `to`, the events of (from, to] per value of label by ("":
// all series): per series the reset-aware deltas between consecutive raw
// samples in (from, to], the first against the last sample at or before
// from; a series whose first sample is inside counts from its second. It
// never uses increase().
func rawTruth(t *testing.T, srv truthServer, sel, by string, from, to time.Time) map[string]float64 {
	t.Helper()
	lookback := to.Sub(from) + 2*time.Minute
	m, err := srv.QueryMatrix(context.Background(), fmt.Sprintf("%s[%s]", sel, model.Duration(lookback)), to)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, ss := range m {
		key := ""
		if by != "" {
			key = string(ss.Metric[model.LabelName(by)])
		}
		var prev float64
		have := false
		for _, sp := range ss.Values {
			ts := sp.Timestamp.Time()
			v := float64(sp.Value)
			if math.IsNaN(v) {
				continue // a staleness marker, where a server returns them
			}
			if !ts.After(from) {
				prev, have = v, true
				continue
			}
			if ts.After(to) {
				break
			}
			if have {
				if v < prev {
					out[key] += v
				} else {
					out[key] += v - prev
				}
			}
			prev, have = v, true
		}
		if _, ok := out[key]; !ok {
			out[key] += 0
		}
	}
	return out
}

// checkRawTruth compares every window of the live engine at T with
// rawTruth, over (max(T-W, start), T] where start is the engine's first
// pull, within 1e-9 relative.
func checkRawTruth(t *testing.T, srv truthServer, snap *evaluator.Snapshot, start time.Time) {
	t.Helper()
	T := snap.Time
	for si, sr := range snap.SLOs {
		for wi, w := range sr.Windows {
			from := T.Add(-w)
			if from.Before(start) {
				from = start
			}
			by := ""
			if si == 0 {
				by = "model"
			}
			goodSel, badSel, validSel := liveGood, liveBad, liveValid
			if si >= 3 {
				goodSel, validSel = liveModelGood(si-3), liveModelValid(si-3)
			}
			good := rawTruth(t, srv, goodSel, by, from, T)
			bad := rawTruth(t, srv, badSel, by, from, T)
			valid := rawTruth(t, srv, validSel, by, from, T)
			got := map[string]evaluator.WindowResult{}
			for _, g := range sr.Groups {
				key := ""
				if len(g.Labels) > 0 {
					key = g.Labels[0].Value
				}
				got[key] = g.Windows[wi]
			}
			keys := make([]string, 0, len(valid))
			for k := range valid {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, key := range keys {
				wantGood, wantValid := good[key], valid[key]
				switch si {
				case 1:
					wantGood = math.Max(0, valid[key]-bad[key])
				case 2:
					wantValid = good[key] + bad[key]
				}
				g := got[key]
				if !closeRel(g.Good, wantGood) || !closeRel(g.Valid, wantValid) {
					t.Errorf("%s at %s, window %s %q: engine good/valid %v/%v, raw samples %v/%v",
						sr.Spec.Name, T.Format("15:04:05"), fmtDur(w), key, g.Good, g.Valid, wantGood, wantValid)
				}
			}
		}
	}
}

func closeRel(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// truthServer answers the test's own queries: Prometheus (promtest) or
// VictoriaMetrics.
type truthServer interface {
	Query(ctx context.Context, expr string, ts time.Time) (model.Vector, error)
	QueryMatrix(ctx context.Context, expr string, ts time.Time) (model.Matrix, error)
}

// TestRawSampleProof runs a real Prometheus scraping a live counter source
// every second (restarts between ticks, a series that appears late, a
// scrape gap) and ticks the puller every 3s: after every tick, every
// window of every SLO equals the events computed by the test from the raw
// samples themselves. Then a backfill of the same span, and a backfill of
// its first half followed by ticks, give the same numbers as ticking.
func TestRawSampleProof(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus and runs for about a minute")
	}
	src, srv := startLive(t)
	runRawSampleProof(t, src, srv, newTestClient(t, srv.URL), 1500*time.Millisecond)
}

// startLive starts the live counter source and a Prometheus that scrapes
// it every second, both stopped when the test ends.
func startLive(t *testing.T) (*liveCounters, *promtest.Server) {
	t.Helper()
	src := newLiveCounters()
	hs := httptest.NewServer(src)
	t.Cleanup(hs.Close)
	return src, promtest.Start(t, promtest.Options{ConfigYAML: liveScrapeConfig(hs.URL)})
}

// waitForValue polls expr on srv until its one sample is at least least;
// it fails the test after within (a hang detector, not a timing
// assertion).
func waitForValue(t *testing.T, srv truthServer, expr string, least float64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		v, err := srv.Query(context.Background(), expr, time.Now())
		if err == nil && len(v) == 1 && float64(v[0].Value) >= least {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never reached %g: %v %v", expr, least, v, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// liveScrapeConfig scrapes the live source every second.
func liveScrapeConfig(url string) string {
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: app
    static_configs:
      - targets: [%q]
`, strings.TrimPrefix(url, "http://"))
}

// searchableWaiter is a truth server that makes samples searchable in
// batches and can be asked to wait until every sample scraped at or
// before a time is searchable (VictoriaMetrics).
type searchableWaiter interface {
	waitSearchable(t *testing.T, at time.Time)
}

// visibleAt counts, per series of liveValid, the raw samples srv returns
// in the 30s up to T: what a tick at T could read.
func visibleAt(t *testing.T, srv truthServer, T time.Time) map[string]int {
	t.Helper()
	m, err := srv.QueryMatrix(context.Background(), liveValid+"[30s]", T)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]int, len(m))
	for _, ss := range m {
		out[ss.Metric.String()] = len(ss.Values)
	}
	return out
}

// checkNoLateSamples fails the test when srv now returns samples at or
// before a tick's time that it did not return right after the tick: the
// engine counts such a sample once, in the tick that first reads it, while
// the truth puts it in the bucket of its timestamp, so every window
// starting between the two would differ. The proof holds only for samples
// searchable by the time of the tick; this says so instead of leaving a
// window's mismatch unexplained.
func checkNoLateSamples(t *testing.T, srv truthServer, seen map[time.Time]map[string]int) {
	t.Helper()
	for T, before := range seen {
		for series, n := range visibleAt(t, srv, T) {
			if before[series] != n {
				t.Errorf("tick at %s: %s had %d samples at or before it searchable right after the tick, %d now: the server made samples searchable after the tick read them (ingestion lag beyond the test's wait)",
					T.Format("15:04:05"), series, before[series], n)
			}
		}
	}
}

// checkRestartsClear fails the test when a series of liveValid has, in
// the raw samples srv holds up to T, a drop to at least half of the value
// before it: the tracker's duplicate guard holds such a drop back for a few
// samples (two interleaved replicas look like that), so the engine would
// count its events some ticks later than the raw-sample truth, by design.
// restartShape keeps the live source's restarts clear of it.
func checkRestartsClear(t *testing.T, srv truthServer, T time.Time) {
	t.Helper()
	m, err := srv.QueryMatrix(context.Background(), liveValid+"[10m]", T)
	if err != nil {
		t.Fatal(err)
	}
	for _, ss := range m {
		prev := math.NaN()
		for _, sp := range ss.Values {
			v := float64(sp.Value)
			if math.IsNaN(v) {
				continue
			}
			if v < prev && v >= prev/2 {
				t.Errorf("%s drops from %g to %g at %s: the duplicate guard holds such a drop back, which the raw-sample truth does not model (a restart the server saw only after lost scrapes; see restartShape)",
					ss.Metric, prev, v, sp.Timestamp.Time().Format("15:04:05.000"))
			}
			prev = v
		}
	}
}

// runRawSampleProof is the proof of the engine reading through client
// from a server that scrapes src, with the raw-sample truth read from srv
// (the same server, or the Prometheus behind it). Ticks run delay after
// their time, and, when srv is a searchableWaiter, once it says every
// sample up to the tick's time is searchable (the daemon's query_offset
// does the same): the engine counts a sample that becomes searchable
// after a tick in the next tick (once), which the raw-sample truth, read
// later, puts a bucket earlier. checkNoLateSamples verifies that no
// sample did.
func runRawSampleProof(t *testing.T, src *liveCounters, srv truthServer, client *Client, delay time.Duration) {
	ctx := context.Background()

	// Wait for a few samples, then start on the next tick.
	waitForValue(t, srv, `count_over_time(app_requests_total{model="a",code="200"}[1m])`, 3, 30*time.Second)
	sleepUntil := func(tm time.Time) { time.Sleep(time.Until(tm)) }
	T0 := time.Now().Truncate(liveInterval).Add(liveInterval)
	const ticks = 22
	eng, p := newLiveEngine(t, client)
	seen := map[time.Time]map[string]int{}
	for k := 0; k <= ticks; k++ {
		T := T0.Add(time.Duration(k) * liveInterval)
		sleepUntil(T.Add(delay))
		if w, ok := srv.(searchableWaiter); ok {
			w.waitSearchable(t, T)
		}
		r := p.Tick(ctx, T)
		seen[T] = visibleAt(t, srv, T)
		if k > 0 && (r.Failed != 0 || r.Down != 0 || r.GapSteps != 0) {
			t.Fatalf("tick %d: %+v", k, r)
		}
		snap := eng.Evaluate(T)
		for _, s := range snap.SLOs {
			if !s.DataUp {
				t.Errorf("tick %d: %s data_up 0", k, s.Spec.Name)
			}
		}
		if k > 0 {
			checkRawTruth(t, srv, snap, T0)
		}
	}
	Tend := T0.Add(ticks * liveInterval)
	checkNoLateSamples(t, srv, seen)
	checkRestartsClear(t, srv, Tend)
	ticked := eng.Evaluate(Tend)
	st := p.Stats()
	src.mu.Lock()
	scrapes := src.scrapes
	src.mu.Unlock()
	t.Logf("%d scrapes, %d ticks: %d queries, %d raw samples, resets %d, new series %d",
		scrapes, ticks+1, st.Queries, st.PointsFetched, st.Counters.Resets, st.Counters.NewSeries)
	// Two requests a tick: liveValid (whose read holds the good and bad
	// selectors) and the union of the per-model valid selectors.
	if want := uint64(2 * (ticks + 1)); st.Queries != want {
		t.Errorf("%d queries in %d ticks, want %d", st.Queries, ticks+1, want)
	}
	if st.Counters.Resets < 4 {
		t.Errorf("%d resets seen; the source restarted model a every 7 scrapes", st.Counters.Resets)
	}
	if len(ticked.SLOs[0].Groups) != 3 {
		t.Errorf("groups %v, want a, b and the late c", ticked.SLOs[0].Groups)
	}

	t.Run("backfill equals ticking", func(t *testing.T) {
		beng, bp := newLiveEngine(t, client)
		var prog BackfillProgress
		if err := bp.Backfill(ctx, T0, Tend, func(b BackfillProgress) { prog = b }); err != nil {
			t.Fatal(err)
		}
		t.Logf("backfill: %d queries, %d samples, %d bytes", prog.Queries, prog.Points, prog.Bytes)
		// The self-metrics say what it cost: the probe and two raw
		// queries, of liveValid, whose series hold the good and bad ones,
		// and of the union of the per-model valid selectors.
		if bs := bp.Stats(); bs.BackfillQueries != uint64(prog.Queries) || bs.BackfillSamples != prog.Points ||
			bs.BackfillBytes != prog.Bytes || prog.Bytes == 0 || bs.BackfillSeconds <= 0 || prog.Queries != 3 {
			t.Errorf("backfill stats %+v, progress %+v", bs, prog)
		}
		snap := beng.Evaluate(Tend)
		sameWindows(t, ticked, snap)
		checkRawTruth(t, srv, snap, T0)
		for _, s := range snap.SLOs {
			if !s.DataUp {
				t.Errorf("%s: data_up 0 after a successful backfill", s.Spec.Name)
			}
		}
	})
	t.Run("empty history costs the probe", func(t *testing.T) {
		specs := make([]evaluator.Spec, 100)
		targets := make([]Target, 100)
		for i := range specs {
			specs[i] = evaluator.Spec{Name: fmt.Sprintf("none-%d", i), Objective: 0.99, Period: 24 * time.Hour, Windows: liveWindows}
			targets[i] = Target{SLO: i, Good: Selector{Expr: fmt.Sprintf(`absent_total{job="app",slo="%d",code="200"}`, i)},
				Valid: Selector{Expr: fmt.Sprintf(`absent_total{job="app",slo="%d"}`, i)}}
		}
		ep := newTestPuller(t, client, liveInterval, specs, targets)
		var prog BackfillProgress
		if err := ep.Backfill(ctx, Tend.Add(-24*time.Hour), Tend, func(b BackfillProgress) { prog = b }); err != nil {
			t.Fatal(err)
		}
		// 200 expressions, of which the 100 valid ones are read (they hold
		// the good series), all through remote reads of the whole day, the
		// 100 selectors through unions in each (they differ only in slo),
		// segments doubling while empty (2, 4, 8, 16 slots, then a day's),
		// and nothing else.
		t.Logf("empty history: %+v", prog)
		if prog.Queries < 1 || prog.Queries > 8 || prog.Points != 0 || prog.StepsDone != prog.StepsTotal {
			t.Errorf("empty history: %+v, want at most 8 remote reads and no samples", prog)
		}
		// A tick reads the 100 valid selectors through one union.
		if r := ep.Tick(ctx, Tend.Add(liveInterval)); r.Down != 0 || r.Queries != 1 {
			t.Errorf("first tick after an empty backfill: %+v", r)
		}
	})
	t.Run("a refused union is read query by query", func(t *testing.T) {
		rq := &refuseUnions{Querier: client}
		ueng, up := newLiveEngine(t, rq)
		mid := T0.Add(ticks / 2 * liveInterval)
		if err := up.Backfill(ctx, T0, mid, nil); err != nil {
			t.Fatal(err)
		}
		first := true
		for T := mid.Add(liveInterval); !T.After(Tend); T = T.Add(liveInterval) {
			r := up.Tick(ctx, T)
			// The first tick sends the union (refused), liveValid and the
			// per-model selectors; the others only the last six.
			want := TickResult{Queries: 1 + len(liveModelMatchers), Failed: 0}
			if first {
				want = TickResult{Queries: 2 + len(liveModelMatchers), Failed: 1}
			}
			if r.Queries != want.Queries || r.Failed != want.Failed || r.Down != 0 {
				t.Fatalf("tick at %s: %+v, want %d requests of which %d failed, every SLO up", T, r, want.Queries, want.Failed)
			}
			first = false
		}
		sameWindows(t, ticked, ueng.Evaluate(Tend))
		if n := rq.refused.Load(); n != 2 { // one union in the backfill, one in the ticks
			t.Errorf("%d unions refused, want 2: a refused union must not be sent again", n)
		}
	})
	t.Run("backfill then ticks equals ticking", func(t *testing.T) {
		meng, mp := newLiveEngine(t, client)
		mid := T0.Add(ticks / 2 * liveInterval)
		if err := mp.Backfill(ctx, T0, mid, nil); err != nil {
			t.Fatal(err)
		}
		for T := mid.Add(liveInterval); !T.After(Tend); T = T.Add(liveInterval) {
			if r := mp.Tick(ctx, T); r.Failed != 0 || r.Down != 0 {
				t.Fatalf("tick at %s: %+v", T, r)
			}
		}
		sameWindows(t, ticked, meng.Evaluate(Tend))
	})
}

// TestUnionSeriesCap: a union's answer may hold max_series_per_selector
// series for each of its selectors, so that per-service SLOs read in one
// request are not refused for their sum; beyond that it is refused and its
// selectors read one by one, each under its own cap.
func TestUnionSeriesCap(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus")
	}
	_, srv := startLive(t)
	ctx := context.Background()
	// Every model's two series: model c appears from scrape 26 on.
	waitForValue(t, srv, `count(app_requests_total)`, 6, 90*time.Second)
	time.Sleep(3 * time.Second) // the ticks below read up to a second ago
	for _, tc := range []struct {
		maxSeries       int
		queries, failed int
	}{
		// 6 series through one union of 5 selectors: within 5 x 2.
		{maxSeries: 2, queries: 1, failed: 0},
		// 6 > 5 x 1: refused, then every selector read alone, under its
		// own cap of 1 (which refuses those with 2 or 4 series).
		{maxSeries: 1, queries: 1 + len(liveModelMatchers), failed: -1},
	} {
		c, err := NewClient(ClientConfig{URL: srv.URL, Timeout: 20 * time.Second, Retries: -1, MaxSeries: tc.maxSeries})
		if err != nil {
			t.Fatal(err)
		}
		specs := make([]evaluator.Spec, len(liveModelMatchers))
		targets := make([]Target, len(liveModelMatchers))
		for i := range liveModelMatchers {
			specs[i] = evaluator.Spec{Name: fmt.Sprintf("models-%d", i), Objective: 0.99, Period: 5 * time.Minute, Windows: liveWindows}
			targets[i] = Target{SLO: i, Good: Selector{Expr: liveModelGood(i)}, Valid: Selector{Expr: liveModelValid(i)}}
		}
		eng, err := evaluator.New(liveInterval, specs)
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewPuller(c, eng, targets, PullerConfig{Interval: liveInterval, Logger: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		r := p.Tick(ctx, time.Now().Add(-time.Second).Truncate(time.Second))
		if tc.failed < 0 {
			tc.failed = r.Failed // at least the union; the rest depends on the series each has yet
			if r.Failed < 1 || len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Error(), "union of 5 selectors") {
				t.Errorf("the union's refusal should come first and say it was a union: %v", r.Errors)
			}
		}
		if r.Queries != tc.queries || r.Failed != tc.failed {
			t.Errorf("max_series_per_selector %d: %d requests, %d failed (%v), want %d and %d",
				tc.maxSeries, r.Queries, r.Failed, r.Errors, tc.queries, tc.failed)
		}
	}
}

// TestLiveRestartsClear: whichever scrapes around a restart of model a a
// server loses (up to two right after it, three right before it), the
// samples it keeps drop to less than half at the restart, so the
// duplicate guard never holds a restart of the live source back (see
// restartShape).
func TestLiveRestartsClear(t *testing.T) {
	lc := newLiveCounters()
	const scrapes = 120
	vals := map[string][]float64{} // by series line prefix, per served scrape (NaN: absent or failed)
	for k := 1; k <= scrapes; k++ {
		rec := httptest.NewRecorder()
		lc.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		got := map[string]float64{}
		for _, line := range strings.Split(rec.Body.String(), "\n") {
			var v float64
			if i := strings.LastIndexByte(line, ' '); strings.HasPrefix(line, `app_requests_total{model="a"`) && i > 0 {
				if _, err := fmt.Sscanf(line[i+1:], "%g", &v); err != nil {
					t.Fatal(err)
				}
				got[line[:i]] = v
			}
		}
		for _, key := range []string{`app_requests_total{model="a",code="200"}`, `app_requests_total{model="a",code="500"}`} {
			v, ok := got[key]
			if !ok {
				v = math.NaN()
			}
			vals[key] = append(vals[key], v)
		}
	}
	restarts := 0
	for key, vs := range vals {
		for k := 1; k <= scrapes; k++ {
			if !lc.resets[k] || (k >= lc.gap[0] && k < lc.gap[1]) {
				continue
			}
			restarts++
			r := k - 1 // index of the restart scrape
			for lostBefore := 0; lostBefore <= 3; lostBefore++ {
				for lostAfter := 0; lostAfter <= 2; lostAfter++ {
					prev, next := vs[r-1-lostBefore], vs[r+lostAfter]
					if math.IsNaN(prev) || math.IsNaN(next) {
						continue
					}
					if !(next < prev/2) {
						t.Errorf("%s: restart at scrape %d, %d scrapes lost before and %d after: %g -> %g is not a drop to below half",
							key, k, lostBefore, lostAfter, prev, next)
					}
				}
			}
		}
	}
	if restarts < 20 {
		t.Errorf("%d restarts checked", restarts)
	}
}
