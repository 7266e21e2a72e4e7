package report

import (
	"context"
	"time"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/backtest"
	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/plan"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
)

// Options are the settings of FromPrometheus.
type Options struct {
	// From and To bound the range (From, To].
	From, To time.Time
	// Location is the time zone times are shown in; nil means UTC.
	Location *time.Location
	// Prices override the configuration's cost.per_event per SLO name.
	Prices map[string]Price
	// Progress, when set, is told about every replayed chunk.
	Progress func(scrape.BackfillProgress)
}

// LeadIn is how much history before from the replay needs so that every
// window and budget is complete at from: the longest rolling period or
// window, and for a calendar SLO back to the start of its calendar period
// at from.
func LeadIn(specs []evaluator.Spec, from time.Time) time.Duration {
	var lead time.Duration
	for _, s := range specs {
		lead = max(lead, s.Period)
		for _, w := range s.Windows {
			lead = max(lead, w)
		}
		for _, t := range s.Tiers {
			lead = max(lead, t.LongWindow)
		}
		if s.Calendar != "" {
			start, _ := s.Calendar.Period(from, s.Location)
			lead = max(lead, from.Sub(start))
		}
	}
	return lead
}

// FromPrometheus computes the report of cfg's SLOs from the history in
// Prometheus: it replays (From - LeadIn, To] through backtest.Replay, the
// puller and engine the daemon and backtest use, observing every step of
// the range.
func FromPrometheus(ctx context.Context, q scrape.Querier, cfg *config.Config, opt Options) (*Report, error) {
	p, err := plan.Build(cfg)
	if err != nil {
		return nil, err
	}
	Prepare(p.Specs, p.Interval)
	eng, err := evaluator.New(p.Interval, p.Specs)
	if err != nil {
		return nil, err
	}
	prices := map[string]Price{}
	for i, s := range cfg.SLOs {
		if c := p.Meta[i].Cost; c != nil {
			prices[s.Name] = Price{PerEvent: c.PerEvent, Currency: c.Currency}
		}
	}
	for name, pr := range opt.Prices {
		prices[name] = pr
	}
	c, err := NewCollector(Input{Engine: eng, Step: p.Interval, Policy: plan.Policy(cfg), From: opt.From, To: opt.To,
		Location: opt.Location, Prices: prices})
	if err != nil {
		return nil, err
	}
	start := opt.From.Add(-LeadIn(p.Specs, opt.From))
	err = backtest.Replay(ctx, q, eng, p.Targets, start, opt.To, backtest.ReplayOptions{
		Interval: p.Interval, MaxPoints: cfg.Global.MaxPointsPerQuery, AfterStep: c.Observe, Progress: opt.Progress})
	if err != nil {
		return nil, err
	}
	return c.Report(), nil
}

// LastMonth returns the last complete calendar month before now in loc.
func LastMonth(now time.Time, loc *time.Location) (from, to time.Time) {
	n := now.In(loc)
	to = time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, loc)
	return to.AddDate(0, -1, 0), to
}
