package windows

import "math"

// buckets is the storage of one ring: good and valid counts and the seen
// milliseconds of each bucket, held as compactly as exactness allows.
//
// Events are whole numbers, so counts are uint32 while every bucket value is
// a whole number up to 2^32-1 (4.29 billion events in one bucket: 1.19
// million a second on the hourly tier); the first value that is not (a
// fractional counter, or more events) moves the whole ring to float64
// ("wide"), once, so no count is ever rounded. Seen time is uint16
// milliseconds when a bucket is at most 65,535 ms wide (the fine tier at
// intervals up to a minute), and uint16 whole seconds in wider buckets (up
// to 18 hours) while every interval recorded in them is whole seconds, as
// the daemon's tick and backfill times are; the first that is not moves
// the ring's seen time to uint32 milliseconds, again exactly. A 30d SLO at
// 30s holds 2,310 buckets of 10 bytes each instead of 20 (see
// Layout.BytesPerGroup).
//
// Hand-written rather than generic: the representation changes at run time
// (uint32 to float64) for one ring of one group, which a type parameter
// fixed at construction cannot do without an interface call per bucket.
type buckets struct {
	wide            bool
	good32, valid32 []uint32
	good64, valid64 []float64
	seen16          []uint16 // ms, in buckets up to maxSeen16 ms wide
	seenSec         []uint16 // whole seconds, in wider buckets
	seen32          []uint32 // ms, once a wider bucket saw a fraction of a second
}

// maxSeen16 is the widest bucket, in ms, whose seen time fits a uint16;
// maxSeenSec the widest whose seen seconds do.
const (
	maxSeen16  = 1<<16 - 1
	maxSeenSec = maxSeen16 * 1000
)

// slab hands out the arrays of all rings of one Counts from one allocation
// per element type, so that size-class rounding is paid once per group
// rather than once per array (about 2.5 KB of 30 KB).
type slab struct {
	u32 []uint32
	u16 []uint16
}

func newSlab(tiers []tierSpec) *slab {
	var n32, n16 int64
	for _, t := range tiers {
		n32 += 2 * t.n
		if t.res <= maxSeenSec {
			n16 += t.n
		} else {
			n32 += t.n
		}
	}
	return &slab{u32: make([]uint32, n32), u16: make([]uint16, n16)}
}

func (s *slab) take32(n int64) []uint32 {
	out := s.u32[:n:n]
	s.u32 = s.u32[n:]
	return out
}

func (s *slab) take16(n int64) []uint16 {
	out := s.u16[:n:n]
	s.u16 = s.u16[n:]
	return out
}

func newBuckets(n, res int64, s *slab) buckets {
	b := buckets{good32: s.take32(n), valid32: s.take32(n)}
	switch {
	case res <= maxSeen16:
		b.seen16 = s.take16(n)
	case res <= maxSeenSec:
		b.seenSec = s.take16(n)
	default:
		b.seen32 = s.take32(n)
	}
	return b
}

// good returns the good count of slot k.
func (b *buckets) good(k int64) float64 {
	if b.wide {
		return b.good64[k]
	}
	return float64(b.good32[k])
}

// valid returns the valid count of slot k.
func (b *buckets) valid(k int64) float64 {
	if b.wide {
		return b.valid64[k]
	}
	return float64(b.valid32[k])
}

// seen returns the seen milliseconds of slot k.
func (b *buckets) seen(k int64) float64 {
	switch {
	case b.seen16 != nil:
		return float64(b.seen16[k])
	case b.seenSec != nil:
		return 1000 * float64(b.seenSec[k])
	}
	return float64(b.seen32[k])
}

// fitsUint32 reports whether x is a whole number a uint32 holds.
func fitsUint32(x float64) bool { return x >= 0 && x <= math.MaxUint32 && x == math.Trunc(x) }

// add adds events to slot k, widening the ring first when the new values
// are not whole numbers a uint32 holds.
func (b *buckets) add(k int64, good, valid float64) {
	g, v := b.good(k)+good, b.valid(k)+valid
	if !b.wide && (!fitsUint32(g) || !fitsUint32(v)) {
		b.widen()
	}
	if b.wide {
		b.good64[k], b.valid64[k] = g, v
		return
	}
	b.good32[k], b.valid32[k] = uint32(g), uint32(v)
}

// addSeen adds ms (at most the bucket width) to slot k's seen time, moving
// the ring's seen time to milliseconds first when it is kept in seconds
// and ms is not whole seconds.
func (b *buckets) addSeen(k int64, ms int64) {
	if b.seen16 != nil {
		b.seen16[k] += uint16(ms)
		return
	}
	if b.seenSec != nil {
		if ms%1000 == 0 {
			b.seenSec[k] += uint16(ms / 1000)
			return
		}
		b.widenSeen()
	}
	b.seen32[k] += uint32(ms)
}

// widenSeen moves the seen seconds to milliseconds. The uint16 array stays
// in the group's slab, so this costs 4 more bytes per bucket.
func (b *buckets) widenSeen() {
	b.seen32 = make([]uint32, len(b.seenSec))
	for i, s := range b.seenSec {
		b.seen32[i] = 1000 * uint32(s)
	}
	b.seenSec = nil
}

// widen moves the counts to float64. The uint32 arrays stay in the group's
// slab, so a wide ring costs 16 more bytes per bucket.
func (b *buckets) widen() {
	b.good64, b.valid64 = make([]float64, len(b.good32)), make([]float64, len(b.valid32))
	for i := range b.good32 {
		b.good64[i], b.valid64[i] = float64(b.good32[i]), float64(b.valid32[i])
	}
	b.good32, b.valid32, b.wide = nil, nil, true
}

// reset empties slot k.
func (b *buckets) reset(k int64) {
	if b.wide {
		b.good64[k], b.valid64[k] = 0, 0
	} else {
		b.good32[k], b.valid32[k] = 0, 0
	}
	switch {
	case b.seen16 != nil:
		b.seen16[k] = 0
	case b.seenSec != nil:
		b.seenSec[k] = 0
	default:
		b.seen32[k] = 0
	}
}

// resetAll empties every slot.
func (b *buckets) resetAll() {
	clear(b.good32)
	clear(b.valid32)
	clear(b.good64)
	clear(b.valid64)
	clear(b.seen16)
	clear(b.seenSec)
	clear(b.seen32)
}

// bytes returns the memory of the bucket arrays.
func (b *buckets) bytes() int {
	return 4*(cap(b.good32)+cap(b.valid32)) + 8*(cap(b.good64)+cap(b.valid64)) +
		2*(cap(b.seen16)+cap(b.seenSec)) + 4*cap(b.seen32)
}
