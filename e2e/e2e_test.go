package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/simulator"
)

const (
	interval = 5 * time.Second
	offset   = 2 * time.Second
	sloName  = "model-api-availability"
	// The incident: resnet50 fails half of its requests for 150 s, starting
	// 75 s after the simulator (time for Prometheus and both exporters to
	// start and backfill).
	incidentStart = 75 * time.Second
	incidentLen   = 150 * time.Second
)

// exporterConfig is the SLO configuration both exporters run: the
// reference availability SLO per model, a 1d period so the fast tier can be
// shortened to windows a test can wait for (2m/20s, 5% of the budget:
// threshold 0.05 x 1d / 2m = 36), and every other tier off.
func exporterConfig(promURL string) string {
	return fmt.Sprintf(`global:
  evaluation_interval: %s
  query_offset: %s
  query_timeout: 5s
  alert_tiers:
    - {name: fast, budget_fraction: 0.05, long_window: 2m, short_window: 20s, for: 0s}
    - {name: medium, enabled: false}
    - {name: slow, enabled: false}
    - {name: long, enabled: false}
prometheus:
  url: %s
slos:
  - name: %s
    service: model-api
    objective: 99.9%%
    period: 1d
    group_by: [model]
    windows: [5m, 1h]
    sli:
      ratio:
        good: 'http_requests_total{job="model-api",code=~"2.."}'
        valid: 'http_requests_total{job="model-api"}'
`, model.Duration(interval), model.Duration(offset), promURL, sloName)
}

// TestEndToEnd: an injected incident moves the 5m burn rate and the budget
// exactly as computed from the simulator's schedule, read back through
// Prometheus; the generated fast-tier alert fires in Prometheus and
// resolves; a Prometheus outage loses no budget; a restarted exporter
// agrees with one that ran throughout.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: several minutes of real processes")
	}
	exporterBin, simBin := binaries(t)
	promBin := promtest.Binary(t, "prometheus", "PROMETHEUS")
	_ = promBin
	dir := t.TempDir()

	// The simulator, with a known start and schedule.
	simPort, portA, portB := freePort(t), freePort(t), freePort(t)
	simStart := time.Now().Truncate(time.Second).Add(time.Second)
	incident := fmt.Sprintf("service=model-api,model=resnet50,start=%s,duration=%s,error_ratio=0.5,code=500",
		model.Duration(incidentStart), model.Duration(incidentLen))
	sim := start(t, "sim", simBin, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", simPort),
		"--start.time="+simStart.UTC().Format(time.RFC3339Nano), "--incident="+incident)
	inc, err := simulator.ParseSpec(incident)
	if err != nil {
		t.Fatal(err)
	}
	expect, err := simulator.New(simulator.Config{Start: simStart, Incidents: []simulator.Incident{inc}})
	if err != nil {
		t.Fatal(err)
	}
	simURL := fmt.Sprintf("http://127.0.0.1:%d", simPort)
	waitFor(t, "the simulator", 20*time.Second, func() error { _, _, err := httpGet(simURL + "/-/healthy"); return err })
	_ = sim

	// Generated alert rules, evaluated by the real Prometheus.
	cfgFile := filepath.Join(dir, "slo.yaml")
	rulesFile := filepath.Join(dir, "rules.yaml")
	// The Prometheus port is only known after start: write a placeholder
	// configuration for rule generation (the URL does not appear in rules).
	if err := os.WriteFile(cfgFile, []byte(exporterConfig("http://127.0.0.1:1")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runOutput(exporterBin, "rules", "--config.file="+cfgFile)
	if err != nil {
		t.Fatalf("slo-exporter rules: %v\n%s", err, out)
	}
	if err := os.WriteFile(rulesFile, out, 0o644); err != nil {
		t.Fatal(err)
	}
	prom := promtest.Start(t, promtest.Options{ConfigYAML: fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: model-api
    metrics_path: /metrics/model-api
    static_configs: [{targets: ["127.0.0.1:%d"]}]
  - job_name: slo-exporter
    static_configs: [{targets: ["127.0.0.1:%d", "127.0.0.1:%d"]}]
`, rulesFile, simPort, portA, portB)})
	if err := os.WriteFile(cfgFile, []byte(exporterConfig(prom.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	// Let Prometheus hold the series for over two evaluation intervals, so
	// the exporters' start-up backfill (up to now minus the offset) sees
	// them: their first raw sample is the baseline, which baseline() finds
	// from outside.
	waitFor(t, "the first scrapes of the simulator", 30*time.Second, func() error {
		v, err := prom.Query(context.Background(), `http_requests_total{job="model-api",model="resnet50",code="200"}`, time.Now())
		if err != nil || len(v) == 0 {
			return fmt.Errorf("no sample yet: %v", err)
		}
		return nil
	})
	time.Sleep(2*interval + offset + time.Second)

	// Two exporters: A will be restarted, B runs throughout.
	startExporter := func(name string, port int) (*proc, string) {
		p := start(t, name, exporterBin, "serve", "--config.file="+cfgFile,
			fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--log.level=debug")
		url := fmt.Sprintf("http://127.0.0.1:%d", port)
		waitFor(t, name+" ready", 60*time.Second, ready(url))
		return p, url
	}
	expA, urlA := startExporter("exporter-a", portA)
	_, urlB := startExporter("exporter-b", portB)
	instA := fmt.Sprintf("127.0.0.1:%d", portA)

	ctx := context.Background()
	resnet := map[string]string{"slo": sloName, "model": "resnet50"}

	// 1. Before the incident: data up, no alert.
	waitFor(t, "slo_data_up through Prometheus", 30*time.Second, func() error {
		v, err := prom.Query(ctx, fmt.Sprintf(`slo_data_up{slo=%q,instance=%q}`, sloName, instA), time.Now())
		if err != nil || len(v) != 1 || v[0].Value != 1 {
			return fmt.Errorf("%v %v", v, err)
		}
		return nil
	})
	if time.Now().After(simStart.Add(incidentStart)) {
		t.Fatalf("start-up took too long: the incident already began")
	}

	// 2. The alert fires during the incident.
	firedAt := waitAlert(t, prom.URL, resnet, "firing", simStart.Add(incidentStart+90*time.Second))
	if firedAt.Before(simStart.Add(incidentStart)) {
		t.Errorf("fast tier fired at %s, before the incident began at %s", firedAt, simStart.Add(incidentStart))
	}
	t.Logf("fast tier firing %s after the incident began", firedAt.Sub(simStart.Add(incidentStart)).Round(time.Second))

	// 3. 100 s into the incident: the 5m burn rate and the budget, read
	// through Prometheus, against the simulator's closed form.
	time.Sleep(time.Until(simStart.Add(incidentStart + 100*time.Second)))
	now := time.Now()
	burn := queryOne(t, prom, fmt.Sprintf(`slo_burn_rate{slo=%q,model="resnet50",window="5m",instance=%q}`, sloName, instA), now)
	evalTS := queryOne(t, prom, fmt.Sprintf(`slo_last_evaluation_timestamp_seconds{slo=%q,instance=%q}`, sloName, instA), now)
	remaining := queryOne(t, prom, fmt.Sprintf(`slo_error_budget_remaining_ratio{slo=%q,model="resnet50",instance=%q}`, sloName, instA), now)
	te := time.UnixMilli(int64(evalTS * 1000))
	base := baseline(t, prom, simStart)
	good, valid := windowCounts(t, prom, expect, "resnet50", base, te.Add(-5*time.Minute), te)
	wantBurn := (1 - good/valid) / 0.001
	t.Logf("5m window at %s: %v good of %v valid -> burn %.2f (exporter %.2f)", te.Format(time.TimeOnly), good, valid, wantBurn, burn)
	// Tolerance: the simulator computes a scraped value a few ms after the
	// sample's timestamp, so each series may be one event ahead: 2 events
	// of ~7,500 in the window.
	if math.Abs(burn-wantBurn) > burnTolerance(good, valid) {
		t.Errorf("5m burn rate %v, want %v from the schedule", burn, wantBurn)
	}
	if wantBurn < 100 || wantBurn > 500 {
		t.Errorf("the incident should dominate the 5m window: burn %v", wantBurn)
	}
	pGood, pValid := windowCounts(t, prom, expect, "resnet50", base, base, te)
	wantRemaining := 1 - (pValid-pGood)/(0.001*pValid)
	t.Logf("budget since %s: %v good of %v -> remaining %.4f (exporter %.4f)", base.Format(time.TimeOnly), pGood, pValid, wantRemaining, remaining)
	if math.Abs(remaining-wantRemaining) > 4/(0.001*pValid) {
		t.Errorf("budget remaining %v, want %v from the schedule", remaining, wantRemaining)
	}

	// 4. The alert resolves after the incident.
	resolvedAt := waitAlert(t, prom.URL, resnet, "inactive", simStart.Add(incidentStart+incidentLen+90*time.Second))
	if resolvedAt.Before(simStart.Add(incidentStart + incidentLen)) {
		t.Errorf("alert resolved at %s, before the incident ended", resolvedAt)
	}
	t.Logf("fast tier resolved %s after the incident ended", resolvedAt.Sub(simStart.Add(incidentStart+incidentLen)).Round(time.Second))

	// 5. Prometheus goes away for several ticks: the exporters keep serving
	// their last values with slo_data_up 0, and nothing crashes.
	prom.Stop()
	time.Sleep(4 * interval)
	for _, u := range []string{urlA, urlB} {
		if v, ok := find(scrape(t, u, "slo_data_up"), map[string]string{"slo": sloName}); !ok || v != 0 {
			t.Errorf("%s during the outage: slo_data_up %v (present %v), want 0", u, v, ok)
		}
		if _, ok := find(scrape(t, u, "slo_error_budget_remaining_ratio"), resnet); !ok {
			t.Errorf("%s during the outage: the last budget is no longer served", u)
		}
	}
	if done, code := expA.exited(); done {
		t.Fatalf("exporter A exited during the outage (code %d)", code)
	}
	prom.Restart(t)
	waitFor(t, "data up after the outage", 60*time.Second, func() error {
		if v, _ := find(scrape(t, urlB, "slo_data_up"), map[string]string{"slo": sloName}); v != 1 {
			return fmt.Errorf("slo_data_up %v", v)
		}
		return nil
	})

	// 6. Restart A: after its backfill it must agree with B, which lived
	// through the outage, and both with the schedule.
	expA.stop()
	_, urlA = startExporter("exporter-a-restarted", portA)
	var a, b float64
	var atEval float64
	waitFor(t, "A and B at the same evaluation", 30*time.Second, func() error {
		ta, _ := find(scrape(t, urlA, "slo_last_evaluation_timestamp_seconds"), map[string]string{"slo": sloName})
		a, _ = find(scrape(t, urlA, "slo_error_budget_remaining_ratio"), resnet)
		tb, _ := find(scrape(t, urlB, "slo_last_evaluation_timestamp_seconds"), map[string]string{"slo": sloName})
		b, _ = find(scrape(t, urlB, "slo_error_budget_remaining_ratio"), resnet)
		if ta != tb || ta == 0 {
			return fmt.Errorf("evaluations at %v and %v", ta, tb)
		}
		atEval = ta
		return nil
	})
	te = time.UnixMilli(int64(atEval * 1000))
	pGood, pValid = windowCounts(t, prom, expect, "resnet50", base, base, te)
	wantRemaining = 1 - (pValid-pGood)/(0.001*pValid)
	t.Logf("after outage and restart: A %.5f, B %.5f, schedule %.5f", a, b, wantRemaining)
	if math.Abs(a-b) > 2/(0.001*pValid) {
		t.Errorf("restarted exporter remaining %v, uninterrupted %v", a, b)
	}
	if math.Abs(b-wantRemaining) > 4/(0.001*pValid) {
		t.Errorf("budget after the outage %v, want %v from the schedule (an outage must lose nothing)", b, wantRemaining)
	}
}

func burnTolerance(good, valid float64) float64 {
	// Two events either way on good and on valid.
	hi := (1 - (good-2)/(valid+2)) / 0.001
	lo := (1 - (good+2)/(valid-2)) / 0.001
	return math.Max(hi-(1-good/valid)/0.001, (1-good/valid)/0.001-lo)
}

func runOutput(bin string, args ...string) ([]byte, error) {
	cmd := execCommand(bin, args...)
	return cmd.Output()
}

func queryOne(t *testing.T, prom *promtest.Server, expr string, at time.Time) float64 {
	t.Helper()
	v, err := prom.Query(context.Background(), expr, at)
	if err != nil || len(v) != 1 {
		t.Fatalf("%s: %v %v", expr, v, err)
	}
	return float64(v[0].Value)
}

// windowCounts returns the simulator's good and valid requests of model m
// between the samples an exporter saw at from and at to: the last sample
// at or before each instant, whose timestamps Prometheus tells. A window
// reaching back before the exporter's baseline sample starts there.
func windowCounts(t *testing.T, prom *promtest.Server, sim *simulator.Sim, m string, base, from, to time.Time) (good, valid float64) {
	t.Helper()
	ts := func(at time.Time) time.Time {
		if !at.After(base) {
			return base
		}
		v := queryOne(t, prom, fmt.Sprintf(`timestamp(http_requests_total{job="model-api",model=%q,code="200"})`, m), at)
		return time.UnixMilli(int64(math.Round(v * 1000)))
	}
	sum := func(at time.Time) (g, v float64) {
		for k, x := range sim.CountersAt(at) {
			if !strings.HasPrefix(k, "http_requests_total{") || !strings.Contains(k, fmt.Sprintf("model=%q", m)) {
				continue
			}
			v += x
			if strings.Contains(k, `code="2`) {
				g += x
			}
		}
		return
	}
	g1, v1 := sum(ts(to))
	g0, v0 := sum(ts(from))
	return g1 - g0, v1 - v0
}

// baseline returns the timestamp of the sample the exporters count from:
// the series' first raw sample (a series that appears counts from its
// second sample, as PromQL does, and the backfill reads every raw sample).
func baseline(t *testing.T, prom *promtest.Server, simStart time.Time) time.Time {
	t.Helper()
	at := simStart.Add(2 * time.Minute)
	m, err := prom.QueryMatrix(context.Background(), `http_requests_total{job="model-api",model="resnet50",code="200"}[4m]`, at)
	if err != nil || len(m) != 1 || len(m[0].Values) == 0 {
		t.Fatalf("first sample: %v %v", m, err)
	}
	return m[0].Values[0].Timestamp.Time()
}

// waitAlert polls Prometheus' /api/v1/alerts until the fast-tier alert with
// these labels is in state (firing, or inactive meaning absent), by
// deadline, and returns when it was seen so.
func waitAlert(t *testing.T, promURL string, labels map[string]string, state string, deadline time.Time) time.Time {
	t.Helper()
	for time.Now().Before(deadline) {
		_, body, err := httpGet(promURL + "/api/v1/alerts")
		if err == nil {
			var resp struct {
				Data struct {
					Alerts []struct {
						Labels map[string]string `json:"labels"`
						State  string            `json:"state"`
					} `json:"alerts"`
				} `json:"data"`
			}
			if err := json.Unmarshal([]byte(body), &resp); err == nil {
				current := "inactive"
				for _, a := range resp.Data.Alerts {
					match := a.Labels["alertname"] == "SLOBurnRate" && a.Labels["alert_tier"] == "fast"
					for k, v := range labels {
						match = match && a.Labels[k] == v
					}
					if match && a.State == "firing" {
						current = "firing"
					}
				}
				if current == state {
					return time.Now()
				}
			}
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("the fast-tier alert for %v was not %s by %s", labels, state, deadline.Format(time.TimeOnly))
	return time.Time{}
}
