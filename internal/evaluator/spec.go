// Package evaluator turns per-group event counts into SLIs, burn rates,
// error budgets, alert tiers and policy zones, and publishes them as an
// immutable Snapshot per evaluation.
//
// It does no I/O and does not know where events come from: the daemon feeds
// it live pulls and a backfill, simulations feed it synthetic incidents and
// backtests feed it history. All of them share this one implementation of
// the maths.
//
// # Definitions (for a window W at evaluation time t)
//
//	SLI(W)       = good(W) / valid(W)                 absent when valid(W) = 0
//	burn(W)      = (1 - SLI(W)) / (1 - objective)     absent with the SLI
//	allowed      = (1 - objective) * valid(period)    bad events the period may have
//	bad          = valid(period) - good(period)
//	remaining    = 1 - bad / allowed                  ratio; negative once exhausted
//	remainingEvt = allowed - bad
//	exhaustion   = remaining * period / burn(E)       seconds; 0 when exhausted,
//	                                                  absent when burn(E) = 0
//	threshold    = budget_fraction * period / long_window
//	alert        = burn(long) > threshold AND burn(short) > threshold
//
// E is the exhaustion window (1h by default). Zones are picked from the
// remaining ratio: the first zone (in the order given) whose minimum is at
// or below it.
package evaluator

import (
	"fmt"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"math"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/calendar"
)

// Tier is the vocabulary's alert tier (slo.Tier); the engine uses its
// name, severity, budget fraction and windows.
type Tier = slo.Tier

// Zone is the vocabulary's policy zone (slo.Zone); the engine uses its
// name and lower bound.
type Zone = slo.Zone

// Spec is what the evaluator needs to know of one SLO.
type Spec struct {
	// Name is the unique SLO name and Service its service.
	Name, Service string
	// Objective is the target ratio in (0, 1), e.g. 0.999.
	Objective float64
	// Period is the rolling budget period.
	Period time.Duration
	// Windows are reported in addition to the period and the tier windows.
	Windows []time.Duration
	// Tiers are the alert tiers; nil means none.
	Tiers []Tier
	// Zones are the policy zones; nil means DefaultZones.
	Zones []Zone
	// ExhaustionWindow is the window whose burn rate predicts exhaustion.
	// Zero means 1h.
	ExhaustionWindow time.Duration
	// MaxGroups caps the number of groups; zero means 1000.
	MaxGroups int
	// Calendar, when set, replaces the rolling period with the current
	// calendar month, ISO week or quarter in Location (UTC when nil): the
	// budget covers [start of the period, t] and resets at its end, and
	// tier thresholds use the current period's length.
	Calendar calendar.Unit
	// Location is the time zone of calendar periods.
	Location *time.Location
	// TimeSlice, when set, switches the budgeting method from occurrences
	// (events) to time slices: each slice of TimeSlice.Length is one valid
	// event, good when its own good/valid ratio meets TimeSlice.Target.
	TimeSlice *TimeSlice
	// Composite, when set, makes the SLO a composite of other SLOs of the
	// same engine: it records no events of its own, and each window's SLI
	// is combined from its components' SLIs in the same window (see
	// Composite). Its windows, and its calendar or rolling period, must be
	// windows of every component.
	Composite *Composite
}

// Combine is how a composite combines its components' SLIs.
type Combine string

const (
	// CombineWeighted is the weighted mean of the components' SLIs:
	// SLI(W) = sum_i w_i SLI_i(W) / sum_i w_i over the components that have
	// an SLI in W (OpenSLO's compositeWeight).
	CombineWeighted Combine = "weighted"
	// CombineProduct is the product of the components' SLIs over those with
	// an SLI in W: the share of journeys that succeed when a journey needs
	// every step and steps fail independently.
	CombineProduct Combine = "product"
)

// Composite lists the SLOs a composite combines.
type Composite struct {
	// Combine is CombineWeighted (the default when empty) or CombineProduct.
	Combine Combine
	// Components are at least two distinct SLOs of the engine, none of them
	// a composite.
	Components []Component
}

// Component is one SLO of a composite.
type Component struct {
	// SLO is the component's index among the engine's specs.
	SLO int
	// Weight is its positive weight; zero means 1. A product ignores it.
	Weight float64
}

// TimeSlice configures the Timeslices budgeting method.
type TimeSlice struct {
	// Length of a slice; a multiple of the evaluation interval.
	Length time.Duration
	// Target is the ratio a slice needs to be good, e.g. 0.95.
	Target float64
}

// Label is one grouping label of a group, e.g. model="resnet50".
type Label struct{ Name, Value string }

// validate checks what the evaluator relies on and names the SLO and field.
func (s *Spec) validate() error {
	errf := func(format string, a ...any) error {
		return fmt.Errorf("slo %q: "+format, append([]any{s.Name}, a...)...)
	}
	if !(s.Objective > 0 && s.Objective < 1) {
		return errf("objective %v: must be a ratio in (0, 1)", s.Objective)
	}
	if s.Calendar != "" {
		if _, err := calendar.Parse(string(s.Calendar)); err != nil {
			return errf("%v", err)
		}
		s.Period = s.Calendar.MaxLength()
	}
	if s.Period <= 0 {
		return errf("period %s: must be positive", s.Period)
	}
	if c := s.Composite; c != nil {
		switch {
		case c.Combine != "" && c.Combine != CombineWeighted && c.Combine != CombineProduct:
			return errf("composite combine %q: must be %q or %q", c.Combine, CombineWeighted, CombineProduct)
		case len(c.Components) < 2:
			return errf("a composite needs at least two components, got %d", len(c.Components))
		case s.TimeSlice != nil:
			return errf("a composite combines its components' SLIs and cannot budget time slices itself")
		}
		for _, comp := range c.Components {
			if comp.Weight < 0 || math.IsNaN(comp.Weight) || math.IsInf(comp.Weight, 0) {
				return errf("composite component %d: weight %v must be a positive number", comp.SLO, comp.Weight)
			}
		}
	}
	if ts := s.TimeSlice; ts != nil && (ts.Length <= 0 || !(ts.Target > 0 && ts.Target <= 1)) {
		return errf("time slice length %s, target %v: need a positive length and a target in (0, 1]", ts.Length, ts.Target)
	}
	maxBurn := 1 / (1 - s.Objective)
	for _, t := range s.Tiers {
		if !(t.BudgetFraction > 0 && t.BudgetFraction <= 1) {
			return errf("tier %q: budget fraction %v must be in (0, 1]", t.Name, t.BudgetFraction)
		}
		if t.ShortWindow <= 0 || t.ShortWindow >= t.LongWindow {
			return errf("tier %q: short window %s must be positive and shorter than the long window %s",
				t.Name, t.ShortWindow, t.LongWindow)
		}
		if t.LongWindow > s.Period {
			return errf("tier %q: long window %s is longer than the period %s", t.Name, t.LongWindow, s.Period)
		}
		if th := t.Threshold(s.Period); th > maxBurn {
			return errf("tier %q: threshold %s exceeds the maximum possible burn rate %s (1 / (1 - objective)), so it can never fire",
				t.Name, slo.FormatFloat(th), slo.FormatFloat(maxBurn))
		}
	}
	return nil
}

// BudgetDuration returns the error budget of a time-based reading of the
// objective: (1 - objective) x period, e.g. 43m12s for 99.9% over 30d.
func BudgetDuration(objective float64, period time.Duration) time.Duration {
	return time.Duration(math.Round((1 - objective) * float64(period)))
}
