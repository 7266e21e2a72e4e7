package gate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/daemon"
	"github.com/slo-exporter/slo-exporter/internal/export"
	"github.com/slo-exporter/slo-exporter/internal/gate"
	"github.com/slo-exporter/slo-exporter/internal/plan"
	"github.com/slo-exporter/slo-exporter/internal/policy"
	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
	"github.com/slo-exporter/slo-exporter/internal/synth"
)

// orangeConfig is a 99%/1d SLO on the synthetic counter. One day at
// 10 events/s is 864,000 events and an allowed 8,640 bad ones; the 0.1%
// baseline spends 864 (10%) and the 11-minute full outage 6,600 (76%), so
// the budget left is about 14%: zone orange (0 to 25%).
const orangeConfig = `
global:
  evaluation_interval: 10s
slos:
  - name: synth-availability
    service: synth
    objective: 99%%
    period: 1d
    alerting:
      tiers: [{name: fast, budget_fraction: 0.05}, {name: medium, budget_fraction: 0.25}, {name: long, enabled: false}, {name: slow, enabled: false}]
    sli:
      ratio:
        good: 'synth_requests_total{job="synth",code="200"}'
        valid: 'synth_requests_total{job="synth"}'
prometheus:
  url: %s
`

// TestGateEndToEnd drives an SLO into orange with an injected outage in a
// real Prometheus, runs a real exporter (the daemon in process, serving
// its HTTP API on a port that the same Prometheus scrapes), and asks the
// gate, both through gate.Run and through the built slo-exporter binary:
// feature exits 1, security 0, bugfix 2, from the exporter's URL and from
// Prometheus alike. The exporter is then stopped: its URL gives exit 3,
// and once Prometheus marks its series stale, so does Prometheus.
func TestGateEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus and an exporter")
	}
	promtool := promtest.Binary(t, "promtool", "PROMTOOL")
	bin := buildBinary(t)

	now := time.Now().UTC().Truncate(10 * time.Second)
	start := now.Add(-26 * time.Hour)
	series := synth.Generate(synth.Config{
		Start: start, End: now, Seed: 7, BaseRate: 10, ErrorRatio: 0.001, Groups: []synth.Group{{Name: "a"}},
		ExtraLabels: map[string]string{"job": "synth"},
		Incidents:   []synth.Incident{{Start: now.Add(-3 * time.Hour), Duration: 11 * time.Minute, ErrorRatio: 1}},
	})
	dir := t.TempDir()
	for _, day := range synth.Days(series) {
		var om bytes.Buffer
		if err := synth.WriteOpenMetrics(&om, day); err != nil {
			t.Fatal(err)
		}
		promtest.CreateBlocks(t, promtool, om.Bytes(), dir)
	}

	// The exporter's listener exists before Prometheus starts, so that
	// Prometheus can be configured to scrape it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	exporterURL := "http://" + l.Addr().String()
	srv := promtest.Start(t, promtest.Options{DataDir: dir, ConfigYAML: fmt.Sprintf(`
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: slo-exporter
    static_configs:
      - targets: [%q]
`, l.Addr().String())})

	cfgFile := filepath.Join(t.TempDir(), "slo.yaml")
	if err := os.WriteFile(cfgFile, fmt.Appendf(nil, orangeConfig, srv.URL), 0o644); err != nil {
		t.Fatal(err)
	}
	stopExporter := startExporter(t, cfgFile, l)

	// Wait until the exporter is ready with live data (it publishes
	// data_up 0 while it backfills, which the gate rightly cannot decide
	// on) and Prometheus has scraped that.
	ctx := context.Background()
	waitFor(t, "the exporter's live zone in Prometheus", 90*time.Second, func() error {
		v, err := srv.Query(ctx, `slo_budget_zone == 1 and on (slo) slo_data_up == 1`, time.Now())
		if err != nil {
			return err
		}
		if len(v) != 1 {
			return fmt.Errorf("%d zone series with data up", len(v))
		}
		var slos struct{ Data []export.SLO }
		getJSON(t, exporterURL+"/api/v1/slos", &slos)
		if len(slos.Data) != 1 || !slos.Data[0].DataUp {
			return fmt.Errorf("exporter: %+v", slos.Data)
		}
		return nil
	})
	prom, err := scrape.NewClient(scrape.ClientConfig{URL: srv.URL, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}

	sources := map[string]gate.Options{
		"exporter":   {ExporterURL: exporterURL},
		"prometheus": {Prometheus: prom},
	}
	for name, src := range sources {
		for _, tc := range []struct {
			change string
			exit   int
		}{{policy.Feature, 1}, {policy.Security, 0}, {policy.BugFix, 2}, {policy.Refactor, 1}} {
			opt := src
			opt.Request = policy.Request{Change: tc.change, Service: "synth", MaxAge: policy.DefaultMaxAge}
			opt.Output = "json"
			var out, errOut bytes.Buffer
			code := gate.Run(ctx, opt, &out, &errOut)
			var res policy.Result
			if err := json.Unmarshal(out.Bytes(), &res); err != nil {
				t.Fatalf("%s %s: %v: %s %s", name, tc.change, err, out.String(), errOut.String())
			}
			if code != tc.exit || res.Zone != "orange" || len(res.SLOs) != 1 {
				t.Errorf("%s %s: exit %d zone %q, want exit %d in orange: %s", name, tc.change, code, res.Zone, tc.exit, out.String())
			}
			r := res.SLOs[0].Remaining
			if r == nil || *r < 0.05 || *r > 0.25 {
				t.Errorf("%s: remaining %v, want about 0.14", name, r)
			}
		}
	}

	// The built command line, as a CI job runs it.
	cli := func(args ...string) (int, string) {
		cmd := exec.Command(bin, append([]string{"policy", "check"}, args...)...)
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	for _, tc := range []struct {
		args []string
		exit int
	}{
		{[]string{"--change", "feature", "--url", exporterURL}, 1},
		{[]string{"--change", "security", "--url", exporterURL + "/metrics"}, 0},
		{[]string{"--change", "feature", "--prometheus.url", srv.URL, "--service", "synth"}, 1},
		{[]string{"--change", "security", "--prometheus.url", srv.URL, "--slo", "synth-availability"}, 0},
		{[]string{"--change", "bugfix", "--prometheus.url", srv.URL, "--config.file", cfgFile}, 2},
		{[]string{"--change", "feature", "--url", exporterURL, "--slo", "no-such-slo"}, 3},
	} {
		code, out := cli(tc.args...)
		if code != tc.exit {
			t.Errorf("policy check %s: exit %d, want %d:\n%s", strings.Join(tc.args, " "), code, tc.exit, out)
		}
	}
	// The daemon's own answer and metric agree.
	var api struct{ Data policy.Result }
	getJSON(t, exporterURL+"/api/v1/policy?change=feature&service=synth", &api)
	if api.Data.Decision != policy.Deny || api.Data.Zone != "orange" {
		t.Errorf("/api/v1/policy: %+v", api.Data)
	}
	v, err := srv.Query(ctx, `slo_policy_allowed{service="synth",change="security"} == 1 and on() slo_policy_allowed{service="synth",change="feature"} == 0 and on() slo_policy_decision{service="synth",change="bugfix",decision="approval"} == 1`, time.Now())
	if err != nil || len(v) != 1 {
		t.Errorf("slo_policy_* in Prometheus: %v %v", v, err)
	}

	// A stopped exporter: cannot decide, never allow.
	stopExporter()
	if code, out := cli("--change", "security", "--url", exporterURL); code != 3 {
		t.Errorf("stopped exporter, security: exit %d, want 3:\n%s", code, out)
	}
	if code, out := cli("--change", "feature", "--url", exporterURL); code != 3 {
		t.Errorf("stopped exporter, feature: exit %d, want 3:\n%s", code, out)
	}
	// Prometheus marks the series of a target that fails its scrape stale,
	// so they vanish and the gate cannot decide from Prometheus either.
	waitFor(t, "Prometheus to give up on the stopped exporter", 30*time.Second, func() error {
		if code, out := cli("--change", "feature", "--prometheus.url", srv.URL); code != 3 {
			return fmt.Errorf("exit %d: %s", code, out)
		}
		return nil
	})
}

// startExporter runs the daemon and its HTTP server on l, as serve does,
// and returns a function that stops both and waits for them.
func startExporter(t *testing.T, cfgFile string, l net.Listener) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store := export.NewStore()
	srv, err := export.NewServer(store, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	load := func() (*config.Config, error) {
		cfg, err := config.Load([]string{cfgFile}, nil, nil)
		if err == nil {
			store.SetPolicy(plan.Policy(cfg))
		}
		return cfg, err
	}
	d, err := daemon.New(daemon.Options{Load: load, Sink: daemon.ExportSink(store, srv), Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))})
	if err != nil {
		t.Fatal(err)
	}
	served, ran := make(chan error, 1), make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l, "") }()
	go func() { ran <- d.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("serve: %v", err)
		}
		if err := <-ran; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("daemon: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// buildBinary builds slo-exporter from this tree.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "slo-exporter")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/slo-exporter").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("waiting %s for %s: %v", timeout, what, err)
}
