package counters

import (
	"math"
	"testing"
	"time"
)

// fuzzSample decodes 4 bytes into a sample: series b0%4, a time step of
// b1%4 seconds, and a value from b2,b3 (b2 >= 0xf0 gives NaN, ±Inf or a
// negative value; otherwise b2<<8|b3, a counter that may drop).
func fuzzSample(b []byte) (key uint64, dt int64, v float64) {
	key, dt = uint64(b[0]%4), int64(b[1]%4)*1000
	switch {
	case b[2] == 0xff:
		v = math.NaN()
	case b[2] == 0xfe:
		v = math.Inf(1)
	case b[2] == 0xfd:
		v = -float64(b[3])
	default:
		v = float64(int(b[2])<<8 | int(b[3]))
	}
	return key, dt, v
}

// FuzzTracker feeds arbitrary sequences of (series, time, value) samples,
// one pull per sample, with and without the duplicate guard. Arbitrary
// input (times that repeat or go back, NaN, ±Inf, negative values) must
// never panic nor give an increment that is negative or NaN. When the
// samples are valid and in time order (ordered: every time step made
// positive and every invalid value replaced), the increments equal the
// brute-force reset-aware delta sum of each series without the guard; with
// it, increments + held + dropped equal it.
func FuzzTracker(f *testing.F) {
	f.Add([]byte{0, 1, 0, 10, 0, 1, 0, 20, 0, 1, 0, 5, 0, 1, 0, 9}, true)
	f.Add([]byte{1, 0, 0xff, 0, 1, 0, 0xfe, 0, 1, 2, 0xfd, 3, 1, 1, 0, 7}, false)
	f.Add([]byte{0, 1, 0x10, 0, 0, 1, 0x0f, 0, 0, 1, 0x10, 1, 0, 1, 0x0f, 1, 0, 1, 0x10, 2, 0, 1, 0x0f, 2,
		0, 1, 0x10, 3, 0, 1, 0x0f, 3, 0, 1, 0x10, 4, 0, 1, 0x0f, 4}, true)
	f.Fuzz(func(t *testing.T, data []byte, ordered bool) {
		for _, guard := range []bool{false, true} {
			tr := NewTracker(24 * time.Hour)
			tr.SetDuplicateGuard(guard)
			var now int64 = 1_700_000_000_000
			counted := map[uint64]float64{}
			samples := map[uint64][]float64{}
			for i := 0; i+4 <= len(data); i += 4 {
				key, dt, v := fuzzSample(data[i : i+4])
				if ordered {
					dt += 1000
					if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
						v = 0
					}
				}
				now += dt
				tr.Begin(now)
				inc, _ := tr.ObserveSample(key, now, v)
				if inc < 0 || math.IsNaN(inc) || math.IsInf(inc, 0) {
					t.Fatalf("guard %v sample %d (%d, %v): increment %v", guard, i/4, key, v, inc)
				}
				tr.End()
				counted[key] += inc
				samples[key] = append(samples[key], v)
			}
			st := tr.Stats()
			if h := tr.HeldEvents(); h < 0 || math.IsNaN(h) || st.DroppedEvents < 0 || math.IsNaN(st.DroppedEvents) {
				t.Fatalf("guard %v: held %v, dropped %v", guard, h, st.DroppedEvents)
			}
			if !ordered {
				continue
			}
			var sumCounted, sumBrute float64
			for key, vs := range samples {
				want := bruteDelta(vs)
				sumCounted, sumBrute = sumCounted+counted[key], sumBrute+want
				if !guard && counted[key] != want {
					t.Fatalf("series %d %v: counted %v, brute force %v", key, vs, counted[key], want)
				}
			}
			if guard && sumCounted+tr.HeldEvents()+st.DroppedEvents != sumBrute {
				t.Fatalf("guard: counted %v + held %v + dropped %v, brute force %v", sumCounted, tr.HeldEvents(), st.DroppedEvents, sumBrute)
			}
		}
	})
}
