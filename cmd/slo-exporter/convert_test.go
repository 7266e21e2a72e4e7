package main

import (
	"strings"
	"testing"
)

// TestConvertAndCheckCommands runs convert, convert --check, --from and
// check on the readers' inputs as a user would.
func TestConvertAndCheckCommands(t *testing.T) {
	const dir = "../../internal/readers/testdata/"
	out, errOut, status := runCommand(t, "convert", dir+"sloth/routing.yaml", dir+"pyrra/ratio.yaml")
	if status != 0 || errOut != "" {
		t.Fatalf("convert: exit %d\n%s", status, errOut)
	}
	for _, want := range []string{"# " + dir + "sloth/routing.yaml: Sloth SLO \"lookups-availability\"", "alert_name: FeatureStoreLookupErrors",
		"# " + dir + "pyrra/ratio.yaml: Pyrra ServiceLevelObjective \"model-api-errors\"", "alert_name: ModelAPIErrorBudgetBurn"} {
		if !strings.Contains(out, want) {
			t.Errorf("convert output lacks %q:\n%s", want, out)
		}
	}

	out, _, status = runCommand(t, "convert", "--check", dir+"sloth/routing.yaml", dir+"pyrra/ratio.yaml")
	if status != 0 || out != "2 SLO(s): alert thresholds and windows match the source tools' (8 alert condition(s) compared)\n" {
		t.Errorf("convert --check: exit %d\n%s", status, out)
	}
	out, errOut, status = runCommand(t, "convert", "--check", dir+"pyrra/latency.yaml")
	if status != 1 || !strings.HasSuffix(errOut, "\nslo-exporter convert: 3 difference(s) from the source tool's alerts\n") || !strings.Contains(out, `slo "model-api-latency": tier medium differs from the Pyrra critical alert: long window 6h25m, not 6h26m`) {
		t.Errorf("convert --check on rounded windows: exit %d\n%s%s", status, out, errOut)
	}

	_, errOut, status = runCommand(t, "convert", "--from", "pyrra", dir+"sloth/routing.yaml")
	if status != 1 || !strings.Contains(errOut, "routing.yaml: is a sloth file, not pyrra (leave --from out to detect the format)") {
		t.Errorf("convert --from: exit %d\n%s", status, errOut)
	}

	out, errOut, status = runCommand(t, "check", "--config.file", dir+"sloth/kubernetes.yaml")
	if status != 0 || out != "2 SLO(s) in 1 file(s): OK\n" || strings.Count(errOut, "warning: ") != 2 {
		t.Errorf("check: exit %d\nstdout %s\nstderr %s", status, out, errOut)
	}
	_, errOut, status = runCommand(t, "check", "--config.file", dir+"detect/slo-generator.yaml")
	if status != 1 || !strings.HasSuffix(errOut, "slo-exporter check: 1 problem(s) found\n") || !strings.Contains(errOut, "google/slo-generator configuration") {
		t.Errorf("check on slo-generator: exit %d\n%s", status, errOut)
	}
}
