package calc

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestScenarioFigures(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		objective  float64
		period     time.Duration
		budget     time.Duration
		thresholds []string
	}{
		{0.999, 30 * day, 43*time.Minute + 12*time.Second, []string{"14.4", "6", "3", "1"}},
		{0.99, 30 * day, 432 * time.Minute, []string{"14.4", "6", "3", "1"}},
		{0.9999, 30 * day, 4*time.Minute + 19200*time.Millisecond, []string{"14.4", "6", "3", "1"}},
		{0.999, 28 * day, 40*time.Minute + 19200*time.Millisecond, []string{"13.44", "5.6", "2.8", "0.933333333333"}},
	}
	for _, tc := range tests {
		r, err := Compute(tc.objective, tc.period, slo.DefaultTiers(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if (r.Budget - tc.budget).Abs() > time.Millisecond {
			t.Errorf("%v/%s budget %s, want %s", tc.objective, tc.period, r.Budget, tc.budget)
		}
		for i, want := range tc.thresholds {
			if got := slo.FormatFloat(r.Tiers[i].Threshold); got != want {
				t.Errorf("%v/%s tier %s: %s, want %s", tc.objective, tc.period, r.Tiers[i].Name, got, want)
			}
		}
	}
	// 2% of 30d at 99.9% with 100% errors: 51.84 s.
	r, _ := Compute(0.999, 30*day, slo.DefaultTiers(), 0)
	if got := r.Tiers[0].FullOutageDetection; (got - 51840*time.Millisecond).Abs() > time.Millisecond {
		t.Errorf("fast tier full-outage detection %s, want 51.84s", got)
	}
	// At 90% the maximum burn rate is 10: the fast tier (14.4) can never
	// fire, the medium one (6) can.
	r, _ = Compute(0.9, 30*day, slo.DefaultTiers(), 0)
	if r.Tiers[0].CanFire || !r.Tiers[1].CanFire {
		t.Errorf("at 90%%: fast can fire %v, medium %v; want false, true", r.Tiers[0].CanFire, r.Tiers[1].CanFire)
	}
}

func TestTableGolden(t *testing.T) {
	r, err := Compute(0.999, 30*24*time.Hour, slo.DefaultTiers(), 50)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "99.9-30d.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("table differs from %s (run with -update to accept):\n%s", path, b.String())
	}
}

func TestComputeErrors(t *testing.T) {
	if _, err := Compute(99.9, time.Hour, nil, 0); err == nil || err.Error() != "objective 99.9: must be a ratio in (0, 1)" {
		t.Errorf("error = %v", err)
	}
	if _, err := Compute(0.99, 0, nil, 0); err == nil || err.Error() != "period 0s: must be positive" {
		t.Errorf("error = %v", err)
	}
}
