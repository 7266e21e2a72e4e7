package synth

import "time"

// Standard returns a Config over [start, end] with one of each feature, at
// offsets that are fractions of the range D = end-start truncated to whole
// minutes (written here as start+D/3 etc.):
//
//   - labels: synth_requests_total{job="synth", model, code}; Step 30s, no
//     jitter, BaseRate 10/s, ErrorRatio 0.001;
//   - groups: "a" and "b" over the whole range; "c" appears at start+D/3
//     (churn in); "d" vanishes at start+2D/3 (churn out);
//   - burst: group "b" has 10x traffic for 2 minutes from start+D/5;
//   - restart: group "a" restarts at start+D/4 + 10s (shown at the next
//     grid point), and every group at start+3D/4 + 10s;
//   - gap: no samples for 10 minutes from start+D/2 (longer than PromQL's
//     default 5m lookback, so instant queries late in the gap are empty);
//   - incident: group "a" has an error ratio of 0.2 for 30 minutes from
//     start+3D/5.
//
// Change fields of the result for other shapes; tests should take times
// from the returned Config instead of recomputing them.
func Standard(start, end time.Time, seed uint64) Config {
	d := end.Sub(start)
	at := func(num, den int64) time.Time {
		return start.Add((d * time.Duration(num) / time.Duration(den)).Truncate(time.Minute))
	}
	return Config{
		Start:       start,
		End:         end,
		Step:        30 * time.Second,
		Seed:        seed,
		Metric:      "synth_requests_total",
		GroupLabel:  "model",
		ExtraLabels: map[string]string{"job": "synth"},
		Groups: []Group{
			{Name: "a"},
			{Name: "b"},
			{Name: "c", From: at(1, 3)},
			{Name: "d", Until: at(2, 3)},
		},
		BaseRate:   10,
		ErrorRatio: 0.001,
		Bursts:     []Burst{{Start: at(1, 5), Duration: 2 * time.Minute, Factor: 10, Groups: []string{"b"}}},
		Restarts: []Restart{
			{At: at(1, 4).Add(10 * time.Second), Groups: []string{"a"}},
			{At: at(3, 4).Add(10 * time.Second)},
		},
		Gaps:      []Gap{{Start: at(1, 2), Duration: 10 * time.Minute}},
		Incidents: []Incident{{Start: at(3, 5), Duration: 30 * time.Minute, ErrorRatio: 0.2, Groups: []string{"a"}}},
	}
}
