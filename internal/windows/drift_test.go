package windows

import (
	"encoding/binary"
	"math"
	"testing"
	"time"
)

// TestHugeBucketLeavesNoDrift is the fault found by probing: one increment
// 1e300 above normal passes through every window; once it has left, each
// window must hold exactly the normal events again, never a negative or
// rounded-away count.
func TestHugeBucketLeavesNoDrift(t *testing.T) {
	l := mustLayout(t, 30*time.Second, daemonWindows...)
	c := l.New()
	var evs []event
	base := int64(1_700_000_000_000) / (30 * sec) * (30 * sec)
	step := 30 * sec
	for i := int64(1); i <= 3*24*120+10; i++ {
		from, to := base+(i-1)*step, base+i*step
		good, valid := 9.0, 10.0
		if i == 100 {
			good, valid = 1e300, 1e300
		}
		if err := c.Record(from, to, good, valid); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, event{from, to, good, valid})
		for wi, w := range l.windows {
			if l.tierOf[wi] != 0 && i%97 != 0 {
				continue // coarse windows: checked now and then, edges aside
			}
			got := c.Sum(wi, to)
			if got.Valid < 0 || got.Good < 0 {
				t.Fatalf("step %d window %v: negative sum %+v", i, time.Duration(w)*time.Millisecond, got)
			}
			if l.tierOf[wi] != 0 {
				continue
			}
			want := bruteSum(evs, to, w)
			if want.Valid < 1e200 && (got.Valid != want.Valid || got.Good != want.Good) {
				t.Fatalf("step %d window %v: %+v, brute force %+v", i, time.Duration(w)*time.Millisecond, got, want)
			}
		}
	}
	end := base + (3*24*120+10)*step
	for wi, w := range l.windows {
		want := bruteSum(evs, end, w)
		bound := edgeBound(evs, end, w, l.tiers[l.tierOf[wi]].res)
		got := c.Sum(wi, end)
		if want.Valid > 1e200 {
			continue // the 3d window may still hold it at its edge
		}
		if math.Abs(got.Valid-want.Valid) > bound.Valid || math.Abs(got.Good-want.Good) > bound.Good {
			t.Errorf("after the huge bucket left: window %v: %+v, brute force %+v (edge bound %v)",
				time.Duration(w)*time.Millisecond, got, want, bound.Valid)
		}
	}
}

// TestRecordRefusesOverflow: a bucket that would become infinite is refused
// whole, and the counts stay as they were.
func TestRecordRefusesOverflow(t *testing.T) {
	l := mustLayout(t, 30*time.Second, 5*time.Minute, time.Hour)
	c := l.New()
	base := int64(1_700_000_000_000) / (30 * sec) * (30 * sec)
	if err := c.Record(base, base+10*sec, 1e308, 1e308); err != nil {
		t.Fatal(err)
	}
	if err := c.Record(base+10*sec, base+20*sec, 1e308, 1e308); err == nil {
		t.Fatal("an overflowing increment was accepted")
	}
	if s := c.Sum(0, base+30*sec); s.Valid != 1e308 || math.IsInf(s.Good, 0) {
		t.Fatalf("after the refused record: %+v", s)
	}
}

// FuzzCountsTotals drives one Counts with records and window sums decoded
// from the fuzzer's bytes, values spanning normal counts to 1e300, and checks
// the invariants of the running totals: never negative, never NaN, and equal
// to a brute sum of the ring's own buckets (the totals are a cache of that
// sum). Seeds: testdata/fuzz/FuzzCountsTotals.
func FuzzCountsTotals(f *testing.F) {
	f.Add([]byte{0, 10, 1, 200, 0, 3, 9, 0, 0, 250, 1, 2})
	f.Add([]byte{7, 255, 255, 0, 1, 1, 1, 1, 9, 9, 9, 9, 200, 200})
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := NewLayout(30*time.Second, []time.Duration{5 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour, 72 * time.Hour, 7 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		c := l.New()
		now := int64(1_700_000_000_000)
		for len(data) >= 4 {
			op, a, b := data[0], binary.LittleEndian.Uint16(data[1:3]), data[3]
			data = data[4:]
			// Advance by 1 s to about 9 h so that buckets leave every tier.
			now += int64(a%2000+1) * 16 * sec
			valid := float64(b)
			switch op % 8 {
			case 6:
				valid = 1e300
			case 7:
				valid = float64(a) * 1e12
			}
			good := math.Floor(valid * float64(op%4) / 3)
			if err := c.Record(now-sec, now, good, valid); err != nil {
				continue
			}
			for wi := range l.windows {
				got := c.Sum(wi, now)
				want := bruteBuckets(c, wi, now)
				for _, p := range [][2]float64{{got.Good, want.Good}, {got.Valid, want.Valid}, {got.Seen, want.Seen}} {
					if p[0] < 0 || math.IsNaN(p[0]) {
						t.Fatalf("window %d: total %v is negative or NaN", wi, p[0])
					}
					if math.Abs(p[0]-p[1]) > 1e-12*max(1, math.Abs(p[1])) {
						t.Fatalf("window %d at %d: running total %v, brute sum of buckets %v", wi, now, p[0], p[1])
					}
				}
			}
		}
	})
}

// bruteBuckets sums window i at t straight from the ring, with no running
// totals: the whole buckets between the edge and the current one, plus the
// current bucket and the edge share, as Sum defines it.
func bruteBuckets(c *Counts, i int, t int64) Sum {
	l := c.layout
	r := &c.tiers[l.tierOf[i]]
	w := l.windows[i]
	cur := ceilDiv(t, r.res) - 1
	edge := ceilDiv(t-w, r.res) - 1
	frac := float64((edge+1)*r.res-(t-w)) / float64(r.res)
	var s Sum
	var g, v kbn
	for j := edge + 1; j < cur; j++ {
		if r.live(j) {
			k := r.slot(j)
			g.add(r.b.good(k))
			v.add(r.b.valid(k))
			s.Seen += r.b.seen(k)
		}
	}
	s.Good, s.Valid = g.value(), v.value()
	c.addBucket(&s, r, cur, 1)
	c.addBucket(&s, r, edge, frac)
	return s
}
