package readers_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/plan"
	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/readers"
	"github.com/slo-exporter/slo-exporter/internal/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// inputs lists the golden inputs of a format directory.
func inputs(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
	if len(files) == 0 {
		t.Fatalf("no inputs in testdata/%s", dir)
	}
	return files
}

// golden compares got with a golden file, rewriting it under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update):\n%s", path, got)
	}
}

// convert reads one file as convert does and renders everything a user
// sees: warnings, problems, the printed configuration, the --check
// result and the generated alert rules. The printed configuration must
// load back into exactly the configuration the model loaded into.
func convert(t *testing.T, f string, want readers.Format) (out []byte, res readers.Result) {
	t.Helper()
	res, err := readers.Load([]string{f}, nil, nil, want)
	var b bytes.Buffer
	section := func(name string) { fmt.Fprintf(&b, "### %s\n", name) }
	if len(res.Warnings) > 0 {
		section("warnings")
		for _, w := range res.Warnings {
			fmt.Fprintln(&b, w)
		}
	}
	if err != nil {
		section("errors")
		for _, e := range config.List(err) {
			fmt.Fprintln(&b, e)
		}
		return b.Bytes(), res
	}
	section("configuration")
	var printed bytes.Buffer
	if err := readers.Print(res, &printed); err != nil {
		t.Fatal(err)
	}
	b.Write(printed.Bytes())
	back, err := config.Parse(f, printed.Bytes())
	if err != nil {
		t.Fatalf("the printed configuration does not load:\n%v\n%s", err, printed.Bytes())
	}
	if back.Redacted() != res.Config.Redacted() {
		t.Errorf("the printed configuration loads differently from the model:\n%s\nwant\n%s", back.Redacted(), res.Config.Redacted())
	}
	section("check")
	for _, d := range readers.Check(res) {
		fmt.Fprintln(&b, d)
	}
	section("rules")
	r, err := rules.Generate(plan.Rules(res.Config), rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b.Write(r)
	return b.Bytes(), res
}

// TestGolden reads every input of every format and compares what a user
// sees (warnings, errors with their exact messages, the converted
// configuration, the check and the generated rules) with its golden file.
func TestGolden(t *testing.T) {
	for dir, format := range map[string]readers.Format{"sloth": readers.Sloth, "pyrra": readers.Pyrra, "openslo": readers.OpenSLO, "detect": ""} {
		for _, f := range inputs(t, dir) {
			t.Run(dir+"/"+filepath.Base(f), func(t *testing.T) {
				got, _ := convert(t, f, format)
				golden(t, strings.TrimSuffix(f, ".yaml")+".golden", got)
			})
		}
	}
}

// TestRulesPassPromtool checks the rules generated from every input that
// converts with the real promtool.
func TestRulesPassPromtool(t *testing.T) {
	if testing.Short() {
		t.Skip("runs promtool")
	}
	promtool := promtest.Binary(t, "promtool", "PROMTOOL")
	for _, dir := range []string{"sloth", "pyrra", "openslo"} {
		for _, f := range inputs(t, dir) {
			res, err := readers.Load([]string{f}, nil, nil, "")
			if err != nil {
				continue // the inputs with errors
			}
			for _, mode := range []string{rules.ModeDaemon, rules.ModePromQL} {
				out, err := rules.Generate(plan.Rules(res.Config), rules.Options{Mode: mode})
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				path := filepath.Join(t.TempDir(), "rules.yaml")
				if err := os.WriteFile(path, out, 0o644); err != nil {
					t.Fatal(err)
				}
				if res, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
					t.Errorf("%s (%s): promtool check rules: %v\n%s", f, mode, err, res)
				}
			}
		}
	}
}
