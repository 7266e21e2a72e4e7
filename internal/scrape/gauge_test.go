package scrape

import (
	"math"
	"strings"
	"testing"
)

func TestConditionHolds(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		op   string
		v    float64
		want bool
	}{
		{"", 1e9, true}, {"", nan, true},
		{"<=", 300, true}, {"<=", 300.5, false}, {"<", 300, false}, {"<", 299.9, true},
		{">=", 300, true}, {">", 300, false}, {">", inf, true}, {"<=", -inf, true}, {"<=", inf, false},
		{"==", 300, true}, {"!=", 300, false}, {"!=", 1, true},
		// NaN fails every comparison but != (as in PromQL and IEEE 754).
		{"<=", nan, false}, {">=", nan, false}, {"==", nan, false}, {"!=", nan, true},
	}
	for _, c := range cases {
		cond := Condition{Op: c.op, Value: 300}
		if got := cond.Holds(c.v); got != c.want {
			t.Errorf("%v %s: %v, want %v", c.v, cond, got, c.want)
		}
	}
}

func TestGaugeTargetValidation(t *testing.T) {
	le := 0.2
	g := func(op string) *Condition { return &Condition{Op: op, Value: 300} }
	cases := []struct {
		name string
		t    Target
		err  string // "" for valid
	}{
		{"good and valid gauges", Target{Good: Selector{Expr: "f", Gauge: g("<=")}, Valid: Selector{Expr: "f", Gauge: &Condition{}}}, ""},
		{"bad and valid gauges", Target{Bad: Selector{Expr: "f", Gauge: g(">")}, Valid: Selector{Expr: "f", Gauge: &Condition{}}}, ""},
		{"gauge mixed with counter", Target{Good: Selector{Expr: "f", Gauge: g("<=")}, Valid: Selector{Expr: "c_total"}}, "1 of 2 selectors read gauges"},
		{"unknown operator", Target{Good: Selector{Expr: "f", Gauge: g("=<")}, Valid: Selector{Expr: "f", Gauge: &Condition{}}}, `operator "=<"`},
		{"NaN bound", Target{Good: Selector{Expr: "f", Gauge: &Condition{Op: "<", Value: math.NaN()}}, Valid: Selector{Expr: "f", Gauge: &Condition{}}}, "bound is NaN"},
		{"gauge with le", Target{Good: Selector{Expr: "f", LE: &le, Gauge: g("<=")}, Valid: Selector{Expr: "f", Gauge: &Condition{}}}, "exclude each other"},
	}
	for _, c := range cases {
		err := c.t.validate("s")
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.err)
		}
	}
}

// TestGaugeEventsPull checks the per-pull counting: one event per series,
// counted when within the bound, and pulls not after the last refused.
func TestGaugeEventsPull(t *testing.T) {
	g := newIncrementer(Selector{Expr: "f", Gauge: &Condition{Op: "<=", Value: 300}}, 0, 0)
	if !g.Begin(1000) {
		t.Fatal("first pull refused")
	}
	var sum float64
	for i, v := range []float64{10, 300, 301, math.NaN()} {
		inc, ok := g.ObserveSample(uint64(i), 1000, v)
		if !ok {
			t.Fatalf("sample %v not counted", v)
		}
		sum += inc
	}
	g.End()
	if sum != 2 || g.Len() != 4 {
		t.Errorf("good %v of %d series, want 2 of 4", sum, g.Len())
	}
	if g.Begin(1000) || g.Stats().RefusedPulls != 1 {
		t.Errorf("a pull at the same time was not refused: %+v", g.Stats())
	}
	if last, ok := g.Last(); !ok || last != 1000 {
		t.Errorf("last %d %v", last, ok)
	}
}
