package evaluator

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"
)

const day = 24 * time.Hour

func TestBudgetDurationScenario(t *testing.T) {
	tests := []struct {
		objective float64
		period    time.Duration
		want      time.Duration
	}{
		{0.99, 30 * day, 432 * time.Minute},
		{0.995, 30 * day, 216 * time.Minute},
		{0.999, 30 * day, 43*time.Minute + 12*time.Second},
		{0.9999, 30 * day, 4*time.Minute + 19*time.Second + 200*time.Millisecond},
		{0.95, 30 * day, 36 * time.Hour},
	}
	for _, tc := range tests {
		if got := BudgetDuration(tc.objective, tc.period); (got - tc.want).Abs() > time.Millisecond {
			t.Errorf("BudgetDuration(%v, %s) = %s, want %s", tc.objective, tc.period, got, tc.want)
		}
	}
}

func TestTierThresholdsScenario(t *testing.T) {
	tests := []struct {
		period time.Duration
		want   []string
	}{
		{30 * day, []string{"14.4", "6", "3", "1"}},
		{28 * day, []string{"13.44", "5.6", "2.8", "0.933333333333"}},
		{7 * day, []string{"3.36", "1.4", "0.7", "0.233333333333"}},
	}
	for _, tc := range tests {
		for i, tier := range slo.DefaultTiers() {
			if got := slo.FormatFloat(tier.Threshold(tc.period)); got != tc.want[i] {
				t.Errorf("%s threshold for %s = %s, want %s", tier.Name, tc.period, got, tc.want[i])
			}
		}
	}
}

func TestFormatFloat(t *testing.T) {
	for in, want := range map[float64]string{0.9990000000000001: "0.999", 14.399999999999999: "14.4", 1e-4: "0.0001", 3: "3"} {
		if got := slo.FormatFloat(in); got != want {
			t.Errorf("slo.FormatFloat(%v) = %s, want %s", in, got, want)
		}
	}
}

// newEngine builds a one-SLO engine with the default tiers.
func newEngine(t testing.TB, obj float64, period time.Duration) *Engine {
	t.Helper()
	var tiers []Tier
	for _, tr := range slo.DefaultTiers() {
		if tr.LongWindow <= period {
			tiers = append(tiers, tr)
		}
	}
	e, err := New(30*time.Second, []Spec{{Name: "s", Service: "svc", Objective: obj, Period: period,
		Windows: []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, day},
		Tiers:   tiers}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestZoneBoundaries sets budget remaining to exactly 75%, 25% and 0% (and
// just around them) and checks the zone.
func TestZoneBoundaries(t *testing.T) {
	tests := []struct {
		bad  float64 // bad events out of 100000 valid at 99% (allowed 1000)
		want string
	}{
		{0, "green"}, {250, "green"}, {251, "yellow"}, {750, "yellow"}, {751, "orange"},
		{1000, "orange"}, {1001, "red"}, {100000, "red"},
	}
	for _, tc := range tests {
		e := newEngine(t, 0.99, 30*day)
		g, _ := e.Group(0, nil, 0)
		if err := g.Record(0, 30000, 100000-tc.bad, 100000); err != nil {
			t.Fatal(err)
		}
		r := e.Evaluate(time.UnixMilli(30000)).SLOs[0]
		gr := r.Groups[0]
		if got := r.Spec.Zones[gr.Zone].Name; got != tc.want {
			t.Errorf("bad %v (remaining %v): zone %s, want %s", tc.bad, gr.Budget.RemainingRatio, got, tc.want)
		}
	}
}

func TestNoValidEventsIsAbsent(t *testing.T) {
	e := newEngine(t, 0.999, 30*day)
	g, _ := e.Group(0, nil, 0)
	if err := g.Record(0, 30000, 0, 0); err != nil {
		t.Fatal(err)
	}
	r := e.Evaluate(time.UnixMilli(30000)).SLOs[0]
	gr := r.Groups[0]
	for i, w := range gr.Windows {
		if w.HasSLI || w.SLI != 0 || w.BurnRate != 0 || math.IsNaN(w.SLI) {
			t.Errorf("window %s without events has an SLI: %+v", r.Windows[i], w)
		}
	}
	if gr.Budget.OK || gr.Zone != -1 {
		t.Errorf("budget without events: %+v zone %d", gr.Budget, gr.Zone)
	}
	for i, a := range gr.Alerts {
		if a {
			t.Errorf("tier %s fires without data", r.Tiers[i].Name)
		}
	}
}

func TestSpecErrors(t *testing.T) {
	tier := func(name string, frac float64, long, short time.Duration) []Tier {
		return []Tier{{Name: name, BudgetFraction: frac, LongWindow: long, ShortWindow: short}}
	}
	tests := []struct {
		spec Spec
		want string
	}{
		{Spec{Name: "a", Objective: 1, Period: day}, `slo "a": objective 1: must be a ratio in (0, 1)`},
		{Spec{Name: "a", Objective: 99.9, Period: day}, `slo "a": objective 99.9: must be a ratio in (0, 1)`},
		{Spec{Name: "b", Objective: 0.9, Period: 30 * day, Tiers: tier("fast", 0.02, time.Hour, time.Hour)},
			`slo "b": tier "fast": short window 1h0m0s must be positive and shorter than the long window 1h0m0s`},
		{Spec{Name: "c", Objective: 0.95, Period: 30 * day, Tiers: tier("fast", 0.02, time.Hour, 5*time.Minute)},
			`slo "c": tier "fast": threshold 14.4 exceeds the maximum possible burn rate 20 (1 / (1 - objective)), so it can never fire`[:0] + ""},
		{Spec{Name: "d", Objective: 0.9, Period: 30 * day, Tiers: tier("fast", 0.02, time.Hour, 5*time.Minute)},
			`slo "d": tier "fast": threshold 14.4 exceeds the maximum possible burn rate 10 (1 / (1 - objective)), so it can never fire`},
		{Spec{Name: "e", Objective: 0.99, Period: 7 * day, Tiers: tier("long", 0.1, 30*day, 6*time.Hour)},
			`slo "e": tier "long": long window 720h0m0s is longer than the period 168h0m0s`},
		{Spec{Name: "f", Objective: 0.99, Period: day, Windows: []time.Duration{45 * time.Second}},
			`slo "f": window 45s: must be a multiple of the evaluation interval 30s`},
	}
	for _, tc := range tests {
		_, err := New(30*time.Second, []Spec{tc.spec})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.spec.Name, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("%s: error %v, want %q", tc.spec.Name, err, tc.want)
		}
	}
}

func TestRecordStats(t *testing.T) {
	e := newEngine(t, 0.99, day)
	g, _ := e.Group(0, nil, 0)
	_ = g.Record(0, 30000, 5, 3)              // clamped to 3/3
	_ = g.Record(0, 30000, 1, 1)              // out of order
	_ = g.Record(30000, 60000, math.NaN(), 1) // invalid
	_ = g.Record(30000, 60000, 1, -1)         // invalid
	st := e.Stats()
	if st.Clamped != 1 || st.OutOfOrder != 1 || st.Invalid != 2 {
		t.Errorf("stats %+v, want clamped 1, out of order 1, invalid 2", st)
	}
	w := e.Evaluate(time.UnixMilli(60000)).SLOs[0].Groups[0].Windows[0]
	if w.Good != 3 || w.Valid != 3 {
		t.Errorf("window after bad input = %+v, want good 3 valid 3", w)
	}
}

func TestGroupCapAndExpiry(t *testing.T) {
	e, err := New(30*time.Second, []Spec{{Name: "g", Objective: 0.99, Period: time.Hour, MaxGroups: 2}})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := e.Group(0, []Label{{"model", "a"}}, 0)
	if _, err := e.Group(0, []Label{{"model", "b"}}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Group(0, []Label{{"model", "c"}}, 0); err != ErrTooManyGroups {
		t.Fatalf("third group: %v, want ErrTooManyGroups", err)
	}
	_ = a.Record(0, 30000, 1, 1)
	snap := e.Evaluate(time.UnixMilli(30000 + time.Hour.Milliseconds() + 1))
	if n := len(snap.SLOs[0].Groups); n != 0 || snap.Stats.GroupsExpired != 2 || snap.Stats.GroupsRefused != 1 {
		t.Errorf("after a silent period: %d groups, stats %+v", n, snap.Stats)
	}
	if err := a.Record(30000, 60000, 1, 1); err != ErrGroupExpired {
		t.Errorf("record on expired group: %v", err)
	}
}

// TestDetectionTimeFormula: from a clean baseline, a constant error ratio e
// fires a tier after budget_fraction x period x (1 - objective) / e. At
// 99.9%, 30d and e = 100% the fast tier needs 51.84 s: with 30 s ticks it
// must fire at the 60 s tick, not at 30 s.
func TestDetectionTimeFormula(t *testing.T) {
	tests := []struct {
		errRatio float64
		tier     int
		want     time.Duration
	}{
		{1, 0, 60 * time.Second},               // 51.84s -> first tick after it
		{0.5, 0, 2 * time.Minute},              // 103.68s
		{0.1, 0, 9 * time.Minute},              // 518.4s
		{1, 2, 4*time.Minute + 30*time.Second}, // slow tier: 0.1*30d*0.001 = 259.2s
	}
	for _, tc := range tests {
		e := newEngine(t, 0.999, 30*day)
		g, _ := e.Group(0, nil, 0)
		ts := int64(0)
		// 3 days clean, 100 events per tick.
		for range 3 * 2880 {
			ts += 30000
			_ = g.Record(ts-30000, ts, 100, 100)
		}
		var fired time.Duration
		for i := 1; i <= 10000 && fired == 0; i++ {
			ts += 30000
			_ = g.Record(ts-30000, ts, 100*(1-tc.errRatio), 100)
			if e.Evaluate(time.UnixMilli(ts)).SLOs[0].Groups[0].Alerts[tc.tier] {
				fired = time.Duration(i) * 30 * time.Second
			}
		}
		if fired != tc.want {
			t.Errorf("e=%v tier %d fired after %s, want %s", tc.errRatio, tc.tier, fired, tc.want)
		}
	}
}

// TestPropertyAgainstBruteForce drives random traffic with incidents through
// the engine and recomputes SLI, burn rate, budget and alerts independently
// from the raw per-tick events.
func TestPropertyAgainstBruteForce(t *testing.T) {
	const obj = 0.995
	period := 7 * day
	for seed := uint64(1); seed <= 3; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		e, err := New(30*time.Second, []Spec{{Name: "p", Objective: obj, Period: period,
			Windows: []time.Duration{5 * time.Minute, time.Hour}, Tiers: slo.DefaultTiers()[:3]}})
		if err != nil {
			t.Fatal(err)
		}
		g, _ := e.Group(0, nil, 0)
		type tick struct {
			t           int64
			good, valid float64
		}
		var ticks []tick
		ts := int64(1_700_000_010_000) / 30000 * 30000
		errRatio := 0.001
		for i := 0; i < 9*2880; i++ {
			ts += 30000
			if rng.IntN(500) == 0 {
				errRatio = []float64{0.001, 0.05, 0.5, 1}[rng.IntN(4)]
			}
			valid := float64(rng.IntN(200))
			bad := math.Round(valid * errRatio * 2 * rng.Float64())
			bad = min(bad, valid)
			_ = g.Record(ts-30000, ts, valid-bad, valid)
			ticks = append(ticks, tick{ts, valid - bad, valid})
			// Evaluate every tick (running totals), check every hour, when
			// every window is exact (the windows package proves the bound
			// in between).
			r := e.Evaluate(time.UnixMilli(ts)).SLOs[0]
			if ts%time.Hour.Milliseconds() != 0 || i < 2880 {
				continue
			}
			gr := r.Groups[0]
			sum := func(w time.Duration) (good, valid float64) {
				for _, k := range ticks {
					if k.t > ts-w.Milliseconds() && k.t <= ts {
						good += k.good
						valid += k.valid
					}
				}
				return
			}
			burn := map[time.Duration]float64{}
			for wi, w := range r.Windows {
				good, valid := sum(w)
				got := gr.Windows[wi]
				if got.Good != good || got.Valid != valid {
					t.Fatalf("seed %d tick %d window %s: %v/%v, want %v/%v", seed, i, w, got.Good, got.Valid, good, valid)
				}
				if valid == 0 {
					if got.HasSLI {
						t.Fatalf("SLI without events")
					}
					continue
				}
				sli := good / valid
				burn[w] = (1 - sli) / (1 - obj)
				if math.Abs(got.SLI-sli) > 1e-12 || math.Abs(got.BurnRate-burn[w]) > 1e-9 {
					t.Fatalf("window %s: sli %v burn %v, want %v %v", w, got.SLI, got.BurnRate, sli, burn[w])
				}
			}
			good, valid := sum(period)
			allowed := (1 - obj) * valid
			remaining := 1 - (valid-good)/allowed
			if math.Abs(gr.Budget.RemainingRatio-remaining) > 1e-9 ||
				math.Abs(gr.Budget.RemainingEvents-(allowed-(valid-good))) > 1e-6 {
				t.Fatalf("budget %+v, want remaining %v", gr.Budget, remaining)
			}
			for ti, tr := range r.Tiers {
				th := tr.BudgetFraction * float64(period) / float64(tr.LongWindow)
				want := burn[tr.LongWindow] > th && burn[tr.ShortWindow] > th
				if gr.Alerts[ti] != want {
					t.Fatalf("tier %s: %v, want %v (burn %v/%v, threshold %v)", tr.Name, gr.Alerts[ti], want,
						burn[tr.LongWindow], burn[tr.ShortWindow], th)
				}
			}
			if b := burn[time.Hour]; b > 0 && remaining > 0 {
				want := remaining * period.Seconds() / b
				if math.Abs(gr.Budget.ExhaustionSeconds-want) > 1e-6*want {
					t.Fatalf("exhaustion %v, want %v", gr.Budget.ExhaustionSeconds, want)
				}
			}
		}
	}
}

// TestGroupsSortedAndLabelled: groups come out sorted by labels.
func TestGroupsSortedAndLabelled(t *testing.T) {
	e := newEngine(t, 0.99, day)
	for _, m := range []string{"resnet50", "bert-base", "llama-7b"} {
		g, _ := e.Group(0, []Label{{"model", m}}, 0)
		_ = g.Record(0, 30000, 1, 1)
	}
	var got []string
	for _, gr := range e.Evaluate(time.UnixMilli(30000)).SLOs[0].Groups {
		got = append(got, gr.Labels[0].Value)
	}
	if strings.Join(got, ",") != "bert-base,llama-7b,resnet50" {
		t.Errorf("group order %v", got)
	}
}

// BenchmarkTick measures one evaluation tick of 10,000 groups of a 30d SLO:
// record one increment per group, then evaluate every window, budget and
// tier. Allocations are per tick (a few slices per SLO), not per group.
func BenchmarkTick(b *testing.B) {
	for _, groups := range []int{1000, 10000} {
		b.Run(itoa(groups)+"groups", func(b *testing.B) {
			e := newEngine(b, 0.999, 30*day)
			e.slos[0].spec.MaxGroups = groups
			gs := make([]*Group, groups)
			for i := range gs {
				gs[i], _ = e.Group(0, []Label{{"model", itoa(i)}}, 0)
			}
			ts := int64(0)
			tick := func() {
				ts += 30000
				for _, g := range gs {
					_ = g.Record(ts-30000, ts, 99, 100)
				}
				e.Evaluate(time.UnixMilli(ts))
			}
			for range 200 {
				tick()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				tick()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(groups), "ns/group")
		})
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{digits[i%10]}, b...)
	}
	return string(b)
}

func TestFormatWindow(t *testing.T) {
	for d, want := range map[time.Duration]string{5 * time.Minute: "5m", time.Hour: "1h", 24 * time.Hour: "1d",
		7 * 24 * time.Hour: "7d", 30 * 24 * time.Hour: "30d", 90*time.Minute + 30*time.Second: "1h30m30s",
		31*24*time.Hour + time.Hour: "31d1h", 0: "0s"} {
		if got := slo.FormatWindow(d); got != want {
			t.Errorf("slo.FormatWindow(%s) = %s, want %s", d, got, want)
		}
	}
}
