package calendar

import (
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestPeriods(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	ny := mustLoc(t, "America/New_York")
	tests := []struct {
		name       string
		unit       Unit
		at         string // RFC 3339
		loc        *time.Location
		wantStart  string
		wantLength time.Duration
	}{
		{"february 28 days", Month, "2026-02-14T12:00:00Z", time.UTC, "2026-02-01T00:00:00Z", 28 * 24 * time.Hour},
		{"february leap year", Month, "2028-02-29T23:59:59Z", time.UTC, "2028-02-01T00:00:00Z", 29 * 24 * time.Hour},
		{"april 30 days", Month, "2026-04-30T23:00:00Z", time.UTC, "2026-04-01T00:00:00Z", 30 * 24 * time.Hour},
		{"december 31 days", Month, "2026-12-31T00:00:00Z", time.UTC, "2026-12-01T00:00:00Z", 31 * 24 * time.Hour},
		{"reset at the boundary", Month, "2026-03-01T00:00:00Z", time.UTC, "2026-03-01T00:00:00Z", 31 * 24 * time.Hour},
		{"last instant before reset", Month, "2026-02-28T23:59:59.999Z", time.UTC, "2026-02-01T00:00:00Z", 28 * 24 * time.Hour},
		{"march in Berlin loses an hour", Month, "2026-03-15T12:00:00Z", berlin, "2026-02-28T23:00:00Z", 31*24*time.Hour - time.Hour},
		{"october in Berlin gains an hour", Month, "2026-10-15T12:00:00Z", berlin, "2026-09-30T22:00:00Z", 31*24*time.Hour + time.Hour},
		{"UTC instant already next month in Berlin", Month, "2026-05-31T22:30:00Z", berlin, "2026-05-31T22:00:00Z", 30 * 24 * time.Hour},
		{"ISO week starts Monday", Week, "2026-11-26T10:00:00Z", time.UTC, "2026-11-23T00:00:00Z", 7 * 24 * time.Hour},
		{"Sunday belongs to the week before", Week, "2026-11-29T23:00:00Z", time.UTC, "2026-11-23T00:00:00Z", 7 * 24 * time.Hour},
		{"week over New York's autumn change", Week, "2026-11-03T12:00:00Z", ny, "2026-11-02T05:00:00Z", 7 * 24 * time.Hour},
		{"week containing New York's autumn change", Week, "2026-11-01T12:00:00Z", ny, "2026-10-26T04:00:00Z", 7*24*time.Hour + time.Hour},
		{"Q1", Quarter, "2026-02-10T00:00:00Z", time.UTC, "2026-01-01T00:00:00Z", 90 * 24 * time.Hour},
		{"Q3 is 92 days", Quarter, "2026-09-30T00:00:00Z", time.UTC, "2026-07-01T00:00:00Z", 92 * 24 * time.Hour},
		{"Q4 wraps the year", Quarter, "2026-12-31T00:00:00Z", time.UTC, "2026-10-01T00:00:00Z", 92 * 24 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at, err := time.Parse(time.RFC3339Nano, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			start, end := tc.unit.Period(at, tc.loc)
			if got := start.UTC().Format(time.RFC3339); got != tc.wantStart {
				t.Errorf("start = %s, want %s", got, tc.wantStart)
			}
			if got := end.Sub(start); got != tc.wantLength {
				t.Errorf("length = %s, want %s", got, tc.wantLength)
			}
			if at.Before(start) || !at.Before(end) {
				t.Errorf("%s not in [%s, %s)", at, start, end)
			}
			if got := end.Sub(start); got > tc.unit.MaxLength() {
				t.Errorf("length %s over MaxLength %s", got, tc.unit.MaxLength())
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, ok := range []string{"month", "week", "quarter"} {
		if _, err := Parse(ok); err != nil {
			t.Errorf("Parse(%q): %v", ok, err)
		}
	}
	if _, err := Parse("year"); err == nil || err.Error() != `calendar "year": must be one of month, week, quarter` {
		t.Errorf("Parse(year) error = %v", err)
	}
}
