// Package plan turns a validated configuration into what the drivers run:
// the evaluator's specs, the puller's targets, the metadata exported on
// slo_info, and the rule generator's input. Every subcommand that reads a
// configuration (serve, backtest, rules) goes through it, so they cannot
// disagree about what an SLO means.
package plan

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/calendar"
	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/rules"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
	"github.com/slo-exporter/slo-exporter/internal/slo"
)

// Meta is an SLO's descriptive metadata, exported on slo_info only.
type Meta struct {
	// Kind is the SLI kind.
	Kind slo.SLIKind
	// Labels are the SLO's metadata labels plus description.
	Labels map[string]string
	// Cost prices one bad event (cost.per_event); nil when not configured.
	Cost *config.Cost
}

// Plan is the configuration as the drivers need it. Index i of Specs and
// Meta is the same SLO; Targets hold one target per SLO with events of its
// own (every SLO but composites), each naming its SLO's index.
type Plan struct {
	// Interval is the evaluation interval.
	Interval time.Duration
	// Specs are the evaluator's specs, in configuration order.
	Specs []evaluator.Spec
	// Targets are the puller's targets.
	Targets []scrape.Target
	// Meta is each SLO's slo_info metadata.
	Meta []Meta
}

// Build converts a loaded configuration.
func Build(cfg *config.Config) (*Plan, error) {
	p := &Plan{Interval: time.Duration(cfg.Global.EvaluationInterval)}
	var zones []evaluator.Zone
	for _, z := range cfg.Global.BudgetPolicy.Zones {
		zones = append(zones, evaluator.Zone{Name: z.Name, MinRemaining: z.Min()})
	}
	for i, s := range cfg.SLOs {
		spec := evaluator.Spec{
			Name: s.Name, Service: s.Service, Objective: s.Objective(),
			Period: time.Duration(s.Period), Windows: s.AllWindows(), Zones: zones,
			ExhaustionWindow: time.Duration(cfg.Global.ExhaustionWindow), MaxGroups: s.MaxGroups,
		}
		if s.Calendar != "" {
			spec.Calendar, spec.Location = calendar.Unit(s.Calendar), s.Location()
		}
		if s.Method() == slo.Timeslices && s.TimeSlice != nil {
			spec.TimeSlice = &evaluator.TimeSlice{Length: time.Duration(s.TimeSlice.Length), Target: s.TimeSlice.Target}
		}
		for _, t := range s.EnabledTiers() {
			spec.Tiers = append(spec.Tiers, evaluator.Tier{Name: t.Name, Severity: t.Severity, BudgetFraction: t.BudgetFraction,
				LongWindow: time.Duration(t.LongWindow), ShortWindow: time.Duration(t.ShortWindow)})
		}
		if s.SLI.Kind() == slo.Composite {
			spec.Composite = compositeOf(cfg, s.SLI.Composite)
		} else {
			target, err := targetOf(i, s)
			if err != nil {
				return nil, err
			}
			p.Targets = append(p.Targets, target)
		}
		meta := Meta{Kind: s.SLI.Kind(), Labels: map[string]string{}, Cost: s.Cost}
		for k, v := range s.Labels {
			meta.Labels[k] = v
		}
		if s.Description != "" {
			meta.Labels["description"] = s.Description
		}
		p.Specs = append(p.Specs, spec)
		p.Meta = append(p.Meta, meta)
	}
	// A composite reads its components' windows, so each component keeps
	// the composite's windows too.
	for _, spec := range p.Specs {
		if spec.Composite == nil {
			continue
		}
		for _, c := range spec.Composite.Components {
			cs := &p.Specs[c.SLO]
			cs.Windows = append(cs.Windows, spec.Windows...)
			slices.Sort(cs.Windows)
			cs.Windows = slices.Compact(cs.Windows)
		}
	}
	return p, nil
}

// compositeOf resolves a composite's components to SLO indices.
// Validation has checked that they exist.
func compositeOf(cfg *config.Config, c *config.CompositeSLI) *evaluator.Composite {
	out := &evaluator.Composite{Combine: evaluator.Combine(c.CombineOrDefault())}
	for _, comp := range c.Components {
		idx := slices.IndexFunc(cfg.SLOs, func(s *config.SLO) bool { return s.Name == comp.SLO })
		w := 0.0
		if comp.Weight != nil {
			w = *comp.Weight
		}
		out.Components = append(out.Components, evaluator.Component{SLO: idx, Weight: w})
	}
	return out
}

// LongestPeriod is how far back a backfill must reach.
func (p *Plan) LongestPeriod() time.Duration {
	var longest time.Duration
	for _, s := range p.Specs {
		d := s.Period
		if s.Calendar != "" {
			d = s.Calendar.MaxLength()
		}
		longest = max(longest, d)
	}
	return longest
}

// targetOf turns an SLO of a kind that reads series into its pull target:
// which selectors give good and valid events. Each kind is one case.
func targetOf(i int, s *config.SLO) (scrape.Target, error) {
	t := scrape.Target{SLO: i, GroupBy: s.GroupBy, MaxSeries: s.SeriesLimit()}
	switch s.SLI.Kind() {
	case slo.Ratio:
		r := s.SLI.Ratio
		t.Good, t.Valid, t.Bad = scrape.Selector{Expr: r.Good}, scrape.Selector{Expr: r.Valid}, scrape.Selector{Expr: r.Bad}
	case slo.Latency:
		l := s.SLI.Latency
		if l.Native {
			le, all := l.Threshold, math.Inf(1)
			expr := strings.TrimSpace(l.Histogram)
			t.Good, t.Valid = scrape.Selector{Expr: expr, NativeLE: &le}, scrape.Selector{Expr: expr, NativeLE: &all}
			break
		}
		bucket, err := withSuffix(l.Histogram, l.HistogramName(), "_bucket")
		if err != nil {
			return t, fmt.Errorf("slo %q: sli.latency.histogram: %w", s.Name, err)
		}
		count, _ := withSuffix(l.Histogram, l.HistogramName(), "_count")
		le := l.Threshold
		t.Good, t.Valid = scrape.Selector{Expr: bucket, LE: &le}, scrape.Selector{Expr: count}
	case slo.Threshold:
		th := s.SLI.Threshold
		if th.Value == nil {
			return t, fmt.Errorf("slo %q: sli.threshold.value: missing", s.Name)
		}
		expr := strings.TrimSpace(th.Gauge)
		t.Good = scrape.Selector{Expr: expr, Gauge: &scrape.Condition{Op: th.Op, Value: *th.Value}}
		t.Valid = scrape.Selector{Expr: expr, Gauge: &scrape.Condition{}}
	default:
		return t, fmt.Errorf("slo %q: sli kind %q is not supported by the daemon", s.Name, s.SLI.Kind())
	}
	return t, nil
}

// withSuffix rewrites the selector of a histogram's base name to one of its
// series: http_request_duration_seconds{job="a"} -> ..._bucket{job="a"}.
func withSuffix(selector, name, suffix string) (string, error) {
	sel := strings.TrimSpace(selector)
	if name == "" || !strings.HasPrefix(sel, name) {
		return "", fmt.Errorf("%q: write the histogram as name{matchers}", selector)
	}
	return name + suffix + sel[len(name):], nil
}

// Rules converts the configuration for the rule generator.
func Rules(cfg *config.Config) []rules.SLO {
	var out []rules.SLO
	for _, s := range cfg.SLOs {
		r := rules.SLO{Name: s.Name, Service: s.Service, Objective: s.Objective(), Period: time.Duration(s.Period),
			Calendar: s.Calendar, RunbookURL: s.Alerting.RunbookURL, DashboardURL: s.Alerting.DashboardURL, GroupBy: s.GroupBy}
		for _, t := range s.Alerting.Tiers {
			r.Tiers = append(r.Tiers, rules.Tier{Tier: slo.Tier{Name: t.Name, Severity: t.Severity, BudgetFraction: t.BudgetFraction,
				LongWindow: time.Duration(t.LongWindow), ShortWindow: time.Duration(t.ShortWindow), For: time.Duration(t.For)},
				Disabled: !t.Enabled, AlertName: t.AlertName, Labels: t.Labels, Annotations: t.Annotations})
		}
		for _, z := range cfg.Global.BudgetPolicy.Zones {
			r.Escalations = append(r.Escalations, rules.Escalation{Zone: z.Name, Notify: z.Notify, Approval: z.Approval, Allow: z.Allow})
		}
		out = append(out, r)
	}
	return out
}
