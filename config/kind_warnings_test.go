package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestWarningsLowThresholds: the default tiers on a 1d period scale to
// 0.48 (fast), 0.2 (medium) and 0.1 (slow); all three are reported with
// the budget_fraction that would reach 1 (1h/1d, 6h/1d, 1d/1d).
func TestWarningsLowThresholds(t *testing.T) {
	cfg, err := Parse("w.yaml", []byte(`
slos:
  - name: daily
    service: s
    objective: 0.92
    period: 1d
    sli: {ratio: {good: g, valid: v}}
    alerting: {tiers: [{name: long, enabled: false}]}
  - name: monthly
    service: s
    objective: 0.999
    sli: {ratio: {good: g, valid: v}}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.SLOs[0].Warnings()
	want := []string{
		"[fast]: threshold 0.48 (budget_fraction 0.02 x period 1d / long_window 1h)", "at least 0.0416666666667 ",
		"[medium]: threshold 0.2 (budget_fraction 0.05 x period 1d / long_window 6h)", "at least 0.25",
		"[slow]: threshold 0.1 (budget_fraction 0.1 x period 1d / long_window 1d)", "at least 1 ",
	}
	if len(got) != 3 {
		t.Fatalf("%d warnings, want 3: %q", len(got), got)
	}
	for i, w := range got {
		if !strings.Contains(w, want[2*i]) || !strings.Contains(w, want[2*i+1]) {
			t.Errorf("warning %d: %q, want it to contain %q and %q", i, w, want[2*i], want[2*i+1])
		}
	}
	// 30d defaults: 14.4, 6, 3 and exactly 1 for the long tier.
	if w := cfg.SLOs[1].Warnings(); len(w) != 0 {
		t.Errorf("30d defaults warned: %q", w)
	}
}

// TestExamplesHaveNoWarnings keeps the shipped examples free of tiers that
// fire while the budget is on track.
func TestExamplesHaveNoWarnings(t *testing.T) {
	files, _ := filepath.Glob("examples/*.yaml")
	for _, f := range files {
		cfg, err := Load([]string{f}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range cfg.SLOs {
			for _, w := range s.Warnings() {
				t.Errorf("%s: %s", f, w)
			}
		}
	}
}
