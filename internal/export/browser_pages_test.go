package export

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/promtest"
)

// chromiumLogged runs headless Chromium with its log on stderr and returns
// stdout and the console messages it logged (lines with "CONSOLE", where
// Chromium reports console errors and refused resources, CSP violations
// included).
func chromiumLogged(t *testing.T, args ...string) (stdout string, console []string) {
	t.Helper()
	bin := promtest.Binary(t, "chromium", "CHROMIUM")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
		"--enable-logging=stderr", "--v=0", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "CONSOLE") {
			console = append(console, l)
		}
	}
	return string(out), console
}

// screenshotDir is where screenshots go: $SCREENSHOT_DIR when set (to keep
// them, e.g. for docs/img), else the test's temporary directory.
func screenshotDir(t *testing.T) string {
	if dir := os.Getenv("SCREENSHOT_DIR"); dir != "" {
		return dir
	}
	return t.TempDir()
}

// screenshot saves a screenshot of url as name and checks it was written.
func screenshot(t *testing.T, url, name, size string) {
	t.Helper()
	shot := filepath.Join(screenshotDir(t), name)
	_ = os.Remove(shot)
	chromiumLogged(t, "--screenshot="+shot, "--window-size="+size, "--hide-scrollbars", url)
	fi, err := os.Stat(shot)
	if err != nil || fi.Size() < 5000 {
		t.Fatalf("screenshot %s: %v (%v)", shot, err, fi)
	}
	t.Logf("screenshot: %s", shot)
}

// TestConsoleCatchesCSPViolations is the control of the console checks
// below: the same Content-Security-Policy on a page that breaks it (an
// inline style attribute, a script) must produce console messages, or the
// absence of messages would prove nothing.
func TestConsoleCatchesCSPViolations(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		setPageHeaders(w)
		_, _ = io.WriteString(w, `<!DOCTYPE html><html><body><p style="color: red">x</p><script>console.log("ran")</script></body></html>`)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	_, console := chromiumLogged(t, "--dump-dom", "http://"+l.Addr().String()+"/")
	if len(console) == 0 {
		t.Fatal("a page breaking the CSP logged no console message: the console check cannot see violations")
	}
	t.Logf("control messages: %q", console)
}

// TestStatusPagesBrowser loads the overview and a per-SLO page in headless
// Chromium: no console message (no CSP violation, no error), the overview
// sorted by budget remaining with links to the detail pages, and on the
// detail page, per group, a burn-rate chart with one series per window and
// one threshold per tier and a budget chart with one series and the zones'
// bounds, drawn from the recorded history. Screenshots of both pages are
// written ($SCREENSHOT_DIR keeps them).
func TestStatusPagesBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium")
	}
	store := NewStore()
	// Twenty evaluations a minute apart, resnet50 burning harder over time.
	for i := range 20 {
		snap, info := fixture()
		snap.Time = fixtureTime.Add(time.Duration(i-19) * time.Minute)
		g := &snap.SLOs[0].Groups[1]
		for k := range g.Windows {
			g.Windows[k].BurnRate *= float64(i+1) / 20
		}
		g.Budget.RemainingRatio = 1 - float64(i+1)/20*(1-g.Budget.RemainingRatio)
		store.SetSnapshot(snap, info)
	}
	s := newServer(t, store, Options{})
	s.SetReady(true, "")
	base := "http://" + serve(t, s, "")

	dom, console := chromiumLogged(t, "--dump-dom", base+"/")
	if len(console) > 0 {
		t.Errorf("overview: console messages:\n%s", strings.Join(console, "\n"))
	}
	// Sorted by budget remaining: batch-success (23%), resnet50 (65%),
	// bert (98%), feature-store (no budget).
	order := regexp.MustCompile(`<tr class="slo" data-slo="([^"]+)" data-zone="([^"]*)"`).FindAllStringSubmatch(dom, -1)
	var got []string
	for _, m := range order {
		got = append(got, m[1]+"/"+m[2])
	}
	want := []string{"batch-success/orange", "model-api-availability/yellow", "model-api-availability/green", "feature-store-availability/"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("overview rows %v, want %v", got, want)
	}
	for _, name := range []string{"batch-success", "model-api-availability", "feature-store-availability"} {
		if !strings.Contains(dom, `<a href="slo/`+name+`">`) {
			t.Errorf("overview lacks a link to slo/%s", name)
		}
	}
	if !strings.Contains(dom, `<span class="zone zone-orange">orange</span>`) {
		t.Errorf("the zone's colour comes without its name")
	}

	dom, console = chromiumLogged(t, "--dump-dom", base+"/slo/model-api-availability")
	if len(console) > 0 {
		t.Errorf("detail: console messages:\n%s", strings.Join(console, "\n"))
	}
	if n := strings.Count(dom, `<section class="group"`); n != 2 {
		t.Errorf("detail: %d groups, want 2 (bert, resnet50)", n)
	}
	svgs := regexp.MustCompile(`<svg class="chart" id="([a-z]+)-(\d)"[^>]*data-series="(\d+)" data-rules="(\d+)" data-points="(\d+)"`).FindAllStringSubmatch(dom, -1)
	if len(svgs) != 4 {
		t.Fatalf("detail: %d charts, want 4 (burn and budget per group)", len(svgs))
	}
	for _, m := range svgs {
		kind, series, rules, points := m[1], m[3], m[4], m[5]
		switch kind {
		case "burn": // 5 windows, 2 tiers (fast, medium)
			if series != "5" || rules != "2" {
				t.Errorf("burn chart %s: %s series, %s rules; want 5 windows and 2 tiers", m[2], series, rules)
			}
		case "budget": // one series; green, yellow, orange bounds
			if series != "1" || rules != "3" {
				t.Errorf("budget chart %s: %s series, %s rules; want 1 and 3 zone bounds", m[2], series, rules)
			}
		}
		if points == "0" {
			t.Errorf("%s chart %s: no points", kind, m[2])
		}
	}
	// resnet50's budget chart holds all 20 evaluations; its burn chart 20
	// per window.
	if !regexp.MustCompile(`id="budget-1"[^>]*data-points="20"`).MatchString(dom) ||
		!regexp.MustCompile(`id="burn-1"[^>]*data-points="100"`).MatchString(dom) {
		t.Errorf("resnet50's charts do not hold the 20 recorded evaluations")
	}
	if n := strings.Count(dom, `<g class="series`); n != 12 {
		t.Errorf("detail: %d drawn series, want 12 (2 groups x (5 windows + 1 budget))", n)
	}
	for _, want := range []string{`threshold fast (1h/5m)`, `<span class="firing">firing</span>`, `zone zone-yellow">yellow</span>`} {
		if !strings.Contains(dom, want) {
			t.Errorf("detail lacks %s", want)
		}
	}

	resp, err := http.Get(base + "/slo/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("unknown SLO: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}

	screenshot(t, base+"/", "status-overview.png", "1280,420")
	screenshot(t, base+"/slo/model-api-availability", "status-detail.png", "1280,1400")
}
