// Package calc is the error-budget calculator: for an objective and a
// period it derives the budget, and for each alert tier its burn-rate
// threshold, the error ratio that trips it and how fast it detects a full
// outage. It uses the evaluator's own formulas.
package calc

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// Result is what the calculator derives.
type Result struct {
	Objective float64
	Period    time.Duration
	// Budget is (1 - objective) x period: the full-outage time allowed.
	Budget time.Duration
	// BudgetEvents is the number of bad events allowed at EventsPerSecond.
	BudgetEvents float64
	Tiers        []Tier
}

// Tier is one alert tier's figures.
type Tier struct {
	Name        string
	Severity    string
	LongWindow  time.Duration
	ShortWindow time.Duration
	Threshold   float64
	// ErrorRatio is the error ratio at the threshold: threshold x (1 - objective).
	ErrorRatio float64
	// FullOutageDetection is how long a 100% error ratio takes to fire it.
	FullOutageDetection time.Duration
	// BudgetSpentAtDetection is the budget share spent when it fires.
	BudgetSpentAtDetection float64
	// CanFire is false when the threshold exceeds the maximum burn rate.
	CanFire bool
}

// MarshalJSON writes durations as seconds.
func (r Result) MarshalJSON() ([]byte, error) {
	type tier struct {
		Name                string  `json:"name"`
		Severity            string  `json:"severity"`
		LongWindow          float64 `json:"long_window_seconds"`
		ShortWindow         float64 `json:"short_window_seconds"`
		Threshold           float64 `json:"burn_rate_threshold"`
		ErrorRatio          float64 `json:"error_ratio"`
		FullOutageDetection float64 `json:"full_outage_detection_seconds"`
		BudgetFraction      float64 `json:"budget_fraction"`
		CanFire             bool    `json:"can_fire"`
	}
	out := struct {
		Objective    float64 `json:"objective"`
		Period       float64 `json:"period_seconds"`
		Budget       float64 `json:"budget_seconds"`
		BudgetEvents float64 `json:"budget_events,omitempty"`
		Tiers        []tier  `json:"tiers"`
	}{Objective: r.Objective, Period: r.Period.Seconds(), Budget: r.Budget.Seconds(), BudgetEvents: r.BudgetEvents}
	for _, t := range r.Tiers {
		out.Tiers = append(out.Tiers, tier{t.Name, t.Severity, t.LongWindow.Seconds(), t.ShortWindow.Seconds(),
			t.Threshold, t.ErrorRatio, t.FullOutageDetection.Seconds(), t.BudgetSpentAtDetection, t.CanFire})
	}
	return json.Marshal(out)
}

// Compute derives the figures. eventsPerSecond may be zero.
func Compute(objective float64, period time.Duration, tiers []evaluator.Tier, eventsPerSecond float64) (Result, error) {
	if !(objective > 0 && objective < 1) {
		return Result{}, fmt.Errorf("objective %v: must be a ratio in (0, 1)", objective)
	}
	if period <= 0 {
		return Result{}, fmt.Errorf("period %s: must be positive", period)
	}
	r := Result{Objective: objective, Period: period, Budget: evaluator.BudgetDuration(objective, period)}
	if eventsPerSecond > 0 {
		r.BudgetEvents = (1 - objective) * eventsPerSecond * period.Seconds()
	}
	for _, t := range tiers {
		th := t.Threshold(period)
		r.Tiers = append(r.Tiers, Tier{
			Name: t.Name, Severity: t.Severity, LongWindow: t.LongWindow, ShortWindow: t.ShortWindow,
			Threshold: th, ErrorRatio: th * (1 - objective),
			FullOutageDetection:    time.Duration(t.BudgetFraction * float64(period) * (1 - objective)).Round(time.Microsecond),
			BudgetSpentAtDetection: t.BudgetFraction,
			CanFire:                th*(1-objective) < 1,
		})
	}
	return r, nil
}

// WriteTable prints the result for people.
func (r Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "objective\t%s%%\n", slo.FormatFloat(100*r.Objective))
	fmt.Fprintf(tw, "period\t%s\n", model.Duration(r.Period))
	fmt.Fprintf(tw, "error budget\t%s (%s min)\n", r.Budget, slo.FormatFloat(r.Budget.Minutes()))
	if r.BudgetEvents > 0 {
		fmt.Fprintf(tw, "bad events allowed\t%s\n", slo.FormatFloat(r.BudgetEvents))
	}
	fmt.Fprintln(tw, "\ntier\tseverity\tlong\tshort\tburn rate\terror ratio\tfull outage fires after\tbudget spent")
	for _, t := range r.Tiers {
		detect := t.FullOutageDetection.String()
		if !t.CanFire {
			detect = "never (threshold above max burn rate)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s%%\t%s\t%s%%\n", t.Name, t.Severity, model.Duration(t.LongWindow),
			model.Duration(t.ShortWindow), slo.FormatFloat(t.Threshold), slo.FormatFloat(100*t.ErrorRatio),
			detect, slo.FormatFloat(100*t.BudgetSpentAtDetection))
	}
	return tw.Flush()
}
