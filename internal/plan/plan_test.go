package plan

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

func TestBuildExamples(t *testing.T) {
	files, _ := filepath.Glob("../../config/examples/*.yaml")
	if len(files) == 0 {
		t.Fatal("no example configurations")
	}
	for _, f := range files {
		cfg, err := config.Load([]string{f}, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		p, err := Build(cfg)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := evaluator.New(p.Interval, p.Specs); err != nil {
			t.Errorf("%s: evaluator rejects the plan: %v", f, err)
		}
		if len(p.Specs) != len(cfg.SLOs) || len(p.Targets) != len(cfg.SLOs) || len(p.Meta) != len(cfg.SLOs) {
			t.Errorf("%s: %d specs, %d targets, %d meta for %d SLOs", f, len(p.Specs), len(p.Targets), len(p.Meta), len(cfg.SLOs))
		}
	}
}

func TestLatencyTarget(t *testing.T) {
	cfg, err := config.Parse("lat.yaml", []byte(`
prometheus: {url: "http://localhost:9090"}
slos:
  - name: lat
    service: api
    objective: 0.95
    period: 7d
    group_by: [model]
    sli:
      latency:
        histogram: 'http_request_duration_seconds{job="model-api"}'
        threshold: 0.2
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tg := p.Targets[0]
	if tg.Good.Expr != `http_request_duration_seconds_bucket{job="model-api"}` || tg.Good.LE == nil || *tg.Good.LE != 0.2 {
		t.Errorf("good selector %v", tg.Good)
	}
	if tg.Valid.Expr != `http_request_duration_seconds_count{job="model-api"}` || tg.Valid.LE != nil {
		t.Errorf("valid selector %v", tg.Valid)
	}
	if len(tg.GroupBy) != 1 || tg.GroupBy[0] != "model" {
		t.Errorf("group by %v", tg.GroupBy)
	}
	s := p.Specs[0]
	if s.Objective != 0.95 || s.Period != 7*24*time.Hour || len(s.Tiers) == 0 {
		t.Errorf("spec %+v", s)
	}
	// A 7d period scales the fast tier to 0.02 x 168h / 1h = 3.36.
	if got := evaluator.FormatFloat(s.Tiers[0].Threshold(s.Period)); got != "3.36" {
		t.Errorf("fast threshold %s, want 3.36", got)
	}
	if p.LongestPeriod() != 7*24*time.Hour {
		t.Errorf("longest period %s", p.LongestPeriod())
	}
}

func TestRulesConversion(t *testing.T) {
	data, err := os.ReadFile("../../config/examples/ml-platform.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("ml-platform.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	rs := Rules(cfg)
	if len(rs) != len(cfg.SLOs) {
		t.Fatalf("%d rule SLOs for %d SLOs", len(rs), len(cfg.SLOs))
	}
	for i, r := range rs {
		s := cfg.SLOs[i]
		if r.Name != s.Name || r.Objective != s.Objective() || len(r.Tiers) != len(s.Alerting.Tiers) {
			t.Errorf("%s: converted %+v", s.Name, r)
		}
	}
}
