package promtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// CreateBlocks writes openMetrics (an OpenMetrics text ending in "# EOF",
// e.g. from synth.WriteOpenMetrics) to a file and runs
// `promtool tsdb create-blocks-from openmetrics <file> <dataDir>`, so that
// a Prometheus started with Options.DataDir = dataDir serves the history.
// promtool is a path, usually Binary(t, "promtool", "PROMTOOL").
//
// promtool 2.42 cuts 2h blocks and has no --max-block-duration flag; newer
// promtools that list the flag in their help get --max-block-duration=24h,
// which makes fewer blocks for long histories. The test fails with
// promtool's output when it rejects the input.
func CreateBlocks(t testing.TB, promtool string, openMetrics []byte, dataDir string) {
	t.Helper()
	in := filepath.Join(t.TempDir(), "history.om.txt")
	if err := os.WriteFile(in, openMetrics, 0o644); err != nil {
		t.Fatalf("promtest: writing %s: %v", in, err)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatalf("promtest: creating %s: %v", dataDir, err)
	}
	args := []string{"tsdb", "create-blocks-from", "openmetrics", "--quiet"}
	help, _ := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--help").CombinedOutput()
	if strings.Contains(string(help), "--max-block-duration") {
		args = append(args, "--max-block-duration=24h")
	}
	args = append(args, in, dataDir)
	out, err := exec.Command(promtool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtest: %s %s: %v\n%s", promtool, strings.Join(args, " "), err, out)
	}
}
