// Package backtest replays history through the evaluator and judges the
// alert tiers: when each would have fired and resolved, the budget spent
// per alert, detection and reset times, and precision and recall against
// significant events.
//
// The package is a driver of the same engine the daemon runs: a Feed
// records each step's events (from a range query, or a synthetic incident),
// and the runner evaluates after every step exactly as the daemon would.
//
// # Definitions
//
//   - step burn: the burn rate of the single step just recorded (the
//     evaluation interval window);
//   - budget spent over a span: the sum of step burn x step / period, the
//     share of a period's budget the span used at the traffic it had (so it
//     does not depend on how much history precedes it);
//   - incident: a maximal run of steps with step burn above 1 (spending
//     faster than the budget allows), where runs separated by at most
//     Options.MergeGap are merged;
//   - significant event: an incident that itself spent at least
//     Options.SignificantFraction of the period's budget within some span of
//     Options.Within (events before it do not count towards it);
//   - alert: a maximal run of steps during which a tier fired;
//   - a true positive alert overlaps a significant event, extended by the
//     tier's long window after its end (the time a tier takes to reset);
//   - precision = true positive alerts / alerts; recall = significant events
//     overlapped by an alert of the tier / significant events;
//   - detection time = first alert start - event start; reset time = alert
//     end - event end, for the first alert of the tier in the event.
package backtest

import (
	"fmt"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// Options tunes what counts as a significant event.
type Options struct {
	// SignificantFraction is the share of the period's budget that an event
	// must spend within Within; default 0.02 (what the fast tier pages on).
	SignificantFraction float64
	// Within is the span for SignificantFraction; default 1h.
	Within time.Duration
	// MergeGap joins incidents separated by at most this long; default 5m.
	MergeGap time.Duration
}

func (o *Options) defaults() {
	if o.SignificantFraction == 0 {
		o.SignificantFraction = 0.02
	}
	if o.Within == 0 {
		o.Within = time.Hour
	}
	if o.MergeGap == 0 {
		o.MergeGap = 5 * time.Minute
	}
}

// Feed records the events of the step ending at t into the engine.
type Feed func(t time.Time) error

// Interval is a span of time; End is zero while it is still open at the end
// of the backtest.
type Interval struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
}

// Alert is one firing of a tier.
type Alert struct {
	Interval
	// BudgetSpent is the share of the period's budget spent while it fired.
	BudgetSpent float64 `json:"budget_spent"`
	// TruePositive is set when it overlaps a significant event.
	TruePositive bool `json:"true_positive"`
}

// Event is an incident found in the history.
type Event struct {
	Interval
	// BudgetSpent is the share of the period's budget the incident spent.
	BudgetSpent float64 `json:"budget_spent"`
	// Significant is set when it spent SignificantFraction within Within.
	Significant bool `json:"significant"`
}

// TierReport judges one tier for one group.
type TierReport struct {
	Tier      string  `json:"tier"`
	Severity  string  `json:"severity"`
	Threshold float64 `json:"threshold"`
	Alerts    []Alert `json:"alerts"`
	// Precision and Recall are absent (nil) when undefined (no alerts, no
	// significant events).
	Precision *float64 `json:"precision,omitempty"`
	Recall    *float64 `json:"recall,omitempty"`
	// DetectionSeconds and ResetSeconds hold one entry per detected
	// significant event, in order.
	DetectionSeconds []float64 `json:"detection_seconds"`
	ResetSeconds     []float64 `json:"reset_seconds"`
}

// GroupReport is the backtest of one SLO group.
type GroupReport struct {
	SLO    string            `json:"slo"`
	Labels map[string]string `json:"labels,omitempty"`
	Events []Event           `json:"events"`
	Tiers  []TierReport      `json:"tiers"`
}

// Report is the whole backtest.
type Report struct {
	From   time.Time     `json:"from"`
	To     time.Time     `json:"to"`
	Step   time.Duration `json:"step"`
	Groups []GroupReport `json:"groups"`
}

// groupTrace accumulates one group's per-step series during the run.
type groupTrace struct {
	slo      int
	labels   []evaluator.Label
	times    []time.Time
	stepBurn []float64
	firing   [][]bool // per step, per tier
}

// Recorder evaluates an engine after each step a driver records and keeps
// what the report needs. Use it when the driver owns the loop (the puller's
// AfterStep hook during a range-query replay); Run wraps it for a Feed.
type Recorder struct {
	eng    *evaluator.Engine
	step   time.Duration
	opt    Options
	traces map[string]*groupTrace
	order  []string
	first  time.Time
	last   time.Time
	snap   *evaluator.Snapshot
}

// NewRecorder returns a Recorder for eng. Each SLO must evaluate the step
// (the interval) as one of its windows.
func NewRecorder(eng *evaluator.Engine, step time.Duration, opt Options) (*Recorder, error) {
	opt.defaults()
	for i := range eng.Len() {
		spec := eng.Spec(i)
		found := false
		for _, w := range spec.Windows {
			found = found || w == step
		}
		if !found {
			return nil, fmt.Errorf("slo %q: backtest needs the step %s as a window", spec.Name, step)
		}
	}
	return &Recorder{eng: eng, step: step, opt: opt, traces: map[string]*groupTrace{}}, nil
}

// Observe evaluates the engine at t, the end of the step just recorded.
func (r *Recorder) Observe(t time.Time) {
	if r.first.IsZero() {
		r.first = t.Add(-r.step)
	}
	r.last = t
	snap := r.eng.Evaluate(t)
	r.snap = snap
	for si, res := range snap.SLOs {
		wStep := res.Window(r.step)
		for _, g := range res.Groups {
			key := fmt.Sprint(si, g.Labels)
			tr, ok := r.traces[key]
			if !ok {
				tr = &groupTrace{slo: si, labels: g.Labels}
				r.traces[key] = tr
				r.order = append(r.order, key)
			}
			tr.times = append(tr.times, t)
			tr.stepBurn = append(tr.stepBurn, g.Windows[wStep].BurnRate)
			tr.firing = append(tr.firing, append([]bool(nil), g.Alerts...))
		}
	}
}

// Last returns the snapshot of the last Observe, or nil: drivers that
// need more than the backtest's own figures (the report's zones and
// budgets) read it instead of evaluating the engine a second time.
func (r *Recorder) Last() *evaluator.Snapshot { return r.snap }

// Report analyses what was observed.
func (r *Recorder) Report() *Report {
	rep := &Report{From: r.first, To: r.last, Step: r.step}
	if r.last.IsZero() {
		return rep
	}
	final := r.eng.Evaluate(r.last)
	for _, key := range r.order {
		tr := r.traces[key]
		rep.Groups = append(rep.Groups, analyse(tr, final.SLOs[tr.slo], r.step, r.opt))
	}
	return rep
}

// Run evaluates the engine after feeding every step in (from, to] and
// reports per SLO group. Each SLO must evaluate the step (the interval) as
// one of its windows.
func Run(eng *evaluator.Engine, from, to time.Time, step time.Duration, feed Feed, opt Options) (*Report, error) {
	rec, err := NewRecorder(eng, step, opt)
	if err != nil {
		return nil, err
	}
	for t := from.Add(step); !t.After(to); t = t.Add(step) {
		if err := feed(t); err != nil {
			return nil, fmt.Errorf("feeding step %s: %w", t.UTC().Format(time.RFC3339), err)
		}
		rec.Observe(t)
	}
	rep := rec.Report()
	rep.From, rep.To = from, to
	return rep, nil
}

func analyse(tr *groupTrace, r evaluator.SLOResult, step time.Duration, opt Options) GroupReport {
	gr := GroupReport{SLO: r.Spec.Name}
	if len(tr.labels) > 0 {
		gr.Labels = map[string]string{}
		for _, l := range tr.labels {
			gr.Labels[l.Name] = l.Value
		}
	}
	perStep := step.Seconds() / r.Period.Seconds()
	spent := func(i, j int) float64 { // budget share spent in steps i..j
		var burn float64
		for k := i; k <= j; k++ {
			burn += tr.stepBurn[k]
		}
		return burn * perStep
	}
	gr.Events = findEvents(tr, step, opt, spent)
	for ti, tier := range r.Tiers {
		gr.Tiers = append(gr.Tiers, judgeTier(tr, ti, tier, gr.Events, step, spent))
	}
	return gr
}

// findEvents returns the incidents: runs of steps burning above 1, merged
// across gaps of at most MergeGap.
func findEvents(tr *groupTrace, step time.Duration, opt Options, spent func(i, j int) float64) []Event {
	var evs []Event
	gapSteps := int(opt.MergeGap / step)
	start, lastHot := -1, -1
	flush := func() {
		if start < 0 {
			return
		}
		ev := Event{Interval: Interval{Start: tr.times[start].Add(-step), End: tr.times[lastHot]}}
		ev.BudgetSpent = spent(start, lastHot)
		within := max(1, int(opt.Within/step))
		for k := start; k <= lastHot && !ev.Significant; k++ {
			ev.Significant = spent(max(start, k-within+1), k) >= opt.SignificantFraction
		}
		evs = append(evs, ev)
		start, lastHot = -1, -1
	}
	for i, b := range tr.stepBurn {
		if b > 1 {
			if start >= 0 && i-lastHot > gapSteps+1 {
				flush()
			}
			if start < 0 {
				start = i
			}
			lastHot = i
		}
	}
	flush()
	return evs
}

func judgeTier(tr *groupTrace, ti int, tier evaluator.TierResult, evs []Event, step time.Duration,
	spent func(i, j int) float64) TierReport {
	rep := TierReport{Tier: tier.Name, Severity: tier.Severity, Threshold: tier.Threshold,
		DetectionSeconds: []float64{}, ResetSeconds: []float64{}, Alerts: []Alert{}}
	start := -1
	closeAlert := func(end int, open bool) {
		a := Alert{Interval: Interval{Start: tr.times[start]}, BudgetSpent: spent(start, end)}
		if !open {
			a.End = tr.times[end+1]
		}
		rep.Alerts = append(rep.Alerts, a)
		start = -1
	}
	for i := range tr.times {
		f := tr.firing[i][ti]
		switch {
		case f && start < 0:
			start = i
		case !f && start >= 0:
			closeAlert(i-1, false)
		}
	}
	if start >= 0 {
		closeAlert(len(tr.times)-1, true)
	}
	// Match alerts and significant events.
	nSig, detected := 0, 0
	for _, ev := range evs {
		if !ev.Significant {
			continue
		}
		nSig++
		reach := ev.End.Add(tier.LongWindow)
		hit := false
		for ai := range rep.Alerts {
			a := &rep.Alerts[ai]
			if overlaps(a.Interval, ev.Start, reach) {
				a.TruePositive = true
				if !hit {
					hit = true
					rep.DetectionSeconds = append(rep.DetectionSeconds, a.Start.Sub(ev.Start).Seconds())
					if !a.End.IsZero() {
						rep.ResetSeconds = append(rep.ResetSeconds, a.End.Sub(ev.End).Seconds())
					}
				}
			}
		}
		if hit {
			detected++
		}
	}
	if len(rep.Alerts) > 0 {
		tp := 0
		for _, a := range rep.Alerts {
			if a.TruePositive {
				tp++
			}
		}
		p := float64(tp) / float64(len(rep.Alerts))
		rep.Precision = &p
	}
	if nSig > 0 {
		r := float64(detected) / float64(nSig)
		rep.Recall = &r
	}
	return rep
}

// overlaps reports whether the alert a overlaps [from, to].
func overlaps(a Interval, from, to time.Time) bool {
	end := a.End
	if end.IsZero() {
		end = to
	}
	return !a.Start.After(to) && !end.Before(from)
}
