package rules

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/slo-exporter/slo-exporter/internal/promtest"
)

// promtool returns the promtool binary (PROMTOOL, PATH, ~/go/bin); it
// skips the test when there is none, or fails it when CI=true.
func promtool(t *testing.T) string {
	t.Helper()
	return promtest.Binary(t, "promtool", "PROMTOOL")
}

// runPromtool runs promtool with args in dir and returns its output and
// whether it succeeded.
func runPromtool(t *testing.T, dir string, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("promtool %s: %v", strings.Join(args, " "), err)
		}
	}
	return string(out), err == nil
}

// TestPromtoolCheckRules runs promtool check rules on the rule-file output
// of both modes, and on the groups inside the PrometheusRule.
func TestPromtoolCheckRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		slos []SLO
		opt  Options
	}{
		{"ml-platform daemon", mlPlatform(), Options{}},
		{"ml-platform promql", mlPlatform(), Options{Mode: ModePromQL}},
		{"thresholds promql", thresholdSLOs(), Options{Mode: ModePromQL}},
		{"ml-platform prometheusrule", mlPlatform(), Options{Format: FormatPrometheusRule, Namespace: "monitoring"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Generate(tc.slos, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if tc.opt.Format == FormatPrometheusRule {
				// promtool reads rule files; the operator hands it spec.
				var pr struct {
					Spec yaml.Node `yaml:"spec"`
				}
				if err := yaml.Unmarshal(out, &pr); err != nil {
					t.Fatal(err)
				}
				if out, err = yaml.Marshal(&pr.Spec); err != nil {
					t.Fatal(err)
				}
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), out, 0o644); err != nil {
				t.Fatal(err)
			}
			res, ok := runPromtool(t, dir, "check", "rules", "rules.yaml")
			if !ok {
				t.Fatalf("promtool check rules failed:\n%s", res)
			}
			if !strings.Contains(res, "SUCCESS") {
				t.Fatalf("promtool check rules did not report success:\n%s", res)
			}
		})
	}
}

// promtoolSuite writes the generated rules as ruleFile next to a copy of
// the test file and runs promtool test rules on it.
func promtoolSuite(t *testing.T, testFile, ruleFile string, rules []byte) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("testdata", testFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), ruleFile) {
		t.Fatalf("%s does not load %s", testFile, ruleFile)
	}
	for name, data := range map[string][]byte{testFile: src, ruleFile: rules} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return runPromtool(t, dir, "test", "rules", testFile)
}

// TestPromtoolDaemonMode runs testdata/daemon.test.yaml against the
// reference platform's rules: fast burn pages after for, slow burn opens
// tickets only, noise fires nothing, recovery resolves, exhausted budget,
// no data, stale evaluation and absent series fire.
func TestPromtoolDaemonMode(t *testing.T) {
	rules, err := Generate(mlPlatform(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if out, ok := promtoolSuite(t, "daemon.test.yaml", "ml-platform.rules.yaml", rules); !ok {
		t.Fatalf("promtool test rules failed:\n%s", out)
	}
}

// TestPromtoolPromQLThresholds runs testdata/promql.test.yaml, which feeds
// burn rates just above and just below each tier's threshold (30d: 14.4,
// 6, 3, 1; 28d: 13.44, 5.6, 2.8, 0.9333; 7d fast: 3.36) to the PromQL mode.
func TestPromtoolPromQLThresholds(t *testing.T) {
	rules, err := Generate(thresholdSLOs(), Options{Mode: ModePromQL})
	if err != nil {
		t.Fatal(err)
	}
	if out, ok := promtoolSuite(t, "promql.test.yaml", "thresholds.promql.rules.yaml", rules); !ok {
		t.Fatalf("promtool test rules failed:\n%s", out)
	}
}

// TestPromtoolSuitesCatchWrongRules shows that the suites can fail: rules
// with a slightly wrong threshold or a missing for clause do not pass.
func TestPromtoolSuitesCatchWrongRules(t *testing.T) {
	t.Run("fast threshold 14.544 instead of 14.4", func(t *testing.T) {
		slos := thresholdSLOs()
		for i := range slos[0].Tiers {
			if slos[0].Tiers[i].Name == "fast" {
				slos[0].Tiers[i].BudgetFraction = 0.0202
			}
		}
		rules, err := Generate(slos, Options{Mode: ModePromQL})
		if err != nil {
			t.Fatal(err)
		}
		out, ok := promtoolSuite(t, "promql.test.yaml", "thresholds.promql.rules.yaml", rules)
		if ok || !strings.Contains(out, "t30d") {
			t.Fatalf("promtool test rules should fail on the t30d fast tier; output:\n%s", out)
		}
	})
	t.Run("fast tier without for", func(t *testing.T) {
		slos := mlPlatform()
		for i := range slos[0].Tiers {
			slos[0].Tiers[i].For = 0
		}
		rules, err := Generate(slos, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if out, ok := promtoolSuite(t, "daemon.test.yaml", "ml-platform.rules.yaml", rules); ok {
			t.Fatalf("promtool test rules should fail when the page tier fires before its for; output:\n%s", out)
		}
	})
}
