package backtest_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/slo-exporter/slo-exporter/internal/backtest"
	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
	"github.com/slo-exporter/slo-exporter/internal/synth"
)

// TestBacktestFromPrometheus replays four days of synthetic history from a
// real Prometheus through FromPrometheus (the puller, with the recorder
// evaluating after every step), as `slo-exporter backtest` does: three
// days of lead-in, the fourth judged. Group "a" has a
// 30-minute full outage on day 4; group "b" stays at its 0.1% baseline.
// At 99%/30d the fast tier needs 2% x 30d x 1% / 100% = 518.4 s of the
// outage: it must fire at the 540 s step and reset within one 5m short
// window after the end; "b" must raise nothing.
func TestBacktestFromPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus")
	}
	promtool := promtest.Binary(t, "promtool", "PROMTOOL")
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	outage := start.Add(3*24*time.Hour + 12*time.Hour)
	series := synth.Generate(synth.Config{
		Start: start, End: start.Add(4 * 24 * time.Hour), Seed: 42, BaseRate: 10, ErrorRatio: 0.001,
		ExtraLabels: map[string]string{"job": "synth"},
		Incidents:   []synth.Incident{{Start: outage, Duration: 30 * time.Minute, ErrorRatio: 1, Groups: []string{"a"}}},
	})
	dir := t.TempDir()
	for _, day := range synth.Days(series) {
		var om bytes.Buffer
		if err := synth.WriteOpenMetrics(&om, day); err != nil {
			t.Fatal(err)
		}
		promtest.CreateBlocks(t, promtool, om.Bytes(), dir)
	}
	srv := promtest.Start(t, promtest.Options{DataDir: dir})

	step := 30 * time.Second
	client, err := scrape.NewClient(scrape.ClientConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	judgeFrom := start.Add(3 * 24 * time.Hour)
	rep, err := backtest.FromPrometheus(context.Background(), client, backtest.Job{
		Interval: step,
		Specs: []evaluator.Spec{{Name: "synth", Service: "synth", Objective: 0.99,
			Period: 30 * 24 * time.Hour, Tiers: slo.DefaultTiers()}},
		Targets: []scrape.Target{{SLO: 0, GroupBy: []string{"model"},
			Good:  scrape.Selector{Expr: `synth_requests_total{job="synth",code="200"}`},
			Valid: scrape.Selector{Expr: `synth_requests_total{job="synth"}`}}},
		From: judgeFrom, To: start.Add(4 * 24 * time.Hour), LeadIn: judgeFrom.Sub(start),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.From.Equal(judgeFrom) || !rep.To.Equal(start.Add(4*24*time.Hour)) {
		t.Errorf("judged (%s, %s], want (%s, %s]", rep.From, rep.To, judgeFrom, start.Add(4*24*time.Hour))
	}
	if len(rep.Groups) != 2 {
		t.Fatalf("groups: %+v", rep.Groups)
	}
	for _, g := range rep.Groups {
		fast := g.Tiers[0]
		switch g.Labels["model"] {
		case "a":
			var sig []backtest.Event
			for _, ev := range g.Events {
				if ev.Significant {
					sig = append(sig, ev)
				}
			}
			if len(sig) != 1 || !sig[0].Start.Equal(outage.Add(-step)) || sig[0].End.Sub(sig[0].Start) != 30*time.Minute {
				t.Errorf("group a: significant events %+v, want one 30m outage from %s", sig, outage.Add(-step))
			}
			if len(fast.DetectionSeconds) != 1 || fast.DetectionSeconds[0] != 540 {
				t.Errorf("group a: fast detection %v, want [540]", fast.DetectionSeconds)
			}
			if len(fast.ResetSeconds) != 1 || fast.ResetSeconds[0] <= 0 || fast.ResetSeconds[0] > 300 {
				t.Errorf("group a: fast reset %v, want within (0, 300] s", fast.ResetSeconds)
			}
			if fast.Precision == nil || *fast.Precision != 1 || fast.Recall == nil || *fast.Recall != 1 {
				t.Errorf("group a: fast precision %v recall %v, want 1 and 1", fast.Precision, fast.Recall)
			}
		case "b":
			for _, tr := range g.Tiers {
				if len(tr.Alerts) != 0 {
					t.Errorf("group b: tier %s raised %d alerts on a clean baseline", tr.Tier, len(tr.Alerts))
				}
			}
		}
	}
	var table bytes.Buffer
	_ = rep.WriteTable(&table)
	t.Logf("\n%s", table.String())
}
