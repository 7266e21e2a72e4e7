package config

import (
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// Defaults filled in by the loader.
const (
	DefaultEvaluationInterval   = 30 * time.Second
	DefaultQueryTimeout         = 20 * time.Second
	DefaultMaxConcurrentQueries = 8
	DefaultQueryRetries         = 2
	DefaultMaxPointsPerQuery    = 11000
	DefaultExhaustionWindow     = time.Hour
	DefaultPeriod               = 30 * 24 * time.Hour
	DefaultMaxGroups            = 1000
	DefaultPrometheusURL        = "http://localhost:9090"
)

// DefaultWindows are the windows an SLO reports when it configures none
// (those longer than the budget period are left out).
func DefaultWindows() []time.Duration {
	const day = 24 * time.Hour
	return []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, day, 3 * day}
}

// DefaultTiers returns the four tiers of the reference scenario (SRE
// Workbook): fast and medium page, slow and long open a ticket.
func DefaultTiers() []AlertTier {
	const day = 24 * time.Hour
	d := func(x time.Duration) model.Duration { return model.Duration(x) }
	return []AlertTier{
		{Name: "fast", BudgetFraction: 0.02, LongWindow: d(time.Hour), ShortWindow: d(5 * time.Minute), Severity: "page", For: d(2 * time.Minute), Enabled: true},
		{Name: "medium", BudgetFraction: 0.05, LongWindow: d(6 * time.Hour), ShortWindow: d(30 * time.Minute), Severity: "page", For: d(5 * time.Minute), Enabled: true},
		{Name: "slow", BudgetFraction: 0.10, LongWindow: d(day), ShortWindow: d(2 * time.Hour), Severity: "ticket", For: d(15 * time.Minute), Enabled: true},
		{Name: "long", BudgetFraction: 0.10, LongWindow: d(3 * day), ShortWindow: d(6 * time.Hour), Severity: "ticket", For: d(15 * time.Minute), Enabled: true},
	}
}

// DefaultBudgetPolicy returns the reference policy: green (>= 75% left),
// yellow (>= 25%), orange (>= 0%) and red (exhausted); security and
// data-loss fixes are always allowed.
func DefaultBudgetPolicy() BudgetPolicy {
	f := func(v float64) *float64 { return &v }
	return BudgetPolicy{
		Zones: []Zone{
			{Name: "green", MinRemaining: f(0.75), Allow: []string{"feature", "bugfix", "refactor"}, Approval: "standard"},
			{Name: "yellow", MinRemaining: f(0.25), Allow: []string{"feature", "bugfix", "refactor"}, Approval: "senior engineer", Notify: []string{"engineering manager"}},
			{Name: "orange", MinRemaining: f(0), Allow: []string{"bugfix"}, Approval: "engineering manager", Notify: []string{"engineering manager", "VP engineering"}},
			{Name: "red", Approval: "VP engineering", Notify: []string{"engineering manager", "VP engineering", "executives"}},
		},
		AlwaysAllow: []string{"security", "dataloss"},
	}
}

// DefaultGlobal returns the global section with every default filled in.
func DefaultGlobal() Global {
	return Global{
		EvaluationInterval:   model.Duration(DefaultEvaluationInterval),
		QueryTimeout:         model.Duration(DefaultQueryTimeout),
		MaxConcurrentQueries: DefaultMaxConcurrentQueries,
		QueryRetries:         DefaultQueryRetries,
		Backfill:             true,
		MaxPointsPerQuery:    DefaultMaxPointsPerQuery,
		MaxSeriesPerSelector: DefaultMaxSeriesPerSelector,
		MaxResponseBytes:     DefaultMaxResponseBytes,
		MaxIncreaseRate:      DefaultMaxIncreaseRate,
		ExhaustionWindow:     model.Duration(DefaultExhaustionWindow),
		BudgetPolicy:         DefaultBudgetPolicy(),
		AlertTiers:           DefaultTiers(),
	}
}

// defaultPrometheus is the prometheus section before decoding.
func defaultPrometheus() Prometheus {
	return Prometheus{URL: DefaultPrometheusURL, HTTPClientConfig: promconfig.DefaultHTTPClientConfig}
}
