package config

import (
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

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
// (those longer than the budget period are left out): the vocabulary's.
func DefaultWindows() []time.Duration { return slo.DefaultWindows() }

// DefaultTiers returns the vocabulary's default tiers (slo.DefaultTiers) in
// the configuration's shape, enabled.
func DefaultTiers() []AlertTier {
	var out []AlertTier
	for _, t := range slo.DefaultTiers() {
		out = append(out, AlertTier{Name: t.Name, BudgetFraction: t.BudgetFraction, LongWindow: model.Duration(t.LongWindow),
			ShortWindow: model.Duration(t.ShortWindow), Severity: t.Severity, For: model.Duration(t.For), Enabled: true})
	}
	return out
}

// DefaultBudgetPolicy returns the vocabulary's reference policy
// (slo.DefaultZones, slo.DefaultAlwaysAllow) in the configuration's shape:
// the last zone has no lower bound.
func DefaultBudgetPolicy() BudgetPolicy {
	zones := slo.DefaultZones()
	p := BudgetPolicy{AlwaysAllow: slo.DefaultAlwaysAllow()}
	for i, z := range zones {
		cz := Zone{Name: z.Name, Allow: z.Allow, Approval: z.Approval, Notify: z.Notify}
		if i < len(zones)-1 {
			m := z.MinRemaining
			cz.MinRemaining = &m
		}
		p.Zones = append(p.Zones, cz)
	}
	return p
}

// DefaultGlobal returns the global section with every default filled in.
func DefaultGlobal() Global {
	return Global{
		EvaluationInterval:   model.Duration(DefaultEvaluationInterval),
		QueryTimeout:         model.Duration(DefaultQueryTimeout),
		MaxConcurrentQueries: DefaultMaxConcurrentQueries,
		QueryRetries:         DefaultQueryRetries,
		Backfill:             true,
		BackfillRemoteRead:   true,
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
