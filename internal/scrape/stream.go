package scrape

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/counters"
)

// Streamed backfill
//
// Where the server serves Prometheus' remote read API (Prometheus does;
// Thanos' querier and VictoriaMetrics do not), the coarse part of a
// backfill reads the raw samples themselves, as the stored chunks, instead
// of the bucket-boundary values of "Coarse backfill": Prometheus then
// copies chunks where a range query would decode every sample and run
// PromQL over it, and the exporter decodes them as they stream in. The
// history is read in segments of whole slots (the coarse backfill's
// hours), all queries of a segment in one request, the next segment read
// while the current one is stepped.
//
// Every sample is at hand, so nothing is inferred: a slot is stepped
// exactly as ticks would, only with fewer steps where that provably
// changes nothing. Within a slot a series' samples are "thinned" to the
// last one at or before each bucket boundary of the slot, plus the two
// samples around each drop, and the slot is stepped at its boundaries
// only. The tracker's increments telescope: over a run without a drop
// they add up to the run's last value minus the value before it, and a
// drop counts its new value, as the kept pair around it shows. A slot is
// thinned only when, for every series with samples in it:
//
//   - the trackers of every source reading the series hold its last
//     sample before the slot (same value and timestamp), so the slot
//     starts from the state ticks would have;
//   - every sample is finite and not negative, and every drop is a
//     restart (to below half the previous value), never a drop the
//     duplicate-replica guard would take as suspect;
//   - consecutive samples are less than ForgetAfter minus one interval
//     apart, so no tick in between would forget the series;
//   - every increment is within the rate bound (then the sums are too);
//   - the duplicate guard of the series is settled (counters.Tracker.
//     Settled), which a run of restarts and rises leaves unchanged.
//
// After a thinned slot each series' last-seen time is moved back to the
// step at which ticks would have consumed its last sample (Tracker.Reseat),
// so ForgetAfter measures from there. Other slots are stepped at every
// interval with all their samples, exactly as the raw backfill steps. So
// the result is the raw backfill's, without the documented approximations
// of the boundary values, and without the NaN blind spot of resets().

// errNoRemoteRead marks a server that does not serve remote read (or a
// query it cannot read through it): the backfill falls back to PromQL.
var errNoRemoteRead = errors.New("remote read not served")

// RemoteReader is a Querier that can also read raw samples through
// Prometheus' remote read API (Client is one).
type RemoteReader interface {
	// RemoteRead returns, per plain selector of sels, the float samples of
	// the series it selects with timestamps in (start, end], in time
	// order, without staleness markers: what RawSamples returns for it.
	// An error wrapping errNoRemoteRead means the server (or a series'
	// encoding) does not allow it; the caller then reads through PromQL.
	// Each series' samples are stored in into.Alloc(n), n the count,
	// and its identity comes from into.IDs, so that a caller can reuse
	// storage and identities across reads (nil: allocated).
	RemoteRead(ctx context.Context, sels []string, start, end time.Time, into ReadInto) ([][]ReadSeries, error)
}

// ReadSeries is one series of a remote read: its labels, their
// fingerprint and its samples. Metric may be shared with other reads and
// must not be changed.
type ReadSeries struct {
	Metric model.Metric
	FP     uint64
	Values []model.SamplePair
}

// ReadInto says where a remote read keeps what it reads: Alloc(n) gives
// storage for a series' n samples, IDs the identities of the series
// (both may be nil).
type ReadInto struct {
	Alloc func(n int) []model.SamplePair
	IDs   *SeriesIDs
}

const (
	// streamMaxSlots caps the slots of one streamed segment: a day.
	streamMaxSlots = 24
	// streamAlign is the grid segments end on where they can: the range
	// of Prometheus' smallest blocks, whose boundaries its chunks never
	// cross.
	streamAlign = int64(2 * time.Hour / time.Millisecond)
	// streamMaxUnion is how many queries one union of a streamed read
	// holds.
	streamMaxUnion = 64
)

// streamSeries is one series' samples in one segment.
type streamSeries struct {
	fp     uint64
	metric model.Metric
	vals   []model.SamplePair
	pos    int // samples before pos are handed out
	// lo, hi: the current slot's samples are vals[lo:hi] (see slot).
	lo, hi int
	// prev is the series' last sample before the current slot, in this
	// segment or an earlier one (hasPrev: there is one).
	prev    model.SamplePair
	hasPrev bool
}

// streamState is one coarse query's part of a streamed backfill.
type streamState struct {
	cq     *coarseQuery
	series []*streamSeries // of the current segment
	// last is each series' last sample before the current segment, across
	// segments (the series themselves carry it within one: see begin).
	last map[uint64]model.SamplePair
	// keep, spans and pts hold a thinned slot's samples and points,
	// reused slot after slot; fam is the query's family of sources.
	keep  []model.SamplePair
	spans []keptSpan
	pts   []point
	fam   []int
}

// keptSpan is one series' part of streamState.keep.
type keptSpan struct {
	ss     *streamSeries
	lo, hi int
}

// streamSlot is one slot of a streamed backfill: its steps cover (lo,
// hi]. Coarse slots end at H (or cutM); the fine tier's (after cutM) are
// stepped at every interval, as ticks step it.
type streamSlot struct {
	H, lo, hi int64
	fine      bool
}

// segment is one streamed read: the samples in (from, to] of every query,
// for slots i0..i1.
type segment struct {
	from, to int64
	i0, i1   int
	series   [][]*streamSeries // per query; a series once per query
	samples  int
	err      error
	// arena holds the samples; it is reused by the segment after next.
	arena *sampleArena
}

// sampleArena hands out runs of samples from blocks that are kept and
// reused once reset: a streamed backfill reads every sample of the
// history, and allocating each segment's anew (or growing one array
// for it) made the collector, at 25% during backfills, mark the engine
// over and over.
type sampleArena struct {
	blocks [][]model.SamplePair
	cur    int // block being filled
	used   int // samples of blocks[cur] handed out
}

// arenaBlock is the samples of one block of an arena: 1 MiB.
const arenaBlock = 1 << 16

// alloc returns n samples of storage: in the current block if they fit,
// else in the next (a new one past the last), or a slice of their own
// when n passes a block.
func (a *sampleArena) alloc(n int) []model.SamplePair {
	if n > arenaBlock {
		return make([]model.SamplePair, n)
	}
	if len(a.blocks) == 0 || a.used+n > arenaBlock {
		if len(a.blocks) > 0 {
			a.cur++
		}
		if a.cur == len(a.blocks) {
			a.blocks = append(a.blocks, make([]model.SamplePair, arenaBlock))
		}
		a.used = 0
	}
	s := a.blocks[a.cur][a.used : a.used+n : a.used+n]
	a.used += n
	return s
}

// reset takes back everything handed out, keeping the blocks.
func (a *sampleArena) reset() { a.cur, a.used = 0, 0 }

// streamBackfill steps the coarse queries cqs from their start to `to`
// from raw samples read through remote read (see "Streamed backfill"):
// up to cutM slot by slot, thinned where that changes nothing, then the
// fine tier at every interval. It returns the steps processed; an error
// wrapping errNoRemoteRead with no step processed means the server does
// not serve remote read.
func (p *Puller) streamBackfill(ctx context.Context, rr RemoteReader, cqs []*coarseQuery, to int64, prog *BackfillProgress) (int, error) {
	slotMs := cqs[0].slot
	cutM := cqs[0].cutM
	from := cqs[0].start
	states := make([]*streamState, len(cqs))
	exprs := make([]string, len(cqs))
	for i, cq := range cqs {
		from = min(from, cq.start)
		states[i] = &streamState{cq: cq, last: map[uint64]model.SamplePair{}, fam: p.family(cq.qi)}
		exprs[i] = p.queries[cq.qi].expr
	}
	reads := planUnions(exprs, unionLimits{maxMembers: streamMaxUnion, maxBytes: 64 << 10, regex: true})
	sels := make([]string, len(reads))
	for i, u := range reads {
		sels[i] = u.selector(exprs)
	}
	var slots []streamSlot
	for H := ceilTo(from, slotMs); H-slotMs < cutM; H += slotMs {
		slots = append(slots, streamSlot{H: H, lo: H - slotMs, hi: min(H, cutM)})
	}
	for H := ceilTo(cutM+1, slotMs); H-slotMs < to; H += slotMs {
		slots = append(slots, streamSlot{H: H, lo: max(H-slotMs, cutM), hi: min(H, to), fine: true})
	}

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Unbuffered: when the reader starts segment k, the steps are done
	// with segment k-2, whose storage segment k takes over.
	segs := make(chan *segment)
	go func() {
		arenas := [2]*sampleArena{{}, {}}
		ids := &SeriesIDs{}
		defer close(segs)
		// Two segments are in memory at once (one stepped, one read),
		// each as decoded samples plus the decoder's garbage. A segment
		// is twice the last one's slots, up to a day, or fewer where its
		// samples per slot would pass the budget: history that starts
		// or grows denser is met within a day's samples.
		budget := max(1, p.cfg.MaxSamples/4)
		n := 2
		for i0 := 0; i0 < len(slots); {
			i1 := alignedEnd(slots, i0, min(len(slots)-1, i0+n-1))
			seg := &segment{from: slots[i0].lo, to: slots[i1].hi, i0: i0, i1: i1}
			for _, cq := range cqs {
				if cq.first >= slots[i0].H && cq.first <= slots[i1].H {
					seg.from = min(seg.from, cq.after)
				}
			}
			seg.arena = arenas[0]
			seg.arena.reset()
			seg.err = p.readSegment(rctx, rr, reads, sels, len(cqs), seg, ids)
			arenas[0], arenas[1] = arenas[1], arenas[0]
			n = min(2*n, streamMaxSlots)
			if perSlot := seg.samples / (i1 - i0 + 1); perSlot > 0 {
				n = max(1, min(n, budget/perSlot))
			}
			select {
			case segs <- seg:
			case <-rctx.Done():
				return
			}
			if seg.err != nil {
				return
			}
			i0 = i1 + 1
		}
	}()

	steps := 0
	ok := make([]bool, len(p.sources))
	inputs := make([][]point, len(p.sources))
	for {
		waited := time.Now()
		seg, more := <-segs
		prog.ReadWait += time.Since(waited)
		if !more {
			break
		}
		p.c.queries++
		prog.Queries++
		if seg.err != nil {
			p.c.queryErrors++
			return steps, seg.err
		}
		p.c.points += uint64(seg.samples)
		prog.Points += uint64(seg.samples)
		for i, st := range states {
			st.begin(seg.series[i])
		}
		for _, sl := range slots[seg.i0 : seg.i1+1] {
			var plans []*coarsePlan
			var thinned []*streamState
			for _, st := range states {
				pl, thin := p.streamPlan(st, sl)
				if pl == nil {
					continue
				}
				plans = append(plans, pl)
				if thin {
					thinned = append(thinned, st)
				}
			}
			n, err := p.coarseSlotSteps(plans, ok, inputs)
			steps += n
			if err != nil {
				return steps, err
			}
			clear(inputs)
			for _, st := range thinned {
				p.streamReseat(st)
			}
			for _, st := range states {
				st.advance()
			}
			prog.StepsDone = int((sl.hi-floorTo(from, p.iv))/p.iv) + 1
		}
		for _, st := range states {
			st.end()
		}
		if err := ctx.Err(); err != nil {
			return steps, err
		}
	}
	return steps, nil
}

// readSegment reads the samples of seg (from all reads at once, one
// request) into seg.series, per coarse query. It runs beside the steps:
// it touches nothing but seg and the reads' caches.
func (p *Puller) readSegment(ctx context.Context, rr RemoteReader, reads []union, sels []string, nq int, seg *segment, ids *SeriesIDs) error {
	members := 1
	for _, u := range reads {
		members = max(members, len(u.members))
	}
	// From seg.from itself: a sample there starts the chunk of the block
	// that begins there, and a range that left it out would make
	// Prometheus re-encode that chunk for every series (the samples of a
	// slot are those after its start, so the extra one is never used).
	mats, err := rr.RemoteRead(withSelectors(ctx, members), sels, time.UnixMilli(seg.from-1), time.UnixMilli(seg.to), ReadInto{Alloc: seg.arena.alloc, IDs: ids})
	if err != nil {
		return fmt.Errorf("backfill %s..%s: %w", time.UnixMilli(seg.from).UTC().Format(time.RFC3339),
			time.UnixMilli(seg.to).UTC().Format(time.RFC3339), err)
	}
	seg.series = make([][]*streamSeries, nq)
	var hit []int
	for ri, m := range mats {
		u := &reads[ri]
		u.fit(len(m))
		for _, ss := range m {
			seg.samples += len(ss.Values)
			hit = u.matching(ss.Metric, hit[:0])
			for _, mi := range hit {
				qi := u.members[mi]
				seg.series[qi] = append(seg.series[qi], &streamSeries{fp: ss.FP, metric: ss.Metric, vals: ss.Values})
			}
		}
	}
	return nil
}

// alignedEnd returns the last slot of a segment from slot i0 that should
// end at slot want: the nearest before or after it whose end is on the 2h
// grid, or the last slot. Prometheus cuts chunks at its blocks' 2h
// boundaries, and a chunk the range cuts through is decoded and encoded
// again.
func alignedEnd(slots []streamSlot, i0, want int) int {
	for j := want; j >= i0; j-- {
		if slots[j].hi%streamAlign == 0 {
			return j
		}
	}
	for j := want + 1; j < len(slots); j++ {
		if slots[j].hi%streamAlign == 0 {
			return j
		}
	}
	return len(slots) - 1
}

// streamPlan returns the plan of query st.cq in slot sl (nil when it has
// no step there), and whether the slot is thinned: its head (from its
// start to its first boundary), fine slots and slots that may not be
// thinned are stepped at every interval with all their samples, the
// others at their boundaries with the thinned samples.
func (p *Puller) streamPlan(st *streamState, sl streamSlot) (*coarsePlan, bool) {
	cq := st.cq
	H := sl.H
	switch {
	case sl.fine:
		pl := &coarsePlan{cq: cq, raw: true, times: p.stepTimes(sl.lo, sl.hi)}
		st.slot(sl.lo, sl.hi)
		pl.cur = st.samples()
		return pl, false
	case H == cq.first:
		pl := &coarsePlan{cq: cq, raw: true, times: p.stepTimes(cq.start-p.iv, H)}
		st.slot(cq.after, H)
		pl.cur = st.samples()
		return pl, false
	case H > cq.first && H-cq.slot < cq.cutM:
		a, hi := H-cq.slot, min(H, cq.cutM)
		pl := &coarsePlan{cq: cq, raw: true}
		st.slot(a, hi)
		if times := cq.boundaryTimes(a, hi); p.trackersReady(st) {
			chk := p.thinCheck()
			if cur, ok := st.thinned(times, &chk); ok {
				pl.times, pl.cur = times, cur
				p.c.bfSlots[0]++
				return pl, true
			}
		}
		pl.times = p.stepTimes(a, hi)
		pl.cur = st.samples()
		p.c.bfSlots[2]++
		return pl, false
	}
	return nil, false
}

// slot finds, per series of the segment, its samples in (a, b]: the
// slot's, searched for once, from the samples not yet handed out on.
func (st *streamState) slot(a, b int64) {
	for _, ss := range st.series {
		lo := ss.pos
		for lo < len(ss.vals) && int64(ss.vals[lo].Timestamp) <= a {
			lo++
		}
		hi := lo + sort.Search(len(ss.vals)-lo, func(k int) bool { return int64(ss.vals[lo+k].Timestamp) > b })
		ss.lo, ss.hi = lo, hi
	}
}

// samples returns, per series, its samples in the slot.
func (st *streamState) samples() []point {
	var out []point
	for _, ss := range st.series {
		if ss.hi > ss.lo {
			out = append(out, point{fp: ss.fp, metric: ss.metric, vals: ss.vals[ss.lo:ss.hi]})
		}
	}
	return out
}

// begin makes series the current segment's, each with its last sample
// before the segment.
func (st *streamState) begin(series []*streamSeries) {
	st.series = series
	for _, ss := range series {
		ss.prev, ss.hasPrev = st.last[ss.fp]
	}
}

// end keeps, per series of the segment, its last sample for the next.
func (st *streamState) end() {
	for _, ss := range st.series {
		if ss.hasPrev {
			st.last[ss.fp] = ss.prev
		}
	}
}

// advance records, per series, its last sample up to the slot's end as
// the last before the next slot, and moves past the slot's samples.
func (st *streamState) advance() {
	for _, ss := range st.series {
		if ss.hi > 0 {
			ss.prev, ss.hasPrev = ss.vals[ss.hi-1], true
		}
		ss.pos = ss.hi
	}
}

// thinned returns, per series, the samples of the slot that a thinned
// slot hands out: the last at or before each of times (the slot's
// boundaries, the last of which ends the slot), and the two around each
// drop. chk (nil: any) is asked about every pair of consecutive samples,
// from the last before the slot on; when it refuses one, or a series has
// no sample before the slot, thinned returns false: the slot may not be
// thinned. One pass decides and thins.
func (st *streamState) thinned(times []int64, chk *thinCheck) ([]point, bool) {
	st.keep, st.spans = st.keep[:0], st.spans[:0]
	for _, ss := range st.series {
		if ss.hi == ss.lo {
			continue
		}
		if chk != nil && !ss.hasPrev {
			return nil, false
		}
		vals := ss.vals[ss.lo:ss.hi]
		lo := len(st.keep)
		// kept: the index in vals of the last sample kept (-1: none),
		// so that the sample before a drop is kept once.
		kept, ti := -1, 0
		before, hasBefore := ss.prev, ss.hasPrev
		for k, s := range vals {
			for ti < len(times) && times[ti] < int64(s.Timestamp) {
				ti++
			}
			if chk != nil && !chk.allows(before, s) {
				return nil, false
			}
			if hasBefore && s.Value < before.Value {
				// A drop: keep the sample before it (when in the slot)
				// and this one.
				if k > 0 && kept < k-1 {
					st.keep = append(st.keep, before)
				}
				st.keep, kept = append(st.keep, s), k
			} else if k+1 == len(vals) || ti >= len(times) || int64(vals[k+1].Timestamp) > times[ti] {
				st.keep, kept = append(st.keep, s), k // the last in its bucket
			}
			before, hasBefore = s, true
		}
		st.spans = append(st.spans, keptSpan{ss, lo, len(st.keep)})
	}
	st.pts = st.pts[:0]
	for _, sp := range st.spans {
		st.pts = append(st.pts, point{fp: sp.ss.fp, metric: sp.ss.metric, vals: st.keep[sp.lo:sp.hi]})
	}
	return st.pts, true
}

// trackersReady reports whether, for every series with samples in the
// slot, the trackers of st's query hold its last sample before the slot
// (see "Streamed backfill"): the first condition of thinning.
func (p *Puller) trackersReady(st *streamState) bool {
	for _, ss := range st.series {
		if ss.hi == ss.lo {
			continue
		}
		if !ss.hasPrev || !p.trackersHold(st.cq, ss, ss.prev) {
			return false
		}
	}
	return true
}

// thinCheck is what decides whether a step between two samples allows
// thinning: a value of its own, so that the check is inlined in the loop
// over every sample.
type thinCheck struct {
	maxGap  int64   // ForgetAfter minus one interval, in ms
	maxRate float64 // the rate bound per second (0: none)
}

// thinCheck returns p's check.
func (p *Puller) thinCheck() thinCheck {
	return thinCheck{maxGap: p.forget - p.iv, maxRate: max(p.cfg.MaxIncreaseRate, 0)}
}

// allows reports whether the step from sample prev to the next, s,
// allows thinning (see "Streamed backfill"): s finite and not negative,
// no drop the duplicate guard suspects, no gap a tick would forget the
// series in, and an increment within the rate bound.
func (c *thinCheck) allows(prev, s model.SamplePair) bool {
	v, pv := float64(s.Value), float64(prev.Value)
	dt := int64(s.Timestamp) - int64(prev.Timestamp)
	// !(v >= 0) is also true for NaN.
	if !(v >= 0) || v > math.MaxFloat64 || dt >= c.maxGap {
		return false
	}
	inc := v - pv
	if v < pv {
		if v >= pv/2 {
			return false // a drop the duplicate guard suspects
		}
		inc = v
	}
	// The bound as the tracker computes it, to the last bit.
	return c.maxRate == 0 || inc <= c.maxRate*float64(dt)/1000
}

// trackersHold reports whether every source that reads series ss of
// query cq holds last as its last sample, with a settled duplicate guard.
// A source that has seen the series and not matched it never tracks it,
// and a child whose filter drops it never sees it.
func (p *Puller) trackersHold(cq *coarseQuery, ss *streamSeries, last model.SamplePair) bool {
	check := func(si int, reads bool) bool {
		s := p.sources[si]
		tr := s.tracker.(*counters.Tracker)
		v, ts, tracked := tr.LastValue(ss.fp)
		if !tracked {
			info := s.series[ss.fp]
			return !reads || (info != nil && !info.match)
		}
		return v == float64(last.Value) && ts == int64(last.Timestamp) && tr.Settled(ss.fp)
	}
	for _, si := range cq.srcs {
		if !check(si, true) {
			return false
		}
	}
	for _, k := range cq.kids {
		keeps := k.filter.keep(ss.fp, ss.metric)
		for _, si := range k.srcs {
			if !check(si, keeps) {
				return false
			}
		}
	}
	return true
}

// streamReseat moves, after a thinned slot, the last-seen time of each
// series it handed samples to back to the step at which ticks would have
// consumed the last of them.
func (p *Puller) streamReseat(st *streamState) {
	for _, ss := range st.series {
		if ss.hi == ss.lo {
			continue
		}
		for _, si := range st.fam {
			tr := p.sources[si].tracker.(*counters.Tracker)
			if _, ts, ok := tr.LastValue(ss.fp); ok {
				tr.Reseat(ss.fp, ts, ceilTo(ts, p.iv))
			}
		}
	}
}
