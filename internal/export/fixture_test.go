package export

import (
	"fmt"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

var fixtureTime = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

// win builds a window result with good and valid events: the SLI and burn
// rate exist when valid > 0.
func win(good, valid, coverage, objective float64) evaluator.WindowResult {
	w := evaluator.WindowResult{Good: good, Valid: valid, Coverage: coverage}
	if valid > 0 {
		w.HasSLI = true
		w.SLI = good / valid
		w.BurnRate = (1 - w.SLI) / (1 - objective)
	}
	return w
}

// fixture is a hand-built snapshot of the reference scenario: a grouped
// SLO with one healthy and one burning model, an ungrouped SLO without
// any data yet, and a calendar SLO.
func fixture() (*evaluator.Snapshot, map[string]SLOInfo) {
	avail := &evaluator.Spec{Name: "model-api-availability", Service: "model-api", Objective: 0.999,
		Period: 30 * 24 * time.Hour, Tiers: slo.DefaultTiers()[:2], Zones: slo.DefaultZones()}
	fs := &evaluator.Spec{Name: "feature-store-availability", Service: "feature-store", Objective: 0.9999,
		Period: 30 * 24 * time.Hour, Tiers: slo.DefaultTiers()[:1]}
	batch := &evaluator.Spec{Name: "batch-success", Service: "batch-inference", Objective: 0.95,
		Calendar: "month", Period: 31 * 24 * time.Hour, Tiers: slo.DefaultTiers()[3:]}
	windows := []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 6 * time.Hour, 30 * 24 * time.Hour}
	snap := &evaluator.Snapshot{Time: fixtureTime, SLOs: []evaluator.SLOResult{
		{Spec: avail, Windows: windows, DataUp: true, Period: avail.Period, PeriodStart: fixtureTime.Add(-avail.Period),
			Tiers: []evaluator.TierResult{{Tier: avail.Tiers[0], Threshold: 14.4}, {Tier: avail.Tiers[1], Threshold: 6}},
			Groups: []evaluator.GroupResult{
				{ // bert: no requests in the last 5m, otherwise healthy.
					Labels: []evaluator.Label{{Name: "model", Value: "bert"}},
					Windows: []evaluator.WindowResult{win(0, 0, 1, 0.999), win(3000, 3000, 1, 0.999),
						win(6000, 6000, 1, 0.999), win(36000, 36000, 1, 0.999), win(4319900, 4320000, 0.5, 0.999)},
					Budget: evaluator.Budget{OK: true, Allowed: 4320, Bad: 100, RemainingEvents: 4220,
						RemainingRatio: 1 - 100.0/4320},
					Alerts: []bool{false, false}, Zone: 0,
				},
				{ // resnet50: a 5% error outage for the last hour; fast burn fires.
					Labels: []evaluator.Label{{Name: "model", Value: "resnet50"}},
					Windows: []evaluator.WindowResult{win(950, 1000, 1, 0.999), win(5700, 6000, 1, 0.999),
						win(11400, 12000, 1, 0.999), win(71400, 72000, 1, 0.999), win(8637000, 8640000, 1, 0.999)},
					Budget: evaluator.Budget{OK: true, Allowed: 8640, Bad: 3000, RemainingEvents: 5640,
						RemainingRatio: 1 - 3000.0/8640, HasExhaustion: true, ExhaustionSeconds: 54288},
					Alerts: []bool{true, false}, Zone: 1,
				},
			}},
		{Spec: fs, Windows: windows, DataUp: false, Period: fs.Period, PeriodStart: fixtureTime.Add(-fs.Period),
			Tiers: []evaluator.TierResult{{Tier: fs.Tiers[0], Threshold: 14.4}},
			Groups: []evaluator.GroupResult{{
				Windows: []evaluator.WindowResult{win(0, 0, 0, 0.9999), win(0, 0, 0, 0.9999), win(0, 0, 0, 0.9999),
					win(0, 0, 0, 0.9999), win(0, 0, 0, 0.9999)},
				Alerts: []bool{false}, Zone: -1,
			}}},
		{Spec: batch, Windows: []time.Duration{6 * time.Hour, 72 * time.Hour}, DataUp: true,
			Period: 31 * 24 * time.Hour, PeriodStart: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
			Tiers: []evaluator.TierResult{{Tier: batch.Tiers[0], Threshold: 0.1 * 31 / 3}},
			Groups: []evaluator.GroupResult{{
				Windows: []evaluator.WindowResult{win(10, 10, 1, 0.95), win(118, 120, 1, 0.95)},
				Period:  win(500, 520, 1, 0.95),
				Budget: evaluator.Budget{OK: true, Allowed: 26, Bad: 20, RemainingEvents: 6,
					RemainingRatio: 1 - 20.0/26, HasExhaustion: true, ExhaustionSeconds: 1e6},
				Alerts: []bool{false}, Zone: 2, // orange: 23% left
			}}},
	}}
	fillPeriods(snap)
	info := map[string]SLOInfo{
		"model-api-availability": {Kind: "ratio", Labels: map[string]string{"team": "inference", "owner": "ml-platform",
			"description": `HTTP 2xx / all "requests"`}},
		"batch-success": {Kind: "ratio", Labels: map[string]string{"team": "batch"}},
	}
	return snap, info
}

// fixtureSelf is a set of daemon statistics.
func fixtureSelf() *Self {
	return &Self{
		QueryDuration: Histogram{Bounds: []float64{0.01, 0.1, 1}, Counts: []uint64{5, 3, 1, 1}, Sum: 2.5, Count: 10},
		QueryErrors:   map[string]uint64{"timeout": 2, "unreachable": 0, "bad_data": 0},
		Queries:       10, Points: 1234, EvalDuration: 1500 * time.Microsecond, BackfillRatio: 1, TrackedSeries: 42,
		BackfillQueries: 4, BackfillSamples: 1000, BackfillBytes: 20480, BackfillSeconds: 1.25,
		ReloadOK: true, ReloadTime: fixtureTime.Add(-time.Hour),
		Clamped: 1, OutOfOrder: 2, Invalid: 3, GroupsRefused: 4, GroupsExpired: 5,
		CounterResets: 6, InvalidSamples: 7, RefusedPulls: 8,
		PullErrors: map[string]uint64{"le_boundary": 9, "native_boundary": 10, "missing_valid": 0}, SkippedSamples: 11,
		SeriesRefused: map[string]uint64{"max_groups": 12, "max_series": 0}, DuplicateSeries: 1, DuplicateSamples: 13, DuplicateEvents: 1.4e7,
	}
}

// bigSnapshot is the benchmark's snapshot: slos SLOs of groups groups each,
// with windows windows and tiers tiers, every value present.
func bigSnapshot(slos, groups, windows, tiers int) (*evaluator.Snapshot, map[string]SLOInfo) {
	all := []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour,
		24 * time.Hour, 72 * time.Hour, 30 * 24 * time.Hour}
	snap := &evaluator.Snapshot{Time: fixtureTime}
	info := map[string]SLOInfo{}
	for i := range slos {
		spec := &evaluator.Spec{Name: fmt.Sprintf("slo-%02d", i), Service: "model-api", Objective: 0.999,
			Period: 30 * 24 * time.Hour, Tiers: slo.DefaultTiers()[:tiers]}
		info[spec.Name] = SLOInfo{Kind: "ratio", Labels: map[string]string{"team": "inference", "owner": "ml"}}
		r := evaluator.SLOResult{Spec: spec, Windows: all[:windows], DataUp: true, Period: spec.Period,
			PeriodStart: fixtureTime.Add(-spec.Period)}
		for _, t := range spec.Tiers {
			r.Tiers = append(r.Tiers, evaluator.TierResult{Tier: t, Threshold: t.Threshold(spec.Period)})
		}
		for g := range groups {
			gr := evaluator.GroupResult{Labels: []evaluator.Label{{Name: "model", Value: fmt.Sprintf("model-%04d", g)}},
				Budget: evaluator.Budget{OK: true, Allowed: 4320, Bad: float64(g), RemainingEvents: 4320 - float64(g),
					RemainingRatio: 1 - float64(g)/4320, HasExhaustion: true, ExhaustionSeconds: 86400 + float64(g)},
				Alerts: make([]bool, tiers), Zone: g % 4}
			for w := range windows {
				valid := float64(1000 * (w + 1))
				gr.Windows = append(gr.Windows, win(valid-float64(g%7), valid, 1, 0.999))
			}
			r.Groups = append(r.Groups, gr)
		}
		snap.SLOs = append(snap.SLOs, r)
	}
	fillPeriods(snap)
	return snap, info
}

// fillPeriods sets each rolling SLO's GroupResult.Period to its period's
// window, as the engine does.
func fillPeriods(snap *evaluator.Snapshot) {
	for i := range snap.SLOs {
		r := &snap.SLOs[i]
		if r.Spec.Calendar != "" {
			continue
		}
		k := r.Window(r.Spec.Period)
		for j := range r.Groups {
			r.Groups[j].Period = r.Groups[j].Windows[k]
		}
	}
}
