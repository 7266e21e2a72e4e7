package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"
)

// TestThreshold checks budget_fraction x period / long_window for the
// periods the scenario names, printed without float noise.
func TestThreshold(t *testing.T) {
	fast := Tier{Tier: slo.Tier{BudgetFraction: 0.02, LongWindow: time.Hour}}
	medium := Tier{Tier: slo.Tier{BudgetFraction: 0.05, LongWindow: 6 * time.Hour}}
	slow := Tier{Tier: slo.Tier{BudgetFraction: 0.10, LongWindow: day}}
	long := Tier{Tier: slo.Tier{BudgetFraction: 0.10, LongWindow: 3 * day}}
	for _, tc := range []struct {
		name   string
		tier   Tier
		period time.Duration
		want   string
	}{
		{"30d fast", fast, 30 * day, "14.4"},
		{"30d medium", medium, 30 * day, "6"},
		{"30d slow", slow, 30 * day, "3"},
		{"30d long", long, 30 * day, "1"},
		{"28d fast", fast, 28 * day, "13.44"},
		{"28d medium", medium, 28 * day, "5.6"},
		{"28d slow", slow, 28 * day, "2.8"},
		{"28d long", long, 28 * day, "0.933333333333"},
		{"7d fast", fast, 7 * day, "3.36"},
		{"7d medium", medium, 7 * day, "1.4"},
		{"1d fast 10%", Tier{Tier: slo.Tier{BudgetFraction: 0.1, LongWindow: time.Hour}}, day, "2.4"},
		{"31d month fast", fast, 31 * day, "14.88"},
		{"90d quarter fast", fast, 90 * day, "43.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatFloat(tc.tier.Threshold(tc.period)); got != tc.want {
				t.Errorf("threshold = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestPromDuration checks the window label format: days are the largest
// unit, so 7d and 28d stay as written.
func TestPromDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Minute: "5m", 30 * time.Minute: "30m", time.Hour: "1h", 6 * time.Hour: "6h",
		day: "1d", 3 * day: "3d", 7 * day: "7d", 28 * day: "28d", 30 * day: "30d",
		90 * time.Minute: "1h30m", 36 * time.Hour: "1d12h", 90 * time.Second: "1m30s", 0: "0s",
		1500 * time.Millisecond: "1s500ms",
	} {
		if got := promDuration(d); got != want {
			t.Errorf("promDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestValidationErrors checks that bad SLOs are refused with an error that
// names the SLO, the tier and the value.
func TestValidationErrors(t *testing.T) {
	base := func() SLO {
		return SLO{Name: "api", Service: "svc", Objective: 0.999, Period: 30 * day, Tiers: workbookTiers()}
	}
	with := func(f func(*SLO)) []SLO { s := base(); f(&s); return []SLO{s} }
	tier := func(f func(*Tier)) []SLO {
		return with(func(s *SLO) { f(&s.Tiers[1]) }) // the fast tier
	}
	for _, tc := range []struct {
		name string
		slos []SLO
		want []string // substrings of the error
	}{
		{"no slos", nil, []string{"no SLOs"}},
		{"empty name", with(func(s *SLO) { s.Name = "" }), []string{"name is empty", `"svc"`}},
		{"empty service", with(func(s *SLO) { s.Service = "" }), []string{`slo "api"`, "service is empty"}},
		{"quote in name", with(func(s *SLO) { s.Name = `a"b` }), []string{"cannot be used in alert rules"}},
		{"template in service", with(func(s *SLO) { s.Service = "{{ x }}" }), []string{`service "{{ x }}"`}},
		{"objective 1", with(func(s *SLO) { s.Objective = 1 }), []string{`slo "api"`, "objective 1", "(0, 1)"}},
		{"objective 99.9", with(func(s *SLO) { s.Objective = 99.9 }), []string{"objective 99.9"}},
		{"alert name with a space", tier(func(t *Tier) { t.AlertName = "High errors" }), []string{`tier "fast"`, `alert name "High errors"`}},
		{"tier label the alert sets", tier(func(t *Tier) { t.Labels = map[string]string{"severity": "x"} }), []string{`tier "fast"`, `label "severity"`}},
		{"tier label not a name", tier(func(t *Tier) { t.Labels = map[string]string{"slack-channel": "x"} }), []string{`label "slack-channel"`}},
		{"no period", with(func(s *SLO) { s.Period = 0 }), []string{"period 0s", "positive"}},
		{"bad calendar", with(func(s *SLO) { s.Calendar = "year" }), []string{`slo "api"`, `"year"`, "month, week, quarter"}},
		{"bad group label", with(func(s *SLO) { s.GroupBy = []string{"model-name"} }), []string{`group_by label "model-name"`, "not a valid"}},
		{"reserved group label", with(func(s *SLO) { s.GroupBy = []string{"window"} }), []string{`group_by label "window"`, "reserved"}},
		{"duplicate group label", with(func(s *SLO) { s.GroupBy = []string{"model", "model"} }), []string{"listed twice"}},
		{"duplicate slo", []SLO{base(), base()}, []string{`slo "api": defined twice`}},
		{"duplicate tier", with(func(s *SLO) { s.Tiers[0].Name = "fast" }), []string{`tier "fast": defined twice`}},
		{"empty tier name", tier(func(t *Tier) { t.Name = "" }), []string{`slo "api"`, "empty name"}},
		{"no severity", tier(func(t *Tier) { t.Severity = "" }), []string{`tier "fast"`, "severity"}},
		{"fraction 0", tier(func(t *Tier) { t.BudgetFraction = 0 }), []string{`tier "fast"`, "budget fraction 0"}},
		{"fraction 2", tier(func(t *Tier) { t.BudgetFraction = 2 }), []string{"budget fraction 2"}},
		{"short = long", tier(func(t *Tier) { t.ShortWindow = time.Hour }),
			[]string{`slo "api": tier "fast": short window 1h0m0s must be shorter than the long window 1h0m0s`}},
		{"short > long", tier(func(t *Tier) { t.ShortWindow = 2 * time.Hour }), []string{`tier "fast"`, "short window 2h0m0s", "long window 1h0m0s"}},
		{"short 0", tier(func(t *Tier) { t.ShortWindow = 0 }), []string{`tier "fast"`, "short window 0s", "positive"}},
		{"long > period", with(func(s *SLO) { s.Period = 2 * day }), []string{`tier "long"`, "long window 72h0m0s", "2d budget period"}},
		{"negative for", tier(func(t *Tier) { t.For = -time.Minute }), []string{`tier "fast"`, "for -1m0s"}},
		// 99% allows at most a burn rate of 100; 50% of 30d in 1h needs 360.
		{"never fires 99%", with(func(s *SLO) { s.Objective = 0.99; s.Tiers[1].BudgetFraction = 0.5 }),
			[]string{`slo "api": tier "fast": threshold 360`, "50% of the 30d error budget within 1h", "highest possible burn rate 100", "objective 0.99", "can never fire"}},
		// 92% over 30d: at most 12.5 < 14.4.
		{"never fires 92%", with(func(s *SLO) { s.Objective = 0.92 }),
			[]string{`tier "fast": threshold 14.4`, "highest possible burn rate 12.5", "can never fire"}},
		// Exactly at the maximum: the burn rate must exceed it, so never.
		{"threshold equals max", with(func(s *SLO) {
			s.Objective = 0.9
			s.Period = 20 * day
			s.Tiers = s.Tiers[1:2]
			s.Tiers[0].BudgetFraction = 1.0 / 48
		}),
			[]string{`tier "fast": threshold 10`, "highest possible burn rate 10", "can never fire"}},
		// A calendar month is checked at its longest, 31d 1h: 14.905 > 14.
		{"never fires in long months", with(func(s *SLO) { s.Calendar = "month"; s.Objective = 1 - 1.0/14 }),
			[]string{`tier "fast": threshold 14.9`, "the month's error budget", "can never fire"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate(tc.slos, Options{})
			if err == nil {
				t.Fatalf("Generate accepted %+v", tc.slos)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if _, ierr := Inhibitions(tc.slos); ierr == nil || ierr.Error() != err.Error() {
				t.Errorf("Inhibitions error %v, want the same as Generate's", ierr)
			}
		})
	}
}

// TestValidationAccepts checks edge cases that must pass: a disabled tier
// that would be invalid, a threshold just below the maximum burn rate.
func TestValidationAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		slo  SLO
	}{
		{"disabled invalid tier", SLO{Name: "q", Service: "s", Objective: 0.92, Period: day, Tiers: []Tier{
			{Tier: slo.Tier{Name: "long", Severity: "ticket", BudgetFraction: 0.1, LongWindow: 3 * day, ShortWindow: 6 * time.Hour}, Disabled: true}}}},
		{"no tiers", SLO{Name: "q", Service: "s", Objective: 0.5, Period: day}},
		// 93.1% allows at most 14.49, just above the fast tier's 14.4.
		{"just below max", SLO{Name: "q", Service: "s", Objective: 0.931, Period: 30 * day, Tiers: workbookTiers()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Generate([]SLO{tc.slo}, Options{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestOptionsErrors checks the refused options.
func TestOptionsErrors(t *testing.T) {
	slos := []SLO{{Name: "api", Service: "svc", Objective: 0.999, Period: 30 * day, Tiers: workbookTiers()}}
	for _, tc := range []struct {
		name string
		opt  Options
		want string
	}{
		{"format", Options{Format: "yaml"}, `format "yaml"`},
		{"mode", Options{Mode: "sloth"}, `mode "sloth"`},
		{"negative stale", Options{StaleAfter: -time.Minute}, "stale_after -1m0s"},
		{"extra label reserved", Options{ExtraLabels: map[string]string{"severity": "x"}}, `extra label "severity"`},
		{"extra label invalid", Options{ExtraLabels: map[string]string{"a-b": "x"}}, `extra label "a-b"`},
		{"resource label key", Options{Format: FormatPrometheusRule, ResourceLabels: map[string]string{"Bad_Prefix/x": "y"}}, `resource label "Bad_Prefix/x"`},
		{"resource label empty key", Options{Format: FormatPrometheusRule, ResourceLabels: map[string]string{"": "y"}}, `resource label ""`},
		{"resource label value", Options{Format: FormatPrometheusRule, ResourceLabels: map[string]string{"release": "a b"}}, `resource label release="a b"`},
		{"resource label long value", Options{Format: FormatPrometheusRule, ResourceLabels: map[string]string{"release": strings.Repeat("a", 64)}}, `resource label release=`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate(slos, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
