package promtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// installHints tells how to get the binaries the project's tests use.
var installHints = map[string]string{
	"prometheus":       "apt-get install -y prometheus (2.42), or go install github.com/prometheus/prometheus/cmd/prometheus@v0.316.0 (3.x) and set PROMETHEUS",
	"promtool":         "apt-get install -y prometheus",
	"helm":             "go install helm.sh/helm/v3/cmd/helm@v3.22.0",
	"victoria-metrics": "go install github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@v1.151.0",
	"thanos":           "scripts/install-thanos.sh (builds v0.42.5 from the module; go install refuses its replace directives)",
	"chromium":         "apt-get install -y chromium",
	"curl":             "apt-get install -y curl",
	"gzip":             "apt-get install -y gzip",
	"sloth":            "go install github.com/slok/sloth/cmd/sloth@v0.16.0",
}

// Binary returns the path of the program name for a test. It looks at the
// environment variable envVar first (when envVar is not empty), then PATH,
// then ~/go/bin.
//
// Under go test -short it always skips: the short tier runs no external
// process. An envVar that names a file that is not there fails the test: the
// caller asked for that binary explicitly. A program found nowhere skips the test,
// except when CI=true, where it fails it with a hint on how to install the
// program, because a CI run must not pass by skipping.
func Binary(t testing.TB, name, envVar string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: runs " + name)
	}
	path, msg := lookBinary(name, envVar)
	if path != "" {
		return path
	}
	if msg != "" {
		t.Fatal(msg)
	}
	hint := installHints[name]
	if hint == "" {
		hint = "install it"
	}
	msg = name + " not found"
	if envVar != "" {
		msg += " (set " + envVar + ", or put it on PATH or in ~/go/bin)"
	} else {
		msg += " on PATH or in ~/go/bin"
	}
	msg += "; to install: " + hint
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// lookBinary does the search for Binary. It returns the path, or "" and an
// error message when envVar names a missing file, or "" and "" when the
// program is nowhere.
func lookBinary(name, envVar string) (path, errMsg string) {
	if envVar != "" {
		if p := os.Getenv(envVar); p != "" {
			if fi, err := os.Stat(p); err != nil || fi.IsDir() {
				return "", envVar + "=" + p + ": not an executable file"
			}
			abs, err := filepath.Abs(p)
			if err != nil {
				return "", envVar + "=" + p + ": " + err.Error()
			}
			return abs, ""
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, ""
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, "go", "bin", name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, ""
		}
	}
	return "", ""
}
