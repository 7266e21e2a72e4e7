package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDetectFormat(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      Format
	}{
		{"native", oneSLO, FormatNative},
		{"openslo", "apiVersion: openslo/v1\nkind: SLO\n", FormatOpenSLO},
		{"openslo after an empty document", "---\n# nothing\n---\napiVersion: openslo/v1\nkind: SLI\n", FormatOpenSLO},
		{"openslo list", "- apiVersion: openslo/v1\n  kind: SLO\n", FormatOpenSLO},
		{"sloth", "version: prometheus/v1\nservice: a\n", FormatSloth},
		{"not yaml", "slos: [", FormatNative},
		{"scalar", "hello", FormatNative},
	} {
		if got := DetectFormat([]byte(tc.doc)); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

// write puts files into a temporary directory and returns their paths.
func write(t *testing.T, files ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var out []string
	for i := 0; i+1 < len(files); i += 2 {
		p := filepath.Join(dir, files[i])
		if err := os.WriteFile(p, []byte(files[i+1]), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// TestLoadAnyMixed loads OpenSLO, Sloth and native files together.
func TestLoadAnyMixed(t *testing.T) {
	files := []string{"openslo/testdata/multi.yaml", "sloth/testdata/model-api.yaml", "examples/minimal.yaml"}
	cfg, err := LoadAny(files, []string{"SLO_EXPORTER_PROMETHEUS_URL=http://override:9090"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range cfg.SLOs {
		f, _ := s.File()
		names = append(names, s.Name+"@"+filepath.Base(f))
	}
	want := "feature-store-availability@multi.yaml,model-api-requests-availability@model-api.yaml,model-api-requests-latency@model-api.yaml,api-availability@minimal.yaml"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("SLOs\n got %s\nwant %s", got, want)
	}
	if cfg.Prometheus.URL != "http://override:9090" {
		t.Errorf("environment did not layer over the converted url: %s", cfg.Prometheus.URL)
	}
	// The same native file loads the same through Load and LoadAny.
	a, err1 := Load([]string{"examples/ml-platform.yaml"}, nil, nil)
	b, err2 := LoadAny([]string{"examples/ml-platform.yaml"}, nil, nil)
	if err1 != nil || err2 != nil || a.Redacted() != b.Redacted() {
		t.Errorf("Load and LoadAny differ on a native file: %v %v", err1, err2)
	}
	// Converted output of the OpenSLO file gives the same SLO as loading it.
	data, _ := os.ReadFile("openslo/testdata/multi.yaml")
	out, f, err := Convert("multi.yaml", data)
	if err != nil || f != FormatOpenSLO {
		t.Fatalf("convert: %v %s", err, f)
	}
	if !bytes.Contains(out, []byte("# OpenSLO SLO \"feature-store-availability\" (document 9)")) {
		t.Errorf("origin comment missing:\n%s", out)
	}
}

func TestLoadAnyErrors(t *testing.T) {
	const osloSLO = "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: %s\nspec:\n  service: svc\n  budgetingMethod: %s\n" +
		"  timeWindow:\n    - duration: 30d\n      isRolling: true\n  objectives:\n    - target: 0.99\n" +
		"  indicator:\n    metadata:\n      name: i\n    spec:\n      ratioMetric:\n        counter: true\n" +
		"        good:\n          metricSource:\n            type: Prometheus\n            spec:\n              query: a_total{code=\"ok\"}\n" +
		"        total:\n          metricSource:\n            type: Prometheus\n            spec:\n              query: a_total\n"
	oslo := func(name, method string) string {
		return strings.Replace(strings.Replace(osloSLO, "%s", name, 1), "%s", method, 1)
	}
	const slothSpec = "version: prometheus/v1\nservice: svc\nslos:\n  - name: s\n    objective: %s\n    sli:\n      events:\n" +
		"        error_query: sum(rate(a_total{code!=\"ok\"}[{{.window}}]))\n        total_query: sum(rate(a_total[{{.window}}]))\n"
	sl := func(obj string) string { return strings.Replace(slothSpec, "%s", obj, 1) }

	for _, tc := range []struct {
		name  string
		files []string
		want  []string
	}{
		{"duplicate names across files",
			[]string{"a.yaml", oslo("svc-s", "Occurrences"), "b.yaml", sl("99")},
			[]string{`b.yaml: slos[0] "svc-s": name "svc-s": already defined in a.yaml slos[0]; SLO names must be unique across all files`}},
		{"objective out of range, found by the loader, names the Sloth file",
			[]string{"a.yaml", sl("100")},
			[]string{`a.yaml: slos[0] "svc-s": objective "100%": impossible: 100% or more leaves no error budget; write a percent below 100 such as "99.9%"`}},
		{"conversion and load problems in file order",
			[]string{"a.yaml", oslo("x", "RatioTimeslices"), "b.yaml", sl("100"), "c.yaml", oneSLO + "    period: 7h30m\n"},
			[]string{
				`a.yaml: document 1 (SLO "x"): spec.budgetingMethod "RatioTimeslices": not supported yet: slo-exporter budgets by Occurrences or Timeslices; RatioTimeslices (the ratio of good time over all slices' events) has no equivalent`,
				`b.yaml: slos[0] "svc-s": objective "100%": impossible: 100% or more leaves no error budget; write a percent below 100 such as "99.9%"`,
				`c.yaml: slos[0] "api": period "7h30m": must be a whole number of hours`,
			}},
		{"a file whose only SLO fails conversion is not also empty",
			[]string{"a.yaml", oslo("x", "RatioTimeslices")},
			[]string{`a.yaml: document 1 (SLO "x"): spec.budgetingMethod "RatioTimeslices": not supported yet: slo-exporter budgets by Occurrences or Timeslices; RatioTimeslices (the ratio of good time over all slices' events) has no equivalent`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			paths := write(t, tc.files...)
			_, err := LoadAny(paths, nil, nil)
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.ReplaceAll(err.Error(), filepath.Dir(paths[0])+"/", "")
			if want := strings.Join(tc.want, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestConvertFiles(t *testing.T) {
	var b bytes.Buffer
	if err := ConvertFiles([]string{"openslo/testdata/availability.yaml", "sloth/testdata/batch.yaml"}, &b); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("converted.yaml", b.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(cfg.SLOs) != 3 {
		t.Errorf("%d SLOs", len(cfg.SLOs))
	}
	if err := ConvertFiles([]string{"examples/minimal.yaml"}, &b); err == nil ||
		err.Error() != "examples/minimal.yaml: is already slo-exporter configuration (neither OpenSLO apiVersion nor Sloth version found)" {
		t.Errorf("native file: %v", err)
	}
}

// TestOpenSLOTimeslices: OpenSLO's Timeslices method maps onto
// budgeting_method timeslices with the objective's slice window and target.
func TestOpenSLOTimeslices(t *testing.T) {
	doc := "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: ts\nspec:\n  service: svc\n  budgetingMethod: Timeslices\n" +
		"  timeWindow:\n    - duration: 7d\n      isRolling: true\n  objectives:\n    - target: 0.99\n      timeSliceTarget: 0.95\n      timeSliceWindow: 1m\n" +
		"  indicator:\n    metadata:\n      name: i\n    spec:\n      ratioMetric:\n        counter: true\n" +
		"        good:\n          metricSource:\n            type: Prometheus\n            spec:\n              query: a_total{code=\"ok\"}\n" +
		"        total:\n          metricSource:\n            type: Prometheus\n            spec:\n              query: a_total\n"
	path := filepath.Join(t.TempDir(), "ts.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadAny([]string{path}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.SLOs[0]
	if s.Method() != Timeslices || s.TimeSlice == nil || time.Duration(s.TimeSlice.Length) != time.Minute || s.TimeSlice.Target != 0.95 {
		t.Errorf("converted SLO: method %q, time slice %+v", s.Method(), s.TimeSlice)
	}
}
