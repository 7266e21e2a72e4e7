package scrape

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/counters"
)

// TestThinningKeepsIncrements feeds one series' samples of an hour to two
// trackers: one sample by sample, each at the step that would consume it
// (every 30 s), the other only the samples a thinned slot keeps, at the
// slot's 5-minute boundaries. Per bucket the increments must be equal,
// and so must the final state, the resets counted and the duplicate
// guard's rest, for rises, flat runs and restarts anywhere: on the first
// sample of the slot, just before and after a boundary, twice in one
// bucket.
func TestThinningKeepsIncrements(t *testing.T) {
	const iv = int64(30_000)
	bucket := (5 * time.Minute).Milliseconds()
	a := int64(1_700_000_000_000) - int64(1_700_000_000_000)%time.Hour.Milliseconds()
	var times []int64
	for b := a + bucket; b <= a+time.Hour.Milliseconds(); b += bucket {
		times = append(times, b)
	}
	type tc struct {
		name    string
		samples func(rng *rand.Rand, prev float64) []model.SamplePair
	}
	gen := func(restartAt map[int]bool, step int64, frac bool, rise int) func(rng *rand.Rand, prev float64) []model.SamplePair {
		return func(rng *rand.Rand, prev float64) []model.SamplePair {
			var out []model.SamplePair
			v := prev
			i := 0
			for ts := a + 1 + rng.Int64N(step); ts <= a+time.Hour.Milliseconds(); ts += step - 3000 + rng.Int64N(6000) {
				switch {
				case restartAt[i] || (restartAt[-1] && rng.IntN(12) == 0) || (restartAt[-2] && rng.IntN(3) == 0):
					v = math.Floor(v / (2.5 + rng.Float64()*10))
				case rng.IntN(6) == 0: // flat
				default:
					v += float64(rng.IntN(rise))
					if frac {
						v += rng.Float64()
					}
				}
				out = append(out, model.SamplePair{Timestamp: model.Time(ts), Value: model.SampleValue(v)})
				i++
			}
			return out
		}
	}
	cases := []tc{
		{"rises and flats", gen(nil, 60_000, false, 40)},
		{"restart on the slot's first sample", gen(map[int]bool{0: true}, 60_000, false, 40)},
		{"restarts either side of a boundary", gen(map[int]bool{4: true, 5: true, 6: true}, 60_000, false, 40)},
		{"two restarts in one bucket", gen(map[int]bool{20: true, 22: true}, 60_000, false, 40)},
		{"random restarts, 15s scrapes", gen(map[int]bool{-1: true}, 15_000, false, 40)},
		{"random restarts, fractional values", gen(map[int]bool{-1: true}, 45_000, true, 40)},
		{"climbs back past its value before a restart", gen(map[int]bool{-2: true}, 20_000, false, 3000)},
	}
	for _, c := range cases {
		for seed := range 50 {
			t.Run(fmt.Sprintf("%s/%d", c.name, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(seed), 99))
				every, thin := counters.NewTracker(time.Hour), counters.NewTracker(time.Hour)
				// Both settle on the same history before the slot.
				prev := model.SamplePair{}
				for k := range counters.DuplicateWindow + 2 {
					ts := a - int64(counters.DuplicateWindow+2-k)*60_000
					prev = model.SamplePair{Timestamp: model.Time(ts), Value: model.SampleValue(1000 + 10*k)}
					for _, tr := range []*counters.Tracker{every, thin} {
						tr.Begin(ceilTo(ts, iv))
						tr.ObserveSample(1, ts, float64(prev.Value))
						tr.End()
					}
				}
				if !thin.Settled(1) {
					t.Fatal("not settled after the warm-up")
				}
				vals := c.samples(rng, float64(prev.Value))
				st := &streamState{last: map[uint64]model.SamplePair{1: prev}}
				st.begin([]*streamSeries{{fp: 1, vals: vals}})
				bucketOf := func(pull int64) int64 { return ceilTo(pull, bucket) }
				want := map[int64]float64{}
				k := 0
				for pull := a + iv; pull <= a+time.Hour.Milliseconds(); pull += iv {
					every.Begin(pull)
					for ; k < len(vals) && int64(vals[k].Timestamp) <= pull; k++ {
						inc, _ := every.ObserveSample(1, int64(vals[k].Timestamp), float64(vals[k].Value))
						want[bucketOf(pull)] += inc
					}
					every.End()
				}
				st.slot(a, times[len(times)-1])
				kept, ok := st.thinned(times, nil)
				if !ok {
					t.Fatal("thinned refused without a check")
				}
				got := map[int64]float64{}
				var cur []model.SamplePair
				if len(kept) == 1 {
					cur = kept[0].vals
				}
				for _, b := range times {
					thin.Begin(b)
					for len(cur) > 0 && int64(cur[0].Timestamp) <= b {
						inc, _ := thin.ObserveSample(1, int64(cur[0].Timestamp), float64(cur[0].Value))
						got[b] += inc
						cur = cur[1:]
					}
					thin.End()
				}
				for _, b := range times {
					if d := math.Abs(got[b] - want[b]); d > 1e-9*math.Max(1, math.Abs(want[b])) {
						t.Errorf("bucket ending %s: thinned %v, every sample %v", time.UnixMilli(b).UTC().Format("15:04"), got[b], want[b])
					}
				}
				ev, ets, _ := every.LastValue(1)
				tv, tts, _ := thin.LastValue(1)
				if ev != tv || ets != tts {
					t.Errorf("last sample: thinned %v@%d, every sample %v@%d", tv, tts, ev, ets)
				}
				if every.Stats().Resets != thin.Stats().Resets {
					t.Errorf("resets: thinned %d, every sample %d", thin.Stats().Resets, every.Stats().Resets)
				}
				if every.Settled(1) != thin.Settled(1) || !thin.Settled(1) {
					t.Errorf("settled: thinned %v, every sample %v", thin.Settled(1), every.Settled(1))
				}
				if n := len(kept[0].vals); len(vals) > 2*len(times)+8 && n >= len(vals) {
					t.Errorf("kept %d of %d samples", n, len(vals))
				}
			})
		}
	}
}

// TestSampleArena checks that an arena hands out disjoint runs of the
// asked size, reuses its blocks after a reset, and gives runs larger
// than a block storage of their own.
func TestSampleArena(t *testing.T) {
	a := &sampleArena{}
	sizes := []int{10, arenaBlock - 20, 15, 0, arenaBlock, arenaBlock + 1, 3}
	fill := func() [][]model.SamplePair {
		var runs [][]model.SamplePair
		for i, n := range sizes {
			r := a.alloc(n)
			if len(r) != n || cap(r) != n {
				t.Fatalf("alloc(%d): len %d cap %d", n, len(r), cap(r))
			}
			for k := range r {
				r[k].Value = model.SampleValue(i)
			}
			runs = append(runs, r)
		}
		return runs
	}
	runs := fill()
	for i, r := range runs {
		for k := range r {
			if r[k].Value != model.SampleValue(i) {
				t.Fatalf("run %d sample %d was overwritten by run %v", i, k, r[k].Value)
			}
		}
	}
	blocks := len(a.blocks)
	a.reset()
	fill()
	if len(a.blocks) != blocks {
		t.Errorf("%d blocks after a reset and the same allocations, want the %d kept", len(a.blocks), blocks)
	}
	if blocks != 4 { // 10 and arenaBlock-20; 15 and 0; arenaBlock; 3 (arenaBlock+1 has its own)
		t.Errorf("%d blocks for runs %v, want 4 (a run that does not fit starts the next)", blocks, sizes)
	}
}

// TestBackfillHoldsNoSamples checks that once a streamed backfill is done
// the puller keeps none of its samples: a point left in a reused buffer
// holds a whole block of the backfill's sample storage.
func TestBackfillHoldsNoSamples(t *testing.T) {
	const models = 4
	r := newSynthReader(models, 2)
	p := synthPuller(t, r, models)
	to := floorTo(time.Date(2024, 3, 1, 0, 7, 30, 0, time.UTC).UnixMilli(), interval.Milliseconds())
	startOf := synthStarts(p, to, 3*24*time.Hour)
	var prog BackfillProgress
	if steps, err := p.coarseBackfill(t.Context(), startOf, to, &prog); err != nil || steps == 0 || p.c.bfSlots[0] == 0 {
		t.Fatalf("%d steps, %d thinned slots: %v", steps, p.c.bfSlots[0], err)
	}
	for i, buf := range p.slotBufs {
		for j, pt := range buf[:cap(buf)] {
			if pt.vals != nil {
				t.Fatalf("slot buffer %d holds samples after the backfill (point %d: %d samples)", i, j, len(pt.vals))
			}
		}
	}
}
