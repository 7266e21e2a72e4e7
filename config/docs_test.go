package config

import (
	"os"
	"strings"
	"testing"
)

// TestDocsExampleLoads keeps the complete example of docs/configuration.md
// loadable.
func TestDocsExampleLoads(t *testing.T) {
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## A complete example\n\n```yaml\n")
	if !ok {
		t.Fatal("docs/configuration.md has no complete example")
	}
	example, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("unterminated example")
	}
	cfg, err := Parse("configuration.md", []byte(example))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.SLOs) != 3 || cfg.Global.AlertTiers[0].For != 60e9 {
		t.Errorf("example loaded as\n%s", cfg.Redacted())
	}
}
