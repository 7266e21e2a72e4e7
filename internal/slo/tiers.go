package slo

import "time"

// Tier is one multi-window, multi-burn-rate alert tier.
type Tier struct {
	// Name identifies the tier, e.g. "fast"; exported as alert_tier.
	Name string
	// Severity is exported as the severity label, e.g. "page".
	Severity string
	// BudgetFraction is the share of the period's budget that, spent within
	// LongWindow, fires the tier (0.02 for the fast tier).
	BudgetFraction float64
	// LongWindow and ShortWindow must both burn above the threshold.
	LongWindow, ShortWindow time.Duration
	// For is how long both windows must burn before a generated alert rule
	// fires; the engine's slo_burn_alert does not wait.
	For time.Duration
}

// Threshold returns the burn-rate threshold of the tier for a period:
// budget fraction x period / long window. It is 14.4 for the fast tier of a
// 30d period and scales with the period (13.44 for 28d).
func (t Tier) Threshold(period time.Duration) float64 {
	return t.BudgetFraction * float64(period) / float64(t.LongWindow)
}

// DefaultTiers returns the four tiers of the SRE Workbook that the project
// uses by default: fast and medium page, slow and long open a ticket.
func DefaultTiers() []Tier {
	const day = 24 * time.Hour
	return []Tier{
		{Name: "fast", Severity: "page", BudgetFraction: 0.02, LongWindow: time.Hour, ShortWindow: 5 * time.Minute, For: 2 * time.Minute},
		{Name: "medium", Severity: "page", BudgetFraction: 0.05, LongWindow: 6 * time.Hour, ShortWindow: 30 * time.Minute, For: 5 * time.Minute},
		{Name: "slow", Severity: "ticket", BudgetFraction: 0.10, LongWindow: day, ShortWindow: 2 * time.Hour, For: 15 * time.Minute},
		{Name: "long", Severity: "ticket", BudgetFraction: 0.10, LongWindow: 3 * day, ShortWindow: 6 * time.Hour, For: 15 * time.Minute},
	}
}

// DefaultWindows are the windows an SLO reports when it configures none
// (those longer than the budget period are left out); the period itself is
// always reported.
func DefaultWindows() []time.Duration {
	const day = 24 * time.Hour
	return []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, day, 3 * day}
}
