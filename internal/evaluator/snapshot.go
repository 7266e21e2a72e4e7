package evaluator

import "time"

// Snapshot is the result of one evaluation. It is never modified after
// Evaluate returns it, so exporters can read it without locks while the
// next evaluation builds a new one.
type Snapshot struct {
	// Time is the evaluation time.
	Time time.Time
	// SLOs are in the order of the specs given to New.
	SLOs []SLOResult
	// Stats are the engine's counts at evaluation time.
	Stats Stats
}

// SLOResult is one SLO's evaluation.
type SLOResult struct {
	// Spec is the SLO's spec with defaults filled in.
	Spec *Spec
	// Windows are the evaluated windows, ascending; GroupResult.Windows is
	// indexed alike.
	Windows []time.Duration
	// Tiers are the alert tiers with their thresholds; GroupResult.Alerts is
	// indexed alike.
	Tiers []TierResult
	// DataUp reports whether the last pull for this SLO succeeded.
	DataUp bool
	// Period is the budget period's length: the rolling period, or the
	// current calendar period's length (28 to 31 days for a month).
	Period time.Duration
	// PeriodStart is where the budget period starts.
	PeriodStart time.Time
	// Groups are sorted by their labels.
	Groups []GroupResult
	// Composite is true for a composite SLO (Spec.Composite): its one group
	// combines the components' SLIs, and its windows' Good and Valid (and
	// the budget's Allowed, Bad and RemainingEvents) are the combination's
	// weights, not event counts, so exporters leave them out.
	Composite bool
}

// TierResult is a tier with its threshold for the SLO's period.
type TierResult struct {
	Tier
	// Threshold is budget fraction x period / long window.
	Threshold float64
}

// GroupResult is one group's evaluation.
type GroupResult struct {
	// Labels are the group's labels (nil when the SLO is not grouped).
	Labels []Label
	// Windows holds one result per SLOResult.Windows entry.
	Windows []WindowResult
	// Period is the budget period's window: for a rolling SLO the same as
	// the period's entry in Windows, for a calendar SLO [PeriodStart, t].
	Period WindowResult
	// Budget is the error budget over the period.
	Budget Budget
	// Alerts holds one firing state per SLOResult.Tiers entry.
	Alerts []bool
	// Zone indexes Spec.Zones; -1 when there is no budget (no valid events).
	Zone int
}

// WindowResult is one window of one group.
type WindowResult struct {
	// Good and Valid are the event counts in the window.
	Good, Valid float64
	// Coverage is the share of the window for which data was seen.
	Coverage float64
	// HasSLI is false when the window has no valid events; SLI and BurnRate
	// are then zero and must not be exported.
	HasSLI bool
	// SLI is good / valid.
	SLI float64
	// BurnRate is (1 - SLI) / (1 - objective).
	BurnRate float64
}

// Budget is the error budget of one group over the period.
type Budget struct {
	// OK is false when the period has no valid events: nothing below is set.
	OK bool
	// Allowed is the number of bad events the period may have.
	Allowed float64
	// Bad is the number of bad events in the period.
	Bad float64
	// RemainingEvents is Allowed - Bad; negative once exhausted.
	RemainingEvents float64
	// RemainingRatio is 1 - Bad/Allowed; negative once exhausted.
	RemainingRatio float64
	// HasExhaustion is false when the budget is not burning.
	HasExhaustion bool
	// ExhaustionSeconds is the time until the budget is gone at the current
	// burn rate; zero when already exhausted.
	ExhaustionSeconds float64
}

// Window returns the index of window w in r.Windows, or -1.
func (r *SLOResult) Window(w time.Duration) int {
	for i, x := range r.Windows {
		if x == w {
			return i
		}
	}
	return -1
}
