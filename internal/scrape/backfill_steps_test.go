package scrape

import (
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// TestTakeStep checks the transposition of a chunk into steps: a raw
// query's step gets every sample up to it not taken before, a sampled
// query's only the sample at the step; series without one are left out.
func TestTakeStep(t *testing.T) {
	cursor := func() []point {
		return []point{
			{fp: 1, vals: []model.SamplePair{{Timestamp: 5, Value: 1}, {Timestamp: 10, Value: 2}, {Timestamp: 15, Value: 3}, {Timestamp: 20, Value: 4}}},
			{fp: 2, vals: []model.SamplePair{{Timestamp: 20, Value: 7}}},
		}
	}
	tests := []struct {
		name string
		raw  bool
		// want[i] is, per step 10, 20, 30, the timestamps handed to series
		// 1 and 2 (nil: the series is left out of the step).
		want [3][2][]int64
	}{
		{"raw", true, [3][2][]int64{{{5, 10}, nil}, {{15, 20}, {20}}, {nil, nil}}},
		{"sampled", false, [3][2][]int64{{{10}, nil}, {{20}, {20}}, {nil, nil}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cur := cursor()
			for i, s := range []int64{10, 20, 30} {
				got := map[uint64][]int64{}
				for _, pt := range takeStep(nil, cur, s, tc.raw) {
					for _, v := range pt.vals {
						got[pt.fp] = append(got[pt.fp], int64(v.Timestamp))
					}
				}
				for j, fp := range []uint64{1, 2} {
					want := tc.want[i][j]
					if len(got[fp]) != len(want) {
						t.Fatalf("step %d series %d: %v, want %v", s, fp, got[fp], want)
					}
					for k := range want {
						if got[fp][k] != want[k] {
							t.Fatalf("step %d series %d: %v, want %v", s, fp, got[fp], want)
						}
					}
				}
			}
		})
	}
}

// TestPullerConfigDefaults checks that zero fields get their defaults and
// that impossible values are refused with the field named.
func TestPullerConfigDefaults(t *testing.T) {
	cfg, err := PullerConfig{Interval: 30 * time.Second}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxPoints != DefaultMaxPoints || cfg.MaxSamples != DefaultMaxSamples || cfg.MaxPending != DefaultMaxPending ||
		cfg.Fanout != DefaultFanout || cfg.ForgetAfter != time.Hour {
		t.Errorf("defaults: %+v", cfg)
	}
	if cfg, _ := (PullerConfig{Interval: 10 * time.Minute}).withDefaults(); cfg.ForgetAfter != 100*time.Minute {
		t.Errorf("forget after at a 10m interval: %s, want 10 intervals", cfg.ForgetAfter)
	}
	for _, tc := range []struct {
		cfg  PullerConfig
		want string
	}{
		{PullerConfig{Interval: 500 * time.Millisecond}, "puller: interval 500ms: must be at least 1s"},
		{PullerConfig{Interval: time.Second, MaxPoints: 1}, "puller: max points 1: must be at least 2"},
	} {
		if _, err := tc.cfg.withDefaults(); err == nil || err.Error() != tc.want {
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
