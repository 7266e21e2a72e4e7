package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// referenceEscalations are the zones of the reference budget policy
// (SCENARIO.md), as plan.Rules converts them from the configuration.
func referenceEscalations() []Escalation {
	return []Escalation{
		{Zone: "green", Allow: []string{"feature", "bugfix", "refactor"}, Approval: "standard"},
		{Zone: "yellow", Allow: []string{"feature", "bugfix", "refactor"}, Approval: "senior engineer", Notify: []string{"engineering manager"}},
		{Zone: "orange", Allow: []string{"bugfix"}, Approval: "engineering manager", Notify: []string{"engineering manager", "VP engineering"}},
		{Zone: "red", Approval: "VP engineering", Notify: []string{"engineering manager", "VP engineering", "executives"}},
	}
}

// escalationSLOs are a grouped and an ungrouped SLO under the reference
// policy.
func escalationSLOs() []SLO {
	return []SLO{
		{Name: "model-api-availability", Service: "model-api", Objective: 0.999, Period: 30 * day, Tiers: workbookTiers(),
			GroupBy: []string{"model"}, Escalations: referenceEscalations()},
		{Name: "feature-store-availability", Service: "feature-store", Objective: 0.9999, Period: 30 * day, Tiers: workbookTiers(),
			Escalations: referenceEscalations()},
	}
}

// TestEscalationRules checks the generated zone alerts (golden), that
// promtool accepts them, and promtool's unit tests in
// testdata/escalation.test.yaml: entering orange and red alerts after the
// for clause with the zone's notify label, green stays quiet, leaving the
// zone resolves.
func TestEscalationRules(t *testing.T) {
	out, err := Generate(escalationSLOs(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "escalation.rules.yaml", out)
	if n := strings.Count(string(out), "alert: "+AlertBudgetZone); n != 6 {
		t.Errorf("%d zone alerts, want 6 (yellow, orange, red for each SLO; green notifies nobody)", n)
	}
	if testing.Short() {
		return
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	if res, ok := runPromtool(t, dir, "check", "rules", "rules.yaml"); !ok || !strings.Contains(res, "SUCCESS") {
		t.Fatalf("promtool check rules:\n%s", res)
	}
	if res, ok := promtoolSuite(t, "escalation.test.yaml", "escalation.rules.yaml", out); !ok {
		t.Fatalf("promtool test rules failed:\n%s", res)
	}
}

func TestEscalationValidation(t *testing.T) {
	s := escalationSLOs()[1]
	s.Escalations = []Escalation{{Zone: "red", Notify: []string{`exec"utives`}}}
	if _, err := Generate([]SLO{s}, Options{}); err == nil || !strings.Contains(err.Error(), `slo "feature-store-availability": escalation zone "red": "exec\"utives" contains`) {
		t.Errorf("error %v", err)
	}
	if _, err := Generate(escalationSLOs(), Options{ExtraLabels: map[string]string{"notify": "x"}}); err == nil {
		t.Error("an extra label named notify was accepted")
	}
}
