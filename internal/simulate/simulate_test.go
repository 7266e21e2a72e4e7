package simulate

import (
	"math"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

func TestParseIncident(t *testing.T) {
	tests := []struct {
		in      string
		want    Incident
		wantErr string
	}{
		{"start=10m,duration=30m,error_ratio=0.5", Incident{10 * time.Minute, 30 * time.Minute, 0.5}, ""},
		{"duration=1h,error_ratio=1", Incident{0, time.Hour, 1}, ""},
		{"duration=1h", Incident{}, `incident "duration=1h": duration and error_ratio are required`},
		{"duration=1h,error_ratio=2", Incident{}, `incident "duration=1h,error_ratio=2": error_ratio "2": must be in [0, 1]`},
		{"duration=1x,error_ratio=1", Incident{}, `incident "duration=1x,error_ratio=1": duration "1x": unknown unit "x" in duration "1x"`},
		{"length=1h", Incident{}, `incident "length=1h": unknown key "length" (want start, duration, error_ratio)`},
		{"oops", Incident{}, `incident "oops": "oops" is not key=value`},
	}
	for _, tc := range tests {
		got, err := ParseIncident(tc.in)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("ParseIncident(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseIncident(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// TestSimulateSlowBurn: 2% errors on a 99.9%/30d SLO is burn 20: above the
// fast threshold 14.4, so every tier fires; detection times follow the
// formula fraction x period x (1 - objective) / e: the first step strictly
// after it, since a tier fires only above its threshold.
func TestSimulateSlowBurn(t *testing.T) {
	spec := evaluator.Spec{Name: "api", Objective: 0.999, Period: 30 * 24 * time.Hour, Tiers: slo.DefaultTiers()}
	rep, err := Run(Scenario{Spec: spec, Incidents: []Incident{{Duration: 12 * time.Hour, ErrorRatio: 0.02}}})
	if err != nil {
		t.Fatal(err)
	}
	g := rep.Groups[0]
	for _, tier := range g.Tiers {
		var frac float64
		for _, d := range slo.DefaultTiers() {
			if d.Name == tier.Tier {
				frac = d.BudgetFraction
			}
		}
		want := (math.Floor(frac*30*86400*0.001/0.02/30+1e-9) + 1) * 30
		if len(tier.DetectionSeconds) != 1 || tier.DetectionSeconds[0] != want {
			t.Errorf("tier %s: detection %v, want %v s", tier.Tier, tier.DetectionSeconds, want)
		}
	}
	// 12h at burn 20 spends 20 x 12h / 720h = 1/3 of the budget.
	if len(g.Events) != 1 || math.Abs(g.Events[0].BudgetSpent-1.0/3) > 1e-9 {
		t.Errorf("events %+v, want one spending 1/3", g.Events)
	}
}
