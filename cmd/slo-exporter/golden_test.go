package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with the commands' current output")

// runCommand runs slo-exporter with args in-process, as main does, and
// returns what it wrote to stdout and stderr and its exit status.
func runCommand(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errOut bytes.Buffer
	status = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), status
}

// Inputs of the golden tests, relative to this directory; they appear in
// the outputs as given.
const (
	minimalConfig = "../../config/examples/minimal.yaml"
	platformSLOs  = "../../config/examples/ml-platform.yaml"
	readersData   = "../../internal/readers/testdata/"
	statusMetrics = "../../internal/status/testdata/metrics.txt"
)

// TestCommandsGolden runs each command as a user would, through the
// kingpin application, and compares its exit status, stdout and stderr
// with testdata/<name>.golden (go test -run TestCommandsGolden -update
// rewrites them). {{url}} in args is the base URL of a test server that
// serves statusMetrics at /metrics and fails every other path with 500;
// in the outputs the server's address reads {{url}} again.
func TestCommandsGolden(t *testing.T) {
	metrics, err := os.ReadFile(statusMetrics)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write(metrics)
	}))
	defer srv.Close()

	for _, tc := range []struct {
		name   string
		args   []string
		status int
	}{
		{"usage-unknown-command", []string{"nosuchcommand"}, 2},
		{"help-calc", []string{"calc", "--help"}, 0},

		{"calc", []string{"calc", "--objective", "99.9", "--period", "30d", "--events-per-second", "250"}, 0},
		{"calc-json", []string{"calc", "--objective", "99.5%", "--period", "28d", "--json"}, 0},
		{"calc-bad-objective", []string{"calc", "--objective", "100"}, 1},
		{"calc-missing-objective", []string{"calc"}, 2},

		{"rules", []string{"rules", "--config.file", minimalConfig}, 0},
		{"rules-prometheusrule-promql", []string{"rules", "--config.file", minimalConfig, "--format", "prometheusrule",
			"--mode", "promql", "--name", "slos", "--namespace", "monitoring", "--resource-label", "release=kps"}, 0},
		{"rules-inhibitions", []string{"rules", "--config.file", platformSLOs, "--inhibitions"}, 0},
		{"rules-missing-file", []string{"rules", "--config.file", "testdata/no-such-file.yaml"}, 1},

		{"simulate", []string{"simulate", "--objective", "99.9", "--incident", "start=0s,duration=30m,error_ratio=0.05"}, 0},
		{"simulate-two-incidents-json", []string{"simulate", "--objective", "0.99", "--period", "7d", "--interval", "1m",
			"--incident", "start=1h,duration=10m,error_ratio=0.5", "--incident", "start=3h,duration=2h,error_ratio=0.02", "--json"}, 0},
		{"simulate-bad-incident", []string{"simulate", "--objective", "99.9", "--incident", "start=0s,error_ratio=2"}, 1},

		{"convert", []string{"convert", readersData + "sloth/routing.yaml", readersData + "pyrra/ratio.yaml"}, 0},
		{"convert-check", []string{"convert", "--check", readersData + "sloth/routing.yaml", readersData + "pyrra/ratio.yaml"}, 0},
		{"convert-check-differences", []string{"convert", "--check", readersData + "pyrra/latency.yaml"}, 1},
		{"convert-wrong-format", []string{"convert", "--from", "pyrra", readersData + "sloth/routing.yaml"}, 1},

		{"dashboard-helm-values", []string{"dashboard", "--config.file", minimalConfig, "--format", "helm-values"}, 0},

		{"docs", []string{"docs", "--config.file", platformSLOs}, 0},
		{"docs-missing-file", []string{"docs", "--config.file", "testdata/no-such-file.yaml"}, 1},

		{"check", []string{"check", "--config.file", minimalConfig, "--config.file", platformSLOs}, 0},
		{"check-warnings", []string{"check", "--config.file", readersData + "sloth/kubernetes.yaml"}, 0},
		{"check-problems", []string{"check", "--config.file", "../../config/testdata/invalid-duplicate.yaml"}, 1},

		{"status", []string{"status", "--url", "{{url}}/metrics"}, 0},
		{"status-window-1h", []string{"status", "--url", "{{url}}/metrics", "--window", "1h"}, 0},
		{"status-server-error", []string{"status", "--url", "{{url}}/broken"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.ReplaceAll(a, "{{url}}", srv.URL)
			}
			stdout, stderr, status := runCommand(t, args...)
			if status != tc.status {
				t.Errorf("exit status %d, want %d\nstderr:\n%s", status, tc.status, stderr)
			}
			got := strings.ReplaceAll(transcript(tc.args, status, stdout, stderr), srv.URL, "{{url}}")
			compareGolden(t, filepath.Join("testdata", tc.name+".golden"), got)
		})
	}
}

// transcript is what a golden file holds: the command line as written in
// the test, the exit status, stdout and stderr.
func transcript(args []string, status int, stdout, stderr string) string {
	return fmt.Sprintf("$ slo-exporter %s\n# exit status %d\n# stdout\n%s# stderr\n%s", strings.Join(args, " "), status, stdout, stderr)
}

// compareGolden compares got with the golden file, or rewrites it with
// -update.
func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update to accept):\n%s", path, diffLines(string(want), got))
	}
}

// diffLines shows the first lines where want and got differ.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

// TestDashboardWritesFiles runs dashboard in its default json format: the
// three files land in --output.dir, each named on stderr, and stdout stays
// empty.
func TestDashboardWritesFiles(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr, status := runCommand(t, "dashboard", "--config.file", minimalConfig, "--output.dir", dir)
	if status != 0 || stdout != "" {
		t.Fatalf("dashboard: exit %d\nstdout %s\nstderr %s", status, stdout, stderr)
	}
	for _, name := range []string{"slo-overview.json", "slo-detail.json", "slo-exporter-health.json"} {
		p := filepath.Join(dir, name)
		if !strings.Contains(stderr, "wrote "+p+"\n") {
			t.Errorf("stderr does not name %s:\n%s", p, stderr)
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
			t.Errorf("%s: %v, %.40q", p, err, b)
		}
	}
}
