package plan

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/readers"
	"github.com/slo-exporter/slo-exporter/internal/synth"
)

// readersEnd is the end of the history of the readers' proof, on the hour
// so that every window up to 1d is exact at bucket resolution.
var readersEnd = time.Date(2024, 6, 3, 12, 0, 0, 0, time.UTC)

// slothAvailability is a Sloth-style availability SLO over the synthetic
// counters, as Sloth users write it.
const slothAvailability = `version: prometheus/v1
service: model-api
slos:
  - name: availability
    objective: 99.5
    sli:
      events:
        error_query: sum(rate(synth_requests_total{job="synth",code="500"}[{{.window}}]))
        total_query: sum(rate(synth_requests_total{job="synth"}[{{.window}}]))
    alerting:
      name: ModelAPIErrors
`

// pyrraLatency is a Pyrra latency SLO over a classic histogram, grouped by
// model, as Pyrra users write it.
const pyrraLatency = `apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: model-api-latency
  labels:
    pyrra.dev/service: model-api
spec:
  target: "95"
  window: 4w
  indicator:
    latency:
      success:
        metric: synth_request_duration_seconds_bucket{job="synth",le="0.2"}
      total:
        metric: synth_request_duration_seconds_count{job="synth"}
      grouping: [model]
`

// histogramOf derives a classic histogram's bucket le="0.2" and _count
// series from each group's good and bad counters (which share their
// timestamps): the requests under 200 ms are the good ones.
func histogramOf(series []synth.Series) []synth.Series {
	byModel := map[string][2]*synth.Series{}
	for i := range series {
		s := &series[i]
		pair := byModel[s.Labels["model"]]
		if s.Labels["code"] == synth.CodeGood {
			pair[0] = s
		} else {
			pair[1] = s
		}
		byModel[s.Labels["model"]] = pair
	}
	var out []synth.Series
	for m, pair := range byModel {
		good, bad := pair[0], pair[1]
		bucket := synth.Series{Labels: map[string]string{"__name__": "synth_request_duration_seconds_bucket", "job": "synth", "model": m, "le": "0.2"}}
		count := synth.Series{Labels: map[string]string{"__name__": "synth_request_duration_seconds_count", "job": "synth", "model": m}}
		for i, p := range good.Samples {
			bucket.Samples = append(bucket.Samples, p)
			count.Samples = append(count.Samples, synth.Sample{T: p.T, V: p.V + bad.Samples[i].V})
		}
		out = append(out, bucket, count)
	}
	return out
}

// TestReadersThroughPrometheus proves that SLOs read from other tools'
// files measure what those tools measure. A Sloth availability SLO (sum
// over models of error and total rates) and a Pyrra latency SLO (a
// histogram's bucket over its count, per model) are read by
// internal/readers as the commands read them, wired as the daemon wires
// them and backfilled from a real Prometheus over 26 hours of synthetic
// history with jittered scrapes, counter resets, churn, a scrape gap and
// an incident. At the end, for every window from 5m to 1d:
//
//   - the engine's good and valid events equal brute force on the raw
//     samples (reset-aware differences), exactly;
//   - the PromQL each tool records, queried at the same time on the same
//     server, lies where increase()'s extrapolation puts it: Pyrra's
//     per-model ratio equals the ratio of the raw increments between the
//     samples in the range (bucket and count share timestamps, so the
//     extrapolation factor cancels), or for a model whose series begin
//     inside the range (extrapolated only down to zero) lies within the
//     ratio of the extrapolation bounds; Sloth's sum over models lies
//     within the ratio of the per-series extrapolation bounds;
//   - so the SLIs differ only by what extrapolation and the window's
//     first increment make them differ; the largest difference is logged.
func TestReadersThroughPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus")
	}
	start := readersEnd.Add(-26 * time.Hour)
	sc := synth.Standard(start, readersEnd, 13)
	sc.Jitter = 11 * time.Second
	counters := synth.Generate(sc)
	hist := histogramOf(counters)
	srv := serveHistory(t, append(append([]synth.Series{}, counters...), hist...))

	dir := t.TempDir()
	slothFile, pyrraFile := filepath.Join(dir, "sloth.yaml"), filepath.Join(dir, "pyrra.yaml")
	for f, doc := range map[string]string{slothFile: slothAvailability, pyrraFile: pyrraLatency} {
		if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := readers.Load([]string{slothFile, pyrraFile}, nil, map[string]any{"prometheus.url": srv.URL}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) > 0 {
		t.Fatalf("warnings: %v", res.Warnings)
	}
	run := wireLoaded(t, srv, res.Config, counters[0], nil)
	first := run.backfill(t, start, readersEnd)
	snap := run.eng.Evaluate(readersEnd)
	end := readersEnd.UnixMilli()
	ctx := context.Background()
	var maxDiff float64
	compared := 0

	result := func(name string) *evaluator.SLOResult {
		for i := range snap.SLOs {
			if snap.SLOs[i].Spec.Name == name {
				return &snap.SLOs[i]
			}
		}
		t.Fatalf("no result for %s", name)
		return nil
	}
	bounds := func(series []synth.Series, match func(map[string]string) bool, from int64) (lo, hi, exact float64, ok bool) {
		for _, s := range series {
			if !match(s.Labels) {
				continue
			}
			exact += synth.Increase(around(s, from, end), from, end)
			if l, h, sok := synth.ExtrapolationBounds(around(s, from, end), from, end, run.leftClosed); sok {
				lo, hi, ok = lo+l, hi+h, true
			}
		}
		return lo, hi, exact, ok
	}
	query := func(expr string) model.Vector {
		v, err := srv.Query(ctx, expr, readersEnd)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	windows := []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 24 * time.Hour}

	// Sloth: slo:sli_error:ratio_rate<W> = error_query / total_query.
	sloth := result("model-api-availability")
	for _, w := range windows {
		from := readersEnd.Add(-w).UnixMilli()
		if from < first.UnixMilli() {
			t.Fatalf("window %s starts before the backfill's baseline", w)
		}
		wi := sloth.Window(w)
		if wi < 0 {
			t.Fatalf("sloth SLO has no %s window", w)
		}
		got := sloth.Groups[0].Windows[wi]
		lb, hb, bad, okB := bounds(counters, func(l map[string]string) bool { return l["code"] == synth.CodeBad }, from)
		lt, ht, valid, okT := bounds(counters, func(map[string]string) bool { return true }, from)
		if math.Abs(got.Valid-valid) > 1e-9*valid || math.Abs((got.Valid-got.Good)-bad) > 1e-9*valid {
			t.Errorf("sloth %s: engine good/valid %v/%v, brute force %v/%v", w, got.Good, got.Valid, valid-bad, valid)
		}
		d := model.Duration(w).String()
		v := query(fmt.Sprintf(`sum(rate(synth_requests_total{job="synth",code="500"}[%s])) / sum(rate(synth_requests_total{job="synth"}[%s]))`, d, d))
		if !okB || !okT || len(v) != 1 {
			t.Fatalf("sloth %s: PromQL %v, bounds known %v %v", w, v, okB, okT)
		}
		promErr := float64(v[0].Value)
		// rate = increase / W on both sides, so the ratio's bounds are
		// those of the increases.
		if lo, hi := lb/ht, hb/lt; promErr < lo*(1-1e-9) || promErr > hi*(1+1e-9) {
			t.Errorf("sloth %s: PromQL error ratio %v outside its extrapolation bounds [%v, %v]", w, promErr, lo, hi)
		}
		maxDiff = max(maxDiff, math.Abs(got.SLI-(1-promErr)))
		compared++
	}

	// Pyrra: the error ratio of the latency indicator per model,
	// (count - bucket) / count.
	pyrra := result("model-api-latency")
	for _, w := range windows {
		from := readersEnd.Add(-w).UnixMilli()
		wi := pyrra.Window(w)
		if wi < 0 {
			t.Fatalf("pyrra SLO has no %s window", w)
		}
		d := model.Duration(w).String()
		v := query(fmt.Sprintf(`(sum by (model) (rate(synth_request_duration_seconds_count{job="synth"}[%s])) - sum by (model) (rate(synth_request_duration_seconds_bucket{job="synth",le="0.2"}[%s]))) / sum by (model) (rate(synth_request_duration_seconds_count{job="synth"}[%s]))`, d, d, d))
		promql := map[string]float64{}
		for _, s := range v {
			promql[string(s.Metric["model"])] = float64(s.Value)
		}
		for _, m := range []string{"a", "b", "c", "d"} {
			ofModel := func(name string) func(map[string]string) bool {
				return func(l map[string]string) bool { return l["model"] == m && l["__name__"] == name }
			}
			rawGood, hiGood, good, okG := bounds(hist, ofModel("synth_request_duration_seconds_bucket"), from)
			rawValid, hiValid, valid, okV := bounds(hist, ofModel("synth_request_duration_seconds_count"), from)
			// A series that begins inside the range is extrapolated
			// towards the start only down to where it would be zero,
			// which differs between bucket and count: the factor then
			// does not cancel, and only the bounds hold.
			bornInside := false
			for _, s := range hist {
				if s.Labels["model"] == m && len(s.Samples) > 0 && s.Samples[0].T > from {
					bornInside = true
				}
			}
			g := groupOf(pyrra, m)
			if valid == 0 {
				if g != nil && g.Windows[wi].HasSLI {
					t.Errorf("pyrra %s model %s: an SLI without valid events", w, m)
				}
				continue
			}
			if g == nil {
				t.Fatalf("pyrra %s: no group %s", w, m)
			}
			got := g.Windows[wi]
			if math.Abs(got.Good-good) > 1e-9*valid || math.Abs(got.Valid-valid) > 1e-9*valid {
				t.Errorf("pyrra %s model %s: engine good/valid %v/%v, brute force %v/%v", w, m, got.Good, got.Valid, good, valid)
			}
			pe, has := promql[m]
			if !okG || !okV || rawValid == 0 {
				if has {
					t.Errorf("pyrra %s model %s: PromQL %v where fewer than two samples are in the range", w, m, pe)
				}
				continue
			}
			lo, hi := 1-min(1, hiGood/rawValid), 1-rawGood/hiValid
			switch want := 1 - rawGood/rawValid; {
			case !has:
				t.Errorf("pyrra %s model %s: no PromQL value", w, m)
			case bornInside && (pe < lo-1e-9 || pe > hi+1e-9):
				t.Errorf("pyrra %s model %s: PromQL error ratio %v outside its extrapolation bounds [%v, %v]", w, m, pe, lo, hi)
			case !bornInside && math.Abs(pe-want) > 1e-9:
				t.Errorf("pyrra %s model %s: PromQL error ratio %v, the raw increments between its samples give %v", w, m, pe, want)
			}
			maxDiff = max(maxDiff, math.Abs(got.SLI-(1-pe)))
			compared++
		}
	}
	if compared < 20 {
		t.Fatalf("only %d windows compared", compared)
	}
	t.Logf("%d windows compared; largest |SLI - PromQL SLI| %.3g", compared, maxDiff)
}
