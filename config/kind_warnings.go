package config

import (
	"fmt"

	"github.com/slo-exporter/slo-exporter/internal/slo"
)

// Warnings returns what is valid but probably not meant in the SLO's
// configuration, one sentence each, for the caller to log. Today that is
// an enabled tier whose threshold is below 1: a burn rate below 1 spends
// less than the whole budget over the period, so such a tier fires while
// the budget is on track to last. Default tiers, made for 30d, land there
// on short periods (the fast tier is 0.48 on a 1d period).
func (s *SLO) Warnings() []string {
	var out []string
	period := s.BudgetPeriod()
	if period <= 0 {
		return nil
	}
	for _, t := range s.EnabledTiers() {
		if t.LongWindow <= 0 {
			continue
		}
		if th := slo.RoundNoise(t.Threshold(period)); th < 1 {
			out = append(out, fmt.Sprintf(
				"slo %q: alerting.tiers[%s]: threshold %s (budget_fraction %s x period %s / long_window %s) is below 1, "+
					"so the tier fires while the budget is on track to last the period; raise budget_fraction to at least %s or disable the tier",
				s.Name, t.Name, fmtFloat(th), fmtFloat(t.BudgetFraction), periodName(s), md(t.LongWindow),
				fmtFloat(float64(t.LongWindow)/float64(period))))
		}
	}
	return out
}
