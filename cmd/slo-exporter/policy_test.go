package main

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/export"
	"github.com/slo-exporter/slo-exporter/internal/slo"
)

// TestPolicyCheckGolden runs policy check against a real export server
// holding one SLO of two groups (model a in the orange zone with 10% of
// its budget left, model b green, evaluated at a fixed time; --max-age 0
// keeps it fresh) and against a closed port: each decision's exit status
// (0 allow, 1 deny, 2 needs approval, 3 cannot decide) and output match
// testdata/policy-*.golden.
func TestPolicyCheckGolden(t *testing.T) {
	evaluated := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	spec := &evaluator.Spec{Name: "api-availability", Service: "api", Objective: 0.999, Period: 30 * 24 * time.Hour, Zones: slo.DefaultZones()}
	group := func(model string, remaining float64, zone int) evaluator.GroupResult {
		return evaluator.GroupResult{Labels: []evaluator.Label{{Name: "model", Value: model}},
			Windows: []evaluator.WindowResult{{Good: 99, Valid: 100, HasSLI: true, SLI: 0.99, BurnRate: 10, Coverage: 1}},
			Budget:  evaluator.Budget{OK: true, Allowed: 100, Bad: 100 * (1 - remaining), RemainingEvents: 100 * remaining, RemainingRatio: remaining},
			Zone:    zone}
	}
	store := export.NewStore()
	store.SetSnapshot(&evaluator.Snapshot{Time: evaluated, SLOs: []evaluator.SLOResult{{Spec: spec, Windows: []time.Duration{time.Hour},
		DataUp: true, Period: spec.Period, PeriodStart: evaluated.Add(-spec.Period),
		Groups: []evaluator.GroupResult{group("a", 0.1, 2), group("b", 0.9, 0)}}}}, nil)
	srv, err := export.NewServer(store, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	closed := httptest.NewServer(nil)
	closed.Close()

	for _, tc := range []struct {
		name   string
		args   []string
		status int
	}{
		{"policy-security-allowed", []string{"policy", "check", "--change", "security", "--url", "{{url}}", "--max-age", "0"}, 0},
		{"policy-bugfix-approval", []string{"policy", "check", "--change", "bugfix", "--url", "{{url}}", "--max-age", "0"}, 2},
		{"policy-feature-denied", []string{"policy", "check", "--change", "feature", "--url", "{{url}}", "--max-age", "0"}, 1},
		{"policy-feature-json", []string{"policy", "check", "--change", "feature", "--url", "{{url}}", "--max-age", "0", "-o", "json"}, 1},
		{"policy-unreachable", []string{"policy", "check", "--change", "feature", "--url", "{{closed}}"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := strings.NewReplacer("{{url}}", hs.URL, "{{closed}}", closed.URL)
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = r.Replace(a)
			}
			stdout, stderr, status := runCommand(t, args...)
			if status != tc.status {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", status, tc.status, stdout, stderr)
			}
			got := strings.NewReplacer(hs.URL, "{{url}}", closed.URL, "{{closed}}",
				strings.TrimPrefix(closed.URL, "http://"), "{{closed-address}}").Replace(transcript(tc.args, status, stdout, stderr))
			compareGolden(t, filepath.Join("testdata", tc.name+".golden"), got)
		})
	}
}
