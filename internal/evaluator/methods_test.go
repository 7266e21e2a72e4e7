package evaluator

import (
	"math"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/slo-exporter/slo-exporter/internal/calendar"
)

// TestCalendarMonthResets records a steady 1% error ratio with a 30-minute
// outage on 27 February and checks, hand-computed, the February budget, its
// reset at 1 March 00:00 UTC, and the month-length thresholds.
func TestCalendarMonthResets(t *testing.T) {
	e, err := New(30*time.Second, []Spec{{Name: "m", Objective: 0.99, Calendar: calendar.Month,
		Tiers: slo.DefaultTiers()[:1], Windows: []time.Duration{5 * time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := e.Group(0, nil, 0)
	start := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	outage := time.Date(2026, 2, 27, 12, 0, 0, 0, time.UTC).UnixMilli()
	marchStart := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	var last *Snapshot
	for ts := start + 30000; ts <= marchStart+60000; ts += 30000 {
		good := 99.0
		if ts > outage && ts <= outage+30*60000 {
			good = 0
		}
		if err := g.Record(ts-30000, ts, good, 100); err != nil {
			t.Fatal(err)
		}
		if ts == marchStart {
			last = e.Evaluate(time.UnixMilli(ts))
		}
	}
	feb := last.SLOs[0]
	if feb.Period != 28*24*time.Hour || !feb.PeriodStart.Equal(time.UnixMilli(start)) {
		t.Fatalf("at the last instant of February: period %s from %s", feb.Period, feb.PeriodStart)
	}
	// February: 28 days x 2880 ticks x 100 events; 1 bad per tick, plus 99
	// more in each of the 60 outage ticks. Allowed: 1% of valid.
	ticks := 28.0 * 2880
	valid, bad := ticks*100, ticks*1+60*99
	want := 1 - bad/(0.01*valid)
	if got := feb.Groups[0].Budget.RemainingRatio; math.Abs(got-want) > 1e-9 {
		t.Errorf("February remaining %v, want %v", got, want)
	}
	if got := slo.FormatFloat(feb.Tiers[0].Threshold); got != "13.44" {
		t.Errorf("February fast threshold %s, want 13.44", got)
	}

	mar := e.Evaluate(time.UnixMilli(marchStart + 60000)).SLOs[0]
	if mar.Period != 31*24*time.Hour {
		t.Errorf("March period %s", mar.Period)
	}
	p := mar.Groups[0].Period
	if p.Valid != 200 || p.Good != 198 {
		t.Errorf("budget window one minute into March: %v/%v, want 198/200 (reset at the boundary)", p.Good, p.Valid)
	}
	if got := mar.Groups[0].Budget.RemainingRatio; math.Abs(got-0) > 1e-9 {
		t.Errorf("March remaining %v, want 0 (1%% errors spend exactly the budget)", got)
	}
	if got := slo.FormatFloat(mar.Tiers[0].Threshold); got != "14.88" {
		t.Errorf("March fast threshold %s, want 14.88", got)
	}
}

// TestTimeSlices: 1m slices with a 95% target, fed 30s ticks. Hand-computed:
// slices 1-8 good (99/100 + 99/100), slice 9 bad (99/100 + 80/100 = 89.5%),
// slice 10 good (a bad tick of 90% averaged with 100%: exactly 95%), slice
// 11 has no events and is not counted.
func TestTimeSlices(t *testing.T) {
	e, err := New(30*time.Second, []Spec{{Name: "ts", Objective: 0.9, Period: time.Hour,
		Windows: []time.Duration{5 * time.Minute}, TimeSlice: &TimeSlice{Length: time.Minute, Target: 0.95}}})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := e.Group(0, nil, 0)
	ticks := [][2]float64{}
	for range 8 {
		ticks = append(ticks, [2]float64{99, 100}, [2]float64{99, 100})
	}
	ticks = append(ticks, [2]float64{99, 100}, [2]float64{80, 100}, [2]float64{90, 100}, [2]float64{100, 100},
		[2]float64{0, 0}, [2]float64{0, 0})
	for i, tk := range ticks {
		ts := int64(i+1) * 30000
		if err := g.Record(ts-30000, ts, tk[0], tk[1]); err != nil {
			t.Fatal(err)
		}
	}
	r := e.Evaluate(time.UnixMilli(int64(len(ticks)) * 30000)).SLOs[0]
	gr := r.Groups[0]
	hour := gr.Windows[r.Window(time.Hour)]
	if hour.Good != 9 || hour.Valid != 10 {
		t.Errorf("1h slices: %v good of %v, want 9 of 10", hour.Good, hour.Valid)
	}
	five := gr.Windows[r.Window(5*time.Minute)]
	if five.Good != 3 || five.Valid != 4 { // slices 7..11 end in (1m, 6m]: 7, 8, 9(bad), 10
		t.Errorf("5m slices: %v good of %v, want 3 of 4", five.Good, five.Valid)
	}
	// 1 bad slice of 10 with a 10% budget: budget exactly spent.
	if math.Abs(gr.Budget.RemainingRatio) > 1e-9 {
		t.Errorf("remaining %v, want 0", gr.Budget.RemainingRatio)
	}
}
