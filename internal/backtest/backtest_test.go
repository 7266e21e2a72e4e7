package backtest

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

const step = 30 * time.Second

// incident is a constant error ratio over [start, start+length).
type incident struct {
	start, length time.Duration
	errRatio      float64
}

// synthetic builds a 99.9%/30d engine and a feed of 100 events per step
// with the given incidents after origin.
func synthetic(t *testing.T, origin time.Time, incs []incident) (*evaluator.Engine, Feed) {
	t.Helper()
	eng, err := evaluator.New(step, []evaluator.Spec{{Name: "api", Service: "model-api", Objective: 0.999,
		Period: 30 * 24 * time.Hour, Tiers: slo.DefaultTiers(),
		Windows: []time.Duration{step, 5 * time.Minute, time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := eng.Group(0, nil, origin.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	feed := func(ts time.Time) error {
		ratio := 0.0
		for _, in := range incs {
			s := origin.Add(in.start)
			if ts.After(s) && !ts.After(s.Add(in.length)) {
				ratio = in.errRatio
			}
		}
		return g.Record(ts.Add(-step).UnixMilli(), ts.UnixMilli(), 100*(1-ratio), 100)
	}
	return eng, feed
}

// TestDetectionAndResetMatchFormula: from a clean baseline, a constant error
// ratio e fires a tier after budget fraction x period x (1 - objective) / e
// (rounded up to the next step), and the fast tier resets one short window
// after the incident ends.
func TestDetectionAndResetMatchFormula(t *testing.T) {
	origin := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	period := 30 * 24 * time.Hour
	for _, e := range []float64{1, 0.5, 0.2} {
		incStart := 6 * time.Hour
		eng, feed := synthetic(t, origin, []incident{{incStart, 45 * time.Minute, e}})
		rep, err := Run(eng, origin, origin.Add(9*time.Hour), step, feed, Options{})
		if err != nil {
			t.Fatal(err)
		}
		fast := rep.Groups[0].Tiers[0]
		formula := 0.02 * period.Seconds() * (1 - 0.999) / e
		// The first step strictly after the formula: a tier fires only above
		// its threshold.
		want := (math.Floor(formula/step.Seconds()+1e-9) + 1) * step.Seconds()
		if len(fast.DetectionSeconds) != 1 || fast.DetectionSeconds[0] != want {
			t.Errorf("e=%v: fast detection %v s, want %v s (formula %v s)", e, fast.DetectionSeconds, want, formula)
		}
		// The 5m window drains within 5m of the end; the alert stops at the
		// first step where less than 14.4x the budget rate remains in it.
		if len(fast.ResetSeconds) != 1 || fast.ResetSeconds[0] > 300 || fast.ResetSeconds[0] < 240 {
			t.Errorf("e=%v: fast reset %v s, want within (240, 300]", e, fast.ResetSeconds)
		}
	}
}

// TestPrecisionRecall mixes two real incidents (100% errors for 10 minutes:
// 23% of a 43.2-minute budget each) with noise (1% errors for 2 minutes,
// burn 10 but negligible spend) and checks what each tier reports.
func TestPrecisionRecall(t *testing.T) {
	origin := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	incs := []incident{
		{2 * time.Hour, 10 * time.Minute, 1},
		{3 * time.Hour, 2 * time.Minute, 0.01}, // noise
		{5 * time.Hour, 2 * time.Minute, 0.01}, // noise
		{8 * time.Hour, 10 * time.Minute, 1},
	}
	eng, feed := synthetic(t, origin, incs)
	rep, err := Run(eng, origin, origin.Add(12*time.Hour), step, feed, Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := rep.Groups[0]
	if len(g.Events) != 4 {
		t.Fatalf("events %+v, want 4 incidents", g.Events)
	}
	sig := 0
	for _, ev := range g.Events {
		if ev.Significant {
			sig++
			// 10 minutes of 100% errors at 99.9% over 30d: burn 1000 for
			// 600 s = 600000/2592000 = 23.1% of the budget.
			if want := 1000 * 600.0 / (30 * 86400); math.Abs(ev.BudgetSpent-want) > 1e-9 {
				t.Errorf("significant event spent %v, want %v", ev.BudgetSpent, want)
			}
		}
	}
	if sig != 2 {
		t.Errorf("%d significant events, want 2", sig)
	}
	fast := g.Tiers[0]
	if len(fast.Alerts) != 2 || *fast.Precision != 1 || *fast.Recall != 1 {
		t.Errorf("fast tier: %d alerts, precision %v recall %v; want 2, 1, 1", len(fast.Alerts), deref(fast.Precision), deref(fast.Recall))
	}

	// Demanding half the budget within the hour makes both incidents
	// insignificant: every alert is then a false positive.
	eng, feed = synthetic(t, origin, incs)
	rep, err = Run(eng, origin, origin.Add(12*time.Hour), step, feed, Options{SignificantFraction: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	fast = rep.Groups[0].Tiers[0]
	if fast.Precision == nil || *fast.Precision != 0 || fast.Recall != nil {
		t.Errorf("with a 90%% bar: precision %v recall %v, want 0 and undefined", deref(fast.Precision), deref(fast.Recall))
	}
}

func TestRunNeedsWindows(t *testing.T) {
	eng, _ := evaluator.New(step, []evaluator.Spec{{Name: "x", Objective: 0.99, Period: 24 * time.Hour}})
	_, err := Run(eng, time.Unix(0, 0), time.Unix(60, 0), step, func(time.Time) error { return nil }, Options{})
	if err == nil || err.Error() != `slo "x": backtest needs the step 30s as a window` {
		t.Errorf("error = %v", err)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestWriteTable(t *testing.T) {
	origin := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	eng, feed := synthetic(t, origin, []incident{{time.Hour, 10 * time.Minute, 1}})
	rep, err := Run(eng, origin, origin.Add(3*time.Hour), step, feed, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	// The fast tier detects 100% errors after 51.84 s: at the 60 s step; it
	// resets one 5m short window after the end.
	fastRow := "fast page 14.4 1 1 1 1m0s 5m0s"
	var rows []string
	for _, line := range strings.Split(b.String(), "\n") {
		rows = append(rows, strings.Join(strings.Fields(line), " "))
	}
	if !slices.Contains(rows, fastRow) {
		t.Errorf("table lacks the row %q:\n%s", fastRow, b.String())
	}
	for _, want := range []string{"api: 1 incidents, 1 significant", "* incident", "2026-11-01T01:00:00Z", "budget 23.148%"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestLongestTierWindow(t *testing.T) {
	tiers := func(ws ...time.Duration) []evaluator.Tier {
		var out []evaluator.Tier
		for _, w := range ws {
			out = append(out, evaluator.Tier{LongWindow: w, ShortWindow: w / 12})
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		specs []evaluator.Spec
		want  time.Duration
	}{
		{"none", nil, 0},
		{"no tiers", []evaluator.Spec{{}}, 0},
		{"across specs", []evaluator.Spec{{Tiers: tiers(time.Hour, 6*time.Hour)}, {Tiers: tiers(3 * 24 * time.Hour)}}, 3 * 24 * time.Hour},
	} {
		if got := LongestTierWindow(tc.specs); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestWithStepWindow: the step is added to every spec's windows, and the
// caller's specs (a plan's, shared with others) are left as they were.
func TestWithStepWindow(t *testing.T) {
	in := []evaluator.Spec{{Name: "a", Windows: make([]time.Duration, 1, 4)}, {Name: "b"}}
	in[0].Windows[0] = time.Hour
	out := withStepWindow(in, 30*time.Second)
	if len(in[0].Windows) != 1 || in[0].Windows[:2][1] != 0 || len(in[1].Windows) != 0 {
		t.Errorf("input changed: %v", in)
	}
	if !slices.Equal(out[0].Windows, []time.Duration{time.Hour, 30 * time.Second}) || !slices.Equal(out[1].Windows, []time.Duration{30 * time.Second}) {
		t.Errorf("windows %v, %v", out[0].Windows, out[1].Windows)
	}
}
