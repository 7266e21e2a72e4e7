package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/promtest"
)

func TestCounters(t *testing.T) {
	for _, tc := range []struct {
		name        string
		i, p        int
		resets      float64
		origin, at  float64
		wantOK, bad float64
	}{
		{"zero at origin", 0, 0, 0, 1000, 1000, 0, 0},
		{"zero before origin", 3, 0, 0, 1000, 10, 0, 0},
		{"model 0 after 100s", 0, 0, 0, 0, 100, 500, 0},           // 5/s, 0.05% -> 0.25
		{"model 1 after 1000s", 1, 0, 0, 0, 1000, 6000, 6},        // 6/s, 0.1%
		{"model 7 wraps the ok rate", 7, 0, 0, 0, 1000, 5000, 10}, // 5/s, 0.2%
		{"a pod counts at the model's rate", 1, 3, 0, 0, 1000, 6000, 6},
		// resets every 10000s: model 1's phase is 7919, its pod 1's
		// (7919+3637) mod 10000 = 1556.
		{"pod 0 restarts at the model's phase", 1, 0, 10000, 0, 8000, 6 * 81, 0},
		{"pod 0 before its first restart", 1, 0, 10000, 0, 7900, 6 * 7900, 47},
		{"pod 1 restarts at a phase of its own", 1, 1, 10000, 0, 8000, 6 * (8000 - 1556), 38},
		{"pod 1 restarts again a period later", 1, 1, 10000, 0, 11600, 6 * 44, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resetEvery = tc.resets
			defer func() { resetEvery = 0 }()
			ok, bad := counters(tc.i, tc.p, tc.origin, tc.at)
			if ok != tc.wantOK || bad != tc.bad {
				t.Errorf("counters(%d, %d, %v, %v) = %v, %v; want %v, %v", tc.i, tc.p, tc.origin, tc.at, ok, bad, tc.wantOK, tc.bad)
			}
		})
	}
}

// TestOnePodKeepsTheOldExposition: without pods (-pods 1) the exposition
// is, byte for byte, the one of the versions before -pods, so that figures
// measured before stay comparable; with pods each model has 2 series per
// pod.
func TestOnePodKeepsTheOldExposition(t *testing.T) {
	var one bytes.Buffer
	writeText(&one, 2, 1, 0, 100)
	want := `# HELP bench_requests_total Synthetic requests by model and outcome.
# TYPE bench_requests_total counter
bench_requests_total{model="m00000",code="ok"} 500
bench_requests_total{model="m00000",code="error"} 0
bench_requests_total{model="m00001",code="ok"} 600
bench_requests_total{model="m00001",code="error"} 0
`
	if one.String() != want {
		t.Errorf("-pods 1 exposition:\n%s\nwant:\n%s", one.String(), want)
	}
	var two bytes.Buffer
	writeText(&two, 2, 2, 0, 1000)
	for _, line := range []string{
		`bench_requests_total{model="m00000",pod="p0",code="ok"} 5000`,
		`bench_requests_total{model="m00000",pod="p1",code="error"} 2`,
		`bench_requests_total{model="m00001",pod="p1",code="ok"} 6000`,
	} {
		if !strings.Contains(two.String(), line+"\n") {
			t.Errorf("-pods 2 exposition lacks %q:\n%s", line, two.String())
		}
	}
	if got := strings.Count(two.String(), "\nbench_requests_total{"); got != 2*2*2 {
		t.Errorf("-pods 2 exposition has %d series, want 8", got)
	}
}

// TestHistoryAndLiveAgree checks that the OpenMetrics history holds every
// series at every step, cut into 2h-aligned files, with the values the live
// exposition gives at the same instants: history and live data must be one
// series for the benchmark's windows to be right.
func TestHistoryAndLiveAgree(t *testing.T) {
	for _, c := range []struct {
		pods  int
		phase string
	}{{1, "0s"}, {2, "0s"}, {2, "7.25s"}} {
		t.Run(fmt.Sprintf("pods=%d,phase=%s", c.pods, c.phase), func(t *testing.T) { historyAndLiveAgree(t, c.pods, c.phase) })
	}
}

func historyAndLiveAgree(t *testing.T, pods int, phase string) {
	dir := t.TempDir()
	const models, origin, from, to = 3, 1_000_000, 1_007_970, 1_008_030 // 1_008_000 is a 2h boundary
	// Restarts every 2000s, so that the pods of a model differ in the
	// window (phases 0, 1919, 1838 for the models' pod 0).
	defer func() { resetEvery = 0 }()
	if err := history([]string{"-models", "3", "-pods", strconv.Itoa(pods), "-reset-every", "2000s", "-origin", strconv.Itoa(origin), "-from", strconv.Itoa(from), "-to", strconv.Itoa(to), "-step", "30s", "-phase", phase, "-out", dir}); err != nil {
		t.Fatal(err)
	}
	podValues := map[string]map[string]bool{} // timestamp+pod -> ok values seen
	files, _ := filepath.Glob(filepath.Join(dir, "*.om"))
	if len(files) != 2 {
		t.Fatalf("history files = %v, want one per 2h block (2)", files)
	}
	samples := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(data, []byte("# EOF\n")) {
			t.Errorf("%s does not end with # EOF", f)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "#") {
				continue
			}
			f := strings.Fields(line)
			ts, _ := strconv.ParseFloat(f[2], 64)
			if frac := math.Mod(ts, 30); phase != "0s" && math.Abs(frac-7.25) > 1e-6 {
				t.Errorf("history line %q: timestamp %v is not 7.25s past the 30s grid", line, ts)
			}
			var live bytes.Buffer
			writeText(&live, models, pods, origin, ts)
			if pods > 1 && strings.Contains(line, `model="m00001"`) && strings.Contains(line, `code="ok"`) {
				if podValues[f[2]] == nil {
					podValues[f[2]] = map[string]bool{}
				}
				podValues[f[2]][f[1]] = true
			}
			want := strings.Replace(f[0], `instance="bench",job="bench",`, "", 1) + " " + f[1]
			if !strings.Contains(live.String(), want+"\n") {
				t.Errorf("history line %q: live exposition at %v has no %q", line, ts, want)
			}
			samples++
		}
	}
	if want := models * pods * 2 * 3; samples != want { // steps at from, from+30, from+60
		t.Errorf("history has %d samples, want %d", samples, want)
	}
	for ts, vals := range podValues {
		if len(vals) != pods {
			t.Errorf("at %s model m00001's pods have ok values %v, want %d different ones (restarts of their own)", ts, vals, pods)
		}
	}
}

// generatedSLOs runs `gen config` with args into dir and returns its
// slo.yaml as slo-exporter's loader reads it.
func generatedSLOs(t *testing.T, dir string, args ...string) *config.Config {
	t.Helper()
	if err := configs(append(args, "-out", dir)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "slo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("slo.yaml", data)
	if err != nil {
		t.Fatalf("gen config %v: slo.yaml does not load: %v", args, err)
	}
	return cfg
}

// TestConfigFiles checks that the generated files are valid for the
// programs that read them: the SLO for slo-exporter's loader, the rules and
// Prometheus configurations for promtool.
func TestConfigFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := generatedSLOs(t, dir, "-models", "1234")
	if len(cfg.SLOs) != 1 || cfg.SLOs[0].MaxGroups != 1234 || strings.Join(cfg.SLOs[0].GroupBy, ",") != "model" {
		t.Errorf("slo.yaml: want one SLO grouped by model with max_groups 1234, got %+v", cfg.SLOs)
	}
	rules, _ := os.ReadFile(filepath.Join(dir, "rules.yml"))
	if got := strings.Count(string(rules), "- record:"); got != 2*len(windows) {
		t.Errorf("rules.yml has %d rules, want %d", got, 2*len(windows))
	}
	promtool := promtest.Binary(t, "promtool", "PROMTOOL")
	for _, args := range [][]string{
		{"check", "rules", "rules.yml"},
		{"check", "config", "prometheus-base.yml"},
		{"check", "config", "prometheus-rules.yml"},
		{"check", "config", "prometheus-scraped.yml"},
		{"check", "config", "prometheus-floor.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestSlothFiles checks that the Sloth spec converts with the real sloth in
// both variants: the default (optimized) one computes 30d from the recorded
// 5m SLI, selected by the labels the backfill rule writes, the raw one
// (sli_rules plugin with disableOptimized) from rate over 30d; and that
// promtool accepts every rules file.
func TestSlothFiles(t *testing.T) {
	slothBin := promtest.Binary(t, "sloth", "SLOTH")
	promtool := promtest.Binary(t, "promtool", "PROMTOOL")
	dir := t.TempDir()
	if err := sloth([]string{"-models", "3", "-out", dir}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		name    string
		args    []string
		rate30d int
	}{
		{"optimized", nil, 0},
		{"raw", []string{"-s", `{"id":"sloth.dev/core/sli_rules/v1","priority":0,"config":{"disableOptimized":true}}`}, 3 * 2},
	} {
		out := filepath.Join(dir, v.name+".yml")
		cmd := exec.Command(slothBin, append([]string{"generate", "-i", filepath.Join(dir, "sloth-spec.yaml"), "-o", out}, v.args...)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sloth generate %s: %v\n%s", v.name, err, b)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		if got := strings.Count(text, "[30d]))"); got != v.rate30d {
			t.Errorf("%s: %d rate(...[30d]) reads, want %d", v.name, got, v.rate30d)
		}
		if got := strings.Count(text, "record: slo:sli_error:ratio_rate5m\n"); got != 3 {
			t.Errorf("%s: %d 5m SLI rules, want 3", v.name, got)
		}
		if v.name == "optimized" {
			sel := `slo:sli_error:ratio_rate5m{sloth_id="bench-m00002", sloth_service="bench", sloth_slo="m00002"}[30d]`
			if !strings.Contains(text, sel) {
				t.Errorf("optimized: no 30d SLI reading %s, the series sloth-backfill.yml writes", sel)
			}
		}
		if b, err := exec.Command(promtool, "check", "rules", out).CombinedOutput(); err != nil {
			t.Errorf("promtool check rules %s: %v\n%s", v.name, err, b)
		}
	}
	if b, err := exec.Command(promtool, "check", "rules", filepath.Join(dir, "sloth-backfill.yml")).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules sloth-backfill.yml: %v\n%s", err, b)
	}
}

// TestConfigSplitSLOs: with -slos n the models are split between n SLOs
// whose selectors match every model exactly once (checked with the
// regex of each selector on every model name), with max_groups enough for
// their share; a count that does not divide 10 is refused.
func TestConfigSplitSLOs(t *testing.T) {
	for _, n := range []int{2, 5, 100} {
		cfg := generatedSLOs(t, t.TempDir(), "-models", "1000", "-slos", strconv.Itoa(n))
		if len(cfg.SLOs) != n {
			t.Fatalf("-slos %d: %d SLOs", n, len(cfg.SLOs))
		}
		matches := make([]int, 1000)
		for _, s := range cfg.SLOs {
			m := regexp.MustCompile(`model=~"([^"]+)"`).FindStringSubmatch(s.SLI.Ratio.Valid)
			if m == nil || !strings.Contains(s.SLI.Ratio.Good, m[0]) {
				t.Fatalf("-slos %d: %s: selectors %q, %q lack the same model matcher", n, s.Name, s.SLI.Ratio.Good, s.SLI.Ratio.Valid)
			}
			re := regexp.MustCompile("^(?:" + m[1] + ")$")
			got := 0
			for i := range matches {
				if re.MatchString(model(i)) {
					matches[i]++
					got++
				}
			}
			if got > s.MaxGroups {
				t.Errorf("-slos %d: %s matches %d models, max_groups %d", n, s.Name, got, s.MaxGroups)
			}
		}
		for i, c := range matches {
			if c != 1 {
				t.Errorf("-slos %d: model %s matched by %d SLOs, want 1", n, model(i), c)
			}
		}
	}
	if err := configs([]string{"-slos", "3", "-out", t.TempDir()}); err == nil {
		t.Error("-slos 3 accepted")
	}
}

// TestStaticServesSavedBytes checks the scrape floor's server: a client
// that accepts gzip gets the saved bytes unchanged, one that does not gets
// them decompressed, and a file that is not gzip is refused by name.
func TestStaticServesSavedBytes(t *testing.T) {
	dir := t.TempDir()
	text := "# TYPE slo_burn_rate gauge\nslo_burn_rate{slo=\"a\",service=\"s\",window=\"5m\"} 0.5\n"
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, _ = zw.Write([]byte(text))
	_ = zw.Close()
	file := filepath.Join(dir, "metrics.gz")
	if err := os.WriteFile(file, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := staticHandler(file)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, tc := range []struct {
		accept, encoding string
		want             []byte
	}{
		{"gzip", "gzip", z.Bytes()},
		{"identity", "", []byte(text)},
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
		req.Header.Set("Accept-Encoding", tc.accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("Content-Encoding"); got != tc.encoding {
			t.Errorf("Accept-Encoding %s: Content-Encoding %q, want %q", tc.accept, got, tc.encoding)
		}
		if !bytes.Equal(body, tc.want) {
			t.Errorf("Accept-Encoding %s: body %q, want %q", tc.accept, body, tc.want)
		}
	}
	plain := filepath.Join(dir, "metrics.txt")
	_ = os.WriteFile(plain, []byte(text), 0o644)
	if _, err := staticHandler(plain); err == nil || !strings.Contains(err.Error(), plain) {
		t.Errorf("a plain file: error %v, want one naming %s", err, plain)
	}
}
