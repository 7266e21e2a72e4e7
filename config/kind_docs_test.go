package config

import (
	"os"
	"strings"
	"testing"
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
// sections true: the timeslices SLO loads as documented, the composite is
// refused as not supported yet.
func TestDocsKindExamples(t *testing.T) {
	cfg, err := Parse("budgeting.md", []byte("slos:\n"+indent(docBlock(t, "### Budgeting methods"), "  ")))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.SLOs[0]
	if s.Method() != Timeslices || s.TimeSlice == nil || s.TimeSlice.Length.String() != "1m" || s.TimeSlice.Target != 0.95 {
		t.Errorf("timeslices example loaded as method %q, slice %+v", s.Method(), s.TimeSlice)
	}
	comp := "slos:\n  - name: c\n    service: s\n    objective: 0.99\n" + indent(docBlock(t, "### Composite and journey SLOs"), "    ")
	_, err = Parse("composite.md", []byte(comp))
	if err == nil || !strings.Contains(err.Error(), "sli.composite: weighted composite SLOs are not supported yet") || strings.Count(err.Error(), "\n") != 0 {
		t.Errorf("composite example: %v, want exactly the not-supported-yet error", err)
	}
}
