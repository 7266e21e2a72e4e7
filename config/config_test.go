package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files from the current output")

// golden compares got with the golden file, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./config -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s: output differs from the golden file (-update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestInvalidFiles parses every testdata/invalid-*.yaml file and compares
// the complete list of problems with its .golden file.
func TestInvalidFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid-*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid test files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := Parse(filepath.Base(f), data)
			if err == nil {
				t.Fatalf("parsed without error:\n%s", cfg.Redacted())
			}
			errs := List(err)
			if len(errs) == 0 {
				t.Fatalf("error is %T, want a non-empty list: %v", err, err)
			}
			for _, e := range errs {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Errorf("problem %q is %T, want *FieldError", e, e)
				} else if fe.Source != filepath.Base(f) {
					t.Errorf("problem %q names source %q, want the file", e, fe.Source)
				}
			}
			golden(t, strings.TrimSuffix(f, ".yaml")+".golden", err.Error()+"\n")
		})
	}
}

// TestExamplesValidate loads every file in examples/.
func TestExamplesValidate(t *testing.T) {
	files, err := filepath.Glob("examples/*.yaml")
	if err != nil || len(files) < 2 {
		t.Fatalf("want at least ml-platform.yaml and minimal.yaml in examples/, got %v (%v)", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := Load([]string{f}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.SLOs) == 0 {
				t.Fatal("no SLOs")
			}
			for _, s := range cfg.SLOs {
				if s.SLI.Kind() == "" || s.Objective() <= 0 || len(s.AllWindows()) == 0 || len(s.EnabledTiers()) == 0 {
					t.Errorf("SLO %q: kind %q, objective %v, windows %v, tiers %v", s.Name, s.SLI.Kind(), s.Objective(), s.AllWindows(), s.EnabledTiers())
				}
			}
		})
	}
}
