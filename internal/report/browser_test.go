package report

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/promtest"
)

// TestReportHTMLInChromium opens the HTML report of the fixture in
// headless Chromium from a file (no server: the page must stand alone)
// and checks the DOM it built (one chart and one zone bar per group, the
// zones of the incident drawn) and the console: the page's own log line
// must appear, proving the console is captured, and nothing else (an
// error, an uncaught exception, a failed load) may.
func TestReportHTMLInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	bin := promtest.Binary(t, "chromium", "CHROMIUM")
	rep := fixtureReport(t, nil)
	page := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--enable-logging=stderr", "--v=0", "--dump-dom", "file://"+page)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	dom := string(out)
	if n := strings.Count(dom, `<svg class="chart"`); n != 2 {
		t.Errorf("DOM has %d charts, want 2", n)
	}
	if n := strings.Count(dom, `<svg class="zones"`); n != 2 {
		t.Errorf("DOM has %d zone bars, want 2", n)
	}
	for _, want := range []string{`class="zone-band" data-zone="orange"`, `class="slo-row" data-slo="api-availability" data-status="met"`, `<polyline`} {
		if !strings.Contains(dom, want) {
			t.Errorf("DOM lacks %s", want)
		}
	}
	// Chromium logs every console message (log, error, uncaught
	// exceptions, failed resource loads) as an INFO "CONSOLE" line, so the
	// only console line allowed is the page's own.
	var console []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, ":CONSOLE") {
			console = append(console, line)
		}
	}
	if len(console) != 1 || !strings.Contains(console[0], `"slo-report: 2 charts"`) {
		t.Errorf("console, want only the page's own line:\n%s", strings.Join(console, "\n"))
	}
}
