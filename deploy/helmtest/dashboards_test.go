package helmtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/dashboard"
	"github.com/slo-exporter/slo-exporter/internal/plan"
	"github.com/slo-exporter/slo-exporter/internal/rules"
)

// dashboardMaps returns the rendered ConfigMaps that carry a dashboard, by
// the dashboard's file name (their only data key).
func dashboardMaps(t *testing.T, docs []manifest) map[string]manifest {
	t.Helper()
	out := map[string]manifest{}
	for _, cm := range find(docs, "ConfigMap") {
		for k := range asMap(cm["data"]) {
			if strings.HasSuffix(k, ".json") {
				out[k] = cm
			}
		}
	}
	return out
}

// generated returns the generator's dashboards for a configuration file.
func generated(t *testing.T, file string) []dashboard.File {
	t.Helper()
	cfg, err := config.Load([]string{file}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := dashboard.Generate(dashboard.FromConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestDashboardConfigMaps: with dashboards.enabled the chart renders one
// ConfigMap per generated dashboard, labelled for the Grafana sidecar of
// kube-prometheus-stack and annotated with the folder, holding exactly
// what the generator produces for the reference configuration; none
// without it.
func TestDashboardConfigMaps(t *testing.T) {
	if got := dashboardMaps(t, render(t, "-f", valuesFile("minimal"))); len(got) != 0 {
		t.Errorf("dashboards rendered while disabled: %d", len(got))
	}
	want := generated(t, "../../config/examples/ml-platform.yaml")
	maps := dashboardMaps(t, render(t, "-f", valuesFile("minimal"), "--set", "dashboards.enabled=true"))
	if len(maps) != len(want) {
		t.Fatalf("rendered %d dashboard ConfigMaps, want %d", len(maps), len(want))
	}
	for _, f := range want {
		cm, ok := maps[f.Name]
		if !ok {
			t.Errorf("no ConfigMap holds %s", f.Name)
			continue
		}
		if got := str(dig(cm, "metadata", "labels", "grafana_dashboard")); got != "1" {
			t.Errorf("%s: label grafana_dashboard=%q, want \"1\"", f.Name, got)
		}
		if got := str(dig(cm, "metadata", "annotations", "grafana_folder")); got != "SLOs" {
			t.Errorf("%s: annotation grafana_folder=%q, want SLOs", f.Name, got)
		}
		if got := str(dig(cm, "metadata", "namespace")); got != namespace {
			t.Errorf("%s: namespace %q, want %q", f.Name, got, namespace)
		}
		if got := str(dig(cm, "data", f.Name)); got != strings.TrimSpace(string(f.JSON)) {
			t.Errorf("%s: the ConfigMap's dashboard differs from the generator's output (run go test ./internal/dashboard -update)", f.Name)
		}
	}

	// Label, folder annotation and namespace follow the sidecar's settings.
	maps = dashboardMaps(t, render(t, "-f", valuesFile("minimal"), "--set", "dashboards.enabled=true",
		"--set", "dashboards.label=my_dashboards", "--set", "dashboards.labelValue=yes",
		"--set", "dashboards.folderAnnotation=k8s-sidecar-target-directory", "--set", "dashboards.folder=/tmp/dashboards/slo",
		"--set", "dashboards.namespace=grafana"))
	for name, cm := range maps {
		if got := str(dig(cm, "metadata", "labels", "my_dashboards")); got != "yes" {
			t.Errorf("%s: label my_dashboards=%q, want yes", name, got)
		}
		if dig(cm, "metadata", "labels", "grafana_dashboard") != nil {
			t.Errorf("%s: still labelled grafana_dashboard", name)
		}
		if got := str(dig(cm, "metadata", "annotations", "k8s-sidecar-target-directory")); got != "/tmp/dashboards/slo" {
			t.Errorf("%s: folder annotation %q", name, got)
		}
		if got := str(dig(cm, "metadata", "namespace")); got != "grafana" {
			t.Errorf("%s: namespace %q, want grafana", name, got)
		}
	}
	// No folder: no annotation.
	for name, cm := range dashboardMaps(t, render(t, "-f", valuesFile("minimal"), "--set", "dashboards.enabled=true", "--set", "dashboards.folder=")) {
		if dig(cm, "metadata", "annotations") != nil {
			t.Errorf("%s: annotations without a folder: %v", name, dig(cm, "metadata", "annotations"))
		}
	}
}

// TestDashboardHelmValues: `slo-exporter dashboard --format helm-values`
// for another configuration replaces the chart's dashboards with that
// configuration's, byte for byte.
func TestDashboardHelmValues(t *testing.T) {
	want := generated(t, valuesConfig(t, "full"))
	values, err := dashboard.HelmValues(want)
	if err != nil {
		t.Fatal(err)
	}
	vf := filepath.Join(t.TempDir(), "dashboards-values.yaml")
	if err := os.WriteFile(vf, values, 0o644); err != nil {
		t.Fatal(err)
	}
	maps := dashboardMaps(t, render(t, "-f", valuesFile("full"), "-f", vf))
	if len(maps) != len(want) {
		t.Fatalf("rendered %d dashboard ConfigMaps, want %d", len(maps), len(want))
	}
	for _, f := range want {
		if got := str(dig(maps[f.Name], "data", f.Name)); got != strings.TrimSpace(string(f.JSON)) {
			t.Errorf("%s: the ConfigMap's dashboard is not the generator's for the values' configuration", f.Name)
		}
	}
	// The full values' SLOs are model-api-availability, -latency and
	// feature-store-availability: the reference-only SLOs must be gone.
	if d := str(dig(maps["slo-overview.json"], "data", "slo-overview.json")); strings.Contains(d, "batch-inference") {
		t.Errorf("the overview still names the reference configuration's SLOs")
	}
}

// valuesConfig writes the config section of a values file as an exporter
// configuration file and returns its path.
func valuesConfig(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(valuesFile(name))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	delete(v.Config, "existingConfigMap")
	out, err := yaml.Marshal(v.Config)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPrometheusRuleResourceLabels: the labels given to `slo-exporter rules
// --resource-label` land on the chart's PrometheusRule, where a
// kube-prometheus-stack ruleSelector (matchLabels release: <name>) finds
// it, next to the chart's own labels.
func TestPrometheusRuleResourceLabels(t *testing.T) {
	cfg, err := config.Load([]string{"../../config/examples/ml-platform.yaml"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"release": "kube-prometheus-stack", "example.com/team": "ml-platform"}
	values, err := rules.Generate(plan.Rules(cfg), rules.Options{Format: rules.FormatHelmValues, ResourceLabels: labels})
	if err != nil {
		t.Fatal(err)
	}
	vf := filepath.Join(t.TempDir(), "rules-values.yaml")
	if err := os.WriteFile(vf, values, 0o644); err != nil {
		t.Fatal(err)
	}
	pr := one(t, render(t, "-f", valuesFile("minimal"), "-f", vf), "PrometheusRule")
	for k, v := range labels {
		if got := str(dig(pr, "metadata", "labels", k)); got != v {
			t.Errorf("PrometheusRule label %s=%q, want %q", k, got, v)
		}
	}
	if got := str(dig(pr, "metadata", "labels", "app.kubernetes.io/name")); got != "slo-exporter" {
		t.Errorf("the chart's own labels are gone: app.kubernetes.io/name=%q", got)
	}
	// The same labels set directly in the values, as a user of the chart
	// without the generator would.
	pr = one(t, render(t, "-f", valuesFile("minimal"), "-f", vf, "--set", "prometheusRule.labels.release=prom"), "PrometheusRule")
	if got := str(dig(pr, "metadata", "labels", "release")); got != "prom" {
		t.Errorf("--set prometheusRule.labels.release: %q, want prom", got)
	}
}
