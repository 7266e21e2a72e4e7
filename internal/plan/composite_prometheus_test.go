package plan

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
	"github.com/slo-exporter/slo-exporter/internal/synth"
)

// compositeEnd is the last sample of the composite history: on a whole
// hour, so every window's far edge falls on a bucket boundary and the
// engine's sums are exact.
var compositeEnd = time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)

// compositeConfig is the SLO configuration of the proof: two component
// SLOs over the synthetic services "a" and "b" and two composites of
// them, written as users write them.
func compositeConfig(url string) string {
	return fmt.Sprintf(`
global: {evaluation_interval: 30s}
prometheus: {url: %q}
slos:
  - name: weighted
    service: journey
    objective: 99%%
    period: 1d
    windows: [5m, 1h, 6h]
    alerting: {tiers: [{name: long, enabled: false}]}
    sli: {composite: {components: [{slo: fs, weight: 2}, {slo: api}]}}
  - name: product
    service: journey
    objective: 99%%
    period: 1d
    windows: [10m]
    alerting: {tiers: [{name: long, enabled: false}]}
    sli: {composite: {combine: product, components: [{slo: fs}, {slo: api}]}}
  - name: fs
    service: feature-store
    objective: 99.9%%
    period: 1d
    alerting: {tiers: [{name: long, enabled: false}]}
    sli: {ratio: {good: 'synth_requests_total{job="synth",model="a",code="200"}', valid: 'synth_requests_total{job="synth",model="a"}'}}
  - name: api
    service: model-api
    objective: 99.5%%
    period: 1d
    alerting: {tiers: [{name: long, enabled: false}]}
    sli: {ratio: {bad: 'synth_requests_total{job="synth",model="b",code="500"}', valid: 'synth_requests_total{job="synth",model="b"}'}}
`, url)
}

// TestCompositeThroughPrometheus proves composite SLOs end to end: two
// days of synthetic counters (incidents at different times on the two
// services, so every window combines different SLIs) go into a real
// Prometheus as TSDB blocks; the configuration is loaded, planned,
// backfilled through the puller and evaluated; and every window's SLI,
// burn rate and the period's budget of both composites are compared with
// the same combination computed by PromQL on the same data, from exact
// counter differences (the history has no resets, so x - x offset W is
// the window's events). Tolerance 1e-9: both sides sum the same integers
// and differ only in float rounding.
func TestCompositeThroughPrometheus(t *testing.T) {
	promtool := promtest.Binary(t, "promtool", "PROMTOOL")
	bin := promtest.Binary(t, "prometheus", "PROMETHEUS")
	start := compositeEnd.Add(-2 * 24 * time.Hour)
	at := func(h float64) time.Time { return compositeEnd.Add(-time.Duration(h * float64(time.Hour))) }
	cfg := synth.Config{Start: start, End: compositeEnd, Step: 30 * time.Second, Seed: 11,
		Metric: "synth_requests_total", GroupLabel: "model", ExtraLabels: map[string]string{"job": "synth"},
		BaseRate: 20, ErrorRatio: 0.0005,
		Incidents: []synth.Incident{
			{Start: at(20), Duration: 40 * time.Minute, ErrorRatio: 0.05, Groups: []string{"a"}},
			{Start: at(5), Duration: 2 * time.Hour, ErrorRatio: 0.02, Groups: []string{"b"}},
			{Start: at(0.5), Duration: 20 * time.Minute, ErrorRatio: 0.3, Groups: []string{"a"}},
			{Start: at(0.1), Duration: 6 * time.Minute, ErrorRatio: 0.1, Groups: []string{"b"}},
		},
		Bursts: []synth.Burst{{Start: at(3), Duration: 30 * time.Minute, Factor: 5, Groups: []string{"b"}}},
	}
	var om bytes.Buffer
	if err := synth.WriteOpenMetrics(&om, synth.Generate(cfg)); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	promtest.CreateBlocks(t, promtool, om.Bytes(), dir)
	srv := promtest.Start(t, promtest.Options{Binary: bin, DataDir: dir})

	p, eng := build(t, compositeConfig(srv.URL))
	client, err := scrape.NewClient(scrape.ClientConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	puller, err := scrape.NewPuller(client, eng, p.Targets, scrape.PullerConfig{Interval: p.Interval})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Evaluate at the end and at two earlier instants, inside incidents.
	checks := []time.Time{at(4), at(0.25), compositeEnd} // on 5m boundaries: the 1d window's 5m buckets end exactly there
	from := start.Add(time.Minute)
	for _, now := range checks {
		if err := puller.Backfill(ctx, from, now, nil); err != nil {
			t.Fatal(err)
		}
		from = now.Add(p.Interval)
		snap := eng.Evaluate(now)
		for _, r := range snap.SLOs[:2] {
			if !r.Composite || len(r.Groups) != 1 {
				t.Fatalf("%s at %s: composite=%v, %d groups", r.Spec.Name, now, r.Composite, len(r.Groups))
			}
			g := r.Groups[0]
			for wi, w := range r.Windows {
				want := promComposite(t, srv, r.Spec.Name, w, now)
				got := g.Windows[wi]
				if !got.HasSLI || math.Abs(got.SLI-want) > 1e-9 {
					t.Errorf("%s %s at %s: SLI %v (has %v), PromQL %v", r.Spec.Name, slo.FormatWindow(w), now.Format(time.RFC3339), got.SLI, got.HasSLI, want)
				}
				if wantBurn := (1 - want) / (1 - r.Spec.Objective); math.Abs(got.BurnRate-wantBurn) > 1e-7 {
					t.Errorf("%s %s: burn %v, PromQL %v", r.Spec.Name, slo.FormatWindow(w), got.BurnRate, wantBurn)
				}
			}
			pw := promComposite(t, srv, r.Spec.Name, 24*time.Hour, now)
			if want := 1 - (1-pw)/(1-r.Spec.Objective); math.Abs(g.Budget.RemainingRatio-want) > 1e-7 {
				t.Errorf("%s at %s: budget remaining %v, PromQL %v", r.Spec.Name, now.Format(time.RFC3339), g.Budget.RemainingRatio, want)
			}
			t.Logf("%s at %s: shortest-window SLI %.6f, 1d SLI %.6f, budget remaining %.4f",
				r.Spec.Name, now.Format(time.RFC3339), g.Windows[0].SLI, g.Period.SLI, g.Budget.RemainingRatio)
		}
	}
}

// promComposite computes a composite's SLI over (now-w, now] in PromQL
// from exact counter differences of the components.
func promComposite(t *testing.T, srv *promtest.Server, name string, w time.Duration, now time.Time) float64 {
	t.Helper()
	inc := func(sel string) string {
		return fmt.Sprintf("(sum(%s) - sum(%s offset %s))", sel, sel, slo.FormatWindow(w))
	}
	a := fmt.Sprintf("(%s / %s)", inc(`synth_requests_total{job="synth",model="a",code="200"}`), inc(`synth_requests_total{job="synth",model="a"}`))
	b := fmt.Sprintf("(1 - %s / %s)", inc(`synth_requests_total{job="synth",model="b",code="500"}`), inc(`synth_requests_total{job="synth",model="b"}`))
	var expr string
	switch name {
	case "weighted":
		expr = fmt.Sprintf("(2 * %s + 1 * %s) / 3", a, b)
	case "product":
		expr = fmt.Sprintf("%s * %s", a, b)
	default:
		t.Fatalf("unknown composite %s", name)
	}
	v, err := srv.Query(context.Background(), expr, now)
	if err != nil || len(v) != 1 {
		t.Fatalf("PromQL %s at %s: %v (%d samples)", strings.TrimSpace(expr), now, err, len(v))
	}
	return float64(v[0].Value)
}
