package gate

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/export"
	"github.com/slo-exporter/slo-exporter/internal/policy"
)

// exporter serves the real export handler over a snapshot with one SLO
// of two groups: model a in orange (10% left), model b green.
func exporter(t *testing.T, evaluated time.Time, dataUp bool) string {
	t.Helper()
	spec := &evaluator.Spec{Name: "api-availability", Service: "api", Objective: 0.999, Period: 30 * 24 * time.Hour, Zones: slo.DefaultZones()}
	group := func(model string, remaining float64, zone int) evaluator.GroupResult {
		return evaluator.GroupResult{Labels: []evaluator.Label{{Name: "model", Value: model}},
			Windows: []evaluator.WindowResult{{Good: 99, Valid: 100, HasSLI: true, SLI: 0.99, BurnRate: 10, Coverage: 1}},
			Budget:  evaluator.Budget{OK: true, Allowed: 100, Bad: 100 * (1 - remaining), RemainingEvents: 100 * remaining, RemainingRatio: remaining},
			Zone:    zone}
	}
	snap := &evaluator.Snapshot{Time: evaluated, SLOs: []evaluator.SLOResult{{Spec: spec, Windows: []time.Duration{time.Hour},
		DataUp: dataUp, Period: spec.Period, PeriodStart: evaluated.Add(-spec.Period),
		Groups: []evaluator.GroupResult{group("a", 0.1, 2), group("b", 0.9, 0)}}}}
	store := export.NewStore()
	store.SetSnapshot(snap, nil)
	srv, err := export.NewServer(store, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs.URL
}

func run(t *testing.T, opt Options) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), opt, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRunFromExporter(t *testing.T) {
	now := time.Now()
	url := exporter(t, now, true)
	req := func(change string) policy.Request {
		return policy.Request{Change: change, MaxAge: policy.DefaultMaxAge}
	}
	tests := []struct {
		name string
		opt  Options
		code int
		out  string
	}{
		{"feature in orange", Options{ExporterURL: url, Request: req("feature")}, 1, `api-availability{model="a"}  api      orange  10.0%        deny`},
		{"bugfix needs the manager", Options{ExporterURL: url + "/metrics", Request: req("bugfix")}, 2, "approval: engineering manager"},
		{"security always", Options{ExporterURL: url, Request: req("security")}, 0, "decision: ALLOW (exit 0)"},
		{"json", Options{ExporterURL: url, Request: req("feature"), Output: "json"}, 1, `"decision": "deny"`},
		// A local policy (--config.file) decides instead of the exporter's.
		{"configured policy", Options{ExporterURL: url, Request: req("feature"), Policy: &policy.Policy{Zones: []policy.Zone{
			{Name: "green", MinRemaining: 0.75, Allow: []string{"feature"}}, {Name: "orange", Allow: []string{"feature"}}}}}, 0, "decision: ALLOW"},
		{"unknown kind", Options{ExporterURL: url, Request: req("yolo")}, 3, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, tc.opt)
			if code != tc.code || !strings.Contains(out, tc.out) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s%s", code, tc.code, tc.out, out, errOut)
			}
		})
	}
}

func TestRunCannotDecide(t *testing.T) {
	down := exporter(t, time.Now(), false)
	stale := exporter(t, time.Now().Add(-time.Hour), true)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	t.Cleanup(broken.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	feature := policy.Request{Change: "feature", MaxAge: policy.DefaultMaxAge}
	for _, tc := range []struct {
		name, url, want string
	}{
		{"data down", down, "slo_data_up 0"},
		{"stale", stale, "stale data"},
		{"server error", broken.URL, "500 Internal Server Error: boom"},
		{"stopped", closedURL, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, Options{ExporterURL: tc.url, Request: feature})
			if code != 3 || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want 3 with %q:\n%s%s", code, tc.want, out, errOut)
			}
		})
	}
}

func TestRunBadOptions(t *testing.T) {
	for _, tc := range []struct {
		opt  Options
		want string
	}{
		{Options{Request: policy.Request{Change: "feature"}}, "give exactly one source"},
		{Options{ExporterURL: "http://x", Request: policy.Request{Change: "feature", SLO: "a", Service: "b"}}, "give --slo or --service, not both"},
		{Options{ExporterURL: "http://x", Request: policy.Request{Change: "feature"}, Output: "yaml"}, `--output "yaml"`},
	} {
		code, out, errOut := run(t, tc.opt)
		if code != 3 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%+v: exit %d, stdout %q, stderr %q, want exit 3 and %q", tc.opt, code, out, errOut, tc.want)
		}
	}
}
