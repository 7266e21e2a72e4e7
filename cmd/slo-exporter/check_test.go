package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckHidesPasswords runs check as a user would on files whose
// prometheus.url holds a password url.Parse cannot read, in the file,
// through --prometheus.url and through the environment: the output names
// the file and the field, and never shows the password.
func TestCheckHidesPasswords(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "slo.yaml")
	body := `prometheus: {url: "http://alice:hunter 2@prometheus:9090/%zz"}
slos:
  - {name: api, service: api, objective: 0.99, sli: {ratio: {good: 'http_requests_total{code="200"}', valid: 'http_requests_total'}}}
---
slos:
  - {name: web, service: web, objective: 0.99, sli: {ratio: {good: '{__name__=~".+"}', valid: 'http_requests_total'}}}
`
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, status := runCommand(t, "check", "--config.file", file)
	want := file + `: document 1: prometheus.url "http://alice:xxxxx@prometheus:9090/%zz": not a URL: invalid URL escape "%zz"`
	if status != 1 || !strings.Contains(errOut, want) || !strings.Contains(errOut, file+`: document 2: slos[0] "web": sli.ratio.good`) {
		t.Errorf("check: exit %d\n%s\nwant a line %s and one for document 2", status, errOut, want)
	}
	_, flagOut, _ := runCommand(t, "check", "--config.file", file, "--prometheus.url", "alice:hunter2@prometheus:9090")
	t.Setenv("SLO_EXPORTER_PROMETHEUS_URL", "http://alice:hunter#2@prometheus:9090")
	_, envOut, _ := runCommand(t, "check", "--config.file", file)
	for _, out := range []string{errOut, flagOut, envOut} {
		if strings.Contains(out, "hunter") {
			t.Errorf("check shows the password:\n%s", out)
		}
		if !strings.Contains(out, "alice:xxxxx@prometheus") {
			t.Errorf("check does not show the redacted URL:\n%s", out)
		}
	}
}
