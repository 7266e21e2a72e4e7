package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/daemon"
	"github.com/slo-exporter/slo-exporter/internal/export"
	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/simulator"
)

// referenceIncidents make every reference SLO burn above all its tiers'
// thresholds from the simulation's start, so that every panel, including
// the firing annotations and the exhaustion forecast, has data.
var referenceIncidents = []string{
	"service=model-api,kind=errors,start=0s,duration=2h,error_ratio=0.05",
	"service=model-api,kind=latency,start=0s,duration=2h,slow_ratio=0.6",
	"service=model-api,kind=quality,start=0s,duration=2h,accuracy=0.4",
	"service=batch-inference,kind=errors,start=0s,duration=2h,error_ratio=0.9",
	"service=batch-inference,kind=latency,start=0s,duration=2h,slow_ratio=0.9",
	"service=feature-store,kind=errors,start=0s,duration=2h,error_ratio=0.01",
	"service=feature-store,kind=latency,start=0s,duration=2h,slow_ratio=0.5",
	"service=inference-journey,kind=errors,start=0s,duration=2h,error_ratio=0.05",
}

// serveHTTP serves h on a free 127.0.0.1 port until the test ends.
func serveHTTP(t *testing.T, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// referenceStack runs the reference platform: the simulator with
// referenceIncidents, a real Prometheus scraping it and the exporter, and
// the exporter (in-process: the daemon and export server serve does)
// pulling from that Prometheus with the reference configuration. It returns
// the Prometheus and the configuration's SLOs once Prometheus holds, for
// every SLO, an SLI and a firing tier scraped from the exporter.
func referenceStack(t *testing.T) (*promtest.Server, []SLO) {
	t.Helper()
	var incs []simulator.Incident
	for _, spec := range referenceIncidents {
		in, err := simulator.ParseSpec(spec)
		if err != nil {
			t.Fatal(err)
		}
		incs = append(incs, in)
	}
	sim, err := simulator.New(simulator.Config{Incidents: incs})
	if err != nil {
		t.Fatal(err)
	}
	simAddr := serveHTTP(t, sim.Handler())

	// The full profile, so that the collapsed row of full-profile panels
	// is proven too; TestDashboardsReadDefaultProfile checks the others.
	store := export.NewStoreProfile(export.ProfileFull)
	srv, err := export.NewServer(store, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	exporterAddr := serveHTTP(t, srv.Handler())

	var cfg strings.Builder
	cfg.WriteString("global:\n  scrape_interval: 1s\n  evaluation_interval: 15s\nscrape_configs:\n")
	for _, svc := range simulator.Services() {
		fmt.Fprintf(&cfg, "  - job_name: %s\n    metrics_path: /metrics/%s\n    static_configs: [{targets: [%q]}]\n", svc, svc, simAddr)
	}
	fmt.Fprintf(&cfg, "  - job_name: slo-exporter\n    scrape_interval: 2s\n    static_configs: [{targets: [%q]}]\n", exporterAddr)
	prom := promtest.Start(t, promtest.Options{ConfigYAML: cfg.String()})

	overrides := map[string]any{"prometheus.url": prom.URL, "global.evaluation_interval": "2s", "global.query_offset": "0s"}
	load := func() (*config.Config, error) { return config.Load([]string{referenceConfig}, nil, overrides) }
	c, err := load()
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.New(daemon.Options{Load: load, Sink: daemon.ExportSink(store, srv), Registerer: srv.Registerer()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("daemon: %v", err)
		}
	})

	slos := FromConfig(c)
	deadline := time.Now().Add(4 * time.Minute)
	var missing []string
	for time.Now().Before(deadline) {
		missing = missing[:0]
		for _, what := range []string{"slo_sli_ratio", "slo_burn_alert == 1", "slo_error_budget_exhaustion_seconds"} {
			v, err := prom.Query(context.Background(), "count by (slo) ("+what+")", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, s := range v {
				have[string(s.Metric["slo"])] = true
			}
			for _, s := range slos {
				if !have[s.Name] {
					missing = append(missing, s.Name+": "+what)
				}
			}
		}
		if len(missing) == 0 {
			// A few more exporter scrapes, so range queries see more than
			// one point.
			time.Sleep(6 * time.Second)
			return prom, slos
		}
		time.Sleep(2 * time.Second)
	}
	t.Fatalf("after 4m Prometheus still lacks series scraped from the exporter: %v", missing)
	return nil, nil
}

// labelValues asks Prometheus for label's values on the series matching
// selector, as Grafana resolves label_values(selector, label).
func labelValues(t *testing.T, prom *promtest.Server, selector, label string, from, to time.Time) []string {
	t.Helper()
	q := url.Values{"match[]": {selector}, "start": {strconv.FormatInt(from.Unix(), 10)}, "end": {strconv.FormatInt(to.Unix(), 10)}}
	resp, err := http.Get(prom.URL + "/api/v1/label/" + label + "/values?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string   `json:"status"`
		Data   []string `json:"data"`
		Error  string   `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "success" {
		t.Fatalf("label_values(%s, %s): %s", selector, label, body.Error)
	}
	return body.Data
}

// TestDashboardQueriesOnPrometheus is the dashboards' proof: every PromQL
// expression of every generated dashboard (targets and annotations) runs
// against a real Prometheus that scrapes a real exporter evaluating the
// reference configuration over the simulator's traffic, with no error and
// with data. Variables resolve to non-empty lists the way Grafana resolves
// them (the label values API), and the queries are run with the "All"
// value and with a resolved value of every variable; the detail dashboard
// runs once for every reference SLO.
func TestDashboardQueriesOnPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus and the exporter")
	}
	prom, slos := referenceStack(t)
	checkSLIFromBurn(t, prom)
	bySLO := map[string]SLO{}
	for _, s := range slos {
		bySLO[s.Name] = s
	}
	files, err := Generate(slos)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	from := now.Add(-2 * time.Minute)
	builtins := map[string]string{
		"$__rate_interval":       "30s",
		"$__interval":            "5s",
		"$__range":               "2m",
		"${__from:date:seconds}": strconv.FormatInt(from.Unix(), 10),
	}
	ctx := context.Background()
	queries := 0

	// run checks one dashboard with one assignment of its variables.
	run := func(name string, p parsed, vals map[string]string, mayBeEmpty func(q panelQuery) bool) {
		for _, q := range p.Queries {
			expr := substitute(q.Expr, vals, builtins)
			queries++
			var n int
			if q.Instant {
				v, err := prom.Query(ctx, expr, now)
				if err != nil {
					t.Errorf("%s %s with %v: %v\n%s", name, q.Where, vals, err, expr)
					continue
				}
				n = len(v)
			} else {
				m, err := prom.QueryRange(ctx, expr, from, now, 5*time.Second)
				if err != nil {
					t.Errorf("%s %s with %v: %v\n%s", name, q.Where, vals, err, expr)
					continue
				}
				n = len(m)
			}
			if n == 0 && !mayBeEmpty(q) {
				t.Errorf("%s %s with %v: no data\n%s", name, q.Where, vals, expr)
			}
		}
	}
	// resolve resolves p's variables in order, as Grafana chains them: each
	// query sees the values chosen for the earlier ones. A variable not set
	// in vals takes pick's choice among its values, or All (".*") when pick
	// is nil. A variable may resolve to nothing only when allowEmpty says so.
	resolve := func(name string, p parsed, vals map[string]string, allowEmpty func(v variable) bool, pick func(v variable, values []string) string) {
		for _, v := range p.Variables {
			got := labelValues(t, prom, substitute(v.Selector, vals, builtins), v.Label, from, now)
			if len(got) == 0 && !allowEmpty(v) {
				t.Errorf("%s: variable %s (label_values(%s, %s)) with %v resolves to nothing", name, v.Name, v.Selector, v.Label, vals)
			}
			if _, set := vals[v.Name]; set {
				continue
			}
			switch {
			case pick != nil && len(got) > 0:
				vals[v.Name] = pick(v, got)
			case v.Multi:
				vals[v.Name] = ".*"
			}
		}
	}
	// prefer picks the grouped reference SLO where it is a choice, else the
	// first value.
	prefer := func(v variable, values []string) string {
		for _, want := range []string{"model-api", "model-api-availability"} {
			for _, x := range values {
				if x == want {
					return x
				}
			}
		}
		return values[0]
	}
	never := func(panelQuery) bool { return false }

	for _, f := range files {
		p := parseDashboard(t, f.Name, f.JSON)
		switch p.UID {
		case OverviewUID, HealthUID:
			all := map[string]string{}
			resolve(f.Name, p, all, func(variable) bool { return false }, nil)
			run(f.Name, p, all, never)
			// Again with one value of every variable.
			one := map[string]string{}
			resolve(f.Name, p, one, func(variable) bool { return false }, prefer)
			run(f.Name, p, one, never)
		case DetailUID:
			for _, s := range slos {
				vals := map[string]string{"slo": s.Name}
				resolve(f.Name, p, vals, func(v variable) bool {
					for _, g := range s.GroupBy {
						if g == v.Label {
							return false
						}
					}
					return true // a label the SLO is not grouped by
				}, nil)
				run(f.Name, p, vals, func(q panelQuery) bool {
					// A composite SLO exports no events of its own.
					return !bySLO[s.Name].Events && strings.Contains(q.Expr, "_events")
				})
			}
		default:
			t.Errorf("unexpected dashboard %s", p.UID)
		}
	}
	t.Logf("%d queries over %d dashboards ran with data", queries, len(files))

	// The overview's joins give the right values: one objective row per SLO
	// group carrying the group's labels and its SLO's configured objective,
	// and the SLI over the period from each SLO's own period window,
	// compared with the exporter's series selected one SLO at a time.
	cfg, err := config.Load([]string{referenceConfig}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	objective := map[string]float64{}
	for i := range cfg.SLOs {
		objective[cfg.SLOs[i].Name] = cfg.SLOs[i].Objective()
	}
	all := map[string]string{"service": ".*", "slo": ".*", "model": ".*"}
	var overview parsed
	for _, f := range files {
		if p := parseDashboard(t, f.Name, f.JSON); p.UID == OverviewUID {
			overview = p
		}
	}
	byRef := map[string]string{}
	for _, q := range overview.Queries {
		if i := strings.LastIndex(q.Where, "("); i > 0 && strings.HasPrefix(q.Where, `panel "SLOs"`) {
			byRef[strings.TrimSuffix(q.Where[i+1:], ")")] = substitute(q.Expr, all, builtins)
		}
	}
	groups, err := prom.Query(ctx, "slo_burn_alert", now)
	if err != nil {
		t.Fatal(err)
	}
	wantRows := map[string]bool{}
	for _, s := range groups {
		wantRows[string(s.Metric["slo"])+"/"+string(s.Metric["model"])] = true
	}
	obj, err := prom.Query(ctx, byRef["objective"], now)
	if err != nil {
		t.Fatal(err)
	}
	if len(obj) != len(wantRows) {
		t.Errorf("objective column: %d rows, want one per SLO group (%d)", len(obj), len(wantRows))
	}
	for _, s := range obj {
		name := string(s.Metric["slo"])
		if !wantRows[name+"/"+string(s.Metric["model"])] || float64(s.Value) != objective[name] {
			t.Errorf("objective row %v = %v, want %v", s.Metric, s.Value, objective[name])
		}
	}
	sli, err := prom.Query(ctx, byRef["sli"], now)
	if err != nil {
		t.Fatal(err)
	}
	if len(sli) != len(wantRows) {
		t.Errorf("SLI column: %d rows, want one per SLO group (%d)", len(sli), len(wantRows))
	}
	for _, s := range sli {
		name := string(s.Metric["slo"])
		period := bySLO[name].Period
		sel := fmt.Sprintf(`slo_sli_ratio{slo=%q,window=%q,model=%q}`, name, period, string(s.Metric["model"]))
		v, err := prom.Query(ctx, sel, now)
		if err != nil || len(v) != 1 || v[0].Value != s.Value || string(s.Metric["window"]) != period {
			t.Errorf("SLI row %v = %v; %s gives %v (%v)", s.Metric, s.Value, sel, v, err)
		}
	}
}

// checkSLIFromBurn: the SLI per window that the detail dashboard derives
// from the burn rate (sliFromBurn) equals the exporter's slo_sli_ratio
// (exported for every window by the full profile the stack runs), series
// for series, within 1e-9, on the data Prometheus scraped.
func checkSLIFromBurn(t *testing.T, prom *promtest.Server) {
	t.Helper()
	ctx := context.Background()
	at := time.Now()
	derived := sliFromBurn(`slo=~".+"`, `slo=~".+"`)
	both, err := prom.Query(ctx, "count(("+derived+") and slo_sli_ratio)", at)
	if err != nil {
		t.Fatal(err)
	}
	all, err := prom.Query(ctx, "count(slo_sli_ratio)", at)
	if err != nil {
		t.Fatal(err)
	}
	if len(both) != 1 || len(all) != 1 || both[0].Value != all[0].Value || all[0].Value == 0 {
		t.Fatalf("derived SLI series %v, slo_sli_ratio series %v: want the same non-zero count", both, all)
	}
	diff, err := prom.Query(ctx, "max(abs(("+derived+") - slo_sli_ratio))", at)
	if err != nil {
		t.Fatal(err)
	}
	if len(diff) != 1 || float64(diff[0].Value) > 1e-9 {
		t.Errorf("max |derived SLI - slo_sli_ratio| = %v over %v series, want <= 1e-9", diff, all[0].Value)
	}
	t.Logf("SLI derived from the burn rate matches slo_sli_ratio on %v series (max difference %v)", all[0].Value, diff)
}
