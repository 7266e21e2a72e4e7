package evaluator

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/calendar"
)

// compRecord is one recorded interval of one component.
type compRecord struct {
	from, to    int64
	good, valid float64
}

// bruteSLI sums a component's records inside (t-w, t] (records are one
// interval long and aligned, so each is wholly in or out) and returns its
// SLI and whether it has one.
func bruteSLI(recs []compRecord, t int64, w time.Duration) (float64, bool) {
	var good, valid float64
	for _, r := range recs {
		if r.to > t-w.Milliseconds() && r.to <= t {
			good += r.good
			valid += r.valid
		}
	}
	if valid == 0 {
		return 0, false
	}
	return good / valid, true
}

// TestCompositeAgainstBruteForce feeds random traffic (with idle spells,
// so components drop out of short windows) into two or three components
// and checks every window of weighted and product composites against the
// formula applied to brute-force component SLIs.
func TestCompositeAgainstBruteForce(t *testing.T) {
	const iv = 30 * time.Second
	period := 6 * time.Hour
	windows := []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, period}
	tiers := []Tier{{Name: "fast", Severity: "page", BudgetFraction: 0.02, LongWindow: time.Hour, ShortWindow: 5 * time.Minute}}
	tests := []struct {
		name    string
		combine Combine
		weights []float64
	}{
		{"weighted 2:1", CombineWeighted, []float64{2, 1}},
		{"weighted default weights", "", []float64{0, 0}},
		{"weighted three", CombineWeighted, []float64{0.5, 3, 1.5}},
		{"product", CombineProduct, []float64{0, 0}},
		{"product three", CombineProduct, []float64{0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var specs []Spec
			comp := &Composite{Combine: tc.combine}
			for i, w := range tc.weights {
				specs = append(specs, Spec{Name: "c" + string(rune('a'+i)), Objective: 0.99, Period: period, Windows: windows})
				comp.Components = append(comp.Components, Component{SLO: i, Weight: w})
			}
			specs = append(specs, Spec{Name: "journey", Objective: 0.995, Period: period, Windows: windows,
				Tiers: tiers, Composite: comp})
			e, err := New(iv, specs)
			if err != nil {
				t.Fatal(err)
			}
			n := len(tc.weights)
			recs := make([][]compRecord, n)
			groups := make([]*Group, n)
			for i := range groups {
				if groups[i], err = e.Group(i, nil, 0); err != nil {
					t.Fatal(err)
				}
			}
			rng := rand.New(rand.NewPCG(7, uint64(n)))
			start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
			steps := int(period/iv) + 200
			for k := 1; k <= steps; k++ {
				to := start + int64(k)*iv.Milliseconds()
				for i, g := range groups {
					// Component i is idle in its own spells, so windows
					// see one, some or all components.
					if (k/(40+17*i))%5 == 4 {
						continue
					}
					valid := float64(rng.IntN(50) + 1)
					errRatio := 0.002
					if (k/90+i)%7 == 0 {
						errRatio = 0.2 + 0.1*float64(i)
					}
					good := math.Round(valid * (1 - errRatio*rng.Float64()*2))
					good = max(0, min(valid, good))
					if err := g.Record(to-iv.Milliseconds(), to, good, valid); err != nil {
						t.Fatal(err)
					}
					recs[i] = append(recs[i], compRecord{to - iv.Milliseconds(), to, good, valid})
				}
				if k%37 != 0 && k != steps {
					continue
				}
				snap := e.Evaluate(time.UnixMilli(to))
				r := snap.SLOs[n]
				if !r.Composite || len(r.Groups) != 1 {
					t.Fatalf("step %d: composite=%v with %d groups, want one", k, r.Composite, len(r.Groups))
				}
				g := r.Groups[0]
				for wi, w := range r.Windows {
					want, has := expectedComposite(tc.combine, tc.weights, recs, to, w)
					got := g.Windows[wi]
					if got.HasSLI != has || (has && math.Abs(got.SLI-want) > 1e-12) {
						t.Fatalf("step %d window %s: SLI %v (has %v), want %v (has %v)", k, w, got.SLI, got.HasSLI, want, has)
					}
					if has && math.Abs(got.BurnRate-(1-want)/0.005) > 1e-9 {
						t.Fatalf("step %d window %s: burn %v, want %v", k, w, got.BurnRate, (1-want)/0.005)
					}
				}
				pw, has := expectedComposite(tc.combine, tc.weights, recs, to, period)
				if g.Budget.OK != has || (has && math.Abs(g.Budget.RemainingRatio-(1-(1-pw)/0.005)) > 1e-9) {
					t.Fatalf("step %d: budget %+v, want remaining %v", k, g.Budget, 1-(1-pw)/0.005)
				}
				long, _ := expectedComposite(tc.combine, tc.weights, recs, to, time.Hour)
				short, _ := expectedComposite(tc.combine, tc.weights, recs, to, 5*time.Minute)
				th := 0.02 * float64(period) / float64(time.Hour)
				if fire := (1-long)/0.005 > th && (1-short)/0.005 > th; g.Alerts[0] != fire {
					t.Fatalf("step %d: fast alert %v, want %v (long SLI %v, short %v)", k, g.Alerts[0], fire, long, short)
				}
			}
		})
	}
}

// expectedComposite applies the documented formula to brute-force SLIs.
func expectedComposite(c Combine, weights []float64, recs [][]compRecord, t int64, w time.Duration) (float64, bool) {
	num, den := 0.0, 0.0
	if c == CombineProduct {
		num = 1
	}
	for i, wt := range weights {
		if wt == 0 {
			wt = 1
		}
		sli, ok := bruteSLI(recs[i], t, w)
		if !ok {
			continue
		}
		if c == CombineProduct {
			num, den = num*sli, 1
		} else {
			num, den = num+wt*sli, den+wt
		}
	}
	if den == 0 {
		return 0, false
	}
	return num / den, true
}

// TestCompositeHandComputed checks one evaluation against numbers worked
// out by hand, including a component without traffic dropping out.
func TestCompositeHandComputed(t *testing.T) {
	const iv = 30 * time.Second
	specs := []Spec{
		{Name: "feature-store", Objective: 0.999, Period: time.Hour, Windows: []time.Duration{5 * time.Minute}},
		{Name: "model-api", Objective: 0.99, Period: time.Hour, Windows: []time.Duration{5 * time.Minute}},
		{Name: "idle", Objective: 0.99, Period: time.Hour, Windows: []time.Duration{5 * time.Minute}},
		{Name: "weighted", Objective: 0.99, Period: time.Hour, Windows: []time.Duration{5 * time.Minute},
			Composite: &Composite{Components: []Component{{SLO: 0, Weight: 2}, {SLO: 1, Weight: 1}, {SLO: 2, Weight: 5}}}},
		{Name: "journey", Objective: 0.99, Period: time.Hour, Windows: []time.Duration{5 * time.Minute},
			Composite: &Composite{Combine: CombineProduct, Components: []Component{{SLO: 0}, {SLO: 1}, {SLO: 2}}}},
	}
	e, err := New(iv, specs)
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := e.Group(0, nil, 0)
	api, _ := e.Group(1, nil, 0)
	if _, err := e.Group(2, nil, 0); err != nil { // a group, but no events
		t.Fatal(err)
	}
	// feature-store: 1000 lookups, 990 good (SLI 0.99); model-api: 400
	// requests, 300 good (SLI 0.75).
	if err := fs.Record(0, 30_000, 990, 1000); err != nil {
		t.Fatal(err)
	}
	if err := api.Record(0, 30_000, 300, 400); err != nil {
		t.Fatal(err)
	}
	e.SetDataUp(0, true)
	e.SetDataUp(1, true)
	e.SetDataUp(2, true)
	snap := e.Evaluate(time.UnixMilli(60_000))
	w := snap.SLOs[3].Groups[0].Period
	// (2 x 0.99 + 1 x 0.75) / 3 = 0.91; idle has no SLI and drops out.
	if math.Abs(w.SLI-0.91) > 1e-12 || math.Abs(w.BurnRate-9) > 1e-9 || math.Abs(snap.SLOs[3].Groups[0].Budget.RemainingRatio+8) > 1e-9 {
		t.Errorf("weighted: SLI %v burn %v remaining %v, want 0.91, 9, -8", w.SLI, w.BurnRate, snap.SLOs[3].Groups[0].Budget.RemainingRatio)
	}
	// 0.99 x 0.75 = 0.7425.
	if p := snap.SLOs[4].Groups[0].Period; math.Abs(p.SLI-0.7425) > 1e-12 || math.Abs(p.BurnRate-25.75) > 1e-9 {
		t.Errorf("product: SLI %v burn %v, want 0.7425, 25.75", p.SLI, p.BurnRate)
	}
	// Coverage: feature-store and model-api cover 30s of 1h, idle nothing:
	// (2 x c + 1 x c + 5 x 0) / 8.
	c := snap.SLOs[0].Groups[0].Period.Coverage
	if got := snap.SLOs[3].Groups[0].Period.Coverage; math.Abs(got-3*c/8) > 1e-12 {
		t.Errorf("weighted coverage %v, want %v", got, 3*c/8)
	}
	if !snap.SLOs[3].DataUp {
		t.Error("composite not up although every component is")
	}
	e.SetDataUp(1, false)
	if snap := e.Evaluate(time.UnixMilli(90_000)); snap.SLOs[3].DataUp || snap.SLOs[4].DataUp {
		t.Error("composite up although model-api is down")
	}
}

func TestCompositeWithoutComponentGroups(t *testing.T) {
	e, err := New(30*time.Second, []Spec{
		{Name: "a", Objective: 0.99, Period: time.Hour},
		{Name: "b", Objective: 0.99, Period: time.Hour},
		{Name: "ab", Objective: 0.99, Period: time.Hour, Composite: &Composite{Components: []Component{{SLO: 0}, {SLO: 1}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Group(2, nil, 0); !errors.Is(err, ErrComposite) {
		t.Errorf("Group on a composite: %v, want ErrComposite", err)
	}
	r := e.Evaluate(time.UnixMilli(60_000)).SLOs[2]
	if len(r.Groups) != 0 || !r.Composite {
		t.Errorf("composite of components without groups: %d groups, composite=%v; want none", len(r.Groups), r.Composite)
	}
}

// TestCompositeCalendar combines two month SLOs: the composite's period is
// the components' month and resets with them.
func TestCompositeCalendar(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	spec := func(name string, c *Composite) Spec {
		return Spec{Name: name, Objective: 0.99, Calendar: calendar.Month, Location: berlin,
			Windows: []time.Duration{time.Hour}, Composite: c}
	}
	e, err := New(time.Minute, []Spec{spec("a", nil), spec("b", nil),
		spec("ab", &Composite{Components: []Component{{SLO: 0, Weight: 3}, {SLO: 1}}})})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := e.Group(0, nil, 0)
	b, _ := e.Group(1, nil, 0)
	// Berlin's March starts at 2024-02-29T23:00Z.
	boundary := time.Date(2024, 2, 29, 23, 0, 0, 0, time.UTC).UnixMilli()
	rec := func(g *Group, to int64, good, valid float64) {
		t.Helper()
		if err := g.Record(to-60_000, to, good, valid); err != nil {
			t.Fatal(err)
		}
	}
	rec(a, boundary, 50, 100) // the last minute of February
	rec(b, boundary, 100, 100)
	rec(a, boundary+60_000, 99, 100) // the first minute of March
	rec(b, boundary+60_000, 80, 100)
	before := e.Evaluate(time.UnixMilli(boundary)).SLOs[2]
	after := e.Evaluate(time.UnixMilli(boundary + 60_000)).SLOs[2]
	if p := before.Groups[0].Period; math.Abs(p.SLI-(3*0.5+1)/4) > 1e-12 || before.Period != 29*24*time.Hour {
		t.Errorf("February: SLI %v over %s, want %v over 696h", p.SLI, before.Period, (3*0.5+1)/4)
	}
	if p := after.Groups[0].Period; math.Abs(p.SLI-(3*0.99+0.8)/4) > 1e-12 || after.Period != 31*24*time.Hour-time.Hour {
		// Berlin's March loses an hour to daylight saving time.
		t.Errorf("March: SLI %v over %s, want %v over 743h", p.SLI, after.Period, (3*0.99+0.8)/4)
	}
}

func TestCompositeSpecErrors(t *testing.T) {
	base := func(name string) Spec {
		return Spec{Name: name, Objective: 0.99, Period: 24 * time.Hour, Windows: []time.Duration{time.Hour}}
	}
	comp := func(c *Composite, mod ...func(*Spec)) Spec {
		s := base("x")
		s.Composite = c
		for _, m := range mod {
			m(&s)
		}
		return s
	}
	two := []Component{{SLO: 0}, {SLO: 1}}
	tests := []struct {
		name  string
		specs []Spec
		want  string
	}{
		{"one component", []Spec{base("a"), comp(&Composite{Components: two[:1]})}, `slo "x": a composite needs at least two components, got 1`},
		{"unknown combine", []Spec{base("a"), base("b"), comp(&Composite{Combine: "mean", Components: two})}, `slo "x": composite combine "mean": must be "weighted" or "product"`},
		{"negative weight", []Spec{base("a"), base("b"), comp(&Composite{Components: []Component{{SLO: 0, Weight: -1}, {SLO: 1}}})}, `slo "x": composite component 0: weight -1 must be a positive number`},
		{"out of range", []Spec{base("a"), comp(&Composite{Components: []Component{{SLO: 0}, {SLO: 9}}})}, `slo "x": composite component 9: the engine has 2 SLOs`},
		{"itself", []Spec{base("a"), comp(&Composite{Components: []Component{{SLO: 0}, {SLO: 1}}})}, `slo "x": a composite cannot be its own component`},
		{"twice", []Spec{base("a"), comp(&Composite{Components: []Component{{SLO: 0}, {SLO: 0}}})}, `slo "x": composite component "a" listed twice`},
		{"nested", []Spec{base("a"), base("b"), comp(&Composite{Components: two}), func() Spec {
			s := comp(&Composite{Components: []Component{{SLO: 0}, {SLO: 2}}})
			s.Name = "y"
			return s
		}()}, `slo "y": composite component "x" is a composite itself; composites do not nest`},
		{"period", []Spec{base("a"), func() Spec { s := base("b"); s.Period = 48 * time.Hour; return s }(), comp(&Composite{Components: two})},
			`slo "x": composite component "b" budgets over a rolling 2d, the composite over a rolling 1d: they must be the same`},
		{"window", []Spec{base("a"), base("b"), comp(&Composite{Components: two}, func(s *Spec) { s.Windows = []time.Duration{5 * time.Minute} })},
			`slo "x": composite component "a" does not keep the window(s) 5m: a composite's windows must be windows of every component`},
		{"time slices", []Spec{base("a"), base("b"), comp(&Composite{Components: two}, func(s *Spec) { s.TimeSlice = &TimeSlice{Length: time.Minute, Target: 0.9} })},
			`slo "x": a composite combines its components' SLIs and cannot budget time slices itself`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(30*time.Second, tc.specs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v\nwant an error containing %s", err, tc.want)
			}
		})
	}
}
