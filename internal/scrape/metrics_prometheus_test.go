package scrape

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// countingProxy stands between the client and a real Prometheus and
// counts what passed, independently of the client and the puller: the
// requests, the response bytes, the raw samples of each answer (those
// after the range's start, the (start, end] the client keeps), split into
// backfill requests (the probe, and raw reads longer than a tick's) and
// the others. While failing, it answers 503 itself.
type countingProxy struct {
	*httptest.Server
	mu      sync.Mutex
	failing func(expr string, span time.Duration) bool
	all     traffic
	bf      traffic
	failed  int
}

// traffic is what the proxy relayed.
type traffic struct {
	requests, samples int
	bytes             int64
}

// rangeSpan finds the [Nms] range of a raw-sample read.
var rangeSpan = regexp.MustCompile(`\[(\d+)ms\]$`)

func newCountingProxy(t *testing.T, upstream string) *countingProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	cp := &countingProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	cp.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		expr := form.Get("query")
		var span time.Duration
		if m := rangeSpan.FindStringSubmatch(expr); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			span = time.Duration(n) * time.Millisecond
		}
		probe := strings.Contains(expr, probeLabel)
		backfill := probe || span > 3*interval || strings.HasSuffix(r.URL.Path, "/query_range")
		cp.mu.Lock()
		fail := cp.failing != nil && cp.failing(expr, span)
		cp.mu.Unlock()
		var out []byte
		if fail {
			out = []byte("injected failure")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write(out)
		} else {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			r.Header.Del("Accept-Encoding") // count the bytes the client reads
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r)
			out = rec.Body.Bytes()
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(out)
		}
		samples := 0
		if !fail && !probe {
			samples = countSamples(t, out, form.Get("time"), span)
		}
		cp.mu.Lock()
		defer cp.mu.Unlock()
		for _, tr := range []*traffic{&cp.all, map[bool]*traffic{true: &cp.bf, false: {}}[backfill]} {
			tr.requests++
			tr.bytes += int64(len(out))
			tr.samples += samples
		}
		if fail {
			cp.failed++
		}
	}))
	t.Cleanup(cp.Close)
	return cp
}

// countSamples counts the samples of an API answer: for a raw read at
// time ts over span, those after ts - span.
func countSamples(t *testing.T, body []byte, ts string, span time.Duration) int {
	var env struct {
		Data struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Value      json.RawMessage     `json:"value"`
				Values     [][]json.RawMessage `json:"values"`
				Histograms [][]json.RawMessage `json:"histograms"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Errorf("proxy: undecodable answer: %v", err)
		return 0
	}
	after := -1.0
	if span > 0 {
		end, _ := strconv.ParseFloat(ts, 64)
		after = end - span.Seconds()
	}
	n := 0
	for _, s := range env.Data.Result {
		if env.Data.ResultType == "vector" {
			n++
			continue
		}
		for _, pts := range [][][]json.RawMessage{s.Values, s.Histograms} {
			for _, p := range pts {
				at, _ := strconv.ParseFloat(string(p[0]), 64)
				if span == 0 || at > after+1e-9 {
					n++
				}
			}
		}
	}
	return n
}

func (cp *countingProxy) snapshot() (all, bf traffic, failed int) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.all, cp.bf, cp.failed
}

func (cp *countingProxy) fail(f func(expr string, span time.Duration) bool) {
	cp.mu.Lock()
	cp.failing = f
	cp.mu.Unlock()
}

// TestPullerMetricsLive drives two pullers, one after the other as a
// reload replaces a configuration's, through a counting proxy in front of a
// real Prometheus serving a day of synthetic history, with two outages, and
// requires every self-metric on the registry to equal what happened: the
// proxy's count of requests, failures, bytes and samples, the ticks the
// test ran and the gaps it caused; and every puller counter to equal the
// sum of the two pullers' own counts (the second added to the first's: a
// reload resets nothing).
func TestPullerMetricsLive(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus")
	}
	h := newHistory(t, 1, 11)
	proxy := newCountingProxy(t, h.srv.URL)
	ctx := context.Background()
	// The scenario ends an hour after the history's second restart (of
	// every series), which falls in the second puller's ticks.
	T := h.cfg.Restarts[1].At.Truncate(interval).Add(time.Hour)

	reg := prometheus.NewPedanticRegistry()
	cm, err := NewClientMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := NewPullerMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	newRuntime := func() *liveSetup {
		c, err := NewClient(ClientConfig{URL: proxy.URL, Timeout: 20 * time.Second, Retries: -1, Metrics: cm})
		if err != nil {
			t.Fatal(err)
		}
		return newLiveSetupConfig(t, c, PullerConfig{Metrics: pm})
	}
	ticks := 0
	gaps, gapErrors := 0, 0
	tick := func(p *Puller, from, to time.Time, failing func(i int) func(string, time.Duration) bool) {
		i := 0
		for tm := from.Add(interval); !tm.After(to); tm = tm.Add(interval) {
			proxy.fail(failing(i))
			r := p.Tick(ctx, tm)
			ticks++
			gapFailed := false
			for _, err := range r.Errors {
				gapFailed = gapFailed || strings.Contains(err.Error(), "backfilling the gap")
			}
			if gapFailed {
				gapErrors++
			}
			if r.GapSteps > 0 || gapFailed {
				gaps++ // a gap backfill was tried
			}
			i++
		}
		proxy.fail(nil)
	}
	failAll := func(string, time.Duration) bool { return true }

	// The first configuration: a backfill, then an hour of ticks with a
	// 5-tick outage whose gap is backfilled when it ends.
	a := newRuntime()
	if err := a.p.Backfill(ctx, T.Add(-3*time.Hour), T.Add(-2*time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	tick(a.p, T.Add(-2*time.Hour), T.Add(-time.Hour), func(i int) func(string, time.Duration) bool {
		if i >= 10 && i < 15 {
			return failAll
		}
		return nil
	})

	// The reload's configuration: its own backfill, then ticks with an
	// outage whose gap backfill fails too (the probe and reads longer than
	// a tick's fail at the recovery tick).
	b := newRuntime()
	if err := b.p.Backfill(ctx, T.Add(-2*time.Hour), T.Add(-time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	tick(b.p, T.Add(-time.Hour), T, func(i int) func(string, time.Duration) bool {
		switch {
		case i >= 20 && i < 25:
			return failAll
		case i == 25:
			return func(expr string, span time.Duration) bool {
				return strings.Contains(expr, probeLabel) || span > 3*interval
			}
		}
		return nil
	})

	all, bf, failed := proxy.snapshot()
	sa, sb := a.p.Stats(), b.p.Stats()
	t.Logf("proxy: %+v, backfills %+v, %d failed; %d ticks, %d gaps (%d failed)", all, bf, failed, ticks, gaps, gapErrors)
	if gaps != 2 || gapErrors != 1 || failed != 2*5+2*5+1 {
		t.Fatalf("the scenario went wrong: %d gaps backfilled, %d failed, %d requests failed; want 2, 1, 21", gaps, gapErrors, failed)
	}
	sum := func(f func(s Stats) uint64) float64 { return float64(f(sa) + f(sb)) }
	got := gather(t, reg)
	got.check(t, map[string]float64{
		// What the proxy saw.
		"slo_exporter_query_attempts_total":                  float64(all.requests),
		"slo_exporter_query_retries_total":                   0,
		"slo_exporter_query_duration_seconds_count":          float64(all.requests),
		`slo_exporter_query_errors_total{reason="http_5xx"}`: float64(failed),
		`slo_exporter_query_errors_total{reason="timeout"}`:  0,
		"slo_exporter_query_response_bytes_total":            float64(all.bytes),
		"slo_exporter_queries_total":                         float64(all.requests),
		"slo_exporter_query_points_total":                    float64(all.samples),
		"slo_exporter_backfill_queries_total":                float64(bf.requests),
		"slo_exporter_backfill_samples_total":                float64(bf.samples),
		"slo_exporter_backfill_response_bytes_total":         float64(bf.bytes),
		// What the test did.
		"slo_exporter_ticks_total":               float64(ticks),
		"slo_exporter_gap_backfills_total":       float64(gaps),
		"slo_exporter_gap_backfill_errors_total": float64(gapErrors),
		// The two pullers' own counts, added: nothing was reset.
		"slo_exporter_pull_steps_total":                                   sum(func(s Stats) uint64 { return s.Steps }),
		"slo_exporter_source_resets_total":                                sum(func(s Stats) uint64 { return s.Counters.Resets }),
		"slo_exporter_source_invalid_samples_total":                       sum(func(s Stats) uint64 { return s.Counters.InvalidSamples }),
		"slo_exporter_source_implausible_samples_total":                   sum(func(s Stats) uint64 { return s.Counters.ImplausibleSamples }),
		"slo_exporter_source_refused_pulls_total":                         sum(func(s Stats) uint64 { return s.Counters.RefusedPulls }),
		"slo_exporter_source_new_series_total":                            sum(func(s Stats) uint64 { return s.Counters.NewSeries }),
		"slo_exporter_source_forgotten_series_total":                      sum(func(s Stats) uint64 { return s.Counters.ForgottenSeries }),
		"slo_exporter_source_negative_good_total":                         sum(func(s Stats) uint64 { return s.NegativeGood }),
		"slo_exporter_records_refused_total":                              sum(func(s Stats) uint64 { return s.RecordErrors }),
		"slo_exporter_pending_pulls_merged_total":                         sum(func(s Stats) uint64 { return s.MergedPending }),
		"slo_exporter_source_skipped_samples_total":                       sum(func(s Stats) uint64 { return s.SkippedSamples }),
		"slo_exporter_dropped_valid_events_total":                         sa.DroppedValidEvents + sb.DroppedValidEvents,
		`slo_exporter_source_pull_errors_total{reason="le_boundary"}`:     sum(func(s Stats) uint64 { return s.LEErrors }),
		`slo_exporter_source_pull_errors_total{reason="native_boundary"}`: sum(func(s Stats) uint64 { return s.NativeErrors }),
		`slo_exporter_source_pull_errors_total{reason="missing_valid"}`:   sum(func(s Stats) uint64 { return s.MissingValid }),
	})
	// The history restarts counters (synth.Standard) and the first reads
	// see every series for the first time: the sums above are not zeros.
	if got["slo_exporter_source_resets_total"] == 0 || got["slo_exporter_source_new_series_total"] == 0 ||
		got["slo_exporter_pull_steps_total"] <= float64(ticks) {
		t.Errorf("resets %v, new series %v, steps %v: the history should show resets, new series and backfill steps",
			got["slo_exporter_source_resets_total"], got["slo_exporter_source_new_series_total"], got["slo_exporter_pull_steps_total"])
	}
	// Float wall times added delta by delta: equal within rounding.
	if s, want := got["slo_exporter_backfill_duration_seconds_total"], sa.BackfillSeconds+sb.BackfillSeconds; s <= 0 || math.Abs(s-want) > 1e-9*want {
		t.Errorf("backfill seconds %v, the pullers' %v + %v", s, sa.BackfillSeconds, sb.BackfillSeconds)
	}
}
