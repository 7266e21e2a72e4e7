package scrape

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"go.uber.org/zap"

	"github.com/slo-exporter/slo-exporter/internal/counters"
	"github.com/slo-exporter/slo-exporter/internal/windows"
)

// Coarse backfill
//
// The engine keeps history older than windows.FineSpan only in 5-minute
// buckets, and older than windows.MidSpan only in 1-hour buckets. Ticking
// through such history records, for every bucket, the sum of the
// reset-aware deltas of the raw samples in it, and nothing finer survives.
// That sum needs no raw sample when the counter did not drop in the
// bucket: it is the value of the last sample at or before the bucket's end
// minus the value of the last sample at or before its start. So the part
// of a backfill older than the fine (then the mid) tier's reach reads, per
// query:
//
//   - V: last_over_time(sel[5m]) at every bucket boundary, which keeps the
//     series' names, so its series are the raw reads' series;
//   - Z: resets(sel[1h5m]) at every hour's end: the drops between
//     consecutive samples of the hour and of the 5 minutes before it, so
//     the pair around each boundary (the sample V read and the next one) is
//     inside.
//
// A bucket is "clean" for a series when both boundary values exist (a
// sample within 5 minutes before each), are finite, non-negative and not
// decreasing, the hour's Z is 0, the increase is within the tracker's rate
// bound, and the tracker's last consumed value of the series is the start
// value. Then one synthetic sample, at the bucket's end with the end value,
// makes the counter tracker produce exactly the bucket's events, and the
// engine records one interval per bucket through the same step code as
// ticks. An hour in which any series of the query is not clean is read as
// raw samples and stepped at the evaluation interval, as ticks would, so
// resets, late series, gaps and refused samples are counted exactly.
// Queries whose selectors differ only in one label's value are read
// together, through one selector matching all those values (see
// coarseBatch), so an empty history of per-service SLOs costs a handful of
// requests.
//
// The result equals ticking through the same history, with two documented
// approximations that change no count in practice: the rate bound applies
// to a clean bucket's whole increase instead of each sample's, and a
// series' last-seen time (for ForgetAfter) is the boundary instead of its
// last sample's time. NaN samples are skipped by the tracker but hide a
// drop from resets(): a counter that exposes NaN just before a reset
// can be miscounted in a clean-looking bucket. Servers whose
// last_over_time drops metric names (VictoriaMetrics) and answers that
// mix names are detected: those queries are backfilled from raw samples.

const (
	// coarseLookback is how far before a bucket boundary the last sample
	// may lie for the boundary's value to be read.
	coarseLookback = 5 * time.Minute
	// coarseMaxUnclean is the share of hours beyond which a query is read
	// as raw samples instead: raw chunks then cost fewer requests.
	coarseMaxUnclean = 0.5
	// coarsePrefetch is how many slots of raw samples of unclean slots are
	// read ahead at once.
	coarsePrefetch = 48
)

var midMs = windows.MidResolution.Milliseconds()

// coarseSlot returns the length of the slots of a coarse backfill (the
// spacing of its boundaries older than the mid tier's reach, and the range
// of each resets() probe): the longest divisor of an hour, a multiple of
// 5m, whose span plus coarseLookback is within ForgetAfter. Two samples a
// clean slot's boundary values read are then never further apart than
// ForgetAfter, so ticking would not have forgotten the series between
// them. Zero: ForgetAfter is too short for a coarse backfill.
func (p *Puller) coarseSlot() int64 {
	for _, m := range []int64{60, 30, 20, 15, 10, 5} {
		slot := m * time.Minute.Milliseconds()
		if slot+coarseLookback.Milliseconds() <= p.forget {
			return slot
		}
	}
	return 0
}

// coarseQuery is one raw query backfilled coarsely.
type coarseQuery struct {
	qi    int
	srcs  []int // sources fed the query's points
	kids  []*backfillKid
	start int64 // first step (the baseline step)
	after int64 // the head's raw samples are read after this
	first int64 // first boundary: start rounded up to the hour
	mid   int64 // first boundary of the 5m part: max(first, cutC)
	cutM  int64 // last boundary
	slot  int64 // ms: boundary spacing before mid, and the span of a Z probe
	nSlow int   // boundaries first..mid, slot apart
	nb    int   // boundaries in all
	nz    int   // hours: ends first+1h .. ceil(cutM)
	// series by fingerprint without the metric name (Z drops it).
	series map[uint64]*coarseSeries
	dirty  []bool // per hour: not clean for some series (static checks)
	bad    error  // not backfilled coarsely after all, and why
	raw    map[int64][]point
}

// coarseSeries is one series' boundary values and per-slot reads. The
// counts of drops are float32 (small integers, or NaN: no sample), and the
// values read only where a slot or bucket has a drop (M, and the value
// before the drop) are kept sparse, so that 400 series of a 30-day
// backfill hold about 20 MB.
type coarseSeries struct {
	fp     uint64
	metric model.Metric
	vals   []float64 // per boundary; NaN: no sample within coarseLookback
	zs     *counts   // per slot; NaN: no sample
	// ms is max_over_time over the slots with a drop; pre the value before
	// a slot's one drop when it can be told (see oneReset).
	ms, pre sparse
	// z5, m5 and pre5 are the same per 5-minute bucket of the mid part
	// (by the index of the bucket's end boundary), read only for queries
	// with a drop there (see fineResolve).
	z5       *counts
	m5, pre5 sparse
	// ls and l5 are the drops Z and z5 count in their 5 minutes before the
	// slot or bucket (resets(sel[5m]) at its start), read only for queries
	// with a drop: Z minus L is the drops in the slot itself.
	ls, l5 *counts
}

// counts holds small counts of drops per slot or bucket, NaN where there
// was no sample, compactly: a series' reads have points over one run of
// indexes (its first sample to its last, the reads' points arriving in
// time order), almost all 0, so only the run and the values other than 0
// in it (NaN for a gap) are kept. A nil *counts was not read: NaN
// everywhere.
type counts struct {
	lo, hi int // points were set at lo..hi; hi < lo: none
	ex     map[int32]float32
}

func newCounts() *counts { return &counts{hi: -1} }

// at returns count i as a float64; NaN for a nil counts or outside the
// run.
func (c *counts) at(i int) float64 {
	if c == nil || i < c.lo || i > c.hi {
		return math.NaN()
	}
	if v, ok := c.ex[int32(i)]; ok {
		return float64(v)
	}
	return 0
}

// set sets count i; the indexes between the run and i become NaN (no
// point there).
func (c *counts) set(i int, v float32) {
	switch {
	case c.hi < c.lo:
		c.lo, c.hi = i, i
	case i > c.hi:
		for k := c.hi + 1; k < i; k++ {
			c.put(k, float32(math.NaN()))
		}
		c.hi = i
	case i < c.lo:
		for k := i + 1; k < c.lo; k++ {
			c.put(k, float32(math.NaN()))
		}
		c.lo = i
	}
	if v == 0 {
		delete(c.ex, int32(i))
		return
	}
	c.put(i, v)
}

func (c *counts) put(i int, v float32) {
	if c.ex == nil {
		c.ex = map[int32]float32{}
	}
	c.ex[int32(i)] = v
}

// sparse holds values at a few indexes; NaN elsewhere.
type sparse map[int32]float64

func (s sparse) at(i int) float64 {
	if v, ok := s[int32(i)]; ok {
		return v
	}
	return math.NaN()
}

// boundary returns the time of boundary i.
func (cq *coarseQuery) boundary(i int) int64 {
	if i < cq.nSlow {
		return cq.first + int64(i)*cq.slot
	}
	return cq.mid + int64(i-cq.nSlow+1)*midMs
}

// index returns the boundary index of t (a boundary).
func (cq *coarseQuery) index(t int64) int {
	if t <= cq.mid {
		return int((t - cq.first) / cq.slot)
	}
	return cq.nSlow - 1 + int((t-cq.mid)/midMs)
}

// slotEnd returns the end of slot j.
func (cq *coarseQuery) slotEnd(j int) int64 { return cq.first + int64(j+1)*cq.slot }

// coarseCuts returns the last boundaries of the hourly and 5-minute parts
// of a backfill ending at to: records older than them land in buckets that
// no window of any layout still reads once the engine reaches to.
func (p *Puller) coarseCuts(to int64) (cutC, cutM int64) {
	cutC = floorTo(to-windows.MidSpan.Milliseconds()-2*midMs, p.coarseSlot())
	cutM = floorTo(to-windows.FineSpan.Milliseconds()-2*p.iv, midMs)
	return cutC, cutM
}

// coarseQueries picks the raw queries whose backfill from startOf can be
// coarse: float counters only (no native histogram or gauge source), no
// target with time slices, every target of their sources in the same case,
// and a start at least an hour before cutM.
func (p *Puller) coarseQueries(startOf map[int]int64, cutM int64) []*coarseQuery {
	slotMs := p.coarseSlot()
	if p.cfg.RawBackfill || p.cfg.AfterStep != nil || slotMs == 0 {
		return nil
	}
	okQ := make([]bool, len(p.queries))
	for qi, q := range p.queries {
		if q.parent >= 0 || !q.raw {
			continue
		}
		okQ[qi] = true
		for _, si := range p.family(qi) {
			s := p.sources[si]
			st, found := startOf[si]
			_, counter := s.tracker.(*counters.Tracker)
			if !found || !counter || s.native != nil || ceilTo(st, slotMs) >= cutM {
				okQ[qi] = false
			}
		}
	}
	rootOf := func(si int) int {
		qi := p.sources[si].q
		if p.queries[qi].parent >= 0 {
			qi = p.queries[qi].parent
		}
		return qi
	}
	for changed := true; changed; {
		changed = false
		for _, ts := range p.targets {
			ok := p.eng.Spec(ts.SLO).TimeSlice == nil
			for _, si := range ts.sources {
				ok = ok && okQ[rootOf(si)]
			}
			if ok {
				continue
			}
			for _, si := range ts.sources {
				if qi := rootOf(si); okQ[qi] {
					okQ[qi], changed = false, true
				}
			}
		}
	}
	var out []*coarseQuery
	for qi, q := range p.queries {
		if !okQ[qi] {
			continue
		}
		cq := &coarseQuery{qi: qi, srcs: q.sources, start: math.MaxInt64, slot: slotMs, series: map[uint64]*coarseSeries{}, raw: map[int64][]point{}}
		fresh := false
		for _, si := range p.family(qi) {
			cq.start = min(cq.start, startOf[si])
			_, started := p.sources[si].tracker.Last()
			fresh = fresh || !started
		}
		for _, ci := range q.children {
			kid := &backfillKid{filter: p.queries[ci].filter, srcs: p.queries[ci].sources}
			cq.kids = append(cq.kids, kid)
		}
		cq.after = cq.start - p.iv - p.overlap
		if fresh {
			cq.after = cq.start - p.forget
		}
		out = append(out, cq)
	}
	return out
}

// ceilTo rounds ms up to a multiple of step.
func ceilTo(ms, step int64) int64 { return -floorTo(-ms, step) }

// coarseBackfill backfills the coarse queries' sources from their start
// to cutM (see "Coarse backfill"), and sets their startOf to the step
// after it. Queries found unfit on the way are left for the raw backfill.
// It returns the steps processed.
func (p *Puller) coarseBackfill(ctx context.Context, startOf map[int]int64, to int64, prog *BackfillProgress) (int, error) {
	// The slot buffers' points hold the backfill's samples (a streamed
	// one's, in blocks of its arenas): kept past it, they kept 66 MiB
	// of 10,000 groups' history alive for the life of the process.
	defer func() { p.slotBufs = nil }()
	cutC, cutM := p.coarseCuts(to)
	cqs := p.coarseQueries(startOf, cutM)
	if len(cqs) == 0 {
		return 0, nil
	}
	for _, cq := range cqs {
		cq.first = ceilTo(cq.start, cq.slot)
		cq.mid = max(cq.first, cutC)
		cq.cutM = cutM
		cq.nSlow = int((cq.mid-cq.first)/cq.slot) + 1
		cq.nb = cq.nSlow + int((cutM-cq.mid)/midMs)
		cq.nz = int((ceilTo(cutM, cq.slot) - cq.first) / cq.slot)
	}
	if rr, ok := p.q.(RemoteReader); ok && !p.cfg.NoRemoteRead && !p.noRemoteRead {
		steps, err := p.streamBackfill(ctx, rr, cqs, to, prog)
		switch {
		case err == nil:
			// Streamed to the end: nothing left for the raw reads.
			for _, cq := range cqs {
				for _, si := range p.family(cq.qi) {
					delete(startOf, si)
				}
			}
			return steps, nil
		case !errors.Is(err, errNoRemoteRead):
			return steps, err
		}
		// Not served, or a series it cannot read (a native histogram):
		// PromQL from now on. What was stepped stays, and a failed
		// backfill resumes after it.
		p.noRemoteRead = true
		p.log.Info("backfill: remote read not available, reading through PromQL", zap.Error(err))
		if steps > 0 {
			return steps, err
		}
	}
	if err := p.coarseRead(ctx, cqs, prog); err != nil {
		return 0, err
	}
	var live []*coarseQuery
	for _, cq := range cqs {
		if cq.bad == nil {
			cq.classify(p)
		}
		if cq.bad != nil {
			p.log.Debug("backfill: raw samples instead of boundary values", zap.String("query", p.queries[cq.qi].expr), zap.Error(cq.bad))
			continue
		}
		live = append(live, cq)
	}
	if len(live) == 0 {
		return 0, nil
	}
	steps, err := p.coarseSteps(ctx, live, prog)
	if err != nil {
		return steps, err
	}
	for _, cq := range live {
		for _, si := range p.family(cq.qi) {
			startOf[si] = cq.cutM + p.iv
		}
	}
	return steps, nil
}

// coarseRead fetches Z, V and M of every query, in batches (coarseBatch)
// of one first boundary.
// A batch that fails is retried query by query; a query that fails alone
// is marked bad (it then reads raw samples, which report the error if it
// persists).
func (p *Puller) coarseRead(ctx context.Context, cqs []*coarseQuery, prog *BackfillProgress) error {
	byFirst := map[int64][]*coarseQuery{}
	var firsts []int64
	for _, cq := range cqs {
		if _, ok := byFirst[cq.first]; !ok {
			firsts = append(firsts, cq.first)
		}
		byFirst[cq.first] = append(byFirst[cq.first], cq)
	}
	slices.Sort(firsts)
	var batches []coarseBatch
	for _, f := range firsts {
		batches = append(batches, p.coarseBatches(byFirst[f])...)
	}
	for len(batches) > 0 {
		var retry []coarseBatch
		errs := make([]error, len(batches))
		p.fanout(len(batches), func(i int) { errs[i] = p.coarseReadBatch(ctx, batches[i], prog) })
		for i, err := range errs {
			if err == nil {
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if len(batches[i].cqs) == 1 {
				batches[i].cqs[0].bad = err
				continue
			}
			for _, cq := range batches[i].cqs {
				clear(cq.series)
				retry = append(retry, single(cq))
			}
		}
		batches = retry
	}
	return nil
}

// coarseBatch is queries read by one request per kind of read: one query,
// or a union of queries (see "Union reads").
type coarseBatch struct {
	cqs []*coarseQuery
	u   union // members index cqs
}

// coarseMaxUnion is how many queries one union reads.
const coarseMaxUnion = 64

// coarseBatches groups queries (of one first boundary) into unions where
// their selectors allow it, and single reads otherwise.
func (p *Puller) coarseBatches(cqs []*coarseQuery) []coarseBatch {
	exprs := make([]string, len(cqs))
	for i, cq := range cqs {
		exprs[i] = p.queries[cq.qi].expr
	}
	plans := planUnions(exprs, unionLimits{maxMembers: coarseMaxUnion})
	out := make([]coarseBatch, len(plans))
	for i, u := range plans {
		b := coarseBatch{cqs: make([]*coarseQuery, len(u.members)), u: u}
		for j, m := range u.members {
			b.cqs[j] = cqs[m]
			b.u.members[j] = j
		}
		out[i] = b
	}
	return out
}

// single returns the batch that reads cq alone.
func single(cq *coarseQuery) coarseBatch {
	return coarseBatch{cqs: []*coarseQuery{cq}, u: union{members: []int{0}}}
}

// selector returns the selector a batch reads: the query's own, or the
// union of the batch's selectors over its label.
func (b coarseBatch) selector(p *Puller) string {
	exprs := make([]string, len(b.cqs))
	for i, cq := range b.cqs {
		exprs[i] = p.queries[cq.qi].expr
	}
	return b.u.selector(exprs)
}

// of returns the query of the batch a series belongs to, or nil.
func (b coarseBatch) of(m model.Metric) *coarseQuery {
	if i := b.u.of(m); i >= 0 {
		return b.cqs[i]
	}
	return nil
}

// subset returns the batch of the queries of b that keep reports true for.
func (b coarseBatch) subset(keep func(*coarseQuery) bool) coarseBatch {
	var cqs []*coarseQuery
	var members []int
	var vals []string
	for i, cq := range b.cqs {
		if keep(cq) {
			members = append(members, len(cqs))
			cqs = append(cqs, cq)
			if b.u.label != "" {
				vals = append(vals, b.u.vals[i])
			}
		}
	}
	if b.u.label == "" || len(cqs) == 0 {
		return coarseBatch{cqs: cqs, u: union{members: members}}
	}
	return coarseBatch{cqs: cqs, u: newUnion(members, b.u.label, vals)}
}

// coarseReadBatch runs the V and Z range queries of one batch (queries
// with one first boundary) and fills their series.
func (p *Puller) coarseReadBatch(ctx context.Context, batch coarseBatch, prog *BackfillProgress) error {
	cq0 := batch.cqs[0]
	// Z first: a query without any series in it has no sample from the
	// first boundary's lookback on, and needs no V.
	if err := p.coarseReadOne(ctx, batch, drops(cq0.slot), cq0.slotEnd(0), cq0.slotEnd(cq0.nz-1), cq0.slot, readZ, prog); err != nil {
		return err
	}
	live := batch.subset(func(cq *coarseQuery) bool { return len(cq.series) > 0 })
	if len(live.cqs) == 0 {
		return nil
	}
	v := func(sel string) string {
		return "last_over_time(" + RangeSelector(sel, coarseLookback.Milliseconds()) + ")"
	}
	if cq0.mid == cq0.first {
		if err := p.coarseReadOne(ctx, live, v, cq0.first, cq0.cutM, midMs, readV, prog); err != nil {
			return err
		}
	} else {
		if err := p.coarseReadOne(ctx, live, v, cq0.first, cq0.mid, cq0.slot, readV, prog); err != nil {
			return err
		}
		if cq0.cutM > cq0.mid {
			if err := p.coarseReadOne(ctx, live, v, cq0.mid+midMs, cq0.cutM, midMs, readV, prog); err != nil {
				return err
			}
		}
		// For the queries with a drop before mid: L, the drops Z counts in
		// its 5 minutes before each slot, and M, the value before a slot's
		// one drop (see oneReset).
		if dropped := live.subset(func(cq *coarseQuery) bool { return cq.hasDrop(false) }); len(dropped.cqs) > 0 {
			if cq0.mid-cq0.slot >= cq0.first {
				if err := p.coarseReadOne(ctx, dropped, lookback, cq0.first, cq0.mid-cq0.slot, cq0.slot, readL, prog); err != nil {
					return err
				}
			}
			m := func(sel string) string { return "max_over_time(" + RangeSelector(sel, cq0.slot) + ")" }
			if err := p.coarseReadOne(ctx, dropped, m, cq0.slotEnd(0), cq0.mid, cq0.slot, readM, prog); err != nil {
				return err
			}
		}
	}
	// Z and M per 5-minute bucket, for the queries with a drop after mid
	// (see fineResolve).
	fine := live.subset(func(cq *coarseQuery) bool { return cq.hasDrop(true) })
	if len(fine.cqs) == 0 || cq0.cutM <= cq0.mid {
		return nil
	}
	if err := p.coarseReadOne(ctx, fine, drops(midMs), cq0.mid+midMs, cq0.cutM, midMs, readZ5, prog); err != nil {
		return err
	}
	if err := p.coarseReadOne(ctx, fine, lookback, cq0.mid, cq0.cutM-midMs, midMs, readL5, prog); err != nil {
		return err
	}
	m5 := func(sel string) string { return "max_over_time(" + RangeSelector(sel, midMs) + ")" }
	return p.coarseReadOne(ctx, fine, m5, cq0.mid+midMs, cq0.cutM, midMs, readM5, prog)
}

// hasDrop reports whether some series has a drop in a slot after mid
// (afterMid), or in one ending at or before it.
func (cq *coarseQuery) hasDrop(afterMid bool) bool {
	for _, cs := range cq.series {
		for j, z := range cs.zs.ex { // every count >= 1 is there
			if z >= 1 && !math.IsInf(float64(z), 0) && (cq.slotEnd(int(j)) > cq.mid) == afterMid {
				return true
			}
		}
	}
	return false
}

// drops is the Z read over spans of span ms plus the lookback: the drops
// between consecutive samples, plus 0 * sum_over_time, which is NaN when a
// sample is (the tracker skips NaN samples, which hide a drop from
// resets()).
func drops(span int64) func(sel string) string {
	return func(sel string) string {
		r := RangeSelector(sel, span+coarseLookback.Milliseconds())
		return "resets(" + r + ") + 0 * sum_over_time(" + r + ")"
	}
}

// coarseRead is what one coarse range query reads.
type coarseRead int

const (
	readZ  coarseRead = iota // resets (and NaN) per slot
	readV                    // boundary values
	readM                    // max_over_time per slot
	readZ5                   // resets (and NaN) per 5m bucket after mid
	readM5                   // max_over_time per 5m bucket after mid
	readL                    // resets in the 5m before each slot before mid
	readL5                   // resets in the 5m before each 5m bucket after mid
)

// lookback is the L read: the drops in the 5 minutes up to each point.
func lookback(sel string) string {
	return "resets(" + RangeSelector(sel, coarseLookback.Milliseconds()) + ")"
}

// inside returns the drops of slot j in the slot itself: Z minus what Z
// counted in the 5 minutes before the slot (NaN when Z is).
func (cs *coarseSeries) inside(j int) float64 {
	z := cs.zs.at(j)
	if l := cs.ls.at(j); z >= 1 && !math.IsNaN(l) {
		z -= l
	}
	return z
}

// hasPre reports whether some series' slot j is read around a drop.
func (cq *coarseQuery) hasPre(j int) bool {
	lo := cq.index(cq.slotEnd(j) - cq.slot)
	hi := cq.index(min(cq.slotEnd(j), cq.cutM))
	for _, cs := range cq.series {
		if !math.IsNaN(cs.pre.at(j)) {
			return true
		}
		for i := lo + 1; cs.pre5 != nil && i <= hi; i++ {
			if !math.IsNaN(cs.pre5.at(i)) {
				return true
			}
		}
	}
	return false
}

// coarseReadOne runs one range query of f(sel), sel the batch's selector,
// and stores its points in the series of the batch's queries.
func (p *Puller) coarseReadOne(ctx context.Context, batch coarseBatch, f func(sel string) string,
	start, end, step int64, kind coarseRead, prog *BackfillProgress) error {
	z := kind != readV
	m, err := p.q.QueryRange(withSelectors(ctx, len(batch.cqs)), f(batch.selector(p)), time.UnixMilli(start), time.UnixMilli(end), time.Duration(step)*time.Millisecond)
	p.countQuery(prog, m, err)
	if err != nil {
		return err
	}
	for _, ss := range m {
		if len(ss.Histograms) > 0 {
			return fmt.Errorf("native histogram samples in a counter read")
		}
		cq := batch.of(ss.Metric)
		if cq == nil {
			return fmt.Errorf("a series that none of the read's selectors selects: %s", ss.Metric)
		}
		metric := ss.Metric.Clone()
		if !z && metric[model.MetricNameLabel] == "" {
			cq.bad = fmt.Errorf("last_over_time dropped the metric name of %s", metric)
			continue
		}
		name := metric[model.MetricNameLabel]
		delete(metric, model.MetricNameLabel)
		key := uint64(metric.Fingerprint())
		cs := cq.series[key]
		if cs == nil {
			cs = &coarseSeries{vals: nanSlice(cq.nb), zs: newCounts()}
			cq.series[key] = cs
		}
		switch {
		case kind == readM && cs.ms == nil:
			cs.ms = sparse{}
		case kind == readZ5 && cs.z5 == nil:
			cs.z5 = newCounts()
		case kind == readM5 && cs.m5 == nil:
			cs.m5 = sparse{}
		case kind == readL && cs.ls == nil:
			cs.ls = newCounts()
		case kind == readL5 && cs.l5 == nil:
			cs.l5 = newCounts()
		}
		if !z {
			if cs.metric != nil && cs.metric[model.MetricNameLabel] != name {
				cq.bad = fmt.Errorf("series %s and %s differ only by name", cs.metric, name)
				continue
			}
			if cs.metric == nil {
				metric[model.MetricNameLabel] = name
				cs.metric, cs.fp = metric, uint64(metric.Fingerprint())
			}
		}
		for _, sp := range ss.Values {
			t := int64(sp.Timestamp)
			switch kind {
			case readL:
				if j := int((t - cq.first) / cq.slot); j >= 0 && j < cq.nz && (t-cq.first)%cq.slot == 0 {
					cs.ls.set(j, float32(sp.Value))
				}
				continue
			case readL5:
				if t >= cq.mid && t < cq.cutM {
					if i := cq.index(t) + 1; i > 0 && i < cq.nb && cq.boundary(i-1) == t {
						cs.l5.set(i, float32(sp.Value))
					}
				}
				continue
			}
			if kind == readZ5 || kind == readM5 {
				if t > cq.mid && t <= cq.cutM {
					if i := cq.index(t); i >= 0 && i < cq.nb && cq.boundary(i) == t {
						if kind == readZ5 {
							cs.z5.set(i, float32(sp.Value))
						} else {
							if cs.z5.at(i) >= 1 { // kept where a bucket dropped
								cs.m5[int32(i)] = float64(sp.Value)
							}
						}
					}
				}
				continue
			}
			if z {
				if j := int((t-cq.first)/cq.slot) - 1; j >= 0 && j < cq.nz && (t-cq.first)%cq.slot == 0 {
					if kind == readM {
						if cs.zs.at(j) >= 1 { // kept where a slot dropped
							cs.ms[int32(j)] = float64(sp.Value)
						}
					} else {
						cs.zs.set(j, float32(sp.Value))
					}
				}
				continue
			}
			if t >= cq.first && t <= cq.cutM {
				if i := cq.index(t); i >= 0 && i < cq.nb && cq.boundary(i) == t {
					cs.vals[i] = float64(sp.Value)
				}
			}
		}
	}
	return nil
}

// countQuery counts one backfill request and its points.
func (p *Puller) countQuery(prog *BackfillProgress, m model.Matrix, err error) {
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	p.c.queries++
	prog.Queries++
	if err != nil {
		p.c.queryErrors++
		return
	}
	n := uint64(matrixSamples(m))
	p.c.points += n
	prog.Points += n
}

func nanSlice(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}

// classify marks the hours that are not clean for some series (the
// checks that need no tracker state), and gives up on the query when too
// many are.
func (cq *coarseQuery) classify(p *Puller) {
	cq.dirty = make([]bool, cq.nz)
	maxRate := p.cfg.MaxIncreaseRate
	for _, cs := range cq.series {
		if cs.metric == nil {
			// Seen by Z only: samples, but never within 5 minutes before a
			// boundary: every hour it has samples in is dirty.
			for j := max(cs.zs.lo, 0); j <= min(cs.zs.hi, cq.nz-1); j++ {
				if !math.IsNaN(cs.zs.at(j)) {
					cq.dirty[j] = true
				}
			}
			continue
		}
		for j := 0; j < cq.nz; j++ {
			if cq.dirty[j] {
				continue
			}
			lo := cq.index(cq.slotEnd(j) - cq.slot)
			hi := cq.index(min(cq.slotEnd(j), cq.cutM))
			in := cs.inside(j)
			if in == 1 && cq.slotEnd(j) <= cq.mid {
				cq.dirty[j] = !cs.oneReset(cq, j, maxRate)
				continue
			}
			if z := cs.zs.at(j); z >= 1 && !math.IsInf(z, 0) && cq.slotEnd(j) > cq.mid {
				cq.dirty[j] = !cs.fineResolve(cq, lo, hi, maxRate)
				continue
			}
			absent := math.IsNaN(cs.zs.at(j))
			for i := lo; i <= hi && !cq.dirty[j]; i++ {
				v := cs.vals[i]
				if absent {
					cq.dirty[j] = !math.IsNaN(v)
					continue
				}
				switch {
				case in != 0, math.IsNaN(v), math.IsInf(v, 0), v < 0:
					cq.dirty[j] = true
				case i > lo:
					prev := cs.vals[i-1]
					inc := v - prev
					dt := float64(cq.boundary(i)-cq.boundary(i-1)) / 1000
					cq.dirty[j] = inc < 0 || (maxRate > 0 && inc > maxRate*dt)
				}
			}
		}
	}
	n := 0
	for _, d := range cq.dirty {
		if d {
			n++
		}
	}
	if cq.nz > 0 && float64(n) > coarseMaxUnclean*float64(cq.nz) {
		cq.bad = fmt.Errorf("%d of %d hours have resets, gaps or new series", n, cq.nz)
	}
}

// oneReset decides slot j (a, b] of a series whose Z counts exactly one
// drop, before mid (one bucket). Z's range also holds the 5 minutes before
// a, so the drop lies either there (then the slot rises from V(a) to V(b)
// without a drop: V(b) is at least V(a) and the slot's max_over_time) or
// in the slot. When V(b) is below the larger of V(a) and max_over_time,
// the drop is in the slot and the counter did not climb back past its
// value before the drop, which is that larger value: the events are that
// value minus V(a), plus V(b) (the drop counts the new value). Then it
// sets cs.pre[j] and returns true; otherwise (a drop before a, or a
// counter that climbed back) the slot is read raw.
func (cs *coarseSeries) oneReset(cq *coarseQuery, j int, maxRate float64) bool {
	if cq.slotEnd(j) > cq.mid || cs.ms == nil {
		return false
	}
	va, vb, m := cs.vals[j], cs.vals[j+1], cs.ms.at(j)
	for _, x := range []float64{va, vb, m} {
		if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
			return false
		}
	}
	pre := max(va, m)
	if vb >= pre {
		return false
	}
	// The tracker sees the value before the drop half a slot in, and V(b)
	// at b: each step must be within the rate bound.
	if half := float64(cq.slot) / 2000; maxRate > 0 && (pre-va > maxRate*half || vb > maxRate*half) {
		return false
	}
	if cs.pre == nil {
		cs.pre = sparse{}
	}
	cs.pre[int32(j)] = pre
	return true
}

// fineResolve decides a slot after mid, boundaries lo..hi, in which the
// series dropped, bucket by bucket from the 5-minute Z and M: each bucket
// is clean (Z 0, V not decreasing) or holds one drop told as in oneReset.
// It records the values before the drops in cs.pre5 and reports whether
// every bucket could be told.
func (cs *coarseSeries) fineResolve(cq *coarseQuery, lo, hi int, maxRate float64) bool {
	if cs.z5 == nil || cs.m5 == nil {
		return false
	}
	half := float64(midMs) / 2000
	valid := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) && x >= 0 }
	pre := make(map[int]float64)
	for i := lo + 1; i <= hi; i++ {
		va, vb, z, m := cs.vals[i-1], cs.vals[i], cs.z5.at(i), cs.m5.at(i)
		if l := cs.l5.at(i); z >= 1 && !math.IsNaN(l) {
			z -= l // drops in the 5 minutes before the bucket
		}
		if !valid(va) || !valid(vb) {
			return false
		}
		switch {
		case z == 0 && vb >= va:
			if maxRate > 0 && vb-va > maxRate*2*half {
				return false
			}
		case z == 1 && valid(m) && vb < max(va, m):
			p := max(va, m)
			if maxRate > 0 && (p-va > maxRate*half || vb > maxRate*half) {
				return false
			}
			pre[i] = p
		default:
			return false
		}
	}
	if cs.pre5 == nil {
		cs.pre5 = sparse{}
	}
	for i, p := range pre {
		cs.pre5[int32(i)] = p
	}
	return true
}

// coarseSteps replays the coarse queries hour by hour: every query's head
// (raw steps from its start to its first boundary), then each hour either
// as synthetic samples at its boundaries or as raw steps.
func (p *Puller) coarseSteps(ctx context.Context, cqs []*coarseQuery, prog *BackfillProgress) (int, error) {
	from := cqs[0].start
	end := cqs[0].cutM
	slotMs := cqs[0].slot
	for _, cq := range cqs {
		from = min(from, cq.start)
	}
	steps := 0
	ok := make([]bool, len(p.sources))
	inputs := make([][]point, len(p.sources))
	// Slots are the hours (H-1h, H]; a query's head lies in the slot that
	// ends at its first boundary.
	fetchedTo := int64(math.MinInt64)
	for H := ceilTo(from, slotMs); H-slotMs < end; H += slotMs {
		if H > fetchedTo {
			fetchedTo = H + (coarsePrefetch-1)*slotMs
			if err := p.coarsePrefetch(ctx, cqs, H, fetchedTo, prog); err != nil {
				return steps, err
			}
		}
		plans, err := p.coarsePlans(ctx, cqs, H, slotMs, prog)
		if err != nil {
			return steps, err
		}
		n, err := p.coarseSlotSteps(plans, ok, inputs)
		steps += n
		if err != nil {
			return steps, err
		}
		clear(inputs)
		prog.StepsDone = int((min(H, end)-floorTo(from, p.iv))/p.iv) + 1
		if err := ctx.Err(); err != nil {
			return steps, err
		}
	}
	return steps, nil
}

// coarsePlan is what one query hands out in one slot: the steps it pulls
// at, and whether from raw samples (cur, those not yet handed out) or from
// boundary values.
type coarsePlan struct {
	cq    *coarseQuery
	raw   bool
	cur   []point // raw samples not yet handed out
	times []int64
}

// coarsePlans returns the plans of the queries of cqs that have steps in
// the slot (slotMs long) ending at H, with the raw samples of those read
// raw, and counts the slots by kind.
func (p *Puller) coarsePlans(ctx context.Context, cqs []*coarseQuery, H, slotMs int64, prog *BackfillProgress) ([]*coarsePlan, error) {
	var plans []*coarsePlan
	for _, cq := range cqs {
		pl := p.coarsePlanSlot(cq, H, slotMs)
		if pl == nil {
			continue
		}
		switch {
		case H == cq.first:
		case pl.raw:
			p.c.bfSlots[2]++
		case cq.hasPre(int((H-cq.first)/cq.slot) - 1):
			p.c.bfSlots[1]++
		default:
			p.c.bfSlots[0]++
		}
		if pl.raw && len(cq.series) == 0 {
			// Nothing from the first boundary's lookback on: the
			// head's baselines would never be used.
			pl.cur = nil
		} else if pl.raw {
			pts, found := cq.raw[H]
			if !found {
				var err error
				if pts, err = p.coarseRaw(ctx, cq, H, prog); err != nil {
					return nil, err
				}
			}
			delete(cq.raw, H)
			if H != cq.first {
				p.coarseReseat(cq, H-cq.slot, pts)
			}
			pl.cur = pts
		}
		plans = append(plans, pl)
	}
	return plans, nil
}

// coarsePlanSlot returns the steps of query cq in the slot (slotMs long)
// ending at H, or nil when it has none there: its head (from its start to its first
// boundary) from raw samples; a later slot from raw samples at every step
// when the slot is dirty or the trackers do not hold the values read at
// its start, else at its boundaries from their values.
func (p *Puller) coarsePlanSlot(cq *coarseQuery, H, slotMs int64) *coarsePlan {
	var pl *coarsePlan
	switch {
	case H == cq.first:
		pl = &coarsePlan{cq: cq, raw: true, times: p.stepTimes(cq.start-p.iv, H)}
	case H > cq.first && H-slotMs < cq.cutM:
		j := int((H-cq.first)/slotMs) - 1
		hi := min(H, cq.cutM)
		pl = &coarsePlan{cq: cq, raw: cq.dirty[j] || !p.coarseStateMatches(cq, H-slotMs)}
		if pl.raw {
			pl.times = p.stepTimes(H-slotMs, hi)
		} else {
			pl.times = cq.boundaryTimes(H-slotMs, hi)
		}
	}
	return pl
}

// stepTimes returns the steps of (a, b] at every interval, a on the grid.
func (p *Puller) stepTimes(a, b int64) []int64 {
	var out []int64
	for t := a + p.iv; t <= b; t += p.iv {
		out = append(out, t)
	}
	return out
}

// boundaryTimes returns the boundaries of (a, b], a and b boundaries.
func (cq *coarseQuery) boundaryTimes(a, b int64) []int64 {
	var out []int64
	for i := cq.index(a) + 1; i <= cq.index(b); i++ {
		out = append(out, cq.boundary(i))
	}
	return out
}

// coarseSlotSteps processes, in time order, one pull at every step of the
// plans of one slot, each query handing its sources its samples at the
// step. ok and inputs are step's scratch. It returns the steps processed,
// and the first source error of a step.
func (p *Puller) coarseSlotSteps(plans []*coarsePlan, ok []bool, inputs [][]point) (int, error) {
	times := map[int64]bool{}
	for _, pl := range plans {
		for _, t := range pl.times {
			times[t] = true
		}
	}
	order := make([]int64, 0, len(times))
	for t := range times {
		order = append(order, t)
	}
	slices.Sort(order)
	steps := 0
	// Each plan's buffer of points, kept from slot to slot: a streamed
	// backfill steps thousands of slots.
	for len(p.slotBufs) < len(plans) {
		p.slotBufs = append(p.slotBufs, nil)
	}
	bufs := p.slotBufs[:len(plans)]
	for _, t := range order {
		clear(ok)
		for i, pl := range plans {
			if len(pl.times) == 0 || pl.times[0] != t {
				continue
			}
			pl.times = pl.times[1:]
			cq := pl.cq
			if pl.raw {
				bufs[i] = takeUpTo(bufs[i][:0], pl.cur, t)
			} else {
				bufs[i] = cq.boundaryPoints(bufs[i][:0], t)
			}
			for _, si := range cq.srcs {
				ok[si], inputs[si] = true, bufs[i]
			}
			for _, k := range cq.kids {
				k.buf = k.filter.filter(k.buf, bufs[i])
				for _, si := range k.srcs {
					ok[si], inputs[si] = true, k.buf
				}
			}
		}
		p.step(t, inputs, ok)
		if err := p.stepError(t, ok); err != nil {
			return steps, err
		}
		steps++
	}
	return steps, nil
}

// boundaryPoints appends to dst the synthetic points of a clean slot at
// boundary t: per series with a value there, that value at t, preceded by
// the value before the slot's one drop (half a slot before t, or half a
// 5-minute bucket in the mid part) when there was one.
func (cq *coarseQuery) boundaryPoints(dst []point, t int64) []point {
	bi := cq.index(t)
	for _, cs := range cq.series {
		if cs.metric == nil || math.IsNaN(cs.vals[bi]) {
			continue
		}
		vals := []model.SamplePair{{Timestamp: model.Time(t), Value: model.SampleValue(cs.vals[bi])}}
		switch {
		case t <= cq.mid && !math.IsNaN(cs.pre.at(bi-1)):
			// One drop: the value before it, half a slot in,
			// then V(b).
			vals = append([]model.SamplePair{{Timestamp: model.Time(t - cq.slot/2), Value: model.SampleValue(cs.pre.at(bi - 1))}}, vals...)
		case t > cq.mid && !math.IsNaN(cs.pre5.at(bi)):
			vals = append([]model.SamplePair{{Timestamp: model.Time(t - midMs/2), Value: model.SampleValue(cs.pre5.at(bi))}}, vals...)
		}
		dst = append(dst, point{fp: cs.fp, metric: cs.metric, vals: vals})
	}
	return dst
}

// takeUpTo appends to dst, per series of cur, the samples at or before t
// that earlier calls did not take, and removes them from cur.
func takeUpTo(dst, cur []point, t int64) []point {
	for j := range cur {
		c := &cur[j]
		k := 0
		for k < len(c.vals) && int64(c.vals[k].Timestamp) <= t {
			k++
		}
		if k > 0 {
			dst = append(dst, point{fp: c.fp, metric: c.metric, vals: c.vals[:k]})
			c.vals = c.vals[k:]
		}
	}
	return dst
}

// coarseStateMatches reports whether, at boundary b, the trackers of the
// query's sources hold for every series the value V read at b: the
// synthetic sample at the next boundary then adds exactly the bucket's
// events. A sample refused by a tracker (over the rate bound) or a series
// a source saw but no longer tracks breaks it.
func (p *Puller) coarseStateMatches(cq *coarseQuery, b int64) bool {
	bi := cq.index(b)
	for _, si := range p.family(cq.qi) {
		s := p.sources[si]
		tr := s.tracker.(*counters.Tracker)
		for _, cs := range cq.series {
			if cs.metric == nil || math.IsNaN(cs.vals[bi]) {
				continue
			}
			v, _, tracked := tr.LastValue(cs.fp)
			if tracked && v != cs.vals[bi] {
				return false
			}
			if info := s.series[cs.fp]; !tracked && info != nil && info.match {
				return false
			}
		}
	}
	return true
}

// coarseReseat hands the trackers of cq's sources the true time of each
// series' last sample at or before boundary a, where its state holds the
// value read at a (stamped a), and drops those samples from pts: the
// slot's raw steps then start from the state ticks would have.
func (p *Puller) coarseReseat(cq *coarseQuery, a int64, pts []point) {
	fam := p.family(cq.qi)
	for i := range pts {
		pt := &pts[i]
		k := 0
		for k < len(pt.vals) && int64(pt.vals[k].Timestamp) <= a {
			k++
		}
		if k == 0 {
			continue
		}
		last := pt.vals[k-1]
		for _, si := range fam {
			tr := p.sources[si].tracker.(*counters.Tracker)
			if v, ts, ok := tr.LastValue(pt.fp); ok && ts == a && v == float64(last.Value) {
				tr.Reseat(pt.fp, int64(last.Timestamp), ceilTo(int64(last.Timestamp), p.iv))
			}
		}
		pt.vals = pt.vals[k:]
	}
}

// coarseRaw reads the raw samples of query cq for the slot ending at H:
// its head (from cq.after), or the slot and the coarseLookback before it
// (for coarseReseat), up to cutM.
func (p *Puller) coarseRaw(ctx context.Context, cq *coarseQuery, H int64, prog *BackfillProgress) ([]point, error) {
	after := H - cq.slot - coarseLookback.Milliseconds()
	if H == cq.first {
		after = cq.after
	}
	end := min(H, cq.cutM)
	m, err := p.q.RawSamples(ctx, p.queries[cq.qi].expr, time.UnixMilli(after), time.UnixMilli(end))
	p.countQuery(prog, m, err)
	if err != nil {
		return nil, fmt.Errorf("backfill %s..%s: %w", time.UnixMilli(after).UTC().Format(time.RFC3339),
			time.UnixMilli(end).UTC().Format(time.RFC3339), err)
	}
	for _, ss := range m {
		if len(ss.Histograms) > 0 {
			return nil, fmt.Errorf("backfill %s: native histogram samples in a counter read", p.queries[cq.qi].expr)
		}
	}
	return matrixPoints(m), nil
}

// coarsePrefetch reads, in parallel, the raw samples of the heads and
// dirty hours of the slots ending in [from, to].
func (p *Puller) coarsePrefetch(ctx context.Context, cqs []*coarseQuery, from, to int64, prog *BackfillProgress) error {
	type job struct {
		cq *coarseQuery
		H  int64
	}
	var jobs []job
	for _, cq := range cqs {
		for H := from; H <= to; H += cq.slot {
			j := int((H-cq.first)/cq.slot) - 1
			if len(cq.series) > 0 && (H == cq.first || (H > cq.first && H-cq.slot < cq.cutM && cq.dirty[j])) {
				jobs = append(jobs, job{cq, H})
			}
		}
	}
	res := make([][]point, len(jobs))
	errs := make([]error, len(jobs))
	p.fanout(len(jobs), func(i int) { res[i], errs[i] = p.coarseRaw(ctx, jobs[i].cq, jobs[i].H, prog) })
	for i, jb := range jobs {
		if errs[i] != nil {
			return errs[i]
		}
		jb.cq.raw[jb.H] = res[i]
	}
	return nil
}
