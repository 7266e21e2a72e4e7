package plan

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
	"github.com/slo-exporter/slo-exporter/internal/synth"
)

// The tests in this file prove the Timeslices budgeting method and
// calendar budgets end to end: synthetic counters go into a real
// Prometheus (2.42 from Debian, or a 3.x binary given by PROMETHEUS) as
// TSDB blocks; a configuration written as users write it goes through
// config.Parse, Build, evaluator.New, scrape.NewClient and scrape.NewPuller
// as in the daemon; the puller backfills the history; and the snapshots
// are compared with brute force on the generated samples (exact) and with
// PromQL on the same server (within what increase() extrapolates).

// Selectors of the synthetic history, as the configurations write them.
const (
	methodsGood  = `synth_requests_total{job="synth",code="200"}`
	methodsValid = `synth_requests_total{job="synth"}`
)

// methodsRun is one configuration wired as the daemon wires it, against a
// real Prometheus.
type methodsRun struct {
	srv    *promtest.Server
	cfg    *config.Config
	plan   *Plan
	eng    *evaluator.Engine
	puller *scrape.Puller
	// leftClosed is true when the server's range selectors include a
	// sample exactly at the window's start (Prometheus 2.x).
	leftClosed bool
}

// serveHistory writes series as TSDB blocks, one promtool run per UTC day
// of samples (promtool 2.42 re-reads its whole input for every 2h block it
// cuts), and starts Prometheus on them.
func serveHistory(t *testing.T, series []synth.Series) *promtest.Server {
	t.Helper()
	promtool := promtest.Binary(t, "promtool", "PROMTOOL")
	bin := promtest.Binary(t, "prometheus", "PROMETHEUS")
	dir := filepath.Join(t.TempDir(), "data")
	began := time.Now()
	days := synth.Days(series)
	for _, day := range days {
		var om bytes.Buffer
		if err := synth.WriteOpenMetrics(&om, day); err != nil {
			t.Fatal(err)
		}
		promtest.CreateBlocks(t, promtool, om.Bytes(), dir)
	}
	t.Logf("promtool: %d days of history in %s", len(days), time.Since(began).Round(time.Millisecond))
	return promtest.Start(t, promtest.Options{Binary: bin, DataDir: dir})
}

// rangeLeftClosed asks srv whether its range selectors hold a sample
// exactly at the window's start (Prometheus 2.x) or not (3.x):
// count_over_time over one scrape interval of s that ends on a sample
// counts 2 or 1. Asking the behaviour rather than the version also works
// for builds that report no version (go install); when the server reports
// one, the two must agree.
func rangeLeftClosed(t *testing.T, srv *promtest.Server, s synth.Series) bool {
	t.Helper()
	i := len(s.Samples) / 2
	from, to := s.Samples[i-1].T, s.Samples[i].T
	var sel []string
	for k, v := range s.Labels {
		sel = append(sel, fmt.Sprintf("%s=%q", k, v))
	}
	sort.Strings(sel)
	expr := fmt.Sprintf("count_over_time({%s}[%dms])", strings.Join(sel, ","), to-from)
	v, err := srv.Query(context.Background(), expr, time.UnixMilli(to))
	if err != nil || len(v) != 1 || (v[0].Value != 1 && v[0].Value != 2) {
		t.Fatalf("%s at %s: %v, %v; want one sample of 1 or 2", expr, utc(time.UnixMilli(to)), v, err)
	}
	closed := v[0].Value == 2
	if m := srv.Major(); m != 0 && (m == 2) != closed {
		t.Fatalf("Prometheus %d.x, but %s counts %v", m, expr, v[0].Value)
	}
	return closed
}

// wireConfig takes doc, a configuration with one %q verb for the
// Prometheus URL, along the path of serve and backtest: config.Parse,
// Build, evaluator.New, a client from the prometheus section and a puller
// over the plan's targets. afterStep, when not nil, runs after every pull
// the puller records, with the engine and the pull's time. probe is one
// of the served series, to learn the server's range semantics.
func wireConfig(t *testing.T, srv *promtest.Server, doc string, probe synth.Series, afterStep func(eng *evaluator.Engine, at time.Time)) *methodsRun {
	t.Helper()
	cfg, err := config.Parse("methods.yaml", []byte(fmt.Sprintf(doc, srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	return wireLoaded(t, srv, cfg, probe, afterStep)
}

// wireLoaded is wireConfig for a configuration already loaded.
func wireLoaded(t *testing.T, srv *promtest.Server, cfg *config.Config, probe synth.Series, afterStep func(eng *evaluator.Engine, at time.Time)) *methodsRun {
	t.Helper()
	p, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := evaluator.New(p.Interval, p.Specs)
	if err != nil {
		t.Fatal(err)
	}
	client, err := scrape.NewClient(scrape.ClientConfig{URL: cfg.Prometheus.URL, HTTP: cfg.Prometheus.HTTPClientConfig,
		Timeout: time.Duration(cfg.Global.QueryTimeout), MaxConcurrency: cfg.Global.MaxConcurrentQueries})
	if err != nil {
		t.Fatal(err)
	}
	pc := scrape.PullerConfig{Interval: p.Interval, MaxPoints: cfg.Global.MaxPointsPerQuery}
	if afterStep != nil {
		pc.AfterStep = func(at time.Time) { afterStep(eng, at) }
	}
	puller, err := scrape.NewPuller(client, eng, p.Targets, pc)
	if err != nil {
		t.Fatal(err)
	}
	return &methodsRun{srv: srv, cfg: cfg, plan: p, eng: eng, puller: puller, leftClosed: rangeLeftClosed(t, srv, probe)}
}

// backfill replays [from, to] and returns the first step the puller
// replayed, the baseline of every counter: the puller starts a source at
// most its targets' longest period before to.
func (r *methodsRun) backfill(t *testing.T, from, to time.Time) time.Time {
	t.Helper()
	var first time.Time
	began := time.Now()
	err := r.puller.Backfill(context.Background(), from, to, func(bp scrape.BackfillProgress) { first = bp.From })
	if err != nil {
		t.Fatal(err)
	}
	st := r.puller.Stats()
	t.Logf("backfill %s to %s in %s: %d steps, %d queries, %d points; resets %d, new series %d, forgotten %d",
		first.Format(time.RFC3339), to.UTC().Format(time.RFC3339), time.Since(began).Round(time.Millisecond),
		st.Steps, st.Queries, st.PointsFetched, st.Counters.Resets, st.Counters.NewSeries, st.Counters.ForgottenSeries)
	if st.QueryErrors != 0 || st.RecordErrors != 0 {
		t.Fatalf("backfill: %d query errors, %d records refused", st.QueryErrors, st.RecordErrors)
	}
	if s := r.eng.Stats(); s.OutOfOrder != 0 || s.Invalid != 0 || s.GroupsRefused != 0 || s.Clamped != 0 {
		t.Fatalf("the engine refused or corrected records: %+v", s)
	}
	return first
}

// ofGroup reports whether s is a series of group ("" for any group) with
// status code code ("" for any code).
func ofGroup(s synth.Series, group, code string) bool {
	return (group == "" || s.Labels["model"] == group) && (code == "" || s.Labels["code"] == code)
}

// around returns the part of s that decides its events and PromQL's view
// in [from, to]: its samples in that range and the last one before it.
// synth.Increase and synth.ExtrapolationBounds give the same results on it
// as on the whole series, only faster.
func around(s synth.Series, from, to int64) synth.Series {
	i := sort.Search(len(s.Samples), func(i int) bool { return s.Samples[i].T >= from })
	j := sort.Search(len(s.Samples), func(i int) bool { return s.Samples[i].T > to })
	return synth.Series{Labels: s.Labels, Samples: s.Samples[max(0, i-1):j]}
}

// exactEvents is the brute-force count of the events of group's series
// with code code in (from, to] (Unix ms): sample-to-sample differences,
// a drop counting as a reset to the new value, as the puller's counter
// tracker does. Each segment of history is counted on its own, because the
// tracker forgets a series missing for longer than an hour and takes its
// return as a new baseline.
func exactEvents(segments [][]synth.Series, group, code string, from, to int64) float64 {
	var sum float64
	for _, seg := range segments {
		for _, s := range seg {
			if ofGroup(s, group, code) {
				sum += synth.Increase(around(s, from, to), from, to)
			}
		}
	}
	return sum
}

// promBounds sums synth.ExtrapolationBounds over group's series with code
// code: what PromQL's sum(increase(...[to-from])) at to may return on a
// server whose range selectors are left-closed or not. ok is false when no
// series has two samples in the range (PromQL then returns nothing).
func promBounds(series []synth.Series, group, code string, from, to int64, leftClosed bool) (lo, hi float64, ok bool) {
	for _, s := range series {
		if !ofGroup(s, group, code) {
			continue
		}
		l, h, sok := synth.ExtrapolationBounds(around(s, from, to), from, to, leftClosed)
		if sok {
			lo, hi, ok = lo+l, hi+h, true
		}
	}
	return lo, hi, ok
}

// remaining is the error budget left over good of valid events (or
// slices) at an objective: 1 - bad / ((1 - objective) x valid).
func remaining(good, valid, objective float64) float64 {
	return 1 - (valid-good)/((1-objective)*valid)
}

// sliRange bounds good/valid when good and valid are each known within
// ±tolGood and ±tolValid.
func sliRange(good, valid, tolGood, tolValid float64) (lo, hi float64) {
	if valid-tolValid <= 0 {
		return 0, 1
	}
	return max(0, good-tolGood) / (valid + tolValid), min(1, (good+tolGood)/(valid-tolValid))
}

// groupOf finds the group of a result with the given model label ("" for
// an ungrouped SLO's one group).
func groupOf(r *evaluator.SLOResult, model string) *evaluator.GroupResult {
	for i := range r.Groups {
		g := &r.Groups[i]
		if (model == "" && len(g.Labels) == 0) || (len(g.Labels) == 1 && g.Labels[0].Value == model) {
			return g
		}
	}
	return nil
}

func utc(t time.Time) string { return t.UTC().Format("2006-01-02T15:04Z") }

// ---------------------------------------------------------------------
// Time slices

// sliceEnd is the last sample of the time-slice history, on a whole hour,
// so that 1m and 5m slices end there and the 1d window's 5m buckets too.
var sliceEnd = time.Date(2024, 5, 7, 6, 0, 0, 0, time.UTC)

// sliceProofDoc holds two timeslices SLOs over the same counters, grouped
// by model: 1m slices good at 95% and 5m slices good at 98%. Each reports
// a window of one slice, so that the engine's count of every single slice
// can be read at its end.
const sliceProofDoc = `
global: {evaluation_interval: 30s}
prometheus: {url: %q}
slos:
  - name: minutes
    service: model-api
    objective: 90%%
    period: 1d
    group_by: [model]
    windows: [1m, 5m, 30m, 1h, 2h, 6h, 1d]
    budgeting_method: timeslices
    time_slice: {length: 1m, target: 0.95}
    alerting: {tiers: [{name: long, enabled: false}]}
    sli:
      ratio:
        good: 'synth_requests_total{job="synth",code="200"}'
        valid: 'synth_requests_total{job="synth"}'
  - name: five-minutes
    service: model-api
    objective: 95%%
    period: 1d
    group_by: [model]
    windows: [5m, 30m, 1h, 6h, 1d]
    budgeting_method: timeslices
    time_slice: {length: 5m, target: 0.98}
    alerting: {tiers: [{name: long, enabled: false}]}
    sli:
      ratio:
        good: 'synth_requests_total{job="synth",code="200"}'
        valid: 'synth_requests_total{job="synth"}'
`

// Slice verdicts: a slice that is not counted, a bad one, a good one,
// (for PromQL predicted from the samples) one whose verdict the samples
// do not decide, and (for the engine) a one-slice window that holds
// something else than zero or one slice.
const (
	sliceNone      = -1
	sliceBad       = 0
	sliceGood      = 1
	sliceUndecided = 2
	sliceInvalid   = 3
)

// sliceView is one slice of one group seen four ways.
type sliceView struct {
	good, valid float64 // brute force: the slice's events
	exact       int     // brute-force verdict
	engine      int     // the engine's one-slice window at the slice's end
	promql      int     // PromQL's verdict (none when it returns nothing)
	predicted   int     // PromQL's verdict as its samples and extrapolation decide it
	edges       bool    // every series of the group has samples at both slice edges
}

// uncertain reports whether PromQL's verdict may differ from the exact
// one: the samples PromQL sees do not decide the slice the same way.
// (An undecided prediction never equals the exact verdict.)
func (v sliceView) uncertain() bool { return v.predicted != v.exact }

// TestTimeSlicesThroughPrometheus proves the Timeslices budgeting method
// end to end. 30 hours of synth.Standard history (restarts, churn, a
// 10-minute scrape gap) plus incidents whose error ratio sits near the
// slice targets (0.045 to 0.06 for 95% slices, 0.02 and 0.03 for 98%
// slices, so that many slices fall just above or just below), and two
// silent spells (traffic 0, so slices without valid events), grouped by
// model, are backfilled over the SLOs' 1d period.
//
// Every slice of every group is compared three ways:
//
//   - the engine (its one-slice window read at the slice's end) against
//     brute force on the generated samples: the slice's raw counter
//     differences, resets counting as the new value, a slice with no
//     valid events not counted. Exact, slice by slice.
//   - PromQL, sum by (model)(increase(good[L])) / (sum by
//     (model)(increase(valid[L])) > 0) >= bool target, by a range query
//     with step L at the slice ends, against the verdict its samples
//     decide: increase() extrapolates, so the ratio PromQL sees lies
//     between lg/(lg+hb) and hg/(hg+lb) from synth.ExtrapolationBounds of
//     the good and bad series; where that range does not straddle the
//     target PromQL's verdict must be the decided one.
//   - PromQL against the engine: they may differ only on uncertain slices
//     (undecided, or decided otherwise because PromQL does not see the
//     slice's events, e.g. after the scrape gap). On Prometheus 2.x a
//     range [e-L, e] with samples at both edges is the exact slice, so
//     such slices must never be uncertain: there the three agree exactly.
//
// Then at three instants (20 minutes after the gap, inside an incident,
// and the end), every window's slices good/valid, SLI and burn rate and
// the period's budget remaining must equal brute force exactly, and PromQL's
// differ by at most the uncertain slices in the window.
func TestTimeSlicesThroughPrometheus(t *testing.T) {
	start := sliceEnd.Add(-30 * time.Hour)
	at := func(h float64) time.Time { return start.Add(time.Duration(h * float64(time.Hour))) }
	sc := synth.Standard(start, sliceEnd, 21)
	sc.Incidents = append(sc.Incidents,
		synth.Incident{Start: at(8), Duration: time.Hour, ErrorRatio: 0.05, Groups: []string{"a"}},
		synth.Incident{Start: at(12), Duration: time.Hour, ErrorRatio: 0.045, Groups: []string{"b"}},
		synth.Incident{Start: at(16.5), Duration: 45 * time.Minute, ErrorRatio: 0.055, Groups: []string{"c"}},
		synth.Incident{Start: at(19), Duration: time.Hour, ErrorRatio: 0.02, Groups: []string{"b"}},
		synth.Incident{Start: at(25), Duration: time.Hour, ErrorRatio: 0.05, Groups: []string{"b"}},
		synth.Incident{Start: at(28), Duration: 30 * time.Minute, ErrorRatio: 0.06, Groups: []string{"a"}},
		synth.Incident{Start: at(29.5), Duration: 20 * time.Minute, ErrorRatio: 0.03},
	)
	sc.Bursts = append(sc.Bursts,
		synth.Burst{Start: at(14), Duration: 7 * time.Minute, Factor: 0, Groups: []string{"b"}},
		synth.Burst{Start: at(29).Add(54 * time.Minute), Duration: 7 * time.Minute, Factor: 0, Groups: []string{"c"}},
	)
	series := synth.Generate(sc)
	srv := serveHistory(t, series)

	// The engine's verdict on every slice, read from its one-slice window
	// at the slice's end, and full snapshots at the checked instants. The
	// engine is evaluated every minute, as the daemon evaluates at every
	// tick, so windows also slide over spells without slices.
	instants := []time.Time{at(15.5), at(25.5), sliceEnd}
	type key struct {
		slo   int
		model string
		end   int64
	}
	engSlices := map[key]evaluator.WindowResult{}
	snaps := map[int64]*evaluator.Snapshot{}
	afterStep := func(eng *evaluator.Engine, now time.Time) {
		ms := now.UnixMilli()
		if ms%time.Minute.Milliseconds() != 0 {
			return
		}
		snap := eng.Evaluate(now)
		for si := range snap.SLOs {
			r := &snap.SLOs[si]
			l := r.Spec.TimeSlice.Length
			if ms%l.Milliseconds() != 0 {
				continue
			}
			wi := r.Window(l)
			for _, g := range r.Groups {
				engSlices[key{si, g.Labels[0].Value, ms}] = g.Windows[wi]
			}
		}
		for _, in := range instants {
			if in.Equal(now) {
				snaps[ms] = snap
			}
		}
	}
	run := wireConfig(t, srv, sliceProofDoc, series[0], afterStep)
	first := run.backfill(t, start, sliceEnd)
	if st := run.puller.Stats(); st.Counters.Resets == 0 {
		t.Error("the history's counter resets were not seen")
	}
	firstMs, endMs := first.UnixMilli(), sliceEnd.UnixMilli()
	segments := [][]synth.Series{series}
	groups := []string{"a", "b", "c", "d"}
	ctx := context.Background()

	for si, spec := range run.plan.Specs {
		ts := spec.TimeSlice
		if ts == nil {
			t.Fatalf("%s: the plan lost budgeting_method: timeslices", spec.Name)
		}
		l := ts.Length.Milliseconds()
		lstr := model.Duration(ts.Length).String()
		expr := fmt.Sprintf("sum by (model) (increase(%s[%s])) / (sum by (model) (increase(%s[%s])) > 0) >= bool %v",
			methodsGood, lstr, methodsValid, lstr, ts.Target)
		m, err := srv.QueryRange(ctx, expr, first.Add(ts.Length), sliceEnd, ts.Length)
		if err != nil {
			t.Fatal(err)
		}
		promql := map[string]map[int64]int{}
		for _, s := range m {
			g := string(s.Metric["model"])
			promql[g] = map[int64]int{}
			for _, v := range s.Values {
				promql[g][int64(v.Timestamp)] = int(v.Value)
			}
		}

		// Every slice of every group, four ways. Only the first few
		// mismatches are reported one by one.
		views := map[string]map[int64]sliceView{}
		var nSlices, nUncertain, nDisagree, nAbove, nBelow, nSilent, nErrors int
		errorf := func(format string, args ...any) {
			t.Helper()
			if nErrors++; nErrors <= 20 {
				t.Errorf(format, args...)
			}
		}
		for _, g := range groups {
			views[g] = map[int64]sliceView{}
			for e := firstMs + l; e <= endMs; e += l {
				v := sliceView{exact: sliceNone, engine: sliceNone, promql: sliceNone, predicted: sliceNone, edges: true}
				v.good = exactEvents(segments, g, "200", e-l, e)
				v.valid = exactEvents(segments, g, "", e-l, e)
				if v.valid > 0 {
					v.exact = sliceBad
					if v.good/v.valid >= ts.Target {
						v.exact = sliceGood
					}
					if d := v.good/v.valid - ts.Target; math.Abs(d) <= 0.01 {
						if d >= 0 {
							nAbove++
						} else {
							nBelow++
						}
					}
				}
				if w, ok := engSlices[key{si, g, e}]; ok && w.Valid != 0 {
					if w.Valid != 1 || (w.Good != 0 && w.Good != 1) {
						errorf("%s %s slice ending %s: the engine's window of one slice holds %v good of %v", spec.Name, g, utc(time.UnixMilli(e)), w.Good, w.Valid)
						v.engine = sliceInvalid
					} else {
						v.engine = int(w.Good)
					}
				}
				if p, ok := promql[g][e]; ok {
					v.promql = p
				}
				lg, hg, okG := promBounds(series, g, "200", e-l, e, run.leftClosed)
				lb, hb, okB := promBounds(series, g, "500", e-l, e, run.leftClosed)
				if okG && okB && lg+lb > 0 {
					switch lo, hi := lg/(lg+hb), hg/(hg+lb); {
					case lo >= ts.Target:
						v.predicted = sliceGood
					case hi < ts.Target:
						v.predicted = sliceBad
					default:
						v.predicted = sliceUndecided
					}
				}
				for _, s := range series {
					if ofGroup(s, g, "") && !(hasSample(s, e-l) && hasSample(s, e)) {
						v.edges = false
					}
				}
				if v.exact == sliceNone && v.edges {
					nSilent++ // the group was scraped at both edges and had no events
				}
				if v.engine != v.exact {
					errorf("%s %s slice ending %s: engine %s, brute force %s (%v good of %v)",
						spec.Name, g, utc(time.UnixMilli(e)), verdict(v.engine), verdict(v.exact), v.good, v.valid)
				}
				if v.predicted != sliceUndecided && v.promql != v.predicted {
					errorf("%s %s slice ending %s: PromQL %s, its samples decide %s",
						spec.Name, g, utc(time.UnixMilli(e)), verdict(v.promql), verdict(v.predicted))
				}
				if run.leftClosed && v.edges && v.uncertain() {
					errorf("%s %s slice ending %s: the left-closed range holds both edge samples, yet PromQL decides %s, brute force %s",
						spec.Name, g, utc(time.UnixMilli(e)), verdict(v.predicted), verdict(v.exact))
				}
				if v.exact != sliceNone || v.promql != sliceNone {
					nSlices++
				}
				if v.uncertain() {
					nUncertain++
				}
				if v.promql != v.engine {
					nDisagree++
				}
				views[g][e] = v
			}
		}
		if nErrors > 20 {
			t.Errorf("%s: %d more slice mismatches", spec.Name, nErrors-20)
		}
		t.Logf("%s: %d slices with events; %d within 1%% of the %v target at or above it, %d below; %d silent slices; PromQL differs from the engine on %d, uncertain %d (range selectors left-closed: %v)",
			spec.Name, nSlices, nAbove, ts.Target, nBelow, nSilent, nDisagree, nUncertain, run.leftClosed)
		// The history must exercise what the test claims to prove.
		if nAbove < 3 || nBelow < 3 || nSilent < 2 {
			t.Errorf("%s: the history has %d slices just at or above the target, %d just below and %d silent; want at least 3, 3 and 2",
				spec.Name, nAbove, nBelow, nSilent)
		}

		// Windows and budgets at the instants.
		for _, now := range instants {
			snap := snaps[now.UnixMilli()]
			if snap == nil {
				t.Fatalf("no snapshot at %s", utc(now))
			}
			r := &snap.SLOs[si]
			obj := r.Spec.Objective
			for _, g := range groups {
				gr := groupOf(r, g)
				if gr == nil {
					t.Errorf("%s at %s: no group %s", spec.Name, utc(now), g)
					continue
				}
				for wi, w := range r.Windows {
					from := max(now.UnixMilli()-w.Milliseconds(), firstMs)
					var good, valid, pGood, pValid, unc float64
					for e := from + l; e <= now.UnixMilli(); e += l {
						v := views[g][e]
						good += b2f(v.exact == sliceGood)
						valid += b2f(v.exact != sliceNone)
						pGood += b2f(v.promql == sliceGood)
						pValid += b2f(v.promql != sliceNone)
						unc += b2f(v.uncertain())
					}
					got := gr.Windows[wi]
					name := fmt.Sprintf("%s %s %s at %s", spec.Name, g, slo.FormatWindow(w), utc(now))
					checkWindow(t, name, got, good, valid, obj)
					if math.Abs(pGood-good) > unc || math.Abs(pValid-valid) > unc {
						t.Errorf("%s: PromQL %v/%v slices, brute force %v/%v: more apart than the %v uncertain slices", name, pGood, pValid, good, valid, unc)
					}
					if pValid > 0 && got.HasSLI {
						if lo, hi := sliRange(pGood, pValid, unc, unc); got.SLI < lo-1e-12 || got.SLI > hi+1e-12 {
							t.Errorf("%s: SLI %v outside [%v, %v], PromQL's with %v uncertain slices", name, got.SLI, lo, hi, unc)
						}
					}
					if w == r.Spec.Period {
						b := gr.Budget
						if valid == 0 {
							if b.OK {
								t.Errorf("%s: a budget without slices", name)
							}
							continue
						}
						want := remaining(good, valid, obj)
						if !b.OK || math.Abs(b.RemainingRatio-want) > 1e-12 || math.Abs(b.RemainingEvents-((1-obj)*valid-(valid-good))) > 1e-9 {
							t.Errorf("%s: budget remaining %v (%v slices), brute force %v", name, b.RemainingRatio, b.RemainingEvents, want)
						}
						lo, hi := sliRange(pGood, pValid, unc, unc)
						rlo, rhi := 1-(1-lo)/(1-obj), 1-(1-hi)/(1-obj)
						if b.RemainingRatio < rlo-1e-12 || b.RemainingRatio > rhi+1e-12 {
							t.Errorf("%s: budget remaining %v outside [%v, %v] from PromQL's slices", name, b.RemainingRatio, rlo, rhi)
						}
						if g == "a" || g == "b" {
							t.Logf("%s: slices %v/%v (brute force %v/%v, PromQL %v/%v, uncertain %v); SLI %.5f burn %.3f; budget remaining %.4f (PromQL %.4f)",
								name, got.Good, got.Valid, good, valid, pGood, pValid, unc, got.SLI, got.BurnRate, b.RemainingRatio, remaining(pGood, pValid, obj))
						}
					}
				}
			}
		}
	}
}

// checkWindow compares one window of the engine with brute-force slice
// counts: counts exactly (they are whole numbers), SLI and burn rate to
// float rounding, and no SLI without valid slices.
func checkWindow(t *testing.T, name string, got evaluator.WindowResult, good, valid, objective float64) {
	t.Helper()
	if got.Good != good || got.Valid != valid {
		t.Errorf("%s: engine %v good of %v, brute force %v of %v", name, got.Good, got.Valid, good, valid)
		return
	}
	if valid == 0 {
		if got.HasSLI {
			t.Errorf("%s: an SLI without valid events", name)
		}
		return
	}
	sli := good / valid
	if !got.HasSLI || math.Abs(got.SLI-sli) > 1e-12 || math.Abs(got.BurnRate-(1-sli)/(1-objective)) > 1e-9 {
		t.Errorf("%s: SLI %v burn %v, brute force %v burn %v", name, got.SLI, got.BurnRate, sli, (1-sli)/(1-objective))
	}
}

// hasSample reports whether s has a sample exactly at ms.
func hasSample(s synth.Series, ms int64) bool {
	i := sort.Search(len(s.Samples), func(i int) bool { return s.Samples[i].T >= ms })
	return i < len(s.Samples) && s.Samples[i].T == ms
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func verdict(v int) string {
	switch v {
	case sliceNone:
		return "not counted"
	case sliceBad:
		return "bad"
	case sliceGood:
		return "good"
	case sliceUndecided:
		return "undecided"
	}
	return "invalid"
}

// ---------------------------------------------------------------------
// Calendar budgets

// calendarProofDoc holds three calendar SLOs over the same counters: a
// month in Europe/Berlin per model, an ISO week in America/New_York and a
// quarter in UTC (the default zone). The evaluation interval is 1m, the
// history's scrape interval.
const calendarProofDoc = `
global: {evaluation_interval: 1m}
prometheus: {url: %q}
slos:
  - name: month-berlin
    service: model-api
    objective: 99%%
    calendar: month
    time_zone: Europe/Berlin
    group_by: [model]
    sli:
      ratio:
        good: 'synth_requests_total{job="synth",code="200"}'
        valid: 'synth_requests_total{job="synth"}'
  - name: week-new-york
    service: model-api
    objective: 99.5%%
    calendar: week
    time_zone: America/New_York
    sli:
      ratio:
        good: 'synth_requests_total{job="synth",code="200"}'
        valid: 'synth_requests_total{job="synth"}'
  - name: quarter-utc
    service: model-api
    objective: 99.9%%
    calendar: quarter
    sli:
      ratio:
        good: 'synth_requests_total{job="synth",code="200"}'
        valid: 'synth_requests_total{job="synth"}'
`

// calendarPeriods lists, per SLO of calendarProofDoc, the consecutive
// period starts around the history in UTC, as the calendar and the zone's
// rules define them (Berlin is UTC+1 until 31 March 2024 01:00 UTC, then
// UTC+2; New York is UTC-5 until 10 March 2024 07:00 UTC, then UTC-4).
// TestCalendarThroughPrometheus checks the table against the zone database
// before using it.
var calendarPeriods = []struct {
	slo, unit, zone string
	starts          []time.Time
}{
	{"month-berlin", "month", "Europe/Berlin", []time.Time{
		time.Date(2024, 1, 31, 23, 0, 0, 0, time.UTC), // 1 February, CET
		time.Date(2024, 2, 29, 23, 0, 0, 0, time.UTC), // 1 March, CET
		time.Date(2024, 3, 31, 22, 0, 0, 0, time.UTC), // 1 April, CEST
		time.Date(2024, 4, 30, 22, 0, 0, 0, time.UTC), // 1 May
	}},
	{"week-new-york", "week", "America/New_York", []time.Time{
		time.Date(2024, 2, 26, 5, 0, 0, 0, time.UTC), // Monday 26 February, EST
		time.Date(2024, 3, 4, 5, 0, 0, 0, time.UTC),
		time.Date(2024, 3, 11, 4, 0, 0, 0, time.UTC), // EDT from Sunday 10 March
		time.Date(2024, 3, 18, 4, 0, 0, 0, time.UTC),
		time.Date(2024, 3, 25, 4, 0, 0, 0, time.UTC),
		time.Date(2024, 4, 1, 4, 0, 0, 0, time.UTC),
	}},
	{"quarter-utc", "quarter", "UTC", []time.Time{
		time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC),
	}},
}

// The summer-time changes the history crosses.
var (
	dstNewYork = time.Date(2024, 3, 10, 7, 0, 0, 0, time.UTC)
	dstBerlin  = time.Date(2024, 3, 31, 1, 0, 0, 0, time.UTC)
)

// TestCalendarThroughPrometheus proves calendar budgets end to end over a
// history of two segments with 19 days without samples between them (the
// puller forgets the series and takes their return as a new baseline):
//
//   - 28 February to 11 March 2024 06:00 UTC: the end of February in
//     Berlin (a leap February, 29 days), a whole ISO week in New York
//     (4 to 11 March, 167 hours: summer time starts on 10 March) and its
//     boundaries on both sides;
//   - 30 March to 1 April 03:00 UTC: summer time in Berlin, the end of
//     Berlin's March (743 hours) and the end of the first quarter in UTC.
//
// The counters (two models, 1m scrapes) have incidents around the
// boundaries, restarts and a 12-minute scrape gap. At one minute before
// each boundary, at it and one minute after, around both summer-time
// changes and at the segments' ends, every SLO's period must be reported
// with the start and length of the table above (the instant a period ends
// still belongs to it), tier thresholds must be budget fraction x that
// length / long window, and the period's good and valid events and budget
// remaining must equal brute force on the samples from the period's start
// (exact: the starts are whole hours, where the engine's coarse buckets
// begin) and PromQL's sum by (model)(increase(...[t - start])) on each
// segment, within synth.ExtrapolationBounds (exact on Prometheus 2.x,
// whose range includes the sample at the start, when one is there).
// Right after a boundary the budget has reset: only the events since it.
func TestCalendarThroughPrometheus(t *testing.T) {
	checkCalendarTable(t)
	segA := synth.Config{
		Start: time.Date(2024, 2, 28, 0, 0, 0, 0, time.UTC), End: time.Date(2024, 3, 11, 6, 0, 0, 0, time.UTC),
		Step: time.Minute, Seed: 5, ExtraLabels: map[string]string{"job": "synth"}, BaseRate: 2, ErrorRatio: 0.0005,
		Incidents: []synth.Incident{
			{Start: time.Date(2024, 2, 29, 21, 0, 0, 0, time.UTC), Duration: 3 * time.Hour, ErrorRatio: 0.05, Groups: []string{"a"}},
			{Start: time.Date(2024, 3, 4, 4, 30, 0, 0, time.UTC), Duration: 40 * time.Minute, ErrorRatio: 0.1, Groups: []string{"b"}},
			{Start: time.Date(2024, 3, 10, 6, 30, 0, 0, time.UTC), Duration: time.Hour, ErrorRatio: 0.02},
			{Start: time.Date(2024, 3, 11, 3, 45, 0, 0, time.UTC), Duration: 30 * time.Minute, ErrorRatio: 0.3, Groups: []string{"a"}},
		},
		Restarts: []synth.Restart{
			{At: time.Date(2024, 3, 1, 12, 0, 10, 0, time.UTC), Groups: []string{"a"}},
			{At: dstNewYork.Add(10 * time.Second)},
		},
		Gaps: []synth.Gap{{Start: time.Date(2024, 3, 6, 10, 0, 0, 0, time.UTC), Duration: 12 * time.Minute}},
	}
	segB := synth.Config{
		Start: time.Date(2024, 3, 30, 0, 0, 0, 0, time.UTC), End: time.Date(2024, 4, 1, 3, 0, 0, 0, time.UTC),
		Step: time.Minute, Seed: 6, ExtraLabels: map[string]string{"job": "synth"}, BaseRate: 2, ErrorRatio: 0.0005,
		Incidents: []synth.Incident{
			{Start: dstBerlin.Add(-30 * time.Minute), Duration: time.Hour, ErrorRatio: 0.05, Groups: []string{"b"}},
			{Start: time.Date(2024, 3, 31, 21, 30, 0, 0, time.UTC), Duration: time.Hour, ErrorRatio: 0.1, Groups: []string{"a"}},
			{Start: time.Date(2024, 3, 31, 23, 30, 0, 0, time.UTC), Duration: time.Hour, ErrorRatio: 0.01},
		},
		Restarts: []synth.Restart{{At: time.Date(2024, 3, 31, 12, 0, 10, 0, time.UTC), Groups: []string{"b"}}},
	}
	segments := [][]synth.Series{synth.Generate(segA), synth.Generate(segB)}
	bounds := [][2]time.Time{{segA.Start, segA.End}, {segB.Start, segB.End}}
	srv := serveHistory(t, concatSegments(segments))

	// The instants: around every boundary and summer-time change inside
	// the history, and the segments' ends.
	var instants []time.Time
	inHistory := func(x time.Time) bool {
		for _, b := range bounds {
			if x.After(b[0]) && !x.After(b[1]) {
				return true
			}
		}
		return false
	}
	for _, c := range calendarPeriods {
		for _, b := range c.starts {
			if inHistory(b) {
				instants = append(instants, b.Add(-time.Minute), b, b.Add(time.Minute))
			}
		}
	}
	for _, d := range []time.Time{dstNewYork, dstBerlin} {
		instants = append(instants, d.Add(-time.Minute), d, d.Add(time.Minute))
	}
	instants = append(instants, segA.End, segB.End)
	sort.Slice(instants, func(i, j int) bool { return instants[i].Before(instants[j]) })
	// The engine is evaluated after every pull, as the daemon evaluates at
	// every tick; the snapshots at the instants are kept.
	snaps := map[int64]*evaluator.Snapshot{}
	afterStep := func(eng *evaluator.Engine, now time.Time) {
		snap := eng.Evaluate(now)
		for _, in := range instants {
			if in.Equal(now) {
				snaps[now.UnixMilli()] = snap
			}
		}
	}
	run := wireConfig(t, srv, calendarProofDoc, segments[0][0], afterStep)
	first := run.backfill(t, segA.Start, segB.End)
	if !first.Equal(segA.Start) {
		t.Fatalf("backfill started at %s, want the history's start %s (the quarter reaches that far)", utc(first), utc(segA.Start))
	}
	if st := run.puller.Stats(); st.Counters.Resets == 0 || st.Counters.ForgottenSeries == 0 {
		t.Errorf("the history's resets and the series' absence between the segments were not seen: %+v", st.Counters)
	}

	prom := &promIncreases{srv: srv, cache: map[[3]int64]map[string]float64{}}
	tiers := map[string]config.AlertTier{}
	for _, tr := range run.cfg.Global.AlertTiers {
		tiers[tr.Name] = tr
	}
	for _, now := range instants {
		snap := snaps[now.UnixMilli()]
		if snap == nil {
			t.Fatalf("no snapshot at %s", utc(now))
		}
		nowMs := now.UnixMilli()
		for ci, c := range calendarPeriods {
			r := &snap.SLOs[ci]
			if r.Spec.Name != c.slo {
				t.Fatalf("SLO %d is %s, the table says %s", ci, r.Spec.Name, c.slo)
			}
			// The period containing now: (start, end].
			k := sort.Search(len(c.starts), func(i int) bool { return !c.starts[i].Before(now) }) - 1
			if k < 0 || k+1 >= len(c.starts) {
				t.Fatalf("%s: the table has no period around %s", c.slo, utc(now))
			}
			start, length := c.starts[k], c.starts[k+1].Sub(c.starts[k])
			name := fmt.Sprintf("%s at %s", c.slo, utc(now))
			if !r.PeriodStart.Equal(start) || r.Period != length {
				t.Errorf("%s: period from %s for %s, want from %s for %s", name, utc(r.PeriodStart), r.Period, utc(start), length)
			}
			for _, tr := range r.Tiers {
				ct := tiers[tr.Name]
				want := ct.BudgetFraction * length.Hours() / time.Duration(ct.LongWindow).Hours()
				if math.Abs(tr.Threshold-want) > 1e-9*want {
					t.Errorf("%s: tier %s threshold %v, want %v for a %s period", name, tr.Name, tr.Threshold, want, length)
				}
			}
			for _, g := range modelsOf(run.cfg.SLOs[ci]) {
				gr := groupOf(r, g)
				if gr == nil {
					t.Errorf("%s: no group %q", name, g)
					continue
				}
				from := start.UnixMilli()
				good := exactEvents(segments, g, "200", from, nowMs)
				valid := exactEvents(segments, g, "", from, nowMs)
				pGood, tolGood := prom.sum(t, segments, bounds, g, "200", from, nowMs, run.leftClosed)
				pValid, tolValid := prom.sum(t, segments, bounds, g, "", from, nowMs, run.leftClosed)
				gname := name
				if g != "" {
					gname += " model " + g
				}
				obj := r.Spec.Objective
				checkWindow(t, gname+" period", gr.Period, good, valid, obj)
				if math.Abs(pGood-good) > tolGood+1e-9*good || math.Abs(pValid-valid) > tolValid+1e-9*valid {
					t.Errorf("%s: PromQL %v good of %v, brute force %v of %v, tolerance %v / %v", gname, pGood, pValid, good, valid, tolGood, tolValid)
				}
				if valid == 0 {
					continue
				}
				b := gr.Budget
				if want := remaining(good, valid, obj); !b.OK || math.Abs(b.RemainingRatio-want) > 1e-12 {
					t.Errorf("%s: budget remaining %v, brute force %v", gname, b.RemainingRatio, want)
				}
				lo, hi := sliRange(pGood, pValid, tolGood, tolValid)
				if rlo, rhi := 1-(1-lo)/(1-obj), 1-(1-hi)/(1-obj); b.RemainingRatio < rlo-1e-12 || b.RemainingRatio > rhi+1e-12 {
					t.Errorf("%s: budget remaining %v outside [%v, %v] from PromQL", gname, b.RemainingRatio, rlo, rhi)
				}
				pRemaining := "none"
				if pValid > 0 {
					pRemaining = fmt.Sprintf("%.4f", remaining(pGood, pValid, obj))
				}
				t.Logf("%s: period %s+%s; good/valid %.0f/%.0f (brute force %.0f/%.0f, PromQL %.0f/%.0f ±%.0f/%.0f); budget remaining %.4f (PromQL %s); fast tier %s",
					gname, utc(start), slo.FormatWindow(length), gr.Period.Good, gr.Period.Valid, good, valid, pGood, pValid, tolGood, tolValid,
					b.RemainingRatio, pRemaining, slo.FormatFloat(r.Tiers[0].Threshold))
			}
		}
	}
	// Right after each boundary the budget holds only the minute since it.
	for ci, c := range calendarPeriods {
		for _, b := range c.starts {
			before, after := snaps[b.UnixMilli()], snaps[b.Add(time.Minute).UnixMilli()]
			if before == nil || after == nil {
				continue
			}
			for _, g := range modelsOf(run.cfg.SLOs[ci]) {
				gb, ga := groupOf(&before.SLOs[ci], g), groupOf(&after.SLOs[ci], g)
				want := exactEvents(segments, g, "", b.UnixMilli(), b.Add(time.Minute).UnixMilli())
				if gb == nil || ga == nil || ga.Period.Valid != want || !(gb.Period.Valid > ga.Period.Valid) {
					t.Errorf("%s %q at %s: no reset to the minute since the boundary (%v valid events): at it %+v, a minute later %+v",
						c.slo, g, utc(b), want, gb, ga)
				}
			}
		}
	}
}

// modelsOf returns the model label of each group of a calendar SLO of
// calendarProofDoc: "a" and "b" when it is grouped by model, else "" for
// its one group (the sum of both).
func modelsOf(s *config.SLO) []string {
	if len(s.GroupBy) > 0 {
		return []string{"a", "b"}
	}
	return []string{""}
}

// checkCalendarTable checks calendarPeriods against the zone database
// (every start is a local midnight on the first day of a month or
// quarter, or a Monday, and follows the previous start by one unit of
// local dates) and the facts the test is about: February 2024 has 29 days,
// Berlin's March 2024 lacks the hour summer time skips, and so does New
// York's ISO week of 4 March, and the first quarter of 2024 has 91 days.
func checkCalendarTable(t *testing.T) {
	t.Helper()
	lengths := map[string]map[time.Time]time.Duration{}
	for _, c := range calendarPeriods {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		lengths[c.slo] = map[time.Time]time.Duration{}
		for i, b := range c.starts {
			l := b.In(loc)
			ok := l.Hour() == 0 && l.Minute() == 0 && l.Second() == 0 && l.Nanosecond() == 0
			switch c.unit {
			case "month":
				ok = ok && l.Day() == 1
			case "week":
				ok = ok && l.Weekday() == time.Monday
			case "quarter":
				ok = ok && l.Day() == 1 && (l.Month()-1)%3 == 0
			}
			if i > 0 {
				prev := c.starts[i-1].In(loc)
				next := map[string]time.Time{"month": prev.AddDate(0, 1, 0), "week": prev.AddDate(0, 0, 7), "quarter": prev.AddDate(0, 3, 0)}[c.unit]
				y1, m1, d1 := next.Date()
				y2, m2, d2 := l.Date()
				ok = ok && y1 == y2 && m1 == m2 && d1 == d2
				lengths[c.slo][c.starts[i-1]] = b.Sub(c.starts[i-1])
			}
			if !ok {
				t.Fatalf("calendarPeriods: %s start %s is %s in %s, not the next %s start", c.slo, utc(b), l.Format(time.RFC3339), c.zone, c.unit)
			}
		}
	}
	const day = 24 * time.Hour
	for _, f := range []struct {
		slo   string
		start time.Time
		want  time.Duration
	}{
		{"month-berlin", time.Date(2024, 1, 31, 23, 0, 0, 0, time.UTC), 29 * day},
		{"month-berlin", time.Date(2024, 2, 29, 23, 0, 0, 0, time.UTC), 31*day - time.Hour},
		{"week-new-york", time.Date(2024, 3, 4, 5, 0, 0, 0, time.UTC), 7*day - time.Hour},
		{"quarter-utc", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 91 * day},
	} {
		if got := lengths[f.slo][f.start]; got != f.want {
			t.Fatalf("calendarPeriods: %s period from %s lasts %s, want %s", f.slo, utc(f.start), got, f.want)
		}
	}
	for _, d := range []struct {
		zone string
		at   time.Time
	}{{"Europe/Berlin", dstBerlin}, {"America/New_York", dstNewYork}} {
		loc, _ := time.LoadLocation(d.zone)
		_, before := d.at.Add(-time.Second).In(loc).Zone()
		_, after := d.at.In(loc).Zone()
		if after-before != 3600 {
			t.Fatalf("%s: summer time does not start at %s (UTC offset %ds, then %ds)", d.zone, utc(d.at), before, after)
		}
	}
}

// concatSegments joins the segments' series with the same labels into one
// series each, as Prometheus stores them.
func concatSegments(segments [][]synth.Series) []synth.Series {
	var out []synth.Series
	index := map[string]int{}
	for _, seg := range segments {
		for _, s := range seg {
			k := fmt.Sprint(s.Labels) // maps print sorted by key
			if i, ok := index[k]; ok {
				out[i].Samples = append(out[i].Samples, s.Samples...)
				continue
			}
			index[k] = len(out)
			out = append(out, synth.Series{Labels: s.Labels, Samples: slices.Clone(s.Samples)})
		}
	}
	return out
}

// promIncreases asks PromQL for event counts of the calendar history, one
// increase() per segment, caching per range.
type promIncreases struct {
	srv   *promtest.Server
	cache map[[3]int64]map[string]float64 // (from, to, all codes) -> model -> increase
}

// sum returns PromQL's count of the events of group g ("" for all) with
// code code ("" for all) in (from, to]: sum by (model)(increase(sel[R]))
// at the end of each segment's part of the range, R that part's length.
// Each part must lie within synth.ExtrapolationBounds of its samples (or
// be absent when they do not allow a value); tol is how far the exact
// count may then lie from the sum: per part, the larger distance between
// the brute-force count and the bounds.
func (p *promIncreases) sum(t *testing.T, segments [][]synth.Series, bounds [][2]time.Time, g, code string, from, to int64, leftClosed bool) (val, tol float64) {
	t.Helper()
	for i, seg := range segments {
		lo, hi := max(from, bounds[i][0].UnixMilli()), min(to, bounds[i][1].UnixMilli())
		if hi <= lo {
			continue
		}
		all := int64(0)
		sel := methodsGood
		if code == "" {
			all, sel = 1, methodsValid
		}
		k := [3]int64{lo, hi, all}
		byModel, ok := p.cache[k]
		if !ok {
			expr := fmt.Sprintf("sum by (model) (increase(%s[%s]))", sel, model.Duration(time.Duration(hi-lo)*time.Millisecond))
			v, err := p.srv.Query(context.Background(), expr, time.UnixMilli(hi))
			if err != nil {
				t.Fatal(err)
			}
			byModel = map[string]float64{}
			for _, s := range v {
				byModel[string(s.Metric["model"])] = float64(s.Value)
			}
			p.cache[k] = byModel
		}
		got, present := 0.0, false
		for m, x := range byModel {
			if g == "" || m == g {
				got, present = got+x, true
			}
		}
		blo, bhi, bok := promBounds(seg, g, code, lo, hi, leftClosed)
		exact := exactEvents([][]synth.Series{seg}, g, code, lo, hi)
		if present != bok || got < blo-1e-9*bhi || got > bhi+1e-9*bhi {
			t.Errorf("PromQL increase of %q model %q code %q over (%s, %s]: %v (present %v), bounds [%v, %v] (present %v)",
				seg[0].Labels["__name__"], g, code, utc(time.UnixMilli(lo)), utc(time.UnixMilli(hi)), got, present, blo, bhi, bok)
		}
		val += got
		tol += max(bhi-exact, exact-blo, 0)
	}
	return val, tol
}
