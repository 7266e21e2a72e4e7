package counters

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestObserveTable(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name    string
		values  []float64 // one pull each, NaN-able; -99 means "series absent"
		want    []float64 // increment per pull
		resets  uint64
		invalid uint64
	}{
		{"steady", []float64{10, 15, 15, 20}, []float64{0, 5, 0, 5}, 0, 0},
		{"reset", []float64{10, 15, 3, 7}, []float64{0, 5, 3, 4}, 1, 0},
		{"reset to zero", []float64{10, 0, 2}, []float64{0, 0, 2}, 1, 0},
		{"gap then return", []float64{10, -99, -99, 16}, []float64{0, 0, 0, 6}, 0, 0},
		{"invalid samples skipped", []float64{10, nan, inf, -5, 12}, []float64{0, 0, 0, 0, 2}, 0, 3},
		{"first sample is baseline", []float64{1000}, []float64{0}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker(time.Hour)
			for i, v := range tc.values {
				if !tr.Begin(int64(i+1) * 30000) {
					t.Fatal("pull refused")
				}
				var inc float64
				if v != -99 {
					inc, _ = tr.Observe(1, v)
				}
				tr.End()
				if inc != tc.want[i] {
					t.Errorf("pull %d: inc %v, want %v", i, inc, tc.want[i])
				}
			}
			st := tr.Stats()
			if st.Resets != tc.resets || st.InvalidSamples != tc.invalid {
				t.Errorf("stats %+v, want resets %d invalid %d", st, tc.resets, tc.invalid)
			}
		})
	}
}

func TestRefusedPulls(t *testing.T) {
	tr := NewTracker(0)
	tr.Begin(60000)
	tr.Observe(1, 5)
	for _, ts := range []int64{60000, 30000} { // duplicate, clock went back
		if tr.Begin(ts) {
			t.Errorf("Begin(%d) accepted after 60000", ts)
		}
	}
	if got := tr.Stats().RefusedPulls; got != 2 {
		t.Errorf("RefusedPulls = %d, want 2", got)
	}
	// The state is untouched: the next pull increments from 5.
	tr.Begin(90000)
	if inc, _ := tr.Observe(1, 8); inc != 3 {
		t.Errorf("inc after refused pulls = %v, want 3", inc)
	}
}

func TestForgetAfter(t *testing.T) {
	tr := NewTracker(2 * time.Minute)
	tr.Begin(0)
	tr.Observe(7, 100)
	tr.End()
	tr.Begin(150000) // 2.5m later: the series was missing too long
	tr.End()
	if tr.Len() != 0 || tr.Stats().ForgottenSeries != 1 {
		t.Fatalf("series not forgotten: len %d, stats %+v", tr.Len(), tr.Stats())
	}
	tr.Begin(180000)
	if inc, ok := tr.Observe(7, 130); ok || inc != 0 {
		t.Errorf("returning series after forget: inc %v ok %v, want a new baseline", inc, ok)
	}
}

// TestEndForgetsAsAScanWould drives a tracker through random pulls,
// samples of a few series and Reseats (which move a series' seen time
// back) and checks after every End that exactly the series a scan of
// their seen times would keep are tracked: End skips its scan while no
// series can be due, and must never skip one that is.
func TestEndForgetsAsAScanWould(t *testing.T) {
	const forget = 5 * 60_000
	for seed := range 200 {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		tr := NewTracker(forget * time.Millisecond)
		seen := map[uint64]int64{} // the reference: each tracked series' seen time
		pull, v := int64(0), 0.0
		for range 60 {
			pull += int64(1+rng.IntN(8)) * 30_000
			tr.Begin(pull)
			for key := range uint64(4) {
				if rng.IntN(3) == 0 {
					continue
				}
				if _, ok := seen[key]; ok && pull-seen[key] > forget {
					delete(seen, key) // forgotten on sight, as End would have
				}
				v += float64(rng.IntN(10))
				tr.ObserveSample(key, pull-int64(rng.IntN(1000)), v)
				seen[key] = pull
			}
			if key := uint64(rng.IntN(4)); rng.IntN(4) == 0 {
				back := pull - int64(rng.IntN(12))*60_000
				if _, ok := seen[key]; ok && tr.Reseat(key, back-1, back) {
					seen[key] = back
				}
			}
			tr.End()
			for key, s := range seen {
				if pull-s > forget {
					delete(seen, key)
				}
			}
			if tr.Len() != len(seen) {
				t.Fatalf("seed %d, pull %d: %d series tracked, a scan keeps %d (%v)", seed, pull, tr.Len(), len(seen), seen)
			}
			for key := range seen {
				if _, ok := tr.LastSample(key); !ok {
					t.Fatalf("seed %d, pull %d: series %d forgotten, seen at %d", seed, pull, key, seen[key])
				}
			}
		}
	}
}

// bruteIncrease is the reference: sum of sample-to-sample increments of a
// series with reset handling, the first sample (or the first after a gap
// longer than forget) being a baseline.
func bruteIncrease(ts []int64, vs []float64, forget int64) float64 {
	var sum float64
	for i := 1; i < len(vs); i++ {
		if ts[i]-ts[i-1] > forget {
			continue
		}
		if vs[i] < vs[i-1] {
			sum += vs[i]
		} else {
			sum += vs[i] - vs[i-1]
		}
	}
	return sum
}

// TestPropertyIncrementsMatchBruteForce: random series with resets, gaps and
// churn; the tracker's increments per series add up to the brute-force sum.
// With the duplicate guard on, resets close together are held back, so the
// increments plus what is held now plus what was dropped add up to it.
func TestPropertyIncrementsMatchBruteForce(t *testing.T) {
	for _, guard := range []bool{false, true} {
		propertyIncrements(t, guard)
	}
}

func propertyIncrements(t *testing.T, guard bool) {
	const step, forget = int64(30000), int64(10 * 60000)
	for seed := uint64(0); seed < 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		nSeries := 1 + rng.IntN(20)
		type series struct {
			ts        []int64
			vs        []float64
			v         float64
			from, to  int // pulls during which it exists (churn)
			gapFrom   int
			gapLength int
		}
		ss := make([]*series, nSeries)
		const pulls = 2000
		for i := range ss {
			from := 0
			if rng.IntN(3) == 0 {
				from = rng.IntN(pulls / 2)
			}
			to := pulls
			if rng.IntN(3) == 0 {
				to = from + rng.IntN(pulls-from)
			}
			ss[i] = &series{from: from, to: to, v: float64(rng.IntN(1000)),
				gapFrom: rng.IntN(pulls), gapLength: rng.IntN(40)}
		}
		tr := NewTracker(time.Duration(forget) * time.Millisecond)
		tr.SetDuplicateGuard(guard)
		got := make([]float64, nSeries)
		for p := 0; p < pulls; p++ {
			now := int64(p+1) * step
			tr.Begin(now)
			for i, s := range ss {
				if p < s.from || p >= s.to || (p >= s.gapFrom && p < s.gapFrom+s.gapLength) {
					continue
				}
				if rng.IntN(200) == 0 {
					s.v = float64(rng.IntN(5)) // reset
				} else {
					s.v += float64(rng.IntN(30))
				}
				s.ts, s.vs = append(s.ts, now), append(s.vs, s.v)
				inc, _ := tr.Observe(uint64(i), s.v)
				got[i] += inc
			}
			tr.End()
		}
		var sumGot, sumWant float64
		for i, s := range ss {
			want := bruteIncrease(s.ts, s.vs, forget)
			sumGot, sumWant = sumGot+got[i], sumWant+want
			if !guard && got[i] != want || guard && got[i] > want {
				t.Fatalf("guard %v seed %d series %d: tracker %v, brute force %v", guard, seed, i, got[i], want)
			}
		}
		if st := tr.Stats(); guard && sumGot+tr.HeldEvents()+st.DroppedEvents != sumWant {
			t.Fatalf("seed %d: counted %v + held %v + dropped %v, brute force %v", seed, sumGot, tr.HeldEvents(), st.DroppedEvents, sumWant)
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	tr := NewTracker(time.Hour)
	const n = 10000
	b.ReportAllocs()
	for i := range b.N {
		tr.Begin(int64(i+1) * 30000)
		for k := uint64(0); k < n; k++ {
			tr.Observe(k, float64(i)*float64(k))
		}
		tr.End()
	}
}

// TestMaxRateGuard: with a maximum rate, a sample implying more events than
// the series can have had since its last sample is refused, counted, and
// not a baseline: the next normal sample continues from the last good one
// (no false reset), and the total is the brute-force sum of the good
// samples' deltas. The probed faults: a sample 1e300 above normal, a 1e308
// one, and a normal counter whose rate stays under the bound.
func TestMaxRateGuard(t *testing.T) {
	for _, tc := range []struct {
		name           string
		values         []float64 // one sample a second
		wantTotal      float64
		wantRefused    uint64
		wantResetCount uint64
	}{
		{"normal traffic", []float64{0, 10, 20, 30, 40}, 40, 0, 0},
		{"one huge sample", []float64{0, 10, 1e300, 30, 40}, 40, 1, 0},
		{"one 1e308 sample", []float64{100, 110, 1e308, 120, 130}, 30, 1, 0},
		{"a real reset stays a reset", []float64{0, 10, 20, 5, 15}, 35, 0, 1},
		{"huge then a reset", []float64{0, 10, 1e300, 3, 13}, 23, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker(time.Hour)
			tr.SetMaxRate(1e6) // events per second
			var total float64
			base := int64(1_700_000_000_000)
			for i, v := range tc.values {
				if !tr.Begin(base + int64(i)*1000) {
					t.Fatal("pull refused")
				}
				if inc, ok := tr.ObserveSample(1, base+int64(i)*1000, v); ok {
					total += inc
				}
				tr.End()
			}
			st := tr.Stats()
			if total != tc.wantTotal || st.ImplausibleSamples != tc.wantRefused || st.Resets != tc.wantResetCount {
				t.Errorf("total %v, refused %d, resets %d; want %v, %d, %d",
					total, st.ImplausibleSamples, st.Resets, tc.wantTotal, tc.wantRefused, tc.wantResetCount)
			}
			if st.InvalidSamples != st.ImplausibleSamples {
				t.Errorf("invalid %d, implausible %d: refused samples are counted as invalid too", st.InvalidSamples, st.ImplausibleSamples)
			}
		})
	}
}
