package report_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/policy"
	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/report"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
	"github.com/slo-exporter/slo-exporter/internal/synth"
)

// monthConfig has the same SLI twice: 99.9% over a rolling 30d, and 99.9%
// over the calendar month in Berlin. Scrapes and evaluation every 5m keep
// two months of history small enough for CI.
const monthConfig = `
global:
  evaluation_interval: 5m
slos:
  - name: rolling
    service: synth
    objective: 99.9%%
    period: 30d
    group_by: [model]
    sli:
      ratio:
        good: 'synth_requests_total{job="synth",code="200"}'
        valid: 'synth_requests_total{job="synth"}'
  - name: monthly
    service: synth
    objective: 99.9%%
    calendar: month
    time_zone: Europe/Berlin
    group_by: [model]
    sli:
      ratio:
        good: 'synth_requests_total{job="synth",code="200"}'
        valid: 'synth_requests_total{job="synth"}'
prometheus:
  url: %s
`

// cumulative is a series' reset-aware running count by sample, so that
// the events in (a, b] are one subtraction (synth.Increase, fast).
type cumulative struct {
	t   []int64
	sum []float64
}

func cumulate(s synth.Series) cumulative {
	c := cumulative{t: make([]int64, len(s.Samples)), sum: make([]float64, len(s.Samples))}
	for i, p := range s.Samples {
		c.t[i] = p.T
		if i > 0 {
			d := p.V - s.Samples[i-1].V
			if p.V < s.Samples[i-1].V {
				d = p.V
			}
			c.sum[i] = c.sum[i-1] + d
		}
	}
	return c
}

// at is the count up to t: the running sum of the last sample at or
// before t.
func (c cumulative) at(t int64) float64 {
	i := sort.Search(len(c.t), func(i int) bool { return c.t[i] > t }) - 1
	if i < 0 {
		return 0
	}
	return c.sum[i]
}

// TestMonthlyReportFromPrometheus is the monthly report of September 2026
// in Europe/Berlin (the default range of `report` run in early October)
// over two months of synthetic history in a real Prometheus: model a
// burns 2 hours at 10% errors on the 10th (green to yellow), model b has a 1-hour full outage
// on the 20th. For both SLOs the achieved SLI, budget spent and bad
// minutes equal brute-force sums over the raw samples (relative 1e-9;
// scrapes and evaluation are both 5m, so every pull sees every sample);
// time in zones is judged against the exact 30d (or month-to-date) budget
// at every step, within 15 minutes per zone change (the engine's period
// window is exact at its bucket resolution). The calendar SLO's budget at
// the end of the month is the month's: what the daemon exported at
// midnight.
func TestMonthlyReportFromPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus")
	}
	promtool := promtest.Binary(t, "promtool", "PROMTOOL")
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	from, to := report.LastMonth(time.Date(2026, 10, 5, 9, 0, 0, 0, berlin), berlin)
	if !from.Equal(time.Date(2026, 9, 1, 0, 0, 0, 0, berlin)) || !to.Equal(time.Date(2026, 10, 1, 0, 0, 0, 0, berlin)) {
		t.Fatalf("last month %s to %s", from, to)
	}
	step := 5 * time.Minute
	cfgSynth := synth.Config{
		Start: from.Add(-31 * 24 * time.Hour), End: to.Add(time.Hour), Step: step, Jitter: 7 * time.Second, Seed: 3,
		BaseRate: 5, ErrorRatio: 0.0001, ExtraLabels: map[string]string{"job": "synth"},
		Incidents: []synth.Incident{
			{Start: time.Date(2026, 9, 10, 14, 0, 0, 0, berlin), Duration: 2 * time.Hour, ErrorRatio: 0.1, Groups: []string{"a"}},
			{Start: time.Date(2026, 9, 20, 3, 0, 0, 0, berlin), Duration: time.Hour, ErrorRatio: 1, Groups: []string{"b"}},
		},
		Gaps: []synth.Gap{{Start: time.Date(2026, 9, 15, 12, 0, 0, 0, berlin), Duration: 20 * time.Minute}},
	}
	ms := func(x time.Time) int64 { return x.UnixMilli() }
	series := synth.Generate(cfgSynth)
	dir := t.TempDir()
	// promtool reads its whole input once per (1-day) block, so one run
	// over two months takes minutes, and one run per day pays its start-up
	// 62 times; runs of 5 days are the fastest here.
	const chunkDays = 5
	for c0 := cfgSynth.Start.Truncate(24 * time.Hour); c0.Before(cfgSynth.End.Add(time.Minute)); c0 = c0.Add(chunkDays * 24 * time.Hour) {
		c1 := c0.Add(chunkDays * 24 * time.Hour)
		var chunk []synth.Series
		for _, sr := range series {
			i := sort.Search(len(sr.Samples), func(i int) bool { return sr.Samples[i].T >= ms(c0) })
			j := sort.Search(len(sr.Samples), func(i int) bool { return sr.Samples[i].T >= ms(c1) })
			if j > i {
				chunk = append(chunk, synth.Series{Labels: sr.Labels, Samples: sr.Samples[i:j]})
			}
		}
		var om bytes.Buffer
		if err := synth.WriteOpenMetrics(&om, chunk); err != nil {
			t.Fatal(err)
		}
		promtest.CreateBlocks(t, promtool, om.Bytes(), dir)
	}
	srv := promtest.Start(t, promtest.Options{DataDir: dir})
	cfgFile := filepath.Join(t.TempDir(), "slo.yaml")
	if err := os.WriteFile(cfgFile, fmt.Appendf(nil, monthConfig, srv.URL), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{cfgFile}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := scrape.NewClient(scrape.ClientConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	rep, err := report.FromPrometheus(context.Background(), client, cfg, report.Options{From: from, To: to, Location: berlin})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("replayed two months at 5m steps (2 SLOs x 2 groups) in %s", time.Since(began).Round(time.Millisecond))

	pol := policy.Default()
	for _, s := range rep.SLOs {
		if len(s.Groups) != 2 {
			t.Fatalf("%s: %d groups", s.Name, len(s.Groups))
		}
		for _, g := range s.Groups {
			model := g.Labels["model"]
			var good, all []cumulative
			for _, sr := range series {
				if sr.Labels["model"] != model {
					continue
				}
				all = append(all, cumulate(sr))
				if sr.Labels["code"] == synth.CodeGood {
					good = append(good, cumulate(sr))
				}
			}
			count := func(cs []cumulative, a, b int64) float64 {
				var n float64
				for _, c := range cs {
					n += c.at(b) - c.at(a)
				}
				return n
			}
			wantGood, wantValid := count(good, ms(from), ms(to)), count(all, ms(from), ms(to))
			if !near(g.GoodEvents, wantGood, 1e-9) || !near(g.ValidEvents, wantValid, 1e-9) {
				t.Errorf("%s %s: good/valid %v/%v, raw samples give %v/%v", s.Name, model, g.GoodEvents, g.ValidEvents, wantGood, wantValid)
			}
			wantSpent := (wantValid - wantGood) / (0.001 * wantValid)
			if g.SLI == nil || !near(*g.SLI, wantGood/wantValid, 1e-9) || !near(g.Budget.SpentRatio, wantSpent, 1e-8) {
				t.Errorf("%s %s: SLI %v spent %v, raw samples give %v and %v", s.Name, model, g.SLI, g.Budget.SpentRatio, wantGood/wantValid, wantSpent)
			}
			wantStatus := "met"
			if wantGood/wantValid < 0.999 {
				wantStatus = "violated"
			}
			if g.Status != wantStatus {
				t.Errorf("%s %s: status %s, want %s", s.Name, model, g.Status, wantStatus)
			}
			var badMinutes float64
			zoneSteps := map[string]int{}
			changes, last := 0, ""
			var remainingAtEnd float64
			for ts := from.Add(step); !ts.After(to); ts = ts.Add(step) {
				gv, vv := count(good, ms(ts.Add(-step)), ms(ts)), count(all, ms(ts.Add(-step)), ms(ts))
				if vv > 0 {
					badMinutes += (1 - gv/vv) * step.Minutes()
				}
				periodStart := ts.Add(-30 * 24 * time.Hour)
				if s.Name == "monthly" {
					periodStart = from // the whole range is one calendar month
				}
				pg, pv := count(good, ms(periodStart), ms(ts)), count(all, ms(periodStart), ms(ts))
				z := report.NoZone
				if pv > 0 {
					remainingAtEnd = 1 - (pv-pg)/(0.001*pv)
					z = pol.ZoneFor(remainingAtEnd).Name
				}
				zoneSteps[z]++
				if z != last && last != "" {
					changes++
				}
				last = z
			}
			if math.Abs(g.Budget.SpentMinutes-badMinutes) > 1e-6 {
				t.Errorf("%s %s: bad minutes %v, raw samples give %v", s.Name, model, g.Budget.SpentMinutes, badMinutes)
			}
			if g.AtEnd == nil || !near(g.AtEnd.RemainingRatio, remainingAtEnd, 1e-8) {
				t.Errorf("%s %s: budget at the end %+v, raw samples give %v", s.Name, model, g.AtEnd, remainingAtEnd)
			}
			if s.Name == "monthly" && g.AtEnd != nil && !near(g.AtEnd.RemainingRatio, g.Budget.RemainingRatio, 1e-8) {
				t.Errorf("monthly %s: the month's budget at its end %v differs from the report's %v", model, g.AtEnd.RemainingRatio, g.Budget.RemainingRatio)
			}
			tol := float64(max(1, changes)) * 15 * 60
			for _, zt := range g.TimeInZones {
				want := float64(zoneSteps[zt.Zone]) * step.Seconds()
				if math.Abs(zt.Seconds-want) > tol {
					t.Errorf("%s %s: %s for %vs, raw samples give %vs (tolerance %vs)", s.Name, model, zt.Zone, zt.Seconds, want, tol)
				} else {
					t.Logf("%s %s: %s for %vs, raw samples give %vs", s.Name, model, zt.Zone, zt.Seconds, want)
				}
			}
			if model == "a" && (zoneSteps["green"] == 0 || zoneSteps["yellow"] == 0) {
				t.Errorf("%s a: zones %v, want green then yellow", s.Name, zoneSteps)
			}
			if model == "b" && g.Status != "violated" {
				t.Errorf("%s b: a 1h outage against a 43.2 min budget must violate the objective", s.Name)
			}
		}
	}
	var html bytes.Buffer
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(html.Bytes(), []byte(`<svg class="chart"`)); n != 4 {
		t.Errorf("%d charts, want 4", n)
	}
}
