package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/promtest"
)

// TestReload: a bad configuration is rejected (HTTP 500 naming the
// problem, slo_exporter_config_last_reload_successful 0) while the running
// SLOs keep being served; a good one that drops an SLO replaces the running
// one after its backfill and the SLO disappears from /metrics; SIGHUP
// reloads too.
func TestReload(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: real processes")
	}
	exporterBin, simBin := binaries(t)
	simPort, port := freePort(t), freePort(t)
	start(t, "sim", simBin, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", simPort))
	prom := promtest.Start(t, promtest.Options{ConfigYAML: fmt.Sprintf(`global: {scrape_interval: 1s}
scrape_configs:
  - job_name: model-api
    metrics_path: /metrics/model-api
    static_configs: [{targets: ["127.0.0.1:%d"]}]
`, simPort)})
	slo := func(name, good string) string {
		return fmt.Sprintf(`  - name: %s
    service: model-api
    objective: 0.99
    period: 1d
    sli: {ratio: {good: '%s', valid: 'http_requests_total{job="model-api"}'}}
`, name, good)
	}
	head := fmt.Sprintf("global: {evaluation_interval: 5s, alert_tiers: [{name: long, enabled: false}]}\nprometheus: {url: %q}\nslos:\n", prom.URL)
	cfgFile := filepath.Join(t.TempDir(), "slo.yaml")
	write := func(s string) {
		if err := os.WriteFile(cfgFile, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(head + slo("keep", `http_requests_total{job="model-api",code="200"}`) + slo("drop", `http_requests_total{job="model-api",code=~"2.."}`))
	p := start(t, "exporter", exporterBin, "serve", "--config.file="+cfgFile, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		"--web.enable-lifecycle") // POST /-/reload below
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, "ready", 60*time.Second, ready(url))
	has := func(name string) bool {
		_, ok := find(scrape(t, url, "slo_objective_ratio"), map[string]string{"slo": name})
		return ok
	}
	reloadOK := func() float64 {
		v, ok := find(scrape(t, url, "slo_exporter_config_last_reload_successful"), nil)
		if !ok {
			t.Fatal("slo_exporter_config_last_reload_successful is missing")
		}
		return v
	}
	if !has("keep") || !has("drop") || reloadOK() != 1 {
		t.Fatalf("at start: keep %v drop %v reload_successful %v", has("keep"), has("drop"), reloadOK())
	}

	// A bad configuration: rejected, the running SLOs stay. Its URL holds
	// a password url.Parse cannot read, which the 500 body must not show.
	badURL := strings.Replace(prom.URL, "://", "://alice:hunter 2@", 1)
	write(strings.Replace(head, prom.URL, badURL, 1) + slo("keep", `http_requests_total{job="model-api",code="200"`))
	resp, err := http.Post(url+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 4096)
	n, _ := resp.Body.Read(body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body[:n]), "slo.yaml") ||
		!strings.Contains(string(body[:n]), "alice:xxxxx@") {
		t.Errorf("bad reload: %d %q, want 500 naming the file and the redacted URL", resp.StatusCode, body[:n])
	}
	logText, _ := os.ReadFile(p.log)
	if strings.Contains(string(body[:n]), "hunter") || strings.Contains(string(logText), "hunter") {
		t.Errorf("the password of the URL shows in the 500 body or the log:\n%s\n%s", body[:n], logText)
	}
	if reloadOK() != 0 || !has("keep") || !has("drop") {
		t.Errorf("after a bad reload: reload_successful %v, keep %v, drop %v", reloadOK(), has("keep"), has("drop"))
	}
	if code, _, _ := httpGet(url + "/-/ready"); code != http.StatusOK {
		t.Errorf("not ready after a rejected reload: %d", code)
	}

	// A good configuration without "drop", by SIGHUP.
	countedBefore := selfCounters(t, url)
	write(head + slo("keep", `http_requests_total{job="model-api",code="200"}`))
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reloaded configuration", 60*time.Second, func() error {
		if has("drop") || !has("keep") || reloadOK() != 1 {
			return fmt.Errorf("keep %v drop %v reload_successful %v", has("keep"), has("drop"), reloadOK())
		}
		return nil
	})
	if done, code := p.exited(); done {
		t.Fatalf("exporter exited (code %d)", code)
	}
	// The reloaded configuration's client and puller count into the same
	// self-metrics: no counter restarted; "keep" did not change, so its
	// state was carried over and nothing was backfilled again.
	countedAfter := selfCounters(t, url)
	for k, v := range countedBefore {
		if got, ok := countedAfter[k]; !ok || got < v {
			t.Errorf("%s went from %v to %v (present %v) across the reload", k, v, got, ok)
		}
	}
	if k := "slo_exporter_backfill_queries_total"; countedAfter[k] != countedBefore[k] {
		t.Errorf("%s %v after a reload that kept its only SLO unchanged, %v before", k, countedAfter[k], countedBefore[k])
	}
}

// selfCounters scrapes url's /metrics, checks it with promtool check
// metrics, and returns the value of every slo_exporter_* counter series by
// name and labels.
func selfCounters(t *testing.T, url string) map[string]float64 {
	t.Helper()
	code, body, err := httpGet(url + "/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("scraping %s: %d %v", url, code, err)
	}
	cmd := exec.Command(promtest.Binary(t, "promtool", "PROMTOOL"), "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("promtool check metrics on /metrics: %v\n%s", err, out)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing %s/metrics: %v", url, err)
	}
	out := map[string]float64{}
	for name, fam := range fams {
		if !strings.HasPrefix(name, "slo_exporter_") {
			continue
		}
		for _, m := range fam.Metric {
			if m.Counter == nil {
				continue
			}
			key := name
			for _, l := range m.Label {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			out[key] = m.GetCounter().GetValue()
		}
	}
	if len(out) == 0 {
		t.Fatalf("no slo_exporter_* counter on %s/metrics", url)
	}
	return out
}

// TestSourceDownAtStart: with Prometheus down, the exporter serves
// /metrics with slo_data_up 0 and is not ready; once Prometheus is up, it
// backfills and becomes ready.
func TestSourceDownAtStart(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: real processes")
	}
	exporterBin, _ := binaries(t)
	prom := promtest.Start(t, promtest.Options{})
	prom.Stop()
	port := freePort(t)
	cfgFile := filepath.Join(t.TempDir(), "slo.yaml")
	cfg := fmt.Sprintf(`global: {evaluation_interval: 5s, query_retries: 0, alert_tiers: [{name: long, enabled: false}]}
prometheus: {url: %q}
slos:
  - name: a
    service: s
    objective: 0.99
    period: 1d
    sli: {ratio: {good: 'up{job="x"}', valid: 'up'}}
`, prom.URL)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, "exporter", exporterBin, "serve", "--config.file="+cfgFile, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port))
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, "slo_data_up 0 while Prometheus is down", 30*time.Second, func() error {
		code, _, err := httpGet(url + "/metrics")
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("%d %v", code, err)
		}
		if v, ok := find(scrape(t, url, "slo_data_up"), map[string]string{"slo": "a"}); !ok || v != 0 {
			return fmt.Errorf("slo_data_up %v present %v", v, ok)
		}
		return nil
	})
	code, body, _ := httpGet(url + "/-/ready")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "backfill") {
		t.Errorf("ready while the source is down: %d %q", code, body)
	}
	prom.Restart(t)
	waitFor(t, "ready once Prometheus is up", 60*time.Second, ready(url))
	if done, code := p.exited(); done {
		t.Fatalf("exporter exited (code %d)", code)
	}
}
