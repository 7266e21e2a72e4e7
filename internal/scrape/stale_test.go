package scrape

import (
	"math"
	"testing"

	"github.com/prometheus/common/model"
)

// TestStaleMarkers: one NaN that ends a series is a staleness marker; NaN
// after NaN, and NaN inside a run, are the counter's own.
func TestStaleMarkers(t *testing.T) {
	nan := model.SampleValue(math.NaN())
	series := func(vals ...model.SampleValue) point {
		pt := point{}
		for i, v := range vals {
			pt.vals = append(pt.vals, model.SamplePair{Timestamp: model.Time(i * 1000), Value: v})
		}
		return pt
	}
	for _, tc := range []struct {
		name string
		pts  []point
		want uint64
	}{
		{"none", []point{series(1, 2, 3)}, 0},
		{"marker after numbers", []point{series(1, 2, nan)}, 1},
		{"marker alone", []point{series(nan)}, 1},
		{"NaN after NaN", []point{series(1, nan, nan)}, 0},
		{"NaN inside", []point{series(1, nan, 3)}, 0},
		{"one of each", []point{series(1, nan), series(nan, nan), series()}, 1},
	} {
		if got := staleMarkers(tc.pts); got != tc.want {
			t.Errorf("%s: %d markers, want %d", tc.name, got, tc.want)
		}
	}
}
