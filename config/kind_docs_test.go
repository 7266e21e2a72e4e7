package config

import (
	"os"
	"strings"
	"testing"

	"github.com/slo-exporter/slo-exporter/internal/slo"
)

// docBlock returns the first ```yaml block after heading in
// docs/configuration.md.
func docBlock(t *testing.T, heading string) string {
	t.Helper()
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), heading+"\n")
	if !ok {
		t.Fatalf("docs/configuration.md has no %q", heading)
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	if !ok {
		t.Fatalf("no yaml block after %q", heading)
	}
	block, _, _ := strings.Cut(rest, "```")
	return block
}

// indent prefixes every line.
func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix) + "\n"
}

// TestDocsKindExamples keeps the snippets of the budgeting and composite
// sections true: the timeslices SLO loads as documented, and the
// composite loads next to the components it names.
func TestDocsKindExamples(t *testing.T) {
	cfg, err := Parse("budgeting.md", []byte("slos:\n"+indent(docBlock(t, "### Budgeting methods"), "  ")))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.SLOs[0]
	if s.Method() != slo.Timeslices || s.TimeSlice == nil || s.TimeSlice.Length.String() != "1m" || s.TimeSlice.Target != 0.95 {
		t.Errorf("timeslices example loaded as method %q, slice %+v", s.Method(), s.TimeSlice)
	}
	comp := "slos:\n" + indent(docBlock(t, "### Composite and journey SLOs"), "  ") +
		"  - {name: feature-store-availability, service: feature-store, objective: 99.99%, sli: {ratio: {good: 'a_total', valid: 'b_total'}}}\n" +
		"  - {name: model-api-availability, service: model-api, objective: 99.9%, sli: {ratio: {bad: 'c_total', valid: 'd_total'}}}\n"
	cfg, err = Parse("composite.md", []byte(comp))
	if err != nil {
		t.Fatalf("composite example: %v", err)
	}
	c := cfg.SLOs[0].SLI.Composite
	if c == nil || c.CombineOrDefault() != CombineWeighted || len(c.Components) != 2 || *c.Components[0].Weight != 2 || c.Components[1].Weight != nil {
		t.Errorf("composite example loaded as %+v", c)
	}
}
