package counters

import (
	"math/rand/v2"
	"testing"
	"time"
)

// interleave returns the samples of two replicas of one counter that reach
// the tracker as one series: replica a counts from a0, replica b from b0,
// both by one per sample, n samples each, alternating a, b, a, b.
func interleave(a0, b0 float64, n int) []float64 {
	out := make([]float64, 0, 2*n)
	for i := 0; i < n; i++ {
		out = append(out, a0+float64(i), b0+float64(i))
	}
	return out
}

// deploys returns a counter that grows by 0-30 per sample and restarts
// (to a small value) every period samples.
func deploys(n, period int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 3))
	out := make([]float64, n)
	v := 1000.0
	for i := range out {
		if i > 0 && i%period == 0 {
			v = float64(rng.IntN(5))
		} else {
			v += float64(rng.IntN(31))
		}
		out[i] = v
	}
	return out
}

// bruteDelta is the reset-aware delta sum of consecutive samples: the
// difference, or the new value after a drop.
func bruteDelta(vs []float64) float64 {
	var sum float64
	for i := 1; i < len(vs); i++ {
		if vs[i] < vs[i-1] {
			sum += vs[i]
		} else {
			sum += vs[i] - vs[i-1]
		}
	}
	return sum
}

// feed gives the tracker one sample per pull, 15s apart, and returns the
// increments counted, in total and from sample `from` on.
func feed(tr *Tracker, vs []float64, from int) (total, after float64, changes []FlagChange) {
	for i, v := range vs {
		t := int64(1_700_000_000_000) + int64(i)*15000
		tr.Begin(t)
		inc, _ := tr.ObserveSample(42, t, v)
		changes = append(changes, tr.FlagChanges()...)
		tr.End()
		total += inc
		if i >= from {
			after += inc
		}
	}
	return total, after, changes
}

// TestDuplicateGuard: two replicas of one counter interleaved in one series
// are flagged and count (almost) nothing, where without the guard every
// other sample counts the whole counter again; genuine counters with
// deploys every 7 samples, or a crash loop, are not flagged and count
// exactly the brute-force reset-aware delta sum; a flagged series that
// behaves again for DuplicateWindow samples is cleared.
func TestDuplicateGuard(t *testing.T) {
	hundredK := interleave(100_000, 99_995, 600) // 1200 samples, 600 events per replica
	recovers := append(interleave(100, 95, 50), make([]float64, 100)...)
	for i := 100; i < len(recovers); i++ {
		recovers[i] = 200 + float64(i) // one replica left (dedup fixed)
	}
	tests := []struct {
		name         string
		vs           []float64
		wantFlags    uint64 // times flagged
		wantFlagged  bool   // at the end
		wantExact    bool   // counted + held == brute force
		maxCounted   float64
		afterFrom    int     // sample index from which ...
		wantAfter    float64 // ... exactly this is counted (-1: not checked)
		unguardedMin float64 // without the guard at least this is counted
	}{
		{name: "two replicas 100000.. and 99995.. interleaved", vs: hundredK, wantFlags: 1, wantFlagged: true,
			maxCounted: 99_995 + 3*6, afterFrom: 9, wantAfter: 0, unguardedMin: 5.9e7},
		{name: "two replicas 100.. and 95.. interleaved", vs: interleave(100, 95, 600), wantFlags: 1, wantFlagged: true,
			maxCounted: 95 + 3*6, afterFrom: 9, wantAfter: 0, unguardedMin: 2e5},
		{name: "deploy every 7 samples", vs: deploys(2000, 7, 1), wantExact: true, wantAfter: -1},
		{name: "deploy every 5 samples", vs: deploys(2000, 5, 2), wantExact: true, wantAfter: -1},
		{name: "crash loop every 3 samples", vs: deploys(2000, 3, 3), wantExact: true, wantAfter: -1},
		{name: "replicas, then one replica again", vs: recovers, wantFlags: 1, wantFlagged: false,
			maxCounted: 95 + 3*6 + 100, afterFrom: 100 + DuplicateWindow, wantAfter: float64(len(recovers) - 100 - DuplicateWindow)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker(time.Hour)
			total, after, changes := feed(tr, tc.vs, tc.afterFrom)
			st := tr.Stats()
			brute := bruteDelta(tc.vs)
			if st.DuplicateFlags != tc.wantFlags || tr.Flagged(42) != tc.wantFlagged {
				t.Errorf("flagged %d times, flagged now %v; want %d, %v", st.DuplicateFlags, tr.Flagged(42), tc.wantFlags, tc.wantFlagged)
			}
			if want := map[bool]int{true: 1}[tc.wantFlagged]; tr.FlaggedSeries() != want {
				t.Errorf("FlaggedSeries %d, want %d", tr.FlaggedSeries(), want)
			}
			if tc.wantExact {
				if total+tr.HeldEvents() != brute || st.DroppedEvents != 0 {
					t.Errorf("counted %v + held %v (dropped %v), brute force %v", total, tr.HeldEvents(), st.DroppedEvents, brute)
				}
				if tr.HeldEvents() > 0 && st.Resets == 0 {
					t.Errorf("held %v without a reset", tr.HeldEvents())
				}
				return
			}
			if total > tc.maxCounted {
				t.Errorf("counted %v, want at most %v (brute force, which counts every replica switch as a reset: %v)", total, tc.maxCounted, brute)
			}
			if tc.wantAfter >= 0 && after != tc.wantAfter {
				t.Errorf("counted %v from sample %d on, want %v", after, tc.afterFrom, tc.wantAfter)
			}
			if total+st.DroppedEvents+tr.HeldEvents() != brute {
				t.Errorf("counted %v + dropped %v + held %v != brute force %v", total, st.DroppedEvents, tr.HeldEvents(), brute)
			}
			if len(changes) == 0 || !changes[0].Flagged || changes[0].Key != 42 || changes[0].Resets*2 < DuplicateMinSamples {
				t.Errorf("flag changes %+v", changes)
			}
			if tc.unguardedMin > 0 {
				off := NewTracker(time.Hour)
				off.SetDuplicateGuard(false)
				unguarded, _, _ := feed(off, tc.vs, 0)
				if unguarded < tc.unguardedMin || unguarded != brute {
					t.Errorf("without the guard %v counted, want at least %v (and the brute force %v)", unguarded, tc.unguardedMin, brute)
				}
				t.Logf("guarded %v events, unguarded %v (brute force), %d samples dropped", total, unguarded, st.DuplicateSamples)
			}
		})
	}
}

// TestDuplicateGuardForget: a held reset of a series forgotten before its
// release is dropped and counted; the flag of a forgotten series is gone.
func TestDuplicateGuardForget(t *testing.T) {
	tr := NewTracker(time.Minute)
	vs := interleave(100, 95, 6) // 12 samples: flagged at the 9th
	feed(tr, vs[:4], 99)         // 100, then 95 (a suspect drop: held), 101 and 96 (held with it)
	if held := tr.HeldEvents(); held != 95+6+96 {
		t.Fatalf("held %v, want %v", held, 95+6+96)
	}
	tr.Begin(1_800_000_000_000)
	tr.End()
	if tr.Len() != 0 || tr.HeldEvents() != 0 || tr.Stats().DroppedEvents != 95+6+96 {
		t.Errorf("after forgetting: %d series, held %v, dropped %v", tr.Len(), tr.HeldEvents(), tr.Stats().DroppedEvents)
	}
}

// settledStep is one sample fed to a tracker and whether its series'
// guard is at rest after it.
type settledStep struct {
	v    float64
	want bool
}

// rising returns n samples rising by 1 from v: the baseline and the first
// DuplicateWindow-1 increments leave the guard not yet at rest.
func rising(v float64, n int) []settledStep {
	out := make([]settledStep, n)
	for i := range out {
		out[i] = settledStep{v + float64(i), i >= DuplicateWindow}
	}
	return out
}

// TestSettled walks one series through the states of the duplicate guard
// and checks when it is at rest.
func TestSettled(t *testing.T) {
	cases := []struct {
		name     string
		guardOff bool
		seq      []settledStep
	}{
		{"needs a full window of increments", false, rising(100, 18)},
		{"a restart keeps it at rest, a suspect drop does not", false, append(rising(100, 17),
			settledStep{3, true}, settledStep{10, true}, settledStep{8, false}, settledStep{12, false})},
		{"a suspect drop is at rest again after a window of rises", false, append(append(rising(100, 17),
			settledStep{90, false}), rising(91, DuplicateWindow+1)[1:]...)},
		{"off: at rest once tracked", true, []settledStep{{5, true}, {1, true}, {4, true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := NewTracker(time.Hour)
			tr.SetDuplicateGuard(!c.guardOff)
			if tr.Settled(1) {
				t.Fatal("settled before the series was seen")
			}
			for i, o := range c.seq {
				tr.Begin(int64(i+1) * 1000)
				tr.ObserveSample(1, int64(i+1)*1000, o.v)
				tr.End()
				if got := tr.Settled(1); got != o.want {
					t.Fatalf("after sample %d (%v): settled %v, want %v", i, o.v, got, o.want)
				}
			}
		})
	}
}
