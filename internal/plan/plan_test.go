package plan

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/calendar"
	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/rules"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
)

func TestBuildExamples(t *testing.T) {
	files, _ := filepath.Glob("../../config/examples/*.yaml")
	if len(files) == 0 {
		t.Fatal("no example configurations")
	}
	for _, f := range files {
		cfg, err := config.Load([]string{f}, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		p, err := Build(cfg)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		eng, err := evaluator.New(p.Interval, p.Specs)
		if err != nil {
			t.Fatalf("%s: evaluator rejects the plan: %v", f, err)
		}
		withEvents := 0
		for _, s := range cfg.SLOs {
			if s.SLI.Composite == nil {
				withEvents++
			}
		}
		if len(p.Specs) != len(cfg.SLOs) || len(p.Targets) != withEvents || len(p.Meta) != len(cfg.SLOs) {
			t.Errorf("%s: %d specs, %d targets, %d meta for %d SLOs (%d with events)", f, len(p.Specs), len(p.Targets), len(p.Meta), len(cfg.SLOs), withEvents)
		}
		if _, err := scrape.NewPuller(nil, eng, p.Targets, scrape.PullerConfig{Interval: p.Interval}); err != nil {
			t.Errorf("%s: the puller rejects the plan: %v", f, err)
		}
	}
}

func TestLatencyTarget(t *testing.T) {
	cfg, err := config.Parse("lat.yaml", []byte(`
prometheus: {url: "http://localhost:9090"}
slos:
  - name: lat
    service: api
    objective: 0.95
    period: 7d
    group_by: [model]
    sli:
      latency:
        histogram: 'http_request_duration_seconds{job="model-api"}'
        threshold: 0.2
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tg := p.Targets[0]
	if tg.Good.Expr != `http_request_duration_seconds_bucket{job="model-api"}` || tg.Good.LE == nil || *tg.Good.LE != 0.2 {
		t.Errorf("good selector %v", tg.Good)
	}
	if tg.Valid.Expr != `http_request_duration_seconds_count{job="model-api"}` || tg.Valid.LE != nil {
		t.Errorf("valid selector %v", tg.Valid)
	}
	if len(tg.GroupBy) != 1 || tg.GroupBy[0] != "model" {
		t.Errorf("group by %v", tg.GroupBy)
	}
	s := p.Specs[0]
	if s.Objective != 0.95 || s.Period != 7*24*time.Hour || len(s.Tiers) == 0 {
		t.Errorf("spec %+v", s)
	}
	// A 7d period scales the fast tier to 0.02 x 168h / 1h = 3.36.
	if got := slo.FormatFloat(s.Tiers[0].Threshold(s.Period)); got != "3.36" {
		t.Errorf("fast threshold %s, want 3.36", got)
	}
	if p.LongestPeriod() != 7*24*time.Hour {
		t.Errorf("longest period %s", p.LongestPeriod())
	}
}

func TestRulesConversion(t *testing.T) {
	data, err := os.ReadFile("../../config/examples/ml-platform.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("ml-platform.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	rs := Rules(cfg)
	if len(rs) != len(cfg.SLOs) {
		t.Fatalf("%d rule SLOs for %d SLOs", len(rs), len(cfg.SLOs))
	}
	for i, r := range rs {
		s := cfg.SLOs[i]
		if r.Name != s.Name || r.Objective != s.Objective() || len(r.Tiers) != len(s.Alerting.Tiers) {
			t.Errorf("%s: converted %+v", s.Name, r)
		}
	}
}

// build parses a configuration document and builds its plan and engine.
func build(t *testing.T, doc string) (*Plan, *evaluator.Engine) {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := evaluator.New(p.Interval, p.Specs)
	if err != nil {
		t.Fatal(err)
	}
	return p, eng
}

const sliceDoc = `
prometheus: {url: "http://localhost:9090"}
slos:
  - name: sliced
    service: api
    objective: 0.9
    period: 1h
    budgeting_method: timeslices
    time_slice: {length: 1m, target: 0.95}
    sli: {ratio: {good: 'g', valid: 'v'}}
    alerting: {tiers: [{name: medium, enabled: false}, {name: slow, enabled: false}, {name: long, enabled: false}]}
  - name: events
    service: api
    objective: 0.9
    period: 1h
    sli: {ratio: {good: 'g', valid: 'v'}}
    alerting: {tiers: [{name: medium, enabled: false}, {name: slow, enabled: false}, {name: long, enabled: false}]}
`

// TestTimeSlicesThroughEngine feeds the same 30s ticks to a timeslices SLO
// and to an occurrences SLO built from one configuration. Hand-computed
// over 20 minutes of 100 events per tick, 99 good:
//
//   - minute 5: ticks 99 and 80 good -> 179/200 = 89.5% < 95%: a bad slice;
//   - minute 10: ticks 90 and 100 -> exactly 95%: a good slice;
//   - minute 15: no events: no slice at all;
//   - minute 17: ticks 0 and 100 -> 50%: a bad slice.
//
// Slices over 1h: 19 valid, 17 good; over 5m (minutes 16-20): 5 valid, 4
// good, burn (1 - 0.8) / 0.1 = 2. Budget: 2 bad of 0.1 x 19 = 1.9 allowed,
// remaining 1 - 2/1.9. The occurrences SLO counts the 3800 events instead.
func TestTimeSlicesThroughEngine(t *testing.T) {
	p, eng := build(t, sliceDoc)
	if ts := p.Specs[0].TimeSlice; ts == nil || ts.Length != time.Minute || ts.Target != 0.95 {
		t.Fatalf("timeslices spec %+v", p.Specs[0].TimeSlice)
	}
	if p.Specs[1].TimeSlice != nil {
		t.Fatalf("occurrences SLO got a time slice %+v", p.Specs[1].TimeSlice)
	}
	special := map[int][2]float64{5: {99, 80}, 10: {90, 100}, 15: {0, 0}, 17: {0, 100}}
	var groups []*evaluator.Group
	for i := range 2 {
		g, err := eng.Group(i, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, g)
	}
	const tick = int64(30000)
	for m := 1; m <= 20; m++ {
		for half := range 2 {
			good, valid := 99.0, 100.0
			if s, ok := special[m]; ok {
				good = s[half]
				if m == 15 {
					valid = 0
				}
			}
			to := int64(m-1)*60000 + int64(half+1)*tick
			for _, g := range groups {
				if err := g.Record(to-tick, to, good, valid); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	snap := eng.Evaluate(time.UnixMilli(20 * 60000))
	sl, ev := snap.SLOs[0], snap.SLOs[1]
	hour, five := sl.Groups[0].Windows[sl.Window(time.Hour)], sl.Groups[0].Windows[sl.Window(5*time.Minute)]
	if hour.Good != 17 || hour.Valid != 19 {
		t.Errorf("1h: %v good of %v slices, want 17 of 19", hour.Good, hour.Valid)
	}
	if five.Good != 4 || five.Valid != 5 {
		t.Errorf("5m: %v good of %v slices, want 4 of 5", five.Good, five.Valid)
	}
	if math.Abs(five.BurnRate-2) > 1e-9 {
		t.Errorf("5m burn %v, want 2", five.BurnRate)
	}
	if want := 1 - 2/1.9; math.Abs(sl.Groups[0].Budget.RemainingRatio-want) > 1e-9 {
		t.Errorf("remaining %v, want %v", sl.Groups[0].Budget.RemainingRatio, want)
	}
	// The occurrences SLO: 38 ticks of 100 events (minute 15 had none);
	// good = 32 ordinary ticks x 99 + (99 + 80) + (90 + 100) + (0 + 100).
	evHour := ev.Groups[0].Windows[ev.Window(time.Hour)]
	if wantGood := 32*99.0 + 99 + 80 + 90 + 100 + 0 + 100; evHour.Good != wantGood || evHour.Valid != 3800 {
		t.Errorf("occurrences 1h: %v/%v, want %v/3800", evHour.Good, evHour.Valid, wantGood)
	}
}

// TestCalendarPlan checks that calendar and time_zone reach the engine:
// a monthly SLO in Europe/Berlin starts its March budget at 23:00 UTC on
// 28 February, so an event at 23:30 UTC counts in March and one at 22:30
// UTC does not. Berlin's March is an hour short (summer time starts).
func TestCalendarPlan(t *testing.T) {
	p, eng := build(t, `
prometheus: {url: "http://localhost:9090"}
slos:
  - name: monthly
    service: api
    objective: 0.99
    calendar: month
    time_zone: Europe/Berlin
    sli: {ratio: {good: 'g', valid: 'v'}}
`)
	s := p.Specs[0]
	if s.Calendar != calendar.Month || s.Location == nil || s.Location.String() != "Europe/Berlin" || s.Period != 0 {
		t.Fatalf("spec calendar %q location %v period %s", s.Calendar, s.Location, s.Period)
	}
	if got, want := p.LongestPeriod(), 31*24*time.Hour+time.Hour; got != want {
		t.Errorf("longest period %s, want %s (a month's longest length)", got, want)
	}
	g, err := eng.Group(0, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m int) int64 { return time.Date(2026, 2, 28, h, m, 0, 0, time.UTC).UnixMilli() }
	if err := g.Record(at(22, 29), at(22, 30), 0, 10); err != nil { // February in Berlin: 23:30
		t.Fatal(err)
	}
	if err := g.Record(at(23, 29), at(23, 30), 9, 10); err != nil { // March in Berlin: 00:30
		t.Fatal(err)
	}
	r := eng.Evaluate(time.UnixMilli(at(23, 45))).SLOs[0]
	if want := time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC); !r.PeriodStart.Equal(want) {
		t.Errorf("period start %s, want %s", r.PeriodStart.UTC(), want)
	}
	if r.Period != 31*24*time.Hour-time.Hour {
		t.Errorf("period %s, want March's 31d less the hour summer time skips in Berlin", r.Period)
	}
	if per := r.Groups[0].Period; per.Good != 9 || per.Valid != 10 {
		t.Errorf("March budget window %v/%v, want 9/10", per.Good, per.Valid)
	}
}

// TestThresholdTarget checks that a threshold SLI becomes a gauge target
// (good: the bound, valid: every sample, one shared query) that the
// puller accepts.
func TestThresholdTarget(t *testing.T) {
	p, eng := build(t, `
prometheus: {url: "http://localhost:9090"}
slos:
  - name: freshness
    service: feature-store
    objective: 0.99
    group_by: [feature_group]
    sli:
      threshold: {gauge: ' feature_freshness_seconds{job="feature-store"}', op: "<=", value: 300}
`)
	tg := p.Targets[0]
	const expr = `feature_freshness_seconds{job="feature-store"}`
	if tg.Good.Expr != expr || tg.Good.Gauge == nil || *tg.Good.Gauge != (scrape.Condition{Op: "<=", Value: 300}) {
		t.Errorf("good selector %v", tg.Good)
	}
	if tg.Valid.Expr != expr || tg.Valid.Gauge == nil || *tg.Valid.Gauge != (scrape.Condition{}) || !tg.Bad.IsZero() {
		t.Errorf("valid %v, bad %v", tg.Valid, tg.Bad)
	}
	if p.Meta[0].Kind != "threshold" {
		t.Errorf("kind %q", p.Meta[0].Kind)
	}
	pl, err := scrape.NewPuller(nil, eng, p.Targets, scrape.PullerConfig{Interval: p.Interval})
	if err != nil {
		t.Fatal(err)
	}
	if q := pl.Queries(); len(q) != 1 || q[0] != expr {
		t.Errorf("queries %q, want the gauge once", q)
	}
}

// TestExampleRulesPassPromtool generates the alert rules of every example
// configuration, in both modes, and checks them with the real promtool.
func TestExampleRulesPassPromtool(t *testing.T) {
	if testing.Short() {
		t.Skip("runs promtool")
	}
	promtool := promtest.Binary(t, "promtool", "PROMTOOL")
	files, _ := filepath.Glob("../../config/examples/*.yaml")
	for _, f := range files {
		cfg, err := config.Load([]string{f}, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, mode := range []string{rules.ModeDaemon, rules.ModePromQL} {
			out, err := rules.Generate(Rules(cfg), rules.Options{Mode: mode})
			if err != nil {
				t.Fatalf("%s (%s): %v", f, mode, err)
			}
			path := filepath.Join(t.TempDir(), "rules.yaml")
			if err := os.WriteFile(path, out, 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := exec.Command(promtool, "check", "rules", path).CombinedOutput()
			if err != nil {
				t.Errorf("%s (%s): promtool check rules: %v\n%s", f, mode, err, res)
			}
		}
	}
}

// TestNativeLatencyTarget checks that a native latency SLI reads the
// histogram series themselves: good is the at-or-below count at the
// threshold, valid the whole count (+Inf), both from one expression.
func TestNativeLatencyTarget(t *testing.T) {
	p, _ := build(t, `
prometheus: {url: "http://localhost:9090"}
slos:
  - name: lat
    service: api
    objective: 0.95
    period: 7d
    sli:
      latency: {histogram: ' http_request_duration_seconds{job="model-api"} ', threshold: 0.25, native: true}
`)
	tg := p.Targets[0]
	const expr = `http_request_duration_seconds{job="model-api"}`
	if tg.Good.Expr != expr || tg.Good.NativeLE == nil || *tg.Good.NativeLE != 0.25 || tg.Good.LE != nil {
		t.Errorf("good selector %+v", tg.Good)
	}
	if tg.Valid.Expr != expr || tg.Valid.NativeLE == nil || !math.IsInf(*tg.Valid.NativeLE, 1) || tg.Valid.LE != nil {
		t.Errorf("valid selector %+v", tg.Valid)
	}
}
