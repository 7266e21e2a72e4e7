package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"
)

// runCommand runs one subcommand as main does and returns what it wrote
// to stdout and stderr, and its error.
func runCommand(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	app := kingpin.New("slo-exporter", "")
	runs := map[string]func() error{}
	for _, c := range commands {
		name, run := c(app)
		runs[name] = run
	}
	cmd, perr := app.Parse(args)
	if perr != nil {
		t.Fatalf("%v: %v", args, perr)
	}
	capture := func(f **os.File) (func() string, error) {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		old := *f
		*f = w
		var buf bytes.Buffer
		done := make(chan struct{})
		go func() { _, _ = io.Copy(&buf, r); close(done) }()
		return func() string { w.Close(); <-done; *f = old; return buf.String() }, nil
	}
	outDone, e1 := capture(&os.Stdout)
	errDone, e2 := capture(&os.Stderr)
	if e1 != nil || e2 != nil {
		t.Fatal(e1, e2)
	}
	err = runs[cmd]()
	return outDone(), errDone(), err
}

// TestConvertAndCheckCommands runs convert, convert --check, --from and
// check on the readers' inputs as a user would.
func TestConvertAndCheckCommands(t *testing.T) {
	const dir = "../../internal/readers/testdata/"
	out, errOut, err := runCommand(t, "convert", dir+"sloth/routing.yaml", dir+"pyrra/ratio.yaml")
	if err != nil || errOut != "" {
		t.Fatalf("convert: %v\n%s", err, errOut)
	}
	for _, want := range []string{"# " + dir + "sloth/routing.yaml: Sloth SLO \"lookups-availability\"", "alert_name: FeatureStoreLookupErrors",
		"# " + dir + "pyrra/ratio.yaml: Pyrra ServiceLevelObjective \"model-api-errors\"", "alert_name: ModelAPIErrorBudgetBurn"} {
		if !strings.Contains(out, want) {
			t.Errorf("convert output lacks %q:\n%s", want, out)
		}
	}

	out, _, err = runCommand(t, "convert", "--check", dir+"sloth/routing.yaml", dir+"pyrra/ratio.yaml")
	if err != nil || out != "2 SLO(s): alert thresholds and windows match the source tools' (8 alert condition(s) compared)\n" {
		t.Errorf("convert --check: %v\n%s", err, out)
	}
	out, _, err = runCommand(t, "convert", "--check", dir+"pyrra/latency.yaml")
	if err == nil || err.Error() != "3 difference(s) from the source tool's alerts" || !strings.Contains(out, `slo "model-api-latency": tier medium differs from the Pyrra critical alert: long window 6h25m, not 6h26m`) {
		t.Errorf("convert --check on rounded windows: %v\n%s", err, out)
	}

	_, errOut, err = runCommand(t, "convert", "--from", "pyrra", dir+"sloth/routing.yaml")
	if err == nil || !strings.Contains(errOut, "routing.yaml: is a sloth file, not pyrra (leave --from out to detect the format)") {
		t.Errorf("convert --from: %v\n%s", err, errOut)
	}

	out, errOut, err = runCommand(t, "check", "--config.file", dir+"sloth/kubernetes.yaml")
	if err != nil || out != "2 SLO(s) in 1 file(s): OK\n" || strings.Count(errOut, "warning: ") != 2 {
		t.Errorf("check: %v\nstdout %s\nstderr %s", err, out, errOut)
	}
	_, errOut, err = runCommand(t, "check", "--config.file", dir+"detect/slo-generator.yaml")
	if err == nil || err.Error() != "1 problem(s) found" || !strings.Contains(errOut, "google/slo-generator configuration") {
		t.Errorf("check on slo-generator: %v\n%s", err, errOut)
	}
}
