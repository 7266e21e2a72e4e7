package specdoc

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/slo-exporter/slo-exporter/config"
)

var update = flag.Bool("update", false, "rewrite docs/ml-platform-slos.md from the configuration")

const (
	example   = "config/examples/ml-platform.yaml"
	committed = "../../docs/ml-platform-slos.md"
)

// TestReferenceDocumentIsCurrent keeps docs/ml-platform-slos.md equal to
// what `slo-exporter docs` writes for the reference configuration (go test
// ./internal/specdoc -update rewrites it), and checks the figures people
// read in it against SCENARIO.md's arithmetic.
func TestReferenceDocumentIsCurrent(t *testing.T) {
	cfg, err := config.Load([]string{"../../" + example}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := Write(&got, cfg, example); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(committed, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("docs/ml-platform-slos.md is not what slo-exporter docs writes for %s (go test ./internal/specdoc -update); got:\n%s", example, got.String())
	}
	doc := got.String()
	for _, want := range []string{
		// Budget = (1 - objective) x period (SCENARIO.md).
		"| model-api | [model-api-availability](#model-api-availability) | Share of inference requests answered with a 2xx status. | 99.9% | 30d | 0.1% of events; 43.2 min |",
		"| feature-store | [feature-store-availability](#feature-store-availability) | Share of online feature lookups that succeeded; every model depends on it. | 99.99% | 30d | 0.01% of events; 4.32 min |",
		"| batch-inference | [batch-inference-success](#batch-inference-success) | Share of finished nightly jobs that succeeded (retries are fine). | 95% | 30d | 5% of events; 36 h |",
		// Thresholds = budget fraction x period / long window.
		"| fast | page | 2% | 1h | 5m | 14.4 |",
		"| fast | page | 5% | 1h | 5m | 8.4 |",
		// The reference policy.
		"| orange | 0% to 25% | bugfix | engineering manager | engineering manager, VP engineering |",
		"| red | below 0% | none (freeze) | VP engineering | engineering manager, VP engineering, executives |",
		"Always allowed, in every zone and without approval: security, dataloss.",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("document lacks %q", want)
		}
	}
}
