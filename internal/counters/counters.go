// Package counters turns raw samples of Prometheus counters into increments.
//
// # Semantics
//
// A Tracker follows many series across pulls (ticks of the daemon, or steps
// of a backfill). A pull hands it the raw samples of each series since the
// previous pull (ObserveSample), or one value per series (Observe). For
// each series it keeps the last raw sample consumed and returns the
// increments between consecutive raw samples:
//
//   - a value at or above the previous one increments by the difference;
//   - a value below the previous one is a counter reset (the process
//     restarted): the increment is the new value, as if the counter had
//     restarted from zero;
//   - the first sample of a series is a baseline and increments nothing: the
//     events it counts happened before the tracker saw the series, in a time
//     the tracker cannot place;
//   - a series that is missing from some pulls (a failed scrape, a pod that
//     stopped and came back) keeps its state for ForgetAfter; when it returns,
//     the whole difference is counted once, at the pull where it returns;
//   - a series absent for longer than ForgetAfter is forgotten, and if it
//     comes back it starts from a new baseline;
//   - NaN, ±Inf and negative samples are skipped without touching the state
//     and counted in Stats.InvalidSamples;
//   - a raw sample at or before the last one consumed of its series is
//     ignored: pulls may overlap (a tick reads a little before its
//     previous pull to catch late samples), and each raw sample still
//     counts exactly once;
//   - a pull at a time not after the previous pull (a clock that went back,
//     a duplicate timestamp) is refused as a whole and counted;
//   - a series that resets on half its samples (two replicas of one
//     counter interleaved) is flagged and its increments dropped, and a
//     reset close to another is held until the series is known not to be
//     one: see the duplicate-replica guard in duplicate.go.
//
// # Difference from PromQL increase()
//
// increase(v[W]) also adds the differences between samples with reset
// handling, but then extrapolates the result towards the window's edges
// (by up to half a sample interval past the first and last sample, or to
// the point where the counter would reach zero). The tracker never
// extrapolates: it counts only what the samples show, and each increment
// belongs to exactly one interval between pulls, so adjacent windows never
// double count and sums over any partition of time add up. Over a long
// window the two differ by at most the extrapolated share of one scrape
// interval at each end, per series.
package counters

import (
	"math"
	"time"
)

// Stats counts what a Tracker saw. Fields only grow.
type Stats struct {
	// Resets is the number of counter resets (value drops).
	Resets uint64
	// InvalidSamples is the number of NaN, infinite or negative samples
	// skipped, and of implausible ones (see Tracker.SetMaxRate).
	InvalidSamples uint64
	// ImplausibleSamples is the part of InvalidSamples refused because
	// their increase exceeded the maximum rate.
	ImplausibleSamples uint64
	// RefusedPulls is the number of pulls refused because their time was not
	// after the previous pull's.
	RefusedPulls uint64
	// NewSeries is the number of series seen for the first time (or again
	// after being forgotten).
	NewSeries uint64
	// ForgottenSeries is the number of series dropped after ForgetAfter.
	ForgottenSeries uint64
	// DuplicateFlags is the number of times a series was flagged as a
	// likely duplicate (see the duplicate-replica guard below).
	DuplicateFlags uint64
	// DuplicateSamples is the number of samples of flagged series whose
	// increments were dropped.
	DuplicateSamples uint64
	// DroppedEvents is the number of events not counted: the increments of
	// flagged series (their held resets included), and held reset
	// increments of series forgotten before they were released.
	DroppedEvents float64
}

// Tracker computes per-series increments across pulls. It is not safe for
// concurrent use.
type Tracker struct {
	maxRate     float64 // events per second; 0: no bound
	forgetAfter int64   // ms
	series      map[uint64]*state
	// minSeen is at or before every tracked series' seen, so that End
	// looks at the series only when one may be due to be forgotten: it
	// runs at every step of a backfill, for every source.
	minSeen int64
	pull    int64 // time of the current pull, ms
	started bool
	stats   Stats
	guard   duplicateGuard
}

type state struct {
	value float64
	ts    int64 // timestamp of the last raw sample consumed, ms
	seen  int64 // time of the last pull that had this series, ms
	dup   dupState
}

// NewTracker returns a Tracker that forgets series missing for longer than
// forgetAfter. Zero means one hour.
func NewTracker(forgetAfter time.Duration) *Tracker {
	if forgetAfter <= 0 {
		forgetAfter = time.Hour
	}
	return &Tracker{forgetAfter: forgetAfter.Milliseconds(), series: map[uint64]*state{}}
}

// Begin starts a pull at time t (unix ms). It returns false, and counts a
// refused pull, when t is not after the previous pull: the caller must then
// drop the pull's samples.
func (tr *Tracker) Begin(t int64) bool {
	if tr.started && t <= tr.pull {
		tr.stats.RefusedPulls++
		return false
	}
	tr.pull, tr.started = t, true
	tr.guard.changes = tr.guard.changes[:0]
	return true
}

// Last returns the time of the last accepted pull and whether there was one.
func (tr *Tracker) Last() (int64, bool) { return tr.pull, tr.started }

// Observe records the value of series key in the current pull, as a
// sample stamped with the pull's time, and returns its increment since the
// series' previous sample. ok is false for a baseline or skipped sample,
// in which case inc is zero. A second value of the same series in one pull
// is ignored.
func (tr *Tracker) Observe(key uint64, v float64) (inc float64, ok bool) {
	return tr.ObserveSample(key, tr.pull, v)
}

// ObserveSample consumes one raw sample of series key, taken at ts (unix
// ms), in the current pull, and returns the increment since the series'
// previous raw sample: the difference, or the new value after a drop (a
// reset). Samples of one series must come in timestamp order; a sample at
// or before the last one consumed (a pull's span that overlaps the
// previous one) is ignored, so every raw sample counts exactly once
// whatever the spans of the queries that returned it. ok is false for a
// baseline, an ignored or a skipped (NaN, infinite, negative) sample.
func (tr *Tracker) ObserveSample(key uint64, ts int64, v float64) (inc float64, ok bool) {
	s, found := tr.series[key]
	if found && ts <= s.ts && tr.pull-s.seen <= tr.forgetAfter {
		return 0, false // consumed before
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		tr.stats.InvalidSamples++
		return 0, false
	}
	if found && tr.pull-s.seen > tr.forgetAfter {
		// Missing for longer than ForgetAfter: End would have dropped it.
		tr.stats.ForgottenSeries++
		tr.forgetDup(s)
		found = false
	}
	if !found {
		tr.series[key] = &state{value: v, ts: ts, seen: tr.pull}
		tr.stats.NewSeries++
		return 0, false
	}
	reset := v < s.value
	if reset {
		inc = v
	} else {
		inc = v - s.value
	}
	if tr.maxRate > 0 && ts > s.ts && inc > tr.maxRate*float64(ts-s.ts)/1000 {
		// More events than the series can have had since its last sample
		// (a corrupt sample 1e300 above normal): refused, and not a
		// baseline, so the next sample is compared with the last good one
		// and does not look like a reset.
		tr.stats.InvalidSamples++
		tr.stats.ImplausibleSamples++
		return 0, false
	}
	if reset {
		tr.stats.Resets++
	}
	// A drop to at least half the previous value is how two replicas of
	// one counter interleave; a restart starts again from near zero.
	suspect := reset && v >= s.value/2
	s.value, s.ts, s.seen = v, ts, tr.pull
	if !tr.guard.off {
		return tr.checkDuplicate(key, s, inc, suspect)
	}
	return inc, true
}

// SetMaxRate sets the highest plausible increase per second of one series
// (global.max_increase_rate); a sample implying more is refused and
// counted. Zero means no bound.
func (tr *Tracker) SetMaxRate(perSecond float64) { tr.maxRate = max(perSecond, 0) }

// LastSample returns the timestamp of the last raw sample consumed of
// series key, and whether the series is tracked.
func (tr *Tracker) LastSample(key uint64) (int64, bool) {
	s, ok := tr.series[key]
	if !ok {
		return 0, false
	}
	return s.ts, true
}

// LastValue returns the value and timestamp of the last raw sample
// consumed of series key, and whether the series is tracked.
func (tr *Tracker) LastValue(key uint64) (v float64, ts int64, ok bool) {
	s, ok := tr.series[key]
	if !ok {
		return 0, 0, false
	}
	return s.value, s.ts, true
}

// Reseat corrects the times of series key's state: ts, the timestamp of
// its last raw sample, and seen, the pull that consumed it. A backfill
// that stepped a series with a value read at a bucket boundary (stamped
// with the boundary) calls it once it has read the raw sample behind
// that value, so that ForgetAfter and the rate bound measure from where
// ticks would. It returns false when the series is not tracked.
func (tr *Tracker) Reseat(key uint64, ts, seen int64) bool {
	s, ok := tr.series[key]
	if !ok {
		return false
	}
	s.ts, s.seen = ts, seen
	tr.minSeen = min(tr.minSeen, seen)
	return true
}

// End finishes the current pull and forgets series not seen for ForgetAfter.
func (tr *Tracker) End() {
	if tr.pull-tr.minSeen <= tr.forgetAfter {
		return // every series was seen since
	}
	tr.minSeen = tr.pull
	for k, s := range tr.series {
		if tr.pull-s.seen > tr.forgetAfter {
			tr.forgetDup(s)
			delete(tr.series, k)
			tr.stats.ForgottenSeries++
			continue
		}
		tr.minSeen = min(tr.minSeen, s.seen)
	}
}

// Len returns the number of series tracked.
func (tr *Tracker) Len() int { return len(tr.series) }

// Stats returns a copy of the counts so far.
func (tr *Tracker) Stats() Stats { return tr.stats }
