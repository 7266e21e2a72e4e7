package rules

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"
)

// update rewrites the golden files: go test ./internal/rules -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const day = 24 * time.Hour

// workbookTiers are the four tiers of the reference scenario (SCENARIO.md).
func workbookTiers() []Tier {
	return []Tier{
		{Tier: slo.Tier{Name: "long", Severity: "ticket", BudgetFraction: 0.10, LongWindow: 3 * day, ShortWindow: 6 * time.Hour, For: 15 * time.Minute}},
		{Tier: slo.Tier{Name: "fast", Severity: "page", BudgetFraction: 0.02, LongWindow: time.Hour, ShortWindow: 5 * time.Minute, For: 2 * time.Minute}},
		{Tier: slo.Tier{Name: "slow", Severity: "ticket", BudgetFraction: 0.10, LongWindow: day, ShortWindow: 2 * time.Hour, For: 15 * time.Minute}},
		{Tier: slo.Tier{Name: "medium", Severity: "page", BudgetFraction: 0.05, LongWindow: 6 * time.Hour, ShortWindow: 30 * time.Minute, For: 5 * time.Minute}},
	}
}

// mlPlatform is the reference ML platform of SCENARIO.md, deliberately not
// in name order.
func mlPlatform() []SLO {
	runbook := func(s string) string { return "https://runbooks.example.com/slo/" + s }
	return []SLO{
		{Name: "model-api-availability", Service: "model-api", Objective: 0.999, Period: 30 * day, Tiers: workbookTiers(),
			GroupBy: []string{"model"}, RunbookURL: runbook("model-api-availability"),
			DashboardURL: "https://grafana.example.com/d/slo-exporter/slo?var-slo=model-api-availability&var-model={{ $labels.model }}"},
		{Name: "model-api-latency", Service: "model-api", Objective: 0.95, Period: 7 * day, Tiers: workbookTiers(),
			GroupBy: []string{"model"}, RunbookURL: runbook("model-api-latency")},
		{Name: "model-api-quality", Service: "model-api", Objective: 0.92, Period: day, GroupBy: []string{"model"},
			Tiers: []Tier{
				{Tier: slo.Tier{Name: "fast", Severity: "ticket", BudgetFraction: 0.10, LongWindow: time.Hour, ShortWindow: 5 * time.Minute, For: 5 * time.Minute}},
				{Tier: slo.Tier{Name: "slow", Severity: "ticket", BudgetFraction: 0.25, LongWindow: 6 * time.Hour, ShortWindow: 30 * time.Minute, For: 15 * time.Minute}},
				// Longer than the 1d period: would be invalid, but is disabled.
				{Tier: slo.Tier{Name: "long", Severity: "ticket", BudgetFraction: 0.10, LongWindow: 3 * day, ShortWindow: 6 * time.Hour}, Disabled: true},
			}},
		{Name: "feature-store-latency", Service: "feature-store", Objective: 0.99, Period: 30 * day, Tiers: workbookTiers()},
		{Name: "feature-store-availability", Service: "feature-store", Objective: 0.9999, Period: 30 * day, Tiers: workbookTiers(),
			RunbookURL: runbook("feature-store-availability")},
		{Name: "batch-inference-success", Service: "batch-inference", Objective: 0.95, Period: 30 * day, Tiers: workbookTiers()},
		{Name: "batch-inference-completion-time", Service: "batch-inference", Objective: 0.95, Period: 30 * day, Tiers: workbookTiers()},
		{Name: "inference-journey", Service: "inference", Objective: 0.999, Calendar: "month", Tiers: workbookTiers()},
	}
}

// thresholdSLOs prove the thresholds of the formula in PromQL mode: a 30d
// and a 28d SLO with the four tiers, a 7d SLO with the fast tier and a
// calendar-month SLO with the fast tier (compared with the exported
// slo_burn_rate_threshold), each grouped by a case label so that one test
// feeds several cases.
func thresholdSLOs() []SLO {
	tiers := workbookTiers()
	for i := range tiers {
		tiers[i].For = 0
	}
	return []SLO{
		{Name: "t30d", Service: "svc", Objective: 0.999, Period: 30 * day, Tiers: tiers, GroupBy: []string{"case"}},
		{Name: "t28d", Service: "svc", Objective: 0.999, Period: 28 * day, Tiers: tiers, GroupBy: []string{"case"}},
		{Name: "t7d", Service: "svc", Objective: 0.95, Period: 7 * day, Tiers: tiers[1:2], GroupBy: []string{"case"}},
		{Name: "tmonth", Service: "svc", Objective: 0.999, Calendar: "month", Tiers: tiers[1:2], GroupBy: []string{"case"}},
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/rules -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the generated output (go test ./internal/rules -update rewrites it); got:\n%s", path, got)
	}
}
