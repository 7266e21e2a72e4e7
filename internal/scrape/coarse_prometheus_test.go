package scrape

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/synth"
)

// hostileSeries builds four days of counters, scraped about every 60s with
// jitter, that break every assumption of the boundary-value backfill:
// resets exactly on hour and 5m boundaries and just after them, a series
// that appears mid-hour, gaps shorter and longer than ForgetAfter across
// boundaries, a NaN sample right before a reset, a 1e300 spike, a negative
// sample, a series that lives only between boundaries, and (under a
// separate job) a sparse series scraped every 7 minutes.
func hostileSeries(end time.Time) []synth.Series {
	rng := rand.New(rand.NewPCG(7, 11))
	endMs := end.UnixMilli()
	start := endMs - 4*24*time.Hour.Milliseconds() - 2*time.Hour.Milliseconds()
	hour := time.Hour.Milliseconds()
	boundary := floorTo(endMs-50*hour, hour) // an hour boundary in the coarse part
	mid := floorTo(endMs-20*hour, 5*time.Minute.Milliseconds())
	// An event resets the counter, or adds one odd sample (value).
	type event struct {
		at     int64
		reset  bool
		sample bool
		value  float64
	}
	mk := func(job, pod, code string, step int64, from, to int64, events []event, holes [][2]int64) synth.Series {
		s := synth.Series{Labels: map[string]string{"__name__": "hostile_requests_total", "job": job, "pod": pod, "code": code}}
		v := float64(rng.IntN(1000))
		ei := 0
	samples:
		for t := from; t <= to; t += step {
			ts := t + int64(rng.IntN(7000)) - 3500 // jitter
			for _, h := range holes {
				if ts > h[0] && ts <= h[1] {
					continue samples
				}
			}
			for ei < len(events) && events[ei].at <= ts {
				e := events[ei]
				ei++
				if e.reset {
					v = float64(rng.IntN(3))
				}
				if e.sample && (len(s.Samples) == 0 || s.Samples[len(s.Samples)-1].T < e.at) {
					s.Samples = append(s.Samples, synth.Sample{T: e.at, V: e.value})
				}
			}
			if len(s.Samples) > 0 && ts <= s.Samples[len(s.Samples)-1].T {
				continue
			}
			if code == "error" {
				v += float64(rng.IntN(3))
			} else {
				v += float64(rng.IntN(50))
			}
			s.Samples = append(s.Samples, synth.Sample{T: ts, V: v})
		}
		return s
	}
	min := time.Minute.Milliseconds()
	var out []synth.Series
	for _, code := range []string{"ok", "error"} {
		// Resets on and around boundaries, NaN before a reset, a spike and a
		// negative sample.
		out = append(out, mk("h", "a", code, min, start, endMs, []event{
			{at: boundary - 40*hour + 7*min, reset: true},
			{at: boundary - 35*hour + 28*min, reset: true},
			{at: boundary - 30*hour + 3*min, sample: true, value: 1e300},
			{at: boundary - 20*hour + 17*min, sample: true, value: math.NaN()},
			{at: boundary - 20*hour + 17*min + 1000, reset: true},
			{at: boundary, reset: true},
			{at: boundary + 5*min + 1, reset: true},
			{at: boundary + 7*hour + 11*min, sample: true, value: -5},
			{at: boundary + 7*hour + 40*min, reset: true},
			{at: mid, reset: true},
			{at: mid + 3*hour + 2*min, reset: true},
		}, nil))
		// NaN right before a drop of 100: resets() cannot see the drop, and
		// the counter is back above its old value within minutes.
		nanReset := mk("h", "b", code, min, start, endMs, nil, nil)
		for i := range nanReset.Samples {
			if at := nanReset.Samples[i].T; at > boundary-40*hour && i+2 < len(nanReset.Samples) && nanReset.Samples[i-1].T <= boundary-40*hour {
				nanReset.Samples[i].V = math.NaN()
				for j := i + 1; j < len(nanReset.Samples); j++ {
					nanReset.Samples[j].V -= 100
				}
				break
			}
		}
		out = append(out, nanReset)
		// Appears mid-hour.
		out = append(out, mk("h", "late", code, min, boundary-26*hour+17*min, endMs, nil, nil))
		// Gaps of 50 minutes and of 2 hours across boundaries.
		out = append(out, mk("h", "gappy", code, min, start, endMs, nil,
			[][2]int64{{boundary - 25*min, boundary + 25*min}, {mid - 70*min, mid + 50*min}}))
		// Lives only between two boundaries.
		out = append(out, mk("h", "brief", code, min, boundary+12*hour+20*min, boundary+12*hour+40*min, nil, nil))
		// Sparse: a sample every 7 minutes.
		out = append(out, mk("sparse", "s", code, 7*min, start, endMs, nil, nil))
	}
	return out
}

// TestCoarseBackfillHostile backfills hostile history twice, from
// bucket-boundary values and from every raw sample, and requires identical
// numbers in every window of every group, with the rate bound on.
func TestCoarseBackfillHostile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus")
	}
	promtool := promtest.Binary(t, "promtool", "PROMTOOL")
	bin := promtest.Binary(t, "prometheus", "PROMETHEUS")
	end := historyEnd
	series := hostileSeries(end)
	dir := filepath.Join(t.TempDir(), "data")
	createBlocksByDay(t, promtool, series, dir)
	srv := promtest.Start(t, promtest.Options{Binary: bin, DataDir: dir})
	ctx := context.Background()

	specs := []evaluator.Spec{proofSpec("all", 0.99), proofSpec("by-pod", 0.99), proofSpec("sparse", 0.99)}
	targets := []Target{
		{SLO: 0, Good: Selector{Expr: `hostile_requests_total{job="h",code="ok"}`}, Valid: Selector{Expr: `hostile_requests_total{job="h"}`}},
		{SLO: 1, GroupBy: []string{"pod"}, Good: Selector{Expr: `hostile_requests_total{job="h",code="ok"}`},
			Bad: Selector{Expr: `hostile_requests_total{job="h",code="error"}`}},
		{SLO: 2, Good: Selector{Expr: `hostile_requests_total{job="sparse",code="ok"}`}, Valid: Selector{Expr: `hostile_requests_total{job="sparse"}`}},
	}
	// A server that does not serve remote read (a proxy in front of
	// Prometheus that answers 404 there, as VictoriaMetrics and Thanos'
	// querier do) gets the PromQL path.
	var reads atomic.Int64
	target, _ := url.Parse(srv.URL)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/read" {
			reads.Add(1)
			http.NotFound(w, r)
			return
		}
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	defer proxy.Close()
	run := func(raw, noRemote bool, urls ...string) (*evaluator.Snapshot, BackfillProgress, Stats) {
		eng, err := evaluator.New(interval, specs)
		if err != nil {
			t.Fatal(err)
		}
		u := srv.URL
		if len(urls) > 0 {
			u = urls[0]
		}
		p, err := NewPuller(newTestClient(t, u), eng, targets, PullerConfig{Interval: interval, RawBackfill: raw,
			NoRemoteRead: noRemote, MaxIncreaseRate: 1e6, Logger: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		var last BackfillProgress
		if err := p.Backfill(ctx, end.Add(-4*24*time.Hour), end, func(bp BackfillProgress) { last = bp }); err != nil {
			t.Fatal(err)
		}
		return eng.Evaluate(end), last, p.Stats()
	}
	coarse, cp, cs := run(false, true)
	streamed, sp, ss := run(false, false)
	raw, rp, rs := run(true, false)
	t.Logf("boundary values: %d queries, %d points; streamed: %d requests, %d points; raw: %d queries, %d points",
		cp.Queries, cp.Points, sp.Queries, sp.Points, rp.Queries, rp.Points)
	if cs.Counters.ImplausibleSamples == 0 || rs.Counters.ImplausibleSamples == 0 || rs.Counters.InvalidSamples < 3 {
		t.Errorf("the spike, NaN and negative samples were not all met: coarse %+v raw %+v", cs.Counters, rs.Counters)
	}
	if ss.Counters != rs.Counters {
		t.Errorf("streamed counters %+v, raw %+v", ss.Counters, rs.Counters)
	}
	t.Logf("coarse slots (clean, one drop, raw): %v; streamed (thinned, -, every step): %v", cs.BackfillSlots, ss.BackfillSlots)
	if cs.BackfillSlots[0] == 0 || cs.BackfillSlots[1] == 0 || cs.BackfillSlots[2] == 0 {
		t.Errorf("coarse slots (clean, one drop, raw) %v: want each kind", cs.BackfillSlots)
	}
	if ss.BackfillSlots[0] == 0 || ss.BackfillSlots[2] == 0 {
		t.Errorf("streamed slots (thinned, -, every step) %v: want both kinds", ss.BackfillSlots)
	}
	if cp.Points >= rp.Points {
		t.Errorf("boundary values fetched %d points, raw %d", cp.Points, rp.Points)
	}
	// Thinned slots step at their boundaries only.
	t.Logf("steps: streamed %d, raw %d", ss.Steps, rs.Steps)
	if ss.Steps*4 > rs.Steps {
		t.Errorf("streamed backfill took %d steps, raw %d: thinning did not step less", ss.Steps, rs.Steps)
	}
	t.Run("streamed", func(t *testing.T) { sameSnapshots(t, streamed, raw) })
	t.Run("no remote read", func(t *testing.T) {
		got, _, gs := run(false, false, proxy.URL)
		if n := reads.Load(); n != 1 {
			t.Errorf("%d remote read requests, want 1 (refused, then PromQL)", n)
		}
		if gs.BackfillSlots != cs.BackfillSlots {
			t.Errorf("slots %v, want the PromQL path's %v", gs.BackfillSlots, cs.BackfillSlots)
		}
		sameSnapshots(t, got, raw)
	})
	t.Run("a failed read resumes", func(t *testing.T) {
		// The fourth streamed read fails, as when Prometheus goes away
		// mid-backfill: the backfill returns the error, and called
		// again it resumes after the last step, streaming the rest.
		eng, err := evaluator.New(interval, specs)
		if err != nil {
			t.Fatal(err)
		}
		fr := &failingReader{Client: newTestClient(t, srv.URL), failAt: 4}
		p, err := NewPuller(fr, eng, targets, PullerConfig{Interval: interval, MaxIncreaseRate: 1e6, MaxSamples: 40_000, Logger: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		from := end.Add(-4 * 24 * time.Hour)
		if err := p.Backfill(ctx, from, end, nil); err == nil || !strings.Contains(err.Error(), "injected") {
			t.Fatalf("backfill with a failing read: %v, want the injected error", err)
		}
		mid, _ := p.sources[0].tracker.Last()
		if err := p.Backfill(ctx, from, end, nil); err != nil {
			t.Fatal(err)
		}
		t.Logf("failed after the step at %s; %d reads in all", time.UnixMilli(mid).UTC().Format(time.RFC3339), fr.calls)
		if mid <= from.UnixMilli() || mid >= end.UnixMilli() || p.Stats().BackfillSlots[0] == 0 {
			t.Errorf("the first backfill stepped to %d (from %d to %d), thinned slots %d: want a failure mid-stream and streaming after it",
				mid, from.UnixMilli(), end.UnixMilli(), p.Stats().BackfillSlots[0])
		}
		sameSnapshots(t, eng.Evaluate(end), raw)
	})
	sameSnapshots(t, coarse, raw)
	for _, s := range coarse.SLOs {
		for _, g := range s.Groups {
			w := g.Windows[len(g.Windows)-1]
			t.Logf("%s %v: 30d good %v valid %v", s.Spec.Name, g.Labels, w.Good, w.Valid)
			if w.Valid == 0 {
				t.Errorf("%s %v: no events", s.Spec.Name, g.Labels)
			}
		}
	}
}

// failingReader is a Client whose failAt-th remote read fails.
type failingReader struct {
	*Client
	failAt, calls int
}

func (f *failingReader) RemoteRead(ctx context.Context, sels []string, start, end time.Time, into ReadInto) ([][]ReadSeries, error) {
	f.calls++
	if f.calls == f.failAt {
		return nil, errors.New("injected read failure")
	}
	return f.Client.RemoteRead(ctx, sels, start, end, into)
}
