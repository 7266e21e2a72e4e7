package pyrra

import (
	"testing"
	"time"
)

// TestWindows checks Pyrra's windows for its default 28d window, which
// are the SRE Workbook's (1h/5m, 6h/30m, 1d/2h) and 4d/6h, and their
// scaling: for 14d every window halves.
func TestWindows(t *testing.T) {
	const day = 24 * time.Hour
	want28 := []Window{
		{"fast", "critical", time.Hour, 5 * time.Minute, 14, 2 * time.Minute},
		{"medium", "critical", 6 * time.Hour, 30 * time.Minute, 7, 15 * time.Minute},
		{"slow", "warning", day, 2 * time.Hour, 2, time.Hour},
		{"long", "warning", 4 * day, 6 * time.Hour, 1, 3 * time.Hour},
	}
	for i, w := range Windows(28 * day) {
		if w != want28[i] {
			t.Errorf("28d window %d: %+v, want %+v", i, w, want28[i])
		}
		if h := Windows(14 * day)[i]; h.Long != w.Long/2 || h.Short != (w.Short/2).Round(time.Minute) || h.Factor != w.Factor {
			t.Errorf("14d window %d: %+v, want half of %+v", i, h, w)
		}
	}
}

func TestHistogram(t *testing.T) {
	for _, tc := range []struct {
		good, total, sel string
		th               float64
	}{
		{`a_bucket{job="x",le="0.2"}`, `a_count{job="x"}`, `a{job="x"}`, 0.2},
		{`a_bucket{le="1"}`, `a_count`, `a`, 1},
		{`a_bucket{job="x",le="0.2"}`, `a_count{job="y"}`, "", 0},
		{`a_bucket{le="+Inf"}`, `a_count`, "", 0},
		{`a_total{code="2xx"}`, `a_total`, "", 0},
		{`a_bucket{le=~"0.2"}`, `a_count`, "", 0},
	} {
		l := histogram(tc.good, tc.total)
		switch {
		case tc.sel == "" && l != nil:
			t.Errorf("%s / %s: got %+v, want a ratio", tc.good, tc.total, l)
		case tc.sel != "" && (l == nil || l.Histogram != tc.sel || l.Threshold != tc.th):
			t.Errorf("%s / %s: got %+v, want %s le %v", tc.good, tc.total, l, tc.sel, tc.th)
		}
	}
}
