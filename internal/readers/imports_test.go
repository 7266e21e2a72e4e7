package readers_test

import (
	"go/build"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/slo-exporter/slo-exporter/"

// deps returns the packages a package of this module imports, directly or
// through other packages of the module, read from the source files
// (without the go command).
func deps(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	var walk func(p string)
	walk = func(p string) {
		dir := filepath.Join("..", "..", filepath.FromSlash(strings.TrimPrefix(p, module)))
		bp, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, imp := range bp.Imports {
			if seen[imp] {
				continue
			}
			seen[imp] = true
			if strings.HasPrefix(imp, module) {
				walk(imp)
			}
		}
	}
	walk(pkg)
	return seen
}

// TestConfigKnowsNoReaders keeps the layering: the configuration model
// imports no reader and none of the other formats' libraries; the
// readers sit above it.
func TestConfigKnowsNoReaders(t *testing.T) {
	for imp := range deps(t, module+"config") {
		if strings.HasPrefix(imp, module+"internal/readers") || strings.Contains(imp, "OpenSLO") {
			t.Errorf("config imports %s", imp)
		}
	}
	if !deps(t, module+"internal/readers")[module+"config"] {
		t.Error("the readers do not build on config")
	}
}
