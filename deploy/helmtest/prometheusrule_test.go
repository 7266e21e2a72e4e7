package helmtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/plan"
	"github.com/slo-exporter/slo-exporter/internal/rules"
)

// TestPrometheusRuleMatchesGenerator renders the chart with the values that
// `slo-exporter rules --format helm-values` prints for the reference
// platform and checks that the PrometheusRule's spec is exactly what
// `--format prometheusrule` generates: the chart adds no rule logic of its
// own, so it cannot drift from the generator.
func TestPrometheusRuleMatchesGenerator(t *testing.T) {
	cfg, err := config.Load([]string{"../../config/examples/ml-platform.yaml"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	slos := plan.Rules(cfg)
	values, err := rules.Generate(slos, rules.Options{Format: rules.FormatHelmValues})
	if err != nil {
		t.Fatal(err)
	}
	vf := filepath.Join(t.TempDir(), "rules-values.yaml")
	if err := os.WriteFile(vf, values, 0o644); err != nil {
		t.Fatal(err)
	}
	docs := render(t, "-f", valuesFile("minimal"), "-f", vf)
	pr := one(t, docs, "PrometheusRule")

	want, err := rules.Generate(slos, rules.Options{Format: rules.FormatPrometheusRule})
	if err != nil {
		t.Fatal(err)
	}
	var generated map[string]any
	if err := yaml.Unmarshal(want, &generated); err != nil {
		t.Fatal(err)
	}
	// Compare as JSON: the two YAML decoders may pick different Go types
	// for the same values.
	got, _ := json.Marshal(pr["spec"])
	exp, _ := json.Marshal(generated["spec"])
	if len(exp) < 1000 || string(got) != string(exp) {
		t.Errorf("the chart's PrometheusRule spec differs from the generator's:\n%.400s\nwant\n%.400s", got, exp)
	}
	// Prometheus templates in annotations must reach the cluster verbatim.
	out := mustTemplate(t, "-f", valuesFile("minimal"), "-f", vf)
	if !strings.Contains(out, "{{ with query `slo_burn_rate{") {
		t.Errorf("annotation templates were not passed through verbatim")
	}
}

func TestPrometheusRuleNeedsGroups(t *testing.T) {
	_, err := template(t, "-f", valuesFile("minimal"), "--set", "prometheusRule.enabled=true")
	if err == nil || !strings.Contains(err.Error(), "prometheusRule.groups is empty") {
		t.Errorf("enabling without groups: %v", err)
	}
	if docs := render(t, "-f", valuesFile("minimal")); len(find(docs, "PrometheusRule")) != 0 {
		t.Errorf("PrometheusRule rendered while disabled")
	}
}
