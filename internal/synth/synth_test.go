package synth

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

var testStart = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

func standard2d() Config { return Standard(testStart, testStart.Add(48*time.Hour), 1) }

// byGroup returns the good and bad series of group g.
func byGroup(t *testing.T, series []Series, g string) (good, bad Series) {
	t.Helper()
	var found int
	for _, s := range series {
		if s.Labels["model"] != g {
			continue
		}
		found++
		switch s.Labels["code"] {
		case CodeGood:
			good = s
		case CodeBad:
			bad = s
		}
	}
	if found != 2 {
		t.Fatalf("group %q: %d series, want 2", g, found)
	}
	return good, bad
}

func TestGenerateDeterministic(t *testing.T) {
	a, b := Generate(standard2d()), Generate(standard2d())
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs of the same Config differ")
	}
	other := standard2d()
	other.Seed = 2
	if reflect.DeepEqual(a, Generate(other)) {
		t.Fatal("seeds 1 and 2 give the same history")
	}
	// Adding a group leaves the others alone.
	more := standard2d()
	more.Groups = append(more.Groups, Group{Name: "e"})
	m := Generate(more)
	if len(m) != len(a)+2 || !reflect.DeepEqual(m[:len(a)], a) {
		t.Fatal("adding group e changed the series of the other groups")
	}
}

func TestStandardFeatures(t *testing.T) {
	cfg := standard2d()
	series := Generate(cfg)
	if len(series) != 8 {
		t.Fatalf("got %d series, want 8 (4 groups x 2 codes)", len(series))
	}
	step := cfg.Step.Milliseconds()
	ms := func(tm time.Time) int64 { return tm.UnixMilli() }
	// nextGrid is the first grid point at or after tm.
	nextGrid := func(tm time.Time) int64 {
		off := ms(tm) - ms(cfg.Start)
		return ms(cfg.Start) + (off+step-1)/step*step
	}

	for _, s := range series {
		for i, p := range s.Samples {
			if p.V < 0 || p.V != math.Trunc(p.V) {
				t.Fatalf("%v sample %d: value %v is not a non-negative integer", s.Labels, i, p.V)
			}
			if (p.T-ms(cfg.Start))%step != 0 {
				t.Fatalf("%v sample %d: %d ms is off the grid", s.Labels, i, p.T)
			}
		}
		if s.Labels["code"] == CodeGood && s.Samples[0].V == 0 {
			t.Errorf("%v: first sample is 0, want a non-zero baseline", s.Labels)
		}
		if s.Labels["job"] != "synth" || s.Labels["__name__"] != "synth_requests_total" {
			t.Errorf("labels %v, want job=synth and the default metric name", s.Labels)
		}
	}

	t.Run("churn", func(t *testing.T) {
		c, _ := byGroup(t, series, "c")
		if got, want := c.Samples[0].T, nextGrid(cfg.Groups[2].From); got != want {
			t.Errorf("c appears at %d, want %d", got, want)
		}
		d, _ := byGroup(t, series, "d")
		last := d.Samples[len(d.Samples)-1].T
		if until := ms(cfg.Groups[3].Until); last >= until || last+step < until {
			t.Errorf("d's last sample at %d, want the grid point just before %d", last, until)
		}
		a, _ := byGroup(t, series, "a")
		if a.Samples[len(a.Samples)-1].T != ms(cfg.End) {
			t.Errorf("a ends at %d, want End %d", a.Samples[len(a.Samples)-1].T, ms(cfg.End))
		}
	})

	t.Run("resets", func(t *testing.T) {
		r1, r2 := nextGrid(cfg.Restarts[0].At), nextGrid(cfg.Restarts[1].At)
		for _, tc := range []struct {
			group string
			want  []int64
		}{
			{"a", []int64{r1, r2}},
			{"b", []int64{r2}},
			{"c", []int64{r2}},
			{"d", nil}, // d is gone before the second restart
		} {
			good, _ := byGroup(t, series, tc.group)
			var drops []int64
			for i := 1; i < len(good.Samples); i++ {
				if good.Samples[i].V < good.Samples[i-1].V {
					drops = append(drops, good.Samples[i].T)
				}
			}
			if !reflect.DeepEqual(drops, tc.want) {
				t.Errorf("group %s: drops at %v, want %v", tc.group, drops, tc.want)
			}
		}
	})

	t.Run("gap", func(t *testing.T) {
		g := cfg.Gaps[0]
		from, to := ms(g.Start), ms(g.Start.Add(g.Duration))
		for _, s := range series {
			for i, p := range s.Samples {
				if p.T >= from && p.T < to {
					t.Fatalf("%v has a sample at %d inside the gap [%d, %d)", s.Labels, p.T, from, to)
				}
				if i > 0 && s.Samples[i-1].T < from && p.T >= to {
					if s.Samples[i-1].T != from-step || p.T != to {
						t.Errorf("%v: gap between %d and %d, want %d..%d", s.Labels, s.Samples[i-1].T, p.T, from-step, to)
					}
				}
			}
		}
	})

	// meanStep is the mean increment of s per step for samples in
	// [from, from+d), resets included.
	meanStep := func(s Series, from time.Time, d time.Duration) float64 {
		inc := Increase(s, ms(from)-1, ms(from.Add(d))-1)
		return inc / (d.Seconds() / cfg.Step.Seconds())
	}
	t.Run("burst", func(t *testing.T) {
		b, _ := byGroup(t, series, "b")
		a, _ := byGroup(t, series, "a")
		br := cfg.Bursts[0]
		base := cfg.BaseRate * cfg.Step.Seconds()
		if got := meanStep(b, br.Start, br.Duration); got < 7*base {
			t.Errorf("b during the burst: %v events per step, want about %v", got, 10*base)
		}
		if got := meanStep(a, br.Start, br.Duration); got > 2*base {
			t.Errorf("a during b's burst: %v events per step, want about %v", got, base)
		}
	})

	t.Run("incident", func(t *testing.T) {
		in := cfg.Incidents[0]
		ratio := func(g string, from time.Time, d time.Duration) float64 {
			good, bad := byGroup(t, series, g)
			gi := Increase(good, ms(from)-1, ms(from.Add(d))-1)
			bi := Increase(bad, ms(from)-1, ms(from.Add(d))-1)
			return bi / (gi + bi)
		}
		if r := ratio("a", in.Start, in.Duration); r < 0.15 || r > 0.25 {
			t.Errorf("a's error ratio in the incident = %v, want about 0.2", r)
		}
		if r := ratio("b", in.Start, in.Duration); r > 0.01 {
			t.Errorf("b's error ratio during a's incident = %v, want about 0.001", r)
		}
		if r := ratio("a", cfg.Start, 6*time.Hour); r > 0.01 {
			t.Errorf("a's error ratio before the incident = %v, want about 0.001", r)
		}
	})
}

func TestJitter(t *testing.T) {
	cfg := Config{Start: testStart, End: testStart.Add(time.Hour), Seed: 7, Jitter: 1500 * time.Millisecond}
	series := Generate(cfg)
	offGrid := 0
	for _, s := range series {
		for i, p := range s.Samples {
			off := (p.T - testStart.UnixMilli()) % 30000 // default Step
			if off < 0 || off >= 1500 {
				t.Fatalf("%v sample %d: jitter %d ms outside [0, 1500)", s.Labels, i, off)
			}
			if off != 0 {
				offGrid++
			}
		}
	}
	if offGrid == 0 {
		t.Fatal("Jitter=1.5s left every sample on the grid")
	}
	good, bad := series[0], series[1]
	for i := range good.Samples {
		if good.Samples[i].T != bad.Samples[i].T {
			t.Fatalf("sample %d: good at %d, bad at %d; one scrape should stamp both", i, good.Samples[i].T, bad.Samples[i].T)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Config{Start: testStart, End: testStart.Add(time.Hour)}
	for _, tc := range []struct {
		name   string
		modify func(*Config)
		want   string // substring of the error; "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"no start", func(c *Config) { c.Start = time.Time{} }, "Config.Start"},
		{"end before start", func(c *Config) { c.End = c.Start }, "Config.End"},
		{"jitter too big", func(c *Config) { c.Jitter = c.Step + 30*time.Second }, "Config.Jitter"},
		{"bad ratio", func(c *Config) { c.ErrorRatio = 2 }, "Config.ErrorRatio 2"},
		{"repeated group", func(c *Config) { c.Groups = []Group{{Name: "x"}, {Name: "x"}} }, `Config.Groups[1].Name "x"`},
		{"unknown incident group", func(c *Config) {
			c.Incidents = []Incident{{Start: c.Start, Duration: time.Minute, ErrorRatio: 0.5, Groups: []string{"zz"}}}
		}, `Config.Incidents[0].Groups: unknown group "zz"`},
		{"negative burst", func(c *Config) { c.Bursts = []Burst{{Duration: time.Minute, Factor: -1}} }, "Config.Bursts[0]"},
		{"empty gap", func(c *Config) { c.Gaps = []Gap{{Start: c.Start}} }, "Config.Gaps[0].Duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.modify(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestIncrease(t *testing.T) {
	s := Series{Samples: []Sample{
		{T: 1000, V: 5},  // baseline
		{T: 2000, V: 8},  // +3
		{T: 3000, V: 8},  // +0
		{T: 4000, V: 2},  // reset: +2
		{T: 5000, V: 10}, // +8
	}}
	for _, tc := range []struct {
		from, to int64
		want     float64
	}{
		{0, 5000, 13},
		{1000, 5000, 13}, // the baseline never counts
		{1999, 2000, 3},  // only the interval ending at 2000
		{2000, 4000, 2},  // (2000, 4000]: +0 and the reset's +2
		{3500, 4500, 2},  // the reset sample alone
		{5000, 9000, 0},  // nothing after the last sample
		{-1000, 999, 0},  // nothing before the first
		{1500, 4999, 5},  // half-open on the left, closed on the right
	} {
		if got := Increase(s, tc.from, tc.to); got != tc.want {
			t.Errorf("Increase(%d, %d) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}

// TestIncreaseAdditive checks that splitting a window never changes the sum,
// on the standard history with its resets and gap.
func TestIncreaseAdditive(t *testing.T) {
	cfg := standard2d()
	series := Generate(cfg)
	start, end := cfg.Start.UnixMilli()-1, cfg.End.UnixMilli()
	for _, s := range series {
		whole := Increase(s, start, end)
		for _, cut := range []int64{start + 1, start + 12345678, (start + end) / 2, end - 30000, end} {
			if got := Increase(s, start, cut) + Increase(s, cut, end); got != whole {
				t.Errorf("%v: split at %d gives %v, whole %v", s.Labels, cut, got, whole)
			}
		}
	}
}

func TestExtrapolationBounds(t *testing.T) {
	s := Series{Samples: []Sample{
		{T: 0, V: 0}, {T: 10_000, V: 10}, {T: 20_000, V: 20}, {T: 30_000, V: 5}, {T: 40_000, V: 15},
	}}
	for _, tc := range []struct {
		name       string
		from, to   int64
		leftClosed bool
		lo, hi     float64
		ok         bool
	}{
		// [10s, 40s]: samples 10..40s, raw 10+5+10 = 25 over 30s of a 30s window.
		{"closed includes the edge sample", 10_000, 40_000, true, 25, 25, true},
		// (10s, 40s]: samples 20..40s, raw 15 over 20s of a 30s window.
		{"open excludes the edge sample", 10_000, 40_000, false, 15, 22.5, true},
		{"one sample", 35_000, 40_000, true, 0, 0, false},
		{"none", 50_000, 60_000, true, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi, ok := ExtrapolationBounds(s, tc.from, tc.to, tc.leftClosed)
			if lo != tc.lo || hi != tc.hi || ok != tc.ok {
				t.Errorf("got (%v, %v, %v), want (%v, %v, %v)", lo, hi, ok, tc.lo, tc.hi, tc.ok)
			}
		})
	}
}
