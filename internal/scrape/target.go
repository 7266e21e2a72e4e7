package scrape

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
)

// Selector is a PromQL expression whose series, summed, count one kind of
// event. It is normally a plain counter selector such as
// http_requests_total{job="model-api",code=~"2.."}; any expression that
// returns counters works, but the pulls see raw samples, so it must not
// apply rate() or increase() itself.
type Selector struct {
	// Expr is the PromQL expression. Targets that use the same Expr share
	// one query per tick.
	Expr string
	// LE, when set, keeps only the series whose "le" label parses to this
	// value (0.2, 0.20 and 2e-01 all match 0.2): Expr is then a histogram's
	// _bucket selector and the selector counts events at or below LE.
	LE *float64
	// Gauge, when set, makes Expr a gauge selector: each series at each
	// pull is one event, counted when its sample satisfies the condition
	// (see Condition). Selectors of one Expr with different conditions
	// share its query.
	Gauge *Condition
	// NativeLE, when set, makes Expr a native histogram selector: each
	// series' value is its number of observations at or below NativeLE
	// (+Inf: all of them, the histogram's count), read from the sample's
	// buckets. NativeLE must be a boundary of the histogram's buckets: a
	// populated bucket that straddles it is a source error naming the
	// boundaries around it.
	NativeLE *float64
}

// IsZero reports whether the selector is unset.
func (s Selector) IsZero() bool { return s.Expr == "" }

func (s Selector) String() string {
	if s.Gauge != nil {
		return fmt.Sprintf("%s (gauge %s)", s.Expr, s.Gauge)
	}
	if s.NativeLE != nil {
		return fmt.Sprintf("%s (native le=%s)", s.Expr, strconv.FormatFloat(*s.NativeLE, 'g', -1, 64))
	}
	if s.LE == nil {
		return s.Expr
	}
	return fmt.Sprintf("%s (le=%s)", s.Expr, strconv.FormatFloat(*s.LE, 'g', -1, 64))
}

// Target is what the puller records for one SLO of the engine.
type Target struct {
	// SLO is the index of the SLO in the evaluator.Engine.
	SLO int
	// GroupBy are the grouping label names, in the SLO's group_by order;
	// empty for an ungrouped SLO. A series without a label gets "".
	GroupBy []string
	// Good, Valid and Bad: exactly two are set. With Bad, good = valid -
	// bad (floored at 0) or valid = good + bad.
	Good, Valid, Bad Selector
	// MaxSeries caps the series the target tracks, across its selectors
	// (slos[].max_series, or max_groups x 20 when left out), shared evenly
	// by its selectors so that a cap reached never leaves one without
	// series; a series over it is not tracked at all, and counted. Zero: no cap beyond the
	// engine's group cap, whose refused groups' series are not tracked
	// either.
	MaxSeries int
}

// role is which of a target's sums a source feeds.
type role int

const (
	roleGood role = iota
	roleValid
	roleBad
)

func (r role) String() string { return [...]string{"good", "valid", "bad"}[r] }

// validate checks a target; name says which SLO it is in errors.
func (t *Target) validate(name string) error {
	n := 0
	for _, s := range []Selector{t.Good, t.Valid, t.Bad} {
		if !s.IsZero() {
			n++
		}
		if s.LE != nil && (math.IsNaN(*s.LE)) {
			return fmt.Errorf("slo %s: selector %q: le is NaN", name, s.Expr)
		}
		if s.IsZero() && s.LE != nil {
			return fmt.Errorf("slo %s: le %v given without a selector", name, *s.LE)
		}
		if err := s.validateNative(); err != nil {
			return fmt.Errorf("slo %s: %w", name, err)
		}
	}
	if n != 2 {
		return fmt.Errorf("slo %s: %d of the good, valid and bad selectors are set (good=%q valid=%q bad=%q): exactly two must be",
			name, n, t.Good.Expr, t.Valid.Expr, t.Bad.Expr)
	}
	if err := t.validateGauges(name); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, l := range t.GroupBy {
		if !model.UTF8Validation.IsValidLabelName(l) || l == model.MetricNameLabel {
			return fmt.Errorf("slo %s: group_by label %q: not a valid label name", name, l)
		}
		if seen[l] {
			return fmt.Errorf("slo %s: group_by label %q: repeated", name, l)
		}
		seen[l] = true
	}
	return nil
}

// validateNative checks a native histogram threshold: a number, on a
// selector that has neither an le filter nor a gauge condition.
func (s Selector) validateNative() error {
	if s.NativeLE == nil {
		return nil
	}
	v := *s.NativeLE
	switch {
	case s.IsZero():
		return fmt.Errorf("native le %v given without a selector", v)
	case math.IsNaN(v):
		return fmt.Errorf("selector %q: native le is NaN", s.Expr)
	case s.LE != nil:
		return fmt.Errorf("selector %q: native le %v and le %v exclude each other: le filters classic _bucket series, native le reads native histograms",
			s.Expr, v, *s.LE)
	case s.Gauge != nil:
		return fmt.Errorf("selector %q: native le %v and gauge condition %s exclude each other", s.Expr, v, s.Gauge)
	}
	return nil
}

// leMatcher matches the "le" label of bucket series by value.
type leMatcher struct {
	want float64
}

// match reports whether the metric's le label parses to the wanted value,
// and whether it has a parsable le label at all.
func (m leMatcher) match(metric model.Metric) (match, hasLE bool) {
	v, ok := metric[model.BucketLabel]
	if !ok {
		return false, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(string(v)), 64)
	if err != nil {
		return false, false
	}
	return f == m.want, true
}

// leBoundaries lists the distinct le values of a result, sorted by value,
// for the error that says which boundaries exist.
func leBoundaries(metrics []model.Metric) []string {
	vals := map[float64]string{}
	for _, m := range metrics {
		if v, ok := m[model.BucketLabel]; ok {
			if f, err := strconv.ParseFloat(string(v), 64); err == nil {
				vals[f] = string(v)
			}
		}
	}
	keys := make([]float64, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Float64s(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = vals[k]
	}
	return slices.Clip(out)
}
