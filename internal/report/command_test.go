package report

import (
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/config"
)

func TestResolveRange(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 1, 0, 30, 0, 0, time.UTC)
	tests := []struct {
		from, to string
		loc      *time.Location
		now      time.Time
		wantFrom time.Time
		wantTo   time.Time
		err      string
	}{
		// The last calendar month, in the time zone: at 2026-10-31 23:30
		// UTC it is already November in Berlin, so the last month is October
		// there and September in UTC.
		{"", "", berlin, time.Date(2026, 10, 31, 23, 30, 0, 0, time.UTC),
			time.Date(2026, 10, 1, 0, 0, 0, 0, berlin), time.Date(2026, 11, 1, 0, 0, 0, 0, berlin), ""},
		{"", "", time.UTC, time.Date(2026, 10, 31, 23, 30, 0, 0, time.UTC),
			time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), ""},
		{"2026-10-01", "2026-10-08", berlin, now,
			time.Date(2026, 10, 1, 0, 0, 0, 0, berlin), time.Date(2026, 10, 8, 0, 0, 0, 0, berlin), ""},
		{"2026-10-01T06:00:00Z", "now", time.UTC, now, time.Date(2026, 10, 1, 6, 0, 0, 0, time.UTC), now, ""},
		{"2026-10-01", "", time.UTC, now, time.Time{}, time.Time{}, "give both --from and --to, or neither for the last calendar month"},
		{"yesterday", "now", time.UTC, now, time.Time{}, time.Time{}, `--from "yesterday": neither an RFC 3339 time (2026-10-01T00:00:00Z), a date (2026-10-01) nor now`},
		{"2026-10-08", "2026-10-01", time.UTC, now, time.Time{}, time.Time{}, "--from 2026-10-08 is not before --to 2026-10-01"},
	}
	for _, tc := range tests {
		f, to, err := ResolveRange(tc.from, tc.to, tc.now, tc.loc)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q %q: error %v, want %q", tc.from, tc.to, err, tc.err)
			}
			continue
		}
		if err != nil || !f.Equal(tc.wantFrom) || !to.Equal(tc.wantTo) {
			t.Errorf("%q %q: %s to %s (%v), want %s to %s", tc.from, tc.to, f, to, err, tc.wantFrom, tc.wantTo)
		}
	}
}

func TestFilterAndCosts(t *testing.T) {
	cfg, err := config.Load([]string{"../../config/examples/ml-platform.yaml"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := len(cfg.SLOs)
	if err := filterSLOs(cfg, []string{"nope"}); err == nil || len(cfg.SLOs) != n {
		t.Errorf("unknown SLO: %v", err)
	}
	var composite string
	for _, s := range cfg.SLOs {
		if s.SLI.Composite != nil {
			composite = s.Name
		}
	}
	if composite != "" {
		if err := filterSLOs(cfg, []string{composite}); err != nil {
			t.Fatal(err)
		}
		if len(cfg.SLOs) < 3 {
			t.Errorf("a composite keeps its components: %d SLOs left", len(cfg.SLOs))
		}
	}
	if _, err := parseCosts(cfg, []string{"x"}, ""); err == nil || err.Error() != `--cost-per-event "x": want slo=cost, a non-negative number` {
		t.Errorf("bad cost: %v", err)
	}
	if _, err := parseCosts(cfg, []string{"nope=1"}, ""); err == nil {
		t.Error("cost of an unknown SLO accepted")
	}
}
