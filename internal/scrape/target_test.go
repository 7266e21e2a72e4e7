package scrape

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

func TestNewPullerErrors(t *testing.T) {
	eng, err := evaluator.New(interval, []evaluator.Spec{{Name: "a", Objective: 0.9, Period: time.Hour}, {Name: "b", Objective: 0.9, Period: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	g, v, b := Selector{Expr: "g"}, Selector{Expr: "v"}, Selector{Expr: "b"}
	for _, tc := range []struct {
		name    string
		targets []Target
		cfg     PullerConfig
		want    string
	}{
		{"ok", []Target{{SLO: 0, Good: g, Valid: v}, {SLO: 1, Bad: b, Valid: v}}, PullerConfig{Interval: interval}, ""},
		{"interval", []Target{{SLO: 0, Good: g, Valid: v}}, PullerConfig{}, "interval 0s: must be at least 1s"},
		{"slo index", []Target{{SLO: 2, Good: g, Valid: v}}, PullerConfig{Interval: interval}, "target 0: slo index 2: the engine has 2 SLOs"},
		{"twice", []Target{{SLO: 0, Good: g, Valid: v}, {SLO: 0, Good: g, Valid: v}}, PullerConfig{Interval: interval}, "slo a: more than one target"},
		{"three selectors", []Target{{SLO: 0, Good: g, Valid: v, Bad: b}}, PullerConfig{Interval: interval}, `slo a: 3 of the good, valid and bad selectors are set (good="g" valid="v" bad="b"): exactly two must be`},
		{"one selector", []Target{{SLO: 1, Valid: v}}, PullerConfig{Interval: interval}, `slo b: 1 of the good`},
		{"le without expr", []Target{{SLO: 0, Good: Selector{LE: le(0.1)}, Valid: v, Bad: b}}, PullerConfig{Interval: interval}, "slo a: le 0.1 given without a selector"},
		{"le NaN", []Target{{SLO: 0, Good: Selector{Expr: "g", LE: le(math.NaN())}, Valid: v}}, PullerConfig{Interval: interval}, `slo a: selector "g": le is NaN`},
		{"group_by name", []Target{{SLO: 0, GroupBy: []string{"__name__"}, Good: g, Valid: v}}, PullerConfig{Interval: interval}, `slo a: group_by label "__name__": not a valid label name`},
		{"group_by repeated", []Target{{SLO: 0, GroupBy: []string{"m", "m"}, Good: g, Valid: v}}, PullerConfig{Interval: interval}, `slo a: group_by label "m": repeated`},
		{"max points", []Target{{SLO: 0, Good: g, Valid: v}}, PullerConfig{Interval: interval, MaxPoints: 1}, "max points 1: must be at least 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPuller(nil, eng, tc.targets, tc.cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				// g, v, b: the shared "v" is queried once.
				if q := p.Queries(); len(q) != 3 {
					t.Errorf("queries %v, want 3 unique", q)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLEMatch(t *testing.T) {
	for _, tc := range []struct {
		le    string
		want  float64
		match bool
		has   bool
	}{
		{"0.2", 0.2, true, true},
		{"0.20", 0.2, true, true},
		{"2e-01", 0.2, true, true},
		{"+Inf", math.Inf(1), true, true},
		{"Inf", math.Inf(1), true, true},
		{"0.25", 0.2, false, true},
		{"abc", 0.2, false, false},
	} {
		m, has := leMatcher{want: tc.want}.match(model.Metric{"le": model.LabelValue(tc.le)})
		if m != tc.match || has != tc.has {
			t.Errorf("le %q vs %v: match %v has %v, want %v %v", tc.le, tc.want, m, has, tc.match, tc.has)
		}
	}
	if m, has := (leMatcher{want: 1}).match(model.Metric{"x": "1"}); m || has {
		t.Error("a series without le matched")
	}
	got := leBoundaries([]model.Metric{{"le": "+Inf"}, {"le": "0.20"}, {"le": "0.1"}, {"le": "0.2"}, {"x": "y"}})
	if strings.Join(got, ",") != "0.1,0.2,+Inf" && strings.Join(got, ",") != "0.1,0.20,+Inf" {
		t.Errorf("boundaries %v", got)
	}
}
