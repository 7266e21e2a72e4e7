package scrape

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/counters"
)

// Gauge thresholds
//
// A selector with a Gauge condition reads gauges, not counters: at every
// pull (a tick, or one step of a backfill's range query) each series it
// returns counts one event, and the event is counted by the selector when
// the series' sample satisfies the condition. A gauge-threshold target has
// Good = the gauge with the bound (value <= 300) and Valid = the same gauge
// with the empty condition (every sample): one valid event per series and
// group per evaluation interval, good when the gauge was within the bound.
// In other words the event is a time slice of one interval per series.
//
// Samples are compared as PromQL's filtering comparison operators compare
// them: NaN satisfies only !=, +Inf satisfies > and >=, -Inf < and <=.
// A NaN sample therefore counts as a valid, bad event (no data is not good
// data). The gauge is read as an instant query at the pinned tick time, so
// Prometheus' lookback (5m by default) decides which sample is current; a
// series that has gone stale yields no event.
//
// When a pull fails and its gap cannot be backfilled, the next successful
// pull still yields one event per series: a gauge says nothing about the
// intervals nobody looked at, unlike a counter whose increment carries them.

// Ops are the comparison operators a Condition accepts.
var Ops = []string{"<", "<=", ">", ">=", "==", "!="}

// Condition is a gauge threshold: a sample satisfies it when
// `sample Op Value`. The zero Condition (Op "") is satisfied by every
// sample; a Valid selector uses it to count every series.
type Condition struct {
	// Op is one of Ops, or "" for every sample.
	Op string
	// Value is the bound, e.g. 300 for freshness within 5 minutes.
	Value float64
}

// Holds reports whether the sample v satisfies the condition.
func (c Condition) Holds(v float64) bool {
	switch c.Op {
	case "":
		return true
	case "<":
		return v < c.Value
	case "<=":
		return v <= c.Value
	case ">":
		return v > c.Value
	case ">=":
		return v >= c.Value
	case "==":
		return v == c.Value
	case "!=":
		return v != c.Value
	}
	return false
}

// String writes the condition as PromQL would: "<= 300", or "any".
func (c Condition) String() string {
	if c.Op == "" {
		return "any"
	}
	return c.Op + " " + strconv.FormatFloat(c.Value, 'g', -1, 64)
}

// validate checks the operator and bound.
func (c Condition) validate() error {
	if c.Op == "" {
		return nil
	}
	ok := false
	for _, op := range Ops {
		ok = ok || c.Op == op
	}
	if !ok {
		return fmt.Errorf("gauge condition: operator %q: must be one of %v", c.Op, Ops)
	}
	if math.IsNaN(c.Value) {
		return fmt.Errorf("gauge condition %s: the bound is NaN", c)
	}
	return nil
}

// validateGauges checks a target's gauge conditions: either every selector
// of the target reads gauges or none does, and a gauge has no le filter.
func (t *Target) validateGauges(name string) error {
	gauges, set := 0, 0
	for _, s := range []Selector{t.Good, t.Valid, t.Bad} {
		if s.IsZero() {
			continue
		}
		set++
		if s.Gauge == nil {
			continue
		}
		gauges++
		if s.LE != nil {
			return fmt.Errorf("slo %s: selector %q: a gauge condition and an le filter exclude each other", name, s.Expr)
		}
		if err := s.Gauge.validate(); err != nil {
			return fmt.Errorf("slo %s: selector %q: %w", name, s.Expr, err)
		}
	}
	if gauges != 0 && gauges != set {
		return fmt.Errorf("slo %s: %d of %d selectors read gauges: a target counts gauge events or counter increments, not both", name, gauges, set)
	}
	return nil
}

// incrementer turns one source's samples at each pull into per-series
// event counts: a counters.Tracker for counters, gaugeEvents for gauges.
type incrementer interface {
	// Begin starts a pull at t (unix ms); false when t is not after the
	// previous pull.
	Begin(t int64) bool
	// Last returns the time of the last accepted pull.
	Last() (int64, bool)
	// ObserveSample takes one series' sample, taken at ts, and returns its
	// events; ok is false when the sample counts nothing (a counter's
	// baseline, a raw sample consumed before).
	ObserveSample(key uint64, ts int64, v float64) (inc float64, ok bool)
	// End finishes the pull.
	End()
	// Len is the number of series followed.
	Len() int
	// Stats are the counts so far.
	Stats() counters.Stats
}

// newIncrementer returns the incrementer of a selector.
func newIncrementer(sel Selector, forgetAfter time.Duration, maxRate float64) incrementer {
	if sel.Gauge != nil {
		return &gaugeEvents{cond: *sel.Gauge}
	}
	tr := counters.NewTracker(forgetAfter)
	tr.SetMaxRate(maxRate)
	return tr
}

// gaugeEvents counts one event per series and pull, good when the sample
// satisfies cond. It keeps no per-series state.
type gaugeEvents struct {
	cond    Condition
	pull    int64
	started bool
	n       int // series in the current (or last) pull
	refused uint64
}

func (g *gaugeEvents) Begin(t int64) bool {
	if g.started && t <= g.pull {
		g.refused++
		return false
	}
	g.pull, g.started = t, true
	g.n = 0
	return true
}

func (g *gaugeEvents) Last() (int64, bool) { return g.pull, g.started }

// ObserveSample counts the series' one event of the pull: gauges are read
// at the pull's time (one sample per series and pull), never as raw
// samples.
func (g *gaugeEvents) ObserveSample(_ uint64, _ int64, v float64) (float64, bool) {
	g.n++
	if g.cond.Holds(v) {
		return 1, true
	}
	return 0, true
}

func (g *gaugeEvents) End() {}

// Len is the number of series in the last pull.
func (g *gaugeEvents) Len() int { return g.n }

func (g *gaugeEvents) Stats() counters.Stats { return counters.Stats{RefusedPulls: g.refused} }
