package main

import (
	"testing"
	"time"
)

func TestParseObjective(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr string
	}{
		{"0.999", 0.999, ""},
		{"99.9", 0.999, ""},
		{"99.9%", 0.999, ""},
		{"95%", 0.95, ""},
		{"0.5%", 0.005, ""},
		{"100", 0, `--objective "100": must be a ratio in (0, 1) or a percent in (0, 100)`},
		{"1", 0, `--objective "1": must be a ratio in (0, 1) or a percent in (0, 100)`},
		{"abc", 0, `--objective "abc": not a number`},
	}
	for _, tc := range tests {
		got, err := parseObjective(tc.in)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("parseObjective(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseObjective(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseTimeOrAgo(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"now", now},
		{"7d", now.Add(-7 * 24 * time.Hour)},
		{"-1h", now.Add(-time.Hour)},
		{"2026-11-01T00:00:00Z", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		got, err := parseTimeOrAgo("--from", tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseTimeOrAgo(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := parseTimeOrAgo("--from", "yesterday", now); err == nil ||
		err.Error() != `--from "yesterday": neither an RFC 3339 time, now, nor a duration` {
		t.Errorf("error = %v", err)
	}
}
