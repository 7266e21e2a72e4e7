package windows

import (
	"errors"
	"fmt"
	"math"
)

// ErrOutOfOrder is returned by Record for an interval that ends at or before
// the end of the previously recorded one. Such a record would rewrite history
// that window sums already used, so it is rejected and the caller counts it.
var ErrOutOfOrder = errors.New("interval ends at or before the last recorded time")

// Sum is the content of one window at one evaluation time.
type Sum struct {
	// Good and Valid are the event counts in the window.
	Good, Valid float64
	// Seen is the part of the window, in milliseconds, for which data was
	// recorded.
	Seen float64
}

// Counts holds the bucketed event counts of one SLO group. Create it with
// Layout.New.
type Counts struct {
	layout   *Layout
	tiers    []ring
	run      []running
	since    running // running totals of SumSince
	last     int64   // end of the last recorded interval, ms
	hasLast  bool
	rebuilds uint64 // running totals rebuilt after going negative
}

type ring struct {
	res, n int64
	head   int64 // highest absolute bucket index opened
	opened bool
	b      buckets
}

type running struct {
	lo, hi      int64 // inclusive range of whole buckets in the totals
	ok          bool
	ops         int64 // incremental updates since the last full recomputation
	good, valid kbn
	seen        float64 // whole milliseconds: exact in a float64
}

// kbn is a compensated (Kahan-Babuska-Neumaier) running sum. A running total
// adds the buckets that enter a window and subtracts those that leave; with
// plain float64 sums, one huge bucket (a corrupt sample 1e300 above normal)
// absorbs every small value added while it is in the total, and subtracting
// it later leaves garbage, even a negative count. The compensation term
// keeps what the rounding of each step lost, so the total is the sum of the
// buckets it holds, to float precision of that sum rather than of the
// largest value that ever passed through it.
type kbn struct{ sum, c float64 }

// add adds x to the compensated sum.
func (k *kbn) add(x float64) {
	t := k.sum + x
	if math.Abs(k.sum) >= math.Abs(x) {
		k.c += (k.sum - t) + x
	} else {
		k.c += (x - t) + k.sum
	}
	k.sum = t
}

// value returns the compensated total.
func (k kbn) value() float64 { return k.sum + k.c }

// maxCompensation bounds the compensation term: above it the term itself
// rounds (it held a value of 2^50 or more that a far larger one swamped), so
// the total is rebuilt from its buckets instead of trusted.
const maxCompensation = 1 << 50

// lossy reports whether the compensated sum may have lost precision.
func (k kbn) lossy() bool { return math.Abs(k.c) > maxCompensation }

// New returns empty counts for one group. Its memory is fixed by the layout.
func (l *Layout) New() *Counts {
	c := &Counts{layout: l, tiers: make([]ring, len(l.tiers)), run: make([]running, len(l.windows))}
	s := newSlab(l.tiers)
	for i, t := range l.tiers {
		c.tiers[i] = ring{res: t.res, n: t.n, b: newBuckets(t.n, t.res, s)}
	}
	return c
}

// Layout returns the layout the counts were built with.
func (c *Counts) Layout() *Layout { return c.layout }

// Last returns the end of the last recorded interval (unix ms) and whether
// anything was recorded.
func (c *Counts) Last() (int64, bool) { return c.last, c.hasLast }

// Record adds good and valid events that happened in the interval (from, to]
// (unix milliseconds) and marks that interval as seen. The events go to the
// bucket containing to. Intervals must be recorded in increasing order of
// their end; an interval that starts before the previous end is clipped for
// coverage, so nothing is counted as seen twice. Values must be finite and
// non-negative, and good must not exceed valid: clamping is the caller's job,
// so that it can count it.
func (c *Counts) Record(from, to int64, good, valid float64) error {
	if c.hasLast && to <= c.last {
		return ErrOutOfOrder
	}
	if from >= to {
		return fmt.Errorf("empty interval (%d, %d]", from, to)
	}
	if !(good >= 0 && valid >= 0) || math.IsInf(good, 0) || math.IsInf(valid, 0) || good > valid {
		return fmt.Errorf("invalid increment good=%v valid=%v", good, valid)
	}
	for ti := range c.tiers {
		// A sum that overflows would turn totals into Inf - Inf = NaN: refuse
		// the increment before any tier is written.
		r := &c.tiers[ti]
		if k := ceilDiv(to, r.res) - 1; r.live(k) {
			s := r.slot(k)
			if math.IsInf(r.b.good(s)+good, 0) || math.IsInf(r.b.valid(s)+valid, 0) {
				return fmt.Errorf("invalid increment good=%v valid=%v: overflows the bucket ending at %d", good, valid, (k+1)*r.res)
			}
		}
	}
	if c.hasLast && from < c.last {
		from = c.last
	}
	for ti := range c.tiers {
		r := &c.tiers[ti]
		k := ceilDiv(to, r.res) - 1
		r.open(k)
		s := r.slot(k)
		r.b.add(s, good, valid)
		first := max(floorDiv(from, r.res), r.head-r.n+1)
		for j := first; j <= k; j++ {
			lo, hi := max(from, j*r.res), min(to, (j+1)*r.res)
			if hi > lo {
				r.b.addSeen(r.slot(j), hi-lo)
			}
		}
		// A running total that already includes bucket `first` or later
		// is stale now: recompute it at the next Sum.
		for wi, t := range c.layout.tierOf {
			if t == ti && c.run[wi].ok && c.run[wi].hi >= first {
				c.run[wi].ok = false
			}
		}
		if ti == len(c.tiers)-1 && c.since.ok && c.since.hi >= first {
			c.since.ok = false
		}
	}
	c.last, c.hasLast = to, true
	return nil
}

// Sum returns the content of window i (an index into Layout.Windows) for the
// interval (t-W, t], t in unix milliseconds. See the package comment for the
// error bound at the window's far edge.
func (c *Counts) Sum(i int, t int64) Sum {
	l := c.layout
	r := &c.tiers[l.tierOf[i]]
	w := l.windows[i]
	cur := ceilDiv(t, r.res) - 1
	edge := ceilDiv(t-w, r.res) - 1
	frac := float64((edge+1)*r.res-(t-w)) / float64(r.res)

	run := &c.run[i]
	c.advance(run, r, edge+1, cur-1)
	s := Sum{Good: run.good.value(), Valid: run.valid.value(), Seen: run.seen}
	c.addBucket(&s, r, cur, 1)
	c.addBucket(&s, r, edge, frac)
	return s
}

// SumSince returns the content of (from, t], unix milliseconds, from the
// coarsest tier, whose span must hold it (the layout's longest window). It
// serves calendar budgets: the newest bucket is exact up to t and the far
// edge is exact when from is on a bucket boundary of that tier (1h, 5m or
// the interval), which every calendar start is in whole-hour time zones.
// Calls are cheapest when from stays the same and t grows.
func (c *Counts) SumSince(from, t int64) Sum {
	ti := len(c.tiers) - 1
	r := &c.tiers[ti]
	cur := ceilDiv(t, r.res) - 1
	edge := ceilDiv(from, r.res) - 1
	frac := float64((edge+1)*r.res-from) / float64(r.res)
	if edge >= cur { // the whole range lies in the newest bucket
		if !r.live(cur) {
			return Sum{}
		}
		k := r.slot(cur)
		f := 1.0
		if from > cur*r.res { // the bucket holds (cur·R, t]: take the share after from
			f = float64(t-from) / float64(t-cur*r.res)
		}
		return Sum{Good: f * r.b.good(k), Valid: f * r.b.valid(k), Seen: f * r.b.seen(k)}
	}
	c.advance(&c.since, r, edge+1, cur-1)
	s := Sum{Good: c.since.good.value(), Valid: c.since.valid.value(), Seen: c.since.seen}
	c.addBucket(&s, r, cur, 1)
	c.addBucket(&s, r, edge, frac)
	return s
}

// addBucket adds the share f of bucket k, if the ring still holds it.
func (c *Counts) addBucket(s *Sum, r *ring, k int64, f float64) {
	if f > 0 && r.live(k) {
		j := r.slot(k)
		s.Good += f * r.b.good(j)
		s.Valid += f * r.b.valid(j)
		s.Seen += f * r.b.seen(j)
	}
}

// Coverage returns the seen share of window i in s, in [0, 1].
func (c *Counts) Coverage(i int, s Sum) float64 {
	return min(1, max(0, s.Seen/float64(c.layout.windows[i])))
}

// advance moves the running totals to the whole buckets lo..hi, adding and
// subtracting the buckets that entered and left, or recomputing them when
// incremental updating is not possible, has been used for a full ring, or
// left a total below zero (which no sum of non-negative buckets is) or with
// a compensation term too large to be exact.
func (c *Counts) advance(run *running, r *ring, lo, hi int64) {
	if !run.ok || lo < run.lo || hi < run.hi || lo > run.hi+1 ||
		run.lo <= r.head-r.n || run.ops >= r.n {
		c.recompute(run, r, lo, hi)
		return
	}
	for j := run.lo; j < lo; j++ {
		// Only live buckets were added (a bucket past the head holds the
		// data of one a ring earlier), so only live ones leave.
		if r.live(j) {
			k := r.slot(j)
			run.good.add(-r.b.good(k))
			run.valid.add(-r.b.valid(k))
			run.seen -= r.b.seen(k)
		}
		run.ops++
	}
	for j := run.hi + 1; j <= hi; j++ {
		if r.live(j) {
			k := r.slot(j)
			run.good.add(r.b.good(k))
			run.valid.add(r.b.valid(k))
			run.seen += r.b.seen(k)
		}
		run.ops++
	}
	run.lo, run.hi = lo, hi
	if run.good.value() < 0 || run.valid.value() < 0 || run.seen < 0 || run.good.lossy() || run.valid.lossy() {
		c.recompute(run, r, lo, hi)
		c.rebuilds++
	}
}

// recompute sets the running totals to the plain sum of buckets lo..hi.
func (c *Counts) recompute(run *running, r *ring, lo, hi int64) {
	run.good, run.valid, run.seen = kbn{}, kbn{}, 0
	for j := lo; j <= hi; j++ {
		if r.live(j) {
			k := r.slot(j)
			run.good.add(r.b.good(k))
			run.valid.add(r.b.valid(k))
			run.seen += r.b.seen(k)
		}
	}
	// A total that is lossy even when summed afresh (it holds values far
	// apart in magnitude) is not a base for incremental updates: the next
	// Sum sums its buckets again, until those values have left.
	run.lo, run.hi, run.ok, run.ops = lo, hi, !run.good.lossy() && !run.valid.lossy(), 0
}

// Rebuilds returns how many times a running total was found below zero or
// with a loss of precision, and rebuilt from its buckets. It stays zero
// unless the counts hold values of 2^50 or more next to far larger ones.
func (c *Counts) Rebuilds() uint64 { return c.rebuilds }

// open makes bucket k writable, clearing the slots of buckets that the ring
// skipped over. Buckets older than the head stay as they are.
func (r *ring) open(k int64) {
	if r.opened && k <= r.head {
		return
	}
	if !r.opened || k-r.head >= r.n {
		r.b.resetAll()
	} else {
		for j := r.head + 1; j <= k; j++ {
			r.b.reset(r.slot(j))
		}
	}
	r.head, r.opened = k, true
}

// live reports whether bucket k is held by the ring.
func (r *ring) live(k int64) bool { return r.opened && k <= r.head && k > r.head-r.n }

func (r *ring) slot(k int64) int64 {
	m := k % r.n
	if m < 0 {
		m += r.n
	}
	return m
}
