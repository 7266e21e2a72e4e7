package dashboard

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/slo-exporter/slo-exporter/config"
)

var update = flag.Bool("update", false, "rewrite the committed dashboards (deploy/dashboards and the Helm chart's copy) from the generator")

// referenceConfig is the reference platform's configuration.
const referenceConfig = "../../config/examples/ml-platform.yaml"

// committedDirs hold the generated dashboards of the reference configuration:
// the files users import, and the Helm chart's copy (helm can read files
// inside the chart only).
var committedDirs = []string{"../../deploy/dashboards", "../../deploy/helm/slo-exporter/dashboards"}

func referenceFiles(t *testing.T) []File {
	t.Helper()
	cfg, err := config.Load([]string{referenceConfig}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Generate(FromConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestCommittedDashboards keeps the committed dashboards equal to the
// generator's output for the reference configuration (go test
// ./internal/dashboard -update rewrites them), and checks that the
// directories hold no stale dashboard.
func TestCommittedDashboards(t *testing.T) {
	files := referenceFiles(t)
	for _, dir := range committedDirs {
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if err := os.WriteFile(filepath.Join(dir, f.Name), f.JSON, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		want := map[string]bool{}
		for _, f := range files {
			want[f.Name] = true
			got, err := os.ReadFile(filepath.Join(dir, f.Name))
			if err != nil {
				t.Errorf("%v (run go test ./internal/dashboard -update)", err)
				continue
			}
			if !bytes.Equal(got, f.JSON) {
				t.Errorf("%s/%s differs from the generator's output (run go test ./internal/dashboard -update)", dir, f.Name)
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if filepath.Ext(e.Name()) == ".json" && !want[e.Name()] {
				t.Errorf("%s/%s is not generated any more: remove it", dir, e.Name())
			}
		}
	}
}
