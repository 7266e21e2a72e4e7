package windows

import (
	"fmt"
	"slices"
	"time"
)

// Tier resolutions and spans. They are fixed so that the error bound of every
// window can be stated in the documentation; see the package comment.
const (
	// MidResolution is the bucket size of the tier used for windows over FineSpan.
	MidResolution = 5 * time.Minute
	// CoarseResolution is the bucket size of the tier used for windows over MidSpan.
	CoarseResolution = time.Hour
	// FineSpan is the longest window answered at the evaluation interval.
	FineSpan = 6 * time.Hour
	// MidSpan is the longest window answered at MidResolution.
	MidSpan = 72 * time.Hour
	// MaxWindow is the longest window supported: a calendar quarter of 92
	// days plus a clock change, rounded up to a day.
	MaxWindow = 93 * 24 * time.Hour
)

// Layout describes the windows of one SLO and how they map onto tiers. It is
// immutable and shared by every Counts of that SLO.
type Layout struct {
	interval int64   // ms
	windows  []int64 // ms, ascending, unique
	tiers    []tierSpec
	tierOf   []int // tier index per window
}

type tierSpec struct {
	res int64 // bucket width, ms
	n   int64 // ring length (buckets)
}

// NewLayout validates the interval and windows and assigns each window to the
// finest tier able to hold it. The interval must divide 5m evenly; each window
// must be a positive multiple of the interval and at most MaxWindow.
func NewLayout(interval time.Duration, windows []time.Duration) (*Layout, error) {
	if interval < time.Second || interval%time.Second != 0 {
		return nil, fmt.Errorf("evaluation interval %s: must be a whole number of seconds, at least 1s", interval)
	}
	if MidResolution%interval != 0 {
		return nil, fmt.Errorf("evaluation interval %s: must divide %s evenly", interval, MidResolution)
	}
	if len(windows) == 0 {
		return nil, fmt.Errorf("no windows given")
	}
	ws := make([]int64, 0, len(windows))
	for _, w := range windows {
		switch {
		case w <= 0:
			return nil, fmt.Errorf("window %s: must be positive", w)
		case w > MaxWindow:
			return nil, fmt.Errorf("window %s: longer than the supported maximum %s", w, MaxWindow)
		case w%interval != 0:
			return nil, fmt.Errorf("window %s: must be a multiple of the evaluation interval %s", w, interval)
		}
		ws = append(ws, w.Milliseconds())
	}
	slices.Sort(ws)
	ws = slices.Compact(ws)

	l := &Layout{interval: interval.Milliseconds(), windows: ws}
	maxW := ws[len(ws)-1]
	spans := []struct{ res, span int64 }{
		{interval.Milliseconds(), FineSpan.Milliseconds()},
		{MidResolution.Milliseconds(), MidSpan.Milliseconds()},
		{CoarseResolution.Milliseconds(), MaxWindow.Milliseconds()},
	}
	for _, s := range spans {
		span := min(s.span, maxW)
		// +2: the edge bucket that straddles t-W and the bucket still filling.
		l.tiers = append(l.tiers, tierSpec{res: s.res, n: ceilDiv(span, s.res) + 2})
		if maxW <= s.span {
			break
		}
	}
	for _, w := range ws {
		for i, s := range spans {
			if w <= s.span {
				l.tierOf = append(l.tierOf, i)
				break
			}
		}
	}
	return l, nil
}

// Interval returns the evaluation interval the layout was built for.
func (l *Layout) Interval() time.Duration { return time.Duration(l.interval) * time.Millisecond }

// Windows returns the layout's windows in ascending order.
func (l *Layout) Windows() []time.Duration {
	out := make([]time.Duration, len(l.windows))
	for i, w := range l.windows {
		out[i] = time.Duration(w) * time.Millisecond
	}
	return out
}

// Index returns the position of window w in Windows, or -1.
func (l *Layout) Index(w time.Duration) int {
	i, ok := slices.BinarySearch(l.windows, w.Milliseconds())
	if !ok {
		return -1
	}
	return i
}

// Resolution returns the bucket width used for window i: its error bound is
// the events of one bucket of this width (zero when the window is on the
// fine tier and evaluated at multiples of the interval).
func (l *Layout) Resolution(i int) time.Duration {
	return time.Duration(l.tiers[l.tierOf[i]].res) * time.Millisecond
}

// BucketCount returns the number of buckets one Counts of this layout holds.
func (l *Layout) BucketCount() int {
	n := 0
	for _, t := range l.tiers {
		n += int(t.n)
	}
	return n
}

// BytesPerGroup estimates the memory of one Counts of this layout while its
// counts are whole numbers held as uint32 and its recorded intervals whole
// seconds (see buckets): the bucket arrays plus the per-window running
// totals. A tier that has gone wide (fractional counts, or over 2^32-1
// events in a bucket) adds 16 bytes per bucket; one whose buckets are over
// 65,535 ms wide and saw an interval that is not whole seconds adds 4.
func (l *Layout) BytesPerGroup() int {
	const perWindow = 2*8 + 8 + 8 + 2*16 + 8 // range, ok, ops, compensated sums, seen
	n := len(l.windows) * perWindow
	for _, t := range l.tiers {
		perBucket := 4 + 4 + 4 // good, valid uint32; seen uint32 ms
		if t.res <= maxSeenSec {
			perBucket = 4 + 4 + 2 // seen uint16 ms or seconds
		}
		n += int(t.n) * perBucket
	}
	return n
}

// ceilDiv returns ceil(a/b) for b > 0 and any sign of a.
func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a > 0) == (b > 0) {
		q++
	}
	return q
}

// floorDiv returns floor(a/b) for b > 0 and any sign of a.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
