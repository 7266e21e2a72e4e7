package scrape

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.uber.org/zap"

	"github.com/slo-exporter/slo-exporter/internal/counters"
)

// Native histograms
//
// A selector with NativeLE reads native histogram samples. Each series'
// value at a pull is derived from its histogram: the number of
// observations at or below NativeLE, that is the sum of the counts of the
// buckets whose upper bound is at or below it. Positive buckets are
// (lower, upper]; negative buckets [lower, upper) and the zero bucket
// [-threshold, threshold] count the same way, by their upper bound. A
// NativeLE of +Inf takes the histogram's count (which also holds NaN
// observations, as a classic histogram's +Inf bucket does).
//
// Bucket boundaries arrive as decimal strings, so a boundary matches
// NativeLE within a relative tolerance of nativeTolerance. When a populated
// bucket lies across NativeLE the count at NativeLE is unknown: the pull
// fails for the source with an error that names the bucket and the
// boundaries near it, and nothing is interpolated.
//
// The derived values are counters, followed by the same tracker as any
// counter. A histogram reset (its count drops) is a counter reset even when
// the derived value did not drop, so that good and valid restart together.
//
// Float samples seen by a native selector, and histogram samples seen by
// any other selector, are skipped and counted (Stats.SkippedSamples):
// during a migration one expression can return both kinds.

// nativeTolerance is the relative tolerance of boundary matches.
const nativeTolerance = 1e-9

// nearBoundary reports whether a and b are the same boundary within
// nativeTolerance.
func nearBoundary(a, b float64) bool {
	if a == b {
		return true
	}
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return false
	}
	return math.Abs(a-b) <= nativeTolerance*max(math.Abs(a), math.Abs(b))
}

// lowerInclusive reports whether a bucket's lower bound belongs to it,
// from the boundary rule of the query API (0: (l,u], 1: [l,u), 2: (l,u),
// 3: [l,u]).
func lowerInclusive(b *model.HistogramBucket) bool { return b.Boundaries == 1 || b.Boundaries == 3 }

// straddle describes a populated bucket across a native threshold.
type straddle struct {
	bucket *model.HistogramBucket
	le     float64
	// near are the distinct boundaries of the histogram's populated
	// buckets closest to le, sorted.
	near []float64
}

// nativeAtOrBelow returns the number of observations of h at or below le.
// It returns a straddle when a populated bucket lies across le.
func nativeAtOrBelow(h *model.SampleHistogram, le float64) (float64, *straddle) {
	if math.IsInf(le, 1) {
		return float64(h.Count), nil
	}
	var v float64
	for _, b := range h.Buckets {
		c := float64(b.Count)
		if c == 0 {
			continue
		}
		lo, up := float64(b.Lower), float64(b.Upper)
		switch {
		case up <= le || nearBoundary(up, le):
			v += c
		case nearBoundary(lo, le):
			if lowerInclusive(b) {
				// [le, upper): le itself is inside and above it is too.
				return 0, newStraddle(h, b, le)
			}
		case lo > le:
		default:
			return 0, newStraddle(h, b, le)
		}
	}
	return v, nil
}

// nearCount is how many boundaries on each side of the threshold a
// straddle error lists.
const nearCount = 3

func newStraddle(h *model.SampleHistogram, b *model.HistogramBucket, le float64) *straddle {
	var all []float64
	for _, x := range h.Buckets {
		if x.Count != 0 {
			all = append(all, float64(x.Lower), float64(x.Upper))
		}
	}
	slices.Sort(all)
	all = slices.Compact(all)
	i, _ := slices.BinarySearch(all, le)
	return &straddle{bucket: b, le: le, near: slices.Clone(all[max(0, i-nearCount):min(len(all), i+nearCount)])}
}

// bucketString writes a bucket's range with its boundary rule.
func bucketString(b *model.HistogramBucket) string {
	l, r := "(", "]"
	if lowerInclusive(b) {
		l = "["
	}
	if b.Boundaries == 1 || b.Boundaries == 2 {
		r = ")"
	}
	return l + formatBound(float64(b.Lower)) + ", " + formatBound(float64(b.Upper)) + r
}

// formatBound writes a boundary with full precision, so that it can be
// copied into a configuration.
func formatBound(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// error builds the source error of a straddle seen in series m.
func (st *straddle) error(sel Selector, m model.Metric) error {
	near := make([]string, len(st.near))
	for i, f := range st.near {
		near[i] = formatBound(f)
	}
	return fmt.Errorf("selector %s: series %s: no native bucket boundary at %s: a populated bucket spans %s with %s observations; nearby boundaries are %s",
		sel, m, formatBound(st.le), bucketString(st.bucket), st.bucket.Count, strings.Join(near, ", "))
}

// deriveNative computes the values of a native source's histogram
// samples into s.nvals, point by point and sample by sample. It reports
// false, after setting s.err and counting, when a populated bucket of any
// sample straddles the threshold: the source then skips this pull.
func (p *Puller) deriveNative(s *source, pts []point) bool {
	s.nvals = s.nvals[:0]
	for i := range pts {
		for _, h := range pts[i].hists {
			v, st := nativeAtOrBelow(h.Histogram, *s.sel.NativeLE)
			if st != nil {
				p.c.nativeErrors++
				s.err = st.error(s.sel, pts[i].metric)
				return false
			}
			s.nvals = append(s.nvals, v)
		}
	}
	return true
}

// ofKind returns the points of pts that source s reads: those with
// histograms for a native source, with floats for the others. Samples of
// the other kind are counted as skipped, and a pull with only the other
// kind is logged once per source. It returns pts itself when nothing is
// skipped.
func (p *Puller) ofKind(s *source, pts []point) []point {
	native := s.sel.NativeLE != nil
	// Samples at or before the source's last pull were seen (and counted)
	// by it already: ticks read a little before their previous pull.
	after, started := s.tracker.Last()
	n, skipped, other := 0, 0, 0
	for i := range pts {
		pt := &pts[i]
		own := len(pt.vals)
		if native {
			own = len(pt.hists)
		}
		if own > 0 {
			n++
		}
		if native && len(pt.vals) > 0 {
			other++
			for _, v := range pt.vals {
				if !started || int64(v.Timestamp) > after {
					skipped++
				}
			}
		}
		if !native && len(pt.hists) > 0 {
			other++
			for _, h := range pt.hists {
				if !started || int64(h.Timestamp) > after {
					skipped++
				}
			}
		}
	}
	if other == 0 {
		return pts
	}
	p.c.skipped += uint64(skipped)
	if n == 0 && !s.kindWarned {
		// Every sample is of the other kind: most likely a native
		// histogram read without a native threshold, or the reverse.
		s.kindWarned = true
		got, wants := "native histograms", "a native threshold reads them"
		if native {
			got, wants = "float samples", "a native threshold reads only native histograms"
		}
		p.log.Warn("selector returned only "+got+"; they are skipped: "+wants,
			zap.String("selector", s.sel.String()), zap.Int("samples", skipped))
	}
	s.kept = s.kept[:0]
	for i := range pts {
		if (native && len(pts[i].hists) > 0) || (!native && len(pts[i].vals) > 0) {
			s.kept = append(s.kept, pts[i])
		}
	}
	return s.kept
}

// nativeCounter is the incrementer of a native source: a counters.Tracker
// over the derived values that also follows each series' histogram count,
// so that a histogram reset is a counter reset even when the derived value
// did not drop (a restarted process whose fast requests outnumber those
// seen before the restart).
type nativeCounter struct {
	*counters.Tracker
	forget int64 // ms
	counts map[uint64]nativeSeen
	resets uint64 // resets seen only by the count
}

type nativeSeen struct {
	count float64
	ts    int64 // the sample's timestamp
	seen  int64 // the pull's time
}

func newNativeCounter(forgetAfter time.Duration) *nativeCounter {
	if forgetAfter <= 0 {
		forgetAfter = time.Hour
	}
	tr := counters.NewTracker(forgetAfter)
	// The derived value (observations at or below the threshold) of a
	// restarted histogram may drop by less than half, which the
	// duplicate-replica guard would hold as suspect: the histogram's own
	// count tells resets here (see observe).
	tr.SetDuplicateGuard(false)
	return &nativeCounter{Tracker: tr, forget: forgetAfter.Milliseconds(), counts: map[uint64]nativeSeen{}}
}

// observe takes one raw histogram sample of a series, at ts: its derived
// value v and its histogram's count. The puller calls it instead of the
// embedded Tracker's ObserveSample.
func (n *nativeCounter) observe(key uint64, ts int64, v, count float64) (float64, bool) {
	pull, _ := n.Last()
	prev, had := n.counts[key]
	if had && ts <= prev.ts && pull-prev.seen <= n.forget {
		return 0, false // consumed before
	}
	resets := n.Tracker.Stats().Resets
	inc, ok := n.Tracker.ObserveSample(key, ts, v)
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return inc, ok // skipped by the tracker, state untouched
	}
	n.counts[key] = nativeSeen{count: count, ts: ts, seen: pull}
	if ok && had && pull-prev.seen <= n.forget && count < prev.count && n.Tracker.Stats().Resets == resets {
		inc = v
		n.resets++
	}
	return inc, ok
}

// End finishes the pull and forgets the counts of series missing for
// longer than the tracker keeps them.
func (n *nativeCounter) End() {
	n.Tracker.End()
	pull, _ := n.Last()
	for k, s := range n.counts {
		if pull-s.seen > n.forget {
			delete(n.counts, k)
		}
	}
}

// Stats adds the resets seen only by the count to the tracker's.
func (n *nativeCounter) Stats() counters.Stats {
	s := n.Tracker.Stats()
	s.Resets += n.resets
	return s
}
