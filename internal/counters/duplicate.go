package counters

import "math/bits"

// Duplicate-replica guard
//
// Two replicas of one counter that reach the tracker as one series (an HA
// pair scraped twice without deduplication whose replica label was dropped,
// or two identical series interleaving through an expression that merges
// them) alternate between two slightly different values: 100, 95, 101, 96,
// ... Every drop looks like a counter reset, so every other sample counts
// the whole counter value again: a few hundred real events become tens of
// millions. Such a drop keeps at least half the previous value (the two
// copies differ by the lag between the replicas), while a restart starts
// again from near zero: only those "suspect" drops count for the guard; a
// drop to below half the previous value is a restart and counts at once,
// however often it happens (a crash loop keeps exact numbers). The guard
// watches each series' last DuplicateWindow increments:
//
//   - a series with at least DuplicateMinSamples increments in the window,
//     at least half of them suspect drops, is flagged: from then on its increments
//     are not counted (they are garbage), but dropped and counted in
//     Stats.DuplicateSamples and Stats.DroppedEvents;
//   - a flagged series is cleared once its last DuplicateWindow increments
//     hold no reset; the increment of the sample that clears it counts
//     again;
//   - so that what the replicas count before the flag does not count
//     either, a suspect drop and every increment after it are held back
//     until DuplicateRelease increments without a suspect drop follow,
//     and then counted with the increment that releases them; a flag
//     drops what is held. A restart is not suspect and is never held: it
//     counts at its sample, as everywhere else. What is held is released
//     after DuplicateWindow increments at the latest;
//   - a counter that drops by less than half on every other sample is
//     indistinguishable from two replicas and is flagged too: its counts
//     would not be trustworthy either.
//
// A restart is never suspect, so deploys and crash loops count exactly and
// at once; two strictly interleaved replicas give 8 suspect drops of 16
// and are flagged at their 8th increment, having counted nothing since
// their first drop: everything from it on was held, and is dropped.
const (
	// DuplicateWindow is the number of latest increments per series the
	// guard looks at.
	DuplicateWindow = 16
	// DuplicateMinSamples is the number of increments a series needs in
	// the window before it can be flagged.
	DuplicateMinSamples = 8
	// DuplicateRelease is the number of increments without a reset that
	// release a held reset increment.
	DuplicateRelease = 4
)

// latestResets masks a series' window to its latest DuplicateRelease
// increments.
const latestResets uint16 = 1<<DuplicateRelease - 1

// FlagChange is a series whose duplicate flag changed during the current
// pull.
type FlagChange struct {
	// Key is the series' key as given to ObserveSample.
	Key uint64
	// Flagged is true when the series was flagged, false when cleared.
	Flagged bool
	// Resets is the number of resets among the series' last
	// DuplicateWindow increments when the flag changed.
	Resets int
}

// duplicateGuard is the Tracker's guard state.
type duplicateGuard struct {
	off     bool
	changes []FlagChange // of the current pull
	flagged int          // series flagged now
	held    float64      // events held across all series
}

// dupState is one series' guard state: 16 bytes.
type dupState struct {
	held    float64 // reset increments held back
	window  uint16  // bit i: the (i+1)-th latest increment was a reset
	n       uint8   // increments in the window, up to DuplicateWindow
	heldFor uint8   // increments since the hold began
	holding bool    // increments are held (a suspect drop was seen)
	flagged bool
}

// checkDuplicate applies the guard to one increment of series s; reset
// is true for a suspect drop (see above).
func (tr *Tracker) checkDuplicate(key uint64, s *state, inc float64, reset bool) (float64, bool) {
	d := &s.dup
	d.window <<= 1
	if reset {
		d.window |= 1
	}
	if d.n < DuplicateWindow {
		d.n++
	}
	resets := bits.OnesCount16(d.window)
	switch {
	case !d.flagged && d.n >= DuplicateMinSamples && 2*resets >= int(d.n):
		d.flagged = true
		tr.guard.flagged++
		tr.stats.DuplicateFlags++
		tr.stats.DuplicateSamples++
		tr.stats.DroppedEvents += d.held + inc
		tr.guard.held -= d.held
		d.held, d.heldFor, d.holding = 0, 0, false
		tr.guard.changes = append(tr.guard.changes, FlagChange{Key: key, Flagged: true, Resets: resets})
		return 0, false
	case d.flagged && d.n == DuplicateWindow && d.window == 0:
		d.flagged = false
		tr.guard.flagged--
		tr.guard.changes = append(tr.guard.changes, FlagChange{Key: key, Flagged: false})
	case d.flagged:
		tr.stats.DuplicateSamples++
		tr.stats.DroppedEvents += inc
		return 0, false
	}
	// A suspect drop, and every increment after it, is held back until
	// DuplicateRelease increments without one follow (then all of it
	// counts, late by those few samples) or the series is flagged (then
	// it is dropped). A restart (a drop to below half) is not suspect and
	// counts at once.
	if reset && !d.holding {
		d.holding, d.heldFor = true, 0
	}
	if d.holding {
		d.held += inc
		tr.guard.held += inc
		inc = 0
		d.heldFor++
		if d.window&latestResets == 0 || d.heldFor >= DuplicateWindow {
			inc = d.held
			tr.guard.held -= d.held
			d.held, d.heldFor, d.holding = 0, 0, false
		}
	}
	return inc, true
}

// forgetDup drops the guard state of a series being forgotten.
func (tr *Tracker) forgetDup(s *state) {
	if s.dup.flagged {
		tr.guard.flagged--
	}
	tr.stats.DroppedEvents += s.dup.held
	tr.guard.held -= s.dup.held
	s.dup = dupState{}
}

// SetDuplicateGuard turns the duplicate-replica guard on (the default) or
// off. Off, every reset counts its new value at once.
func (tr *Tracker) SetDuplicateGuard(on bool) { tr.guard.off = !on }

// FlagChanges returns the series flagged or cleared by the duplicate guard
// during the current pull, in the order it happened. The slice is reused by
// the next Begin.
func (tr *Tracker) FlagChanges() []FlagChange { return tr.guard.changes }

// Flagged reports whether series key is flagged as a likely duplicate.
func (tr *Tracker) Flagged(key uint64) bool {
	s, ok := tr.series[key]
	return ok && s.dup.flagged
}

// FlaggedSeries returns the number of series flagged now.
func (tr *Tracker) FlaggedSeries() int { return tr.guard.flagged }

// HeldEvents returns the reset increments held back now across all series
// (see the duplicate-replica guard): they are counted later, or dropped
// if their series is flagged or forgotten first.
func (tr *Tracker) HeldEvents() float64 { return tr.guard.held }

// Settled reports whether the duplicate guard of series key is at rest:
// off, or the series has DuplicateWindow increments on record, none of
// them a suspect drop, and nothing is held or flagged. Increments that are
// rises or restarts (drops to below half) leave such a state exactly as it
// is, however many of them come: a backfill may then hand the tracker the
// sums of runs of samples instead of every sample, and the guard cannot
// tell. It returns false for a series not tracked.
func (tr *Tracker) Settled(key uint64) bool {
	s, ok := tr.series[key]
	if !ok {
		return false
	}
	if tr.guard.off {
		return true
	}
	d := &s.dup
	return d.n == DuplicateWindow && d.window == 0 && !d.flagged && !d.holding && d.held == 0
}
