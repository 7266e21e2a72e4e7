package main

import (
	"bufio"
	"bytes"
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
		i           int
		origin, at  float64
		wantOK, bad float64
	}{
		{"zero at origin", 0, 1000, 1000, 0, 0},
		{"zero before origin", 3, 1000, 10, 0, 0},
		{"model 0 after 100s", 0, 0, 100, 500, 0},           // 5/s, 0.05% -> 0.25
		{"model 1 after 1000s", 1, 0, 1000, 6000, 6},        // 6/s, 0.1%
		{"model 7 wraps the ok rate", 7, 0, 1000, 5000, 10}, // 5/s, 0.2%
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, bad := counters(tc.i, tc.origin, tc.at)
			if ok != tc.wantOK || bad != tc.bad {
				t.Errorf("counters(%d, %v, %v) = %v, %v; want %v, %v", tc.i, tc.origin, tc.at, ok, bad, tc.wantOK, tc.bad)
			}
		})
	}
}

// TestHistoryAndLiveAgree checks that the OpenMetrics history holds every
// series at every step, cut into 2h-aligned files, with the values the live
// exposition gives at the same instants: history and live data must be one
// series for the benchmark's windows to be right.
func TestHistoryAndLiveAgree(t *testing.T) {
	dir := t.TempDir()
	const models, origin, from, to = 3, 1_000_000, 1_007_970, 1_008_030 // 1_008_000 is a 2h boundary
	if err := history([]string{"-models", "3", "-origin", strconv.Itoa(origin), "-from", strconv.Itoa(from), "-to", strconv.Itoa(to), "-step", "30s", "-out", dir}); err != nil {
		t.Fatal(err)
	}
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
			var live bytes.Buffer
			writeText(&live, models, origin, ts)
			want := strings.Replace(f[0], `instance="bench",job="bench",`, "", 1) + " " + f[1]
			if !strings.Contains(live.String(), want+"\n") {
				t.Errorf("history line %q: live exposition at %v has no %q", line, ts, want)
			}
			samples++
		}
	}
	if want := models * 2 * 3; samples != want { // steps at from, from+30, from+60
		t.Errorf("history has %d samples, want %d", samples, want)
	}
}

// TestConfigFiles checks that the generated files are valid for the
// programs that read them: the SLO for slo-exporter's loader, the rules and
// Prometheus configurations for promtool.
func TestConfigFiles(t *testing.T) {
	dir := t.TempDir()
	if err := configs([]string{"-models", "1234", "-out", dir}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "slo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("slo.yaml", data)
	if err != nil {
		t.Fatalf("slo.yaml does not load: %v", err)
	}
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
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestConfigSplitSLOs: with -slos n the models are split between n SLOs
// whose selectors match every model exactly once (checked with the
// regex of each selector on every model name), with max_groups enough for
// their share; a count that does not divide 10 is refused.
func TestConfigSplitSLOs(t *testing.T) {
	for _, n := range []int{2, 5, 100} {
		dir := t.TempDir()
		if err := configs([]string{"-models", "1000", "-slos", strconv.Itoa(n), "-out", dir}); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, "slo.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Parse("slo.yaml", data)
		if err != nil {
			t.Fatalf("-slos %d: slo.yaml does not load: %v", n, err)
		}
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
