package export

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

// chromium runs headless Chromium with args and returns its stdout.
func chromium(t *testing.T, args ...string) string {
	t.Helper()
	bin := promtest.Binary(t, "chromium", "CHROMIUM")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// TestStatusPageBrowser loads the status page in a real browser: the DOM
// Chromium builds must hold one row per SLO group with its zone, and a
// screenshot is taken (kept in $SCREENSHOT_DIR when set, for a person to
// look at).
func TestStatusPageBrowser(t *testing.T) {
	s := newServer(t, fixtureStore(), Options{})
	s.SetReady(true, "")
	url := "http://" + serve(t, s, "") + "/"

	dom := chromium(t, "--dump-dom", url)
	rows := strings.Count(dom, `<tr class="slo"`)
	if rows != 4 {
		t.Errorf("DOM has %d SLO rows, want 4 (bert, resnet50, feature-store, batch-success):\n%s", rows, dom)
	}
	for _, want := range []string{
		`data-slo="model-api-availability" data-zone="green"`,
		`data-slo="model-api-availability" data-zone="yellow"`,
		`data-slo="feature-store-availability" data-zone=""`,
		`data-slo="batch-success" data-zone="orange"`,
		`<span class="zone zone-yellow">yellow</span>`,
		`<span class="down">down</span>`,
		`Ready.`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("DOM lacks %s", want)
		}
	}

	dir := os.Getenv("SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, "status-page.png")
	_ = os.Remove(shot)
	chromium(t, "--screenshot="+shot, "--window-size=1200,400", "--hide-scrollbars", url)
	fi, err := os.Stat(shot)
	if err != nil || fi.Size() < 1000 {
		t.Fatalf("screenshot %s: %v (size %v)", shot, err, fi)
	}
	t.Logf("screenshot: %s", shot)
}
