package rules

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/slo-exporter/slo-exporter/internal/calendar"
)

// SLO is what rule generation needs to know of one SLO. The CLI converts the
// configuration into it.
type SLO struct {
	// Name is the unique SLO name, the slo label of every slo_* series.
	Name string
	// Service is the service label.
	Service string
	// Objective is the target ratio in (0, 1), e.g. 0.999.
	Objective float64
	// Period is the rolling budget period, e.g. 30 days. It is ignored when
	// Calendar is set.
	Period time.Duration
	// Calendar, when set ("month", "week" or "quarter"), makes the budget
	// period a calendar one whose length changes from period to period.
	Calendar string
	// Tiers are the multi-window, multi-burn-rate alert tiers.
	Tiers []Tier
	// RunbookURL and DashboardURL, when set, become the runbook_url and
	// dashboard_url annotations of every alert of the SLO. They are copied
	// verbatim, so they may hold alert templates such as {{ $labels.model }}.
	RunbookURL, DashboardURL string
	// GroupBy are the SLO's grouping labels (e.g. model): the daemon keeps
	// one budget per group and puts these labels on its series.
	GroupBy []string
	// Escalations are the error-budget policy's zones; those that notify
	// someone become AlertBudgetZone alerts.
	Escalations []Escalation
}

// Tier is one alert tier of an SLO: the vocabulary's tier (name,
// severity, budget fraction, windows, for) and what the generated rule
// carries besides.
type Tier struct {
	slo.Tier
	// Disabled tiers produce no alert and are not validated.
	Disabled bool
	// AlertName, when set, names the tier's alert instead of AlertBurnRate
	// (a Sloth page alert keeps its name this way).
	AlertName string
	// Labels are added to the tier's alert; they cannot replace the labels
	// the alert sets itself (see reservedLabels).
	Labels map[string]string
	// Annotations are added to the tier's alert; a summary or description
	// replaces the generated one.
	Annotations map[string]string
}

// alertName returns the name of the tier's alert.
func (t Tier) alertName() string {
	if t.AlertName != "" {
		return t.AlertName
	}
	return AlertBurnRate
}

// budgetPeriod returns the period that tier thresholds are computed from:
// the rolling period, or the longest period of a calendar unit (thresholds
// of calendar SLOs change with the period's length; the longest gives the
// highest threshold, the one validation must check).
func (s SLO) budgetPeriod() time.Duration {
	if s.Calendar != "" {
		return calendar.Unit(s.Calendar).MaxLength()
	}
	return s.Period
}

// periodLabel names the budget period in alert text: "30d" or "month".
func (s SLO) periodLabel() string {
	if s.Calendar != "" {
		return s.Calendar
	}
	return promDuration(s.Period)
}

// budgetName names the error budget in alert text: "the 30d error budget"
// or "the month's error budget".
func (s SLO) budgetName() string {
	if s.Calendar != "" {
		return "the " + s.Calendar + "'s error budget"
	}
	return "the " + promDuration(s.Period) + " error budget"
}

// overPeriod names the period in alert text: "30d" or "the month".
func (s SLO) overPeriod() string {
	if s.Calendar != "" {
		return "the " + s.Calendar
	}
	return promDuration(s.Period)
}

// enabledTiers returns the tiers that produce alerts, fastest (shortest
// long window) first, ties by name, so that output does not depend on the
// order of the configuration.
func (s SLO) enabledTiers() []Tier {
	var out []Tier
	for _, t := range s.Tiers {
		if !t.Disabled {
			out = append(out, t)
		}
	}
	slices.SortStableFunc(out, func(a, b Tier) int {
		if a.LongWindow != b.LongWindow {
			return int(a.LongWindow - b.LongWindow)
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// labelNameRE is the classic Prometheus label name syntax; group labels are
// used in by () clauses and as $labels.<name> in templates, so they must
// follow it.
var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// reservedLabels are set by the exporter or by the generated rules and
// cannot be group or extra labels.
var reservedLabels = map[string]bool{
	"slo": true, "service": true, "window": true, "alert_tier": true, "severity": true,
	"long_window": true, "short_window": true, "alertname": true, "zone": true, "notify": true,
}

// alertNameRE is the syntax of an alert name.
var alertNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// unsafeChars may not appear in names that the generator writes into
// PromQL selectors and alert templates.
const unsafeChars = "`\"\\{}\n\r"

// validate checks one SLO and names the SLO, field and value of a problem.
func (s SLO) validate() error {
	if s.Name == "" {
		return fmt.Errorf("slo with service %q: name is empty", s.Service)
	}
	errf := func(format string, a ...any) error {
		return fmt.Errorf("slo %q: "+format, append([]any{s.Name}, a...)...)
	}
	if strings.ContainsAny(s.Name, unsafeChars) {
		return errf("name contains one of the characters %q, which cannot be used in alert rules", unsafeChars)
	}
	if s.Service == "" {
		return errf("service is empty")
	}
	for _, e := range s.Escalations {
		if err := e.validate(); err != nil {
			return errf("%v", err)
		}
	}
	if strings.ContainsAny(s.Service, unsafeChars) {
		return errf("service %q contains one of the characters %q, which cannot be used in alert rules", s.Service, unsafeChars)
	}
	if !(s.Objective > 0 && s.Objective < 1) {
		return errf("objective %v: must be a ratio in (0, 1), e.g. 0.999", s.Objective)
	}
	if s.Calendar != "" {
		if _, err := calendar.Parse(s.Calendar); err != nil {
			return errf("%v", err)
		}
	} else if s.Period <= 0 {
		return errf("period %s: must be positive", s.Period)
	}
	seen := map[string]bool{}
	for _, g := range s.GroupBy {
		switch {
		case !labelNameRE.MatchString(g):
			return errf("group_by label %q: not a valid label name", g)
		case reservedLabels[g] || strings.HasPrefix(g, "__"):
			return errf("group_by label %q: reserved for the exporter's own labels", g)
		case seen[g]:
			return errf("group_by label %q: listed twice", g)
		}
		seen[g] = true
	}
	period := s.budgetPeriod()
	maxBurn := 1 / (1 - s.Objective)
	tiers := map[string]bool{}
	for _, t := range s.Tiers {
		if t.Disabled {
			continue
		}
		terr := func(format string, a ...any) error {
			return errf("tier %q: "+format, append([]any{t.Name}, a...)...)
		}
		switch {
		case t.Name == "":
			return errf("a tier has an empty name")
		case strings.ContainsAny(t.Name, unsafeChars):
			return terr("name contains one of the characters %q", unsafeChars)
		case tiers[t.Name]:
			return terr("defined twice")
		case t.Severity == "" || strings.ContainsAny(t.Severity, unsafeChars):
			return terr("severity %q: must be a non-empty plain word such as page or ticket", t.Severity)
		case !(t.BudgetFraction > 0 && t.BudgetFraction <= 1):
			return terr("budget fraction %v: must be in (0, 1], e.g. 0.02", t.BudgetFraction)
		case t.ShortWindow <= 0:
			return terr("short window %s: must be positive", t.ShortWindow)
		case t.ShortWindow >= t.LongWindow:
			return terr("short window %s must be shorter than the long window %s", t.ShortWindow, t.LongWindow)
		case t.LongWindow > period:
			return terr("long window %s is longer than the %s budget period", t.LongWindow, s.periodLabel())
		case t.For < 0:
			return terr("for %s: must not be negative", t.For)
		case t.AlertName != "" && !alertNameRE.MatchString(t.AlertName):
			return terr("alert name %q: not a valid alert name", t.AlertName)
		}
		for k := range t.Labels {
			if !labelNameRE.MatchString(k) || reservedLabels[k] || strings.HasPrefix(k, "__") {
				return terr("label %q: not a valid label name, or one the generated alert sets itself", k)
			}
		}
		tiers[t.Name] = true
		th := slo.RoundNoise(t.Threshold(period))
		if mb := slo.RoundNoise(maxBurn); th >= mb {
			return terr("threshold %s (%s of %s within %s) is at or above the highest possible burn rate %s "+
				"(1 / (1 - objective %s), reached at 100%% errors), so the tier can never fire; "+
				"lower the budget fraction or lengthen the long window",
				formatFloat(th), formatPercent(t.BudgetFraction), s.budgetName(), promDuration(t.LongWindow),
				formatFloat(mb), formatFloat(s.Objective))
		}
	}
	return nil
}

// formatFloat prints v without float noise: 0.999, 14.4, 0.933333333333.
func formatFloat(v float64) string { return slo.FormatFloat(v) }

// formatPercent prints a ratio as a percentage: 0.02 -> "2%".
func formatPercent(r float64) string { return formatFloat(r*100) + "%" }

// promDuration prints a duration in Prometheus syntax with days as the
// largest unit, the way the window label writes it: 5m, 1h, 1d, 3d, 7d,
// 28d, 30d, 1h30m. (Prometheus' own formatter would print 7d as 1w and
// 28d as 4w.)
func promDuration(d time.Duration) string { return slo.FormatWindow(d) }
