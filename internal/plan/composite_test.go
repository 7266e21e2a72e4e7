package plan

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

const compositeDoc = `
prometheus: {url: "http://localhost:9090"}
slos:
  - name: inference-availability
    service: inference-journey
    objective: 99.5%
    period: 7d
    windows: [10m, 1d]
    sli:
      composite:
        components:
          - {slo: feature-store-availability, weight: 3}
          - {slo: model-api-availability}
  - name: inference-journey-bound
    service: inference-journey
    objective: 99%
    period: 7d
    sli: {composite: {combine: product, components: [{slo: feature-store-availability}, {slo: model-api-availability}]}}
  - name: feature-store-availability
    service: feature-store
    objective: 99.99%
    period: 7d
    windows: [5m, 1h]
    sli: {ratio: {good: 'lookups_total{result="ok"}', valid: 'lookups_total'}}
  - name: model-api-availability
    service: model-api
    objective: 99.9%
    period: 7d
    sli: {ratio: {bad: 'http_requests_total{code=~"5.."}', valid: 'http_requests_total'}}
`

// TestCompositePlan checks the wiring from configuration to engine:
// composites get no scrape target, resolve their components by name
// (wherever they are listed), the components keep the composites' windows,
// and one evaluation combines the components' SLIs as documented.
func TestCompositePlan(t *testing.T) {
	p, eng := build(t, compositeDoc)
	if len(p.Targets) != 2 || p.Targets[0].SLO != 2 || p.Targets[1].SLO != 3 {
		t.Fatalf("targets %+v, want the two components (SLOs 2 and 3) only", p.Targets)
	}
	c := p.Specs[0].Composite
	if c == nil || c.Combine != evaluator.CombineWeighted || len(c.Components) != 2 ||
		c.Components[0] != (evaluator.Component{SLO: 2, Weight: 3}) || c.Components[1] != (evaluator.Component{SLO: 3}) {
		t.Fatalf("weighted composite spec %+v", c)
	}
	if c := p.Specs[1].Composite; c == nil || c.Combine != evaluator.CombineProduct {
		t.Fatalf("product composite spec %+v", c)
	}
	if p.Meta[0].Kind != "composite" {
		t.Errorf("composite kind %q", p.Meta[0].Kind)
	}
	for _, comp := range []int{2, 3} {
		for _, w := range p.Specs[0].Windows {
			if !slices.Contains(p.Specs[comp].Windows, w) {
				t.Errorf("component %s lacks the composite's window %s (has %v)", p.Specs[comp].Name, w, p.Specs[comp].Windows)
			}
		}
	}
	if !slices.Contains(p.Specs[2].Windows, 5*time.Minute) || !slices.Contains(p.Specs[2].Windows, 10*time.Minute) {
		t.Errorf("feature-store windows %v: want its own 5m and the composite's 10m", p.Specs[2].Windows)
	}

	fs, _ := eng.Group(2, nil, 0)
	api, _ := eng.Group(3, nil, 0)
	if err := fs.Record(0, 60_000, 99_980, 100_000); err != nil {
		t.Fatal(err)
	}
	if err := api.Record(0, 60_000, 990, 1000); err != nil {
		t.Fatal(err)
	}
	snap := eng.Evaluate(time.UnixMilli(60_000))
	if w := snap.SLOs[0].Windows; !slices.Contains(w, 10*time.Minute) || !slices.Contains(w, 7*24*time.Hour) {
		t.Errorf("weighted composite windows %v: want its 10m and the 7d period", w)
	}
	for _, tc := range []struct {
		slo int
		sli float64
	}{
		{0, (3*0.9998 + 0.99) / 4},
		{1, 0.9998 * 0.99},
	} {
		r := snap.SLOs[tc.slo]
		obj := r.Spec.Objective
		for i, w := range r.Windows {
			got := r.Groups[0].Windows[i]
			if math.Abs(got.SLI-tc.sli) > 1e-12 || math.Abs(got.BurnRate-(1-tc.sli)/(1-obj)) > 1e-9 {
				t.Errorf("%s %s: SLI %v burn %v, want %v, %v", r.Spec.Name, w, got.SLI, got.BurnRate, tc.sli, (1-tc.sli)/(1-obj))
			}
		}
		if b := r.Groups[0].Budget; math.Abs(b.RemainingRatio-(1-(1-tc.sli)/(1-obj))) > 1e-9 {
			t.Errorf("%s: remaining %v, want %v", r.Spec.Name, b.RemainingRatio, 1-(1-tc.sli)/(1-obj))
		}
	}
}
