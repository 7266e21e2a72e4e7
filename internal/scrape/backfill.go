package scrape

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.uber.org/zap"
)

// BackfillProgress reports a backfill after each chunk.
type BackfillProgress struct {
	// From and To are the first and last step.
	From, To time.Time
	// StepsDone of StepsTotal steps are recorded.
	StepsDone, StepsTotal int
	// Queries is the number of range queries issued so far.
	Queries int
	// Points is the number of samples fetched so far.
	Points uint64
	// Bytes is the response bytes read so far; 0 when the Querier is not a
	// *Client.
	Bytes uint64
	// Elapsed is the wall time so far.
	Elapsed time.Duration
	// ReadWait is the part of Elapsed that the streamed backfill's steps
	// spent waiting for the next segment of samples (the server, the
	// network and decoding); the rest went into stepping, or reading
	// through PromQL. A ReadWait near Elapsed means the server sets the
	// pace, one near zero that the exporter does.
	ReadWait time.Duration
}

// Backfill replays history into the engine, from `from` to `to` (both
// rounded down to the interval), one pull per interval, each recorded by
// exactly the code that Tick uses, so that the engine ends as if it had
// ticked through the history. Counters and native histograms are read as
// raw samples (RawSamples, in chunks of time whose size keeps about
// MaxSamples samples in memory), and each step receives the raw samples of
// its interval: the numbers are those of ticking, whatever the scrape
// interval and wherever counters reset. Gauges are read with range
// queries at step = interval, as ticks read them at each pull. Before any
// raw sample is read, one probe (count_over_time of every expression,
// batched) finds the expressions that have samples at all and how many:
// empty history costs the probe alone.
//
// Every source starts at to minus the longest period of the targets that
// use it (or at from, if later), and resumes after its last pull when it
// has one, so a failed Backfill can be called again. The first step of a
// source is its baseline (each series' last sample up to ForgetAfter
// before it): events are counted from the interval after it. The daemon
// calls Backfill for the longest SLO period before it reports ready, then
// ticks from the next interval on. On success every target whose sources
// all reached `to` has data_up 1.
func (p *Puller) Backfill(ctx context.Context, from, to time.Time, progress func(BackfillProgress)) error {
	toMs := floorTo(to.UnixMilli(), p.iv)
	fromMs := floorTo(from.UnixMilli(), p.iv)
	if fromMs > toMs {
		return fmt.Errorf("backfill: from %s is after to %s", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	srcs := make([]int, len(p.sources))
	starts := make([]int64, len(p.sources))
	for si, s := range p.sources {
		srcs[si] = si
		starts[si] = max(fromMs, toMs-s.maxPeriod)
	}
	_, err := p.backfill(ctx, srcs, starts, toMs, progress)
	if err == nil {
		for _, ts := range p.targets {
			up := true
			for _, si := range ts.sources {
				last, started := p.sources[si].tracker.Last()
				up = up && started && last >= toMs && p.sources[si].err == nil
			}
			p.eng.SetDataUp(ts.SLO, up)
		}
	}
	p.publish()
	return err
}

// floorTo rounds ms down to a multiple of step.
func floorTo(ms, step int64) int64 {
	r := ms % step
	if r < 0 {
		r += step
	}
	return ms - r
}

// probeLabel is the label the probe query adds to tell its expressions
// apart.
const probeLabel = "slo_exporter_probe"

// probeBatch is how many expressions one probe query holds.
const probeBatch = 64

// backfillQuery is one query's part in a backfill.
type backfillQuery struct {
	qi    int
	start int64 // first step
	srcs  []int
	// Raw queries: after is the exclusive lower bound of the next chunk's
	// samples; samples is the probe's count (-1: not probed); empty when
	// the probe found none, so the query is never sent and its sources
	// pull nothing at every step.
	after   int64
	samples int64
	span    int64 // ms the probe counted samples over
	empty   bool
	// seen is the samples (raw) or series (sampled) of the last chunk.
	seen int
	// kids are the queries read with this one (shareReads).
	kids []*backfillKid
}

// backfillKid is a query read with its parent: its sources get the
// parent's series that its filter keeps.
type backfillKid struct {
	filter *seriesFilter
	srcs   []int
	buf    []point
}

// backfill replays sources srcs from starts[i] (rounded up onto the grid
// to - k*interval, and past each source's last pull) to `to`, and returns
// the number of steps processed. History older than the fine tier's reach
// is replayed first from bucket-boundary values (coarseBackfill), the rest
// from raw samples read chunk by chunk (backfillChunks).
func (p *Puller) backfill(ctx context.Context, srcs []int, starts []int64, to int64, progress func(BackfillProgress)) (int, error) {
	began := time.Now()
	startOf, from := p.backfillStarts(srcs, starts, to)
	if len(startOf) == 0 {
		return 0, nil
	}
	meter := p.newBackfillMeter(began, from, to, progress)
	defer meter.account()

	// History older than the fine tier's reach is read as bucket-boundary
	// values where counters did not drop (see "Coarse backfill").
	steps, err := p.coarseBackfill(ctx, startOf, to, &meter.prog)
	if err != nil {
		return steps, err
	}
	// coarseBackfill moved the starts of the sources it replayed.
	fineFrom := to + p.iv
	for _, st := range startOf {
		fineFrom = min(fineFrom, st)
	}
	if steps > 0 {
		meter.report()
	}

	bqs := p.planBackfill(startOf)
	if err := p.probe(ctx, bqs, to, &meter.prog); err != nil {
		return 0, err
	}
	n, err := p.backfillChunks(ctx, bqs, startOf, from, fineFrom, to, meter)
	return steps + n, err
}

// backfillStarts returns the first step of each of sources srcs that has
// one at or before to, and the earliest of them (to + interval when none
// has): starts[i], moved past the source's last pull when it has one, and
// rounded up onto the grid to - k*interval.
func (p *Puller) backfillStarts(srcs []int, starts []int64, to int64) (startOf map[int]int64, from int64) {
	startOf = make(map[int]int64, len(srcs))
	from = to + p.iv
	for i, si := range srcs {
		st := starts[i]
		if last, ok := p.sources[si].tracker.Last(); ok && last+p.iv > st {
			st = last + p.iv
		}
		st = to - floorTo(to-st, p.iv) // onto the grid, rounding up
		if st > to {
			continue
		}
		startOf[si] = st
		from = min(from, st)
	}
	return startOf, from
}

// backfillMeter keeps a backfill's progress and adds its cost to the
// puller's counters as it goes.
type backfillMeter struct {
	p        *Puller
	began    time.Time
	bytes0   uint64 // the client's bytes read when the backfill began
	prog     BackfillProgress
	counted  BackfillProgress // the part of prog already added to p.c
	progress func(BackfillProgress)
}

// newBackfillMeter starts the meter of a backfill begun at began that
// replays the steps from..to and reports to progress (nil: no reports).
func (p *Puller) newBackfillMeter(began time.Time, from, to int64, progress func(BackfillProgress)) *backfillMeter {
	m := &backfillMeter{p: p, began: began, progress: progress, prog: BackfillProgress{
		From: time.UnixMilli(from).UTC(), To: time.UnixMilli(to).UTC(), StepsTotal: int((to-from)/p.iv) + 1,
	}}
	if p.client != nil {
		m.bytes0 = p.client.Stats().BytesRead
	}
	return m
}

// account brings the progress' elapsed time and bytes up to date and adds
// what grew since the last call to the puller's backfill cost counters.
func (m *backfillMeter) account() {
	p := m.p
	m.prog.Elapsed = time.Since(m.began)
	if p.client != nil {
		m.prog.Bytes = p.client.Stats().BytesRead - m.bytes0
	}
	p.c.bfQueries += uint64(m.prog.Queries - m.counted.Queries)
	p.c.bfSamples += m.prog.Points - m.counted.Points
	p.c.bfBytes += m.prog.Bytes - m.counted.Bytes
	p.c.bfSeconds += (m.prog.Elapsed - m.counted.Elapsed).Seconds()
	m.counted = m.prog
}

// report accounts, publishes the puller's stats and calls the progress
// callback: after each part of the backfill.
func (m *backfillMeter) report() {
	m.account()
	m.p.publish()
	if m.progress != nil {
		m.progress(m.prog)
	}
}

// planBackfill returns the reads of a backfill: one per query read by
// itself that feeds, itself or through the queries read with it, some of
// the sources of startOf.
func (p *Puller) planBackfill(startOf map[int]int64) []*backfillQuery {
	var bqs []*backfillQuery
	for qi, q := range p.queries {
		if q.parent >= 0 {
			continue // read with its parent
		}
		if b := p.planBackfillQuery(qi, startOf); b != nil {
			bqs = append(bqs, b)
		}
	}
	return bqs
}

// planBackfillQuery returns the read of query qi (read by itself) for the
// sources of startOf that it and its children feed, or nil when it feeds
// none: it starts at their earliest start, and its first chunk reads after
// the start minus ForgetAfter when one of them has no pull yet (the
// baselines), else after its previous pull minus the overlap for late
// samples.
func (p *Puller) planBackfillQuery(qi int, startOf map[int]int64) *backfillQuery {
	q := p.queries[qi]
	b := &backfillQuery{qi: qi, start: math.MaxInt64, samples: -1}
	var fresh bool
	b.srcs, b.start, fresh = p.backfilling(q.sources, startOf, b.start)
	for _, ci := range q.children {
		srcs, start, kidFresh := p.backfilling(p.queries[ci].sources, startOf, b.start)
		b.start, fresh = start, fresh || kidFresh
		if len(srcs) > 0 {
			b.kids = append(b.kids, &backfillKid{filter: p.queries[ci].filter, srcs: srcs})
		}
	}
	if b.start == math.MaxInt64 {
		return nil // no source to backfill
	}
	b.after = b.start - p.iv - p.overlap
	if fresh {
		b.after = b.start - p.forget
	}
	return b
}

// backfilling returns those of srcs that startOf holds, start lowered to
// the earliest of their starts, and whether one of them has no pull yet.
func (p *Puller) backfilling(srcs []int, startOf map[int]int64, start int64) (in []int, earliest int64, fresh bool) {
	earliest = start
	for _, si := range srcs {
		st, ok := startOf[si]
		if !ok {
			continue
		}
		in = append(in, si)
		earliest = min(earliest, st)
		_, started := p.sources[si].tracker.Last()
		fresh = fresh || !started
	}
	return in, earliest, fresh
}

// backfillChunks replays the reads bqs from step fineFrom to `to`, chunk
// by chunk (each sized by chunkSteps), reporting progress to meter after
// each (steps are counted from `from`, the backfill's first step). It
// returns the steps processed.
func (p *Puller) backfillChunks(ctx context.Context, bqs []*backfillQuery, startOf map[int]int64,
	from, fineFrom, to int64, meter *backfillMeter) (int, error) {
	steps := 0
	ok := make([]bool, len(p.sources))
	inputs := make([][]point, len(p.sources))
	n := p.chunkSteps(bqs, to-fineFrom+p.iv, true)
	for cs := fineFrom; cs <= to; {
		ce := min(to, cs+int64(n-1)*p.iv)
		var rqs []*backfillQuery // the reads of this chunk
		for _, b := range bqs {
			if b.start <= ce && !b.empty {
				rqs = append(rqs, b)
			}
		}
		mats, err := p.readBackfillChunk(ctx, rqs, cs, ce, &meter.prog)
		if err != nil {
			return steps, err
		}
		done, err := p.replayBackfillChunk(bqs, rqs, mats, startOf, cs, ce, ok, inputs)
		steps += done
		if err != nil {
			return steps, err
		}
		for _, b := range rqs {
			b.after = ce
		}

		meter.prog.StepsDone = int((ce-from)/p.iv) + 1
		meter.report()
		if err := ctx.Err(); err != nil {
			return steps, err
		}
		p.log.Debug("backfill chunk", zap.Time("from", time.UnixMilli(cs)), zap.Time("to", time.UnixMilli(ce)),
			zap.Int("queries", len(rqs)), zap.Int("steps", int((ce-cs)/p.iv)+1))
		n = p.chunkSteps(bqs, ce-cs+p.iv, false)
		cs = ce + p.iv
	}
	return steps, nil
}

// readBackfillChunk reads the chunk cs..ce of every read rqs at once (a raw
// query its samples after b.after, a sampled one its values at each step
// from its start), raw queries that start reading together through unions
// (see "Union reads"), and counts the requests and samples in the puller's
// counters and prog. A union that fails in a way a smaller read may not is
// read again query by query. It returns one matrix per read, or the first
// error.
func (p *Puller) readBackfillChunk(ctx context.Context, rqs []*backfillQuery, cs, ce int64, prog *BackfillProgress) ([]model.Matrix, error) {
	mats := make([]model.Matrix, len(rqs))
	expr := func(i int) string { return p.queries[rqs[i].qi].expr }
	reads := p.backfillReads(rqs)
	var origin []union // per read of a retry round, the union it was split from
	for len(reads) > 0 {
		errs := make([]error, len(reads))
		samples := make([]int, len(reads))
		p.fanout(len(reads), func(i int) { samples[i], errs[i] = p.readBackfillUnion(ctx, rqs, reads[i], cs, ce, mats) })
		var retry, from []union
		for i, err := range errs {
			p.c.queries++
			prog.Queries++
			if err == nil {
				p.c.points += uint64(samples[i])
				prog.Points += uint64(samples[i])
				if origin != nil {
					p.refuseUnion(origin[i]) // a member read alone succeeded
				}
				continue
			}
			p.c.queryErrors++
			if len(reads[i].members) > 1 && splitMayHelp(err) && ctx.Err() == nil {
				for _, one := range p.singles(reads[i], expr) {
					retry, from = append(retry, one), append(from, reads[i])
				}
				continue
			}
			b := rqs[reads[i].members[0]]
			return nil, fmt.Errorf("backfill chunk %s..%s: %w",
				time.UnixMilli(max(cs, b.start)).UTC().Format(time.RFC3339), time.UnixMilli(ce).UTC().Format(time.RFC3339), err)
		}
		reads, origin = retry, from
	}
	for i, b := range rqs {
		b.seen = matrixSamples(mats[i])
		if !p.queries[b.qi].raw {
			b.seen = len(mats[i])
		}
	}
	return mats, nil
}

// backfillReads plans the requests of a chunk: unions of the raw reads of
// rqs that read from the same time on, at most coarseMaxUnion to one (the
// chunk is sized for all of them, so a union holds no more than its
// members would), and every other read alone; a refused union
// (refuseUnion) is read as its members. Members index rqs.
func (p *Puller) backfillReads(rqs []*backfillQuery) []union {
	byAfter := map[int64][]int{}
	var afters []int64
	var out []union
	for i, b := range rqs {
		if !p.queries[b.qi].raw || p.cfg.NoSharedReads {
			out = append(out, union{members: []int{i}})
			continue
		}
		if _, ok := byAfter[b.after]; !ok {
			afters = append(afters, b.after)
		}
		byAfter[b.after] = append(byAfter[b.after], i)
	}
	for _, a := range afters {
		idx := byAfter[a]
		exprs := make([]string, len(idx))
		for j, i := range idx {
			exprs[j] = p.queries[rqs[i].qi].expr
		}
		for _, u := range planUnions(exprs, unionLimits{maxMembers: coarseMaxUnion, regex: true}) {
			u.sel = u.selector(exprs)
			for j, m := range u.members {
				u.members[j] = idx[m]
			}
			out = append(out, u)
		}
	}
	return p.withoutRefused(out, func(i int) string { return p.queries[rqs[i].qi].expr })
}

// readBackfillUnion reads one request of a chunk into mats (per read of
// rqs) and returns the samples it fetched.
func (p *Puller) readBackfillUnion(ctx context.Context, rqs []*backfillQuery, u union, cs, ce int64, mats []model.Matrix) (int, error) {
	b := rqs[u.members[0]]
	q := p.queries[b.qi]
	if !q.raw {
		m, err := p.q.QueryRange(ctx, q.expr, time.UnixMilli(max(cs, b.start)), time.UnixMilli(ce), p.cfg.Interval)
		mats[u.members[0]] = m
		return matrixSamples(m), err
	}
	sel := q.expr
	if len(u.members) > 1 {
		sel = u.sel
	}
	m, err := p.q.RawSamples(withSelectors(ctx, len(u.members)), sel, time.UnixMilli(b.after), time.UnixMilli(ce))
	if err != nil || len(u.members) == 1 {
		mats[u.members[0]] = m
		return matrixSamples(m), err
	}
	var in []int
	u.fit(len(m))
	for _, ss := range m {
		in = u.matching(ss.Metric, in[:0])
		for _, i := range in {
			mats[u.members[i]] = append(mats[u.members[i]], ss)
		}
	}
	return matrixSamples(m), nil
}

// replayBackfillChunk transposes the matrices mats of the chunk's reads
// rqs into one pull per step cs..ce, in time order, and processes each
// with step; the sources of reads the probe found empty (of bqs) pull
// nothing at every step. ok and inputs are step's scratch. It returns the
// steps processed, and the first source error of a step.
func (p *Puller) replayBackfillChunk(bqs, rqs []*backfillQuery, mats []model.Matrix, startOf map[int]int64,
	cs, ce int64, ok []bool, inputs [][]point) (int, error) {
	cursors := make([][]point, len(rqs))
	for i := range rqs {
		cursors[i] = matrixPoints(mats[i])
	}
	bufs := make([][]point, len(rqs))
	steps := 0
	for s := cs; s <= ce; s += p.iv {
		clear(ok)
		for i, b := range rqs {
			bufs[i] = takeStep(bufs[i][:0], cursors[i], s, p.queries[b.qi].raw)
		}
		for i, b := range rqs {
			b.hand(bufs[i], startOf, s, ok, inputs)
		}
		for _, b := range bqs {
			if b.empty {
				b.handNothing(startOf, s, ok, inputs)
			}
		}
		p.step(s, inputs, ok)
		if err := p.stepError(s, ok); err != nil {
			return steps, err
		}
		steps++
	}
	clear(inputs)
	return steps, nil
}

// takeStep appends to dst, per series of cursors, its samples for step s,
// and moves the cursor past every sample up to s. A raw query's step gets
// the samples up to s that earlier steps did not take (the first step also
// those before the source's start, its baselines); a sampled query's step
// the sample at s, if any.
func takeStep(dst, cursors []point, s int64, raw bool) []point {
	for j := range cursors {
		c := &cursors[j]
		k := 0
		for k < len(c.vals) && int64(c.vals[k].Timestamp) <= s {
			k++
		}
		h := 0
		for h < len(c.hists) && int64(c.hists[h].Timestamp) <= s {
			h++
		}
		pt := point{fp: c.fp, metric: c.metric}
		if raw {
			pt.vals, pt.hists = c.vals[:k], c.hists[:h]
		} else {
			// The sample at the step, if any.
			if k > 0 && int64(c.vals[k-1].Timestamp) == s {
				pt.vals = c.vals[k-1 : k]
			}
			if h > 0 && int64(c.hists[h-1].Timestamp) == s {
				pt.hists = c.hists[h-1 : h]
			}
		}
		c.vals, c.hists = c.vals[k:], c.hists[h:]
		if len(pt.vals)+len(pt.hists) > 0 {
			dst = append(dst, pt)
		}
	}
	return dst
}

// hand gives the step s pulled from b, buf, to b's sources that start at
// or before s, and their part of it to its kids' sources.
func (b *backfillQuery) hand(buf []point, startOf map[int]int64, s int64, ok []bool, inputs [][]point) {
	for _, si := range b.srcs {
		if startOf[si] <= s {
			ok[si], inputs[si] = true, buf
		}
	}
	for _, k := range b.kids {
		k.buf = k.filter.filter(k.buf, buf)
		for _, si := range k.srcs {
			if startOf[si] <= s {
				ok[si], inputs[si] = true, k.buf
			}
		}
	}
}

// handNothing gives an empty pull at step s to the sources of b and of its
// kids that start at or before s: b was found empty and is not read.
func (b *backfillQuery) handNothing(startOf map[int]int64, s int64, ok []bool, inputs [][]point) {
	for _, si := range b.srcs {
		if startOf[si] <= s {
			ok[si], inputs[si] = true, nil
		}
	}
	for _, k := range b.kids {
		for _, si := range k.srcs {
			if startOf[si] <= s {
				ok[si], inputs[si] = true, nil
			}
		}
	}
}

// stepError returns the first error of a source pulled (ok) at backfill
// step t, naming the step.
func (p *Puller) stepError(t int64, ok []bool) error {
	for si := range p.sources {
		if err := p.sources[si].err; err != nil && ok[si] {
			return fmt.Errorf("backfill at %s: %w", time.UnixMilli(t).UTC().Format(time.RFC3339), err)
		}
	}
	return nil
}

// chunkSteps sizes the next chunk, in steps, so that it holds about
// MaxSamples samples: from the probe's counts over span (first chunk) or
// from what the last chunk, of span ms, returned. Sampled queries also
// keep within MaxPoints per series. The first chunk of queries that were
// not probed is firstChunkSteps long.
func (p *Puller) chunkSteps(bqs []*backfillQuery, span int64, first bool) int {
	var perStep float64 // samples per step, estimated
	unknown, sampled := false, false
	for _, b := range bqs {
		if b.empty {
			continue
		}
		raw := p.queries[b.qi].raw
		sampled = sampled || !raw
		switch {
		case first && raw && b.samples >= 0:
			perStep += float64(b.samples) * float64(p.iv) / float64(max(b.span, p.iv))
		case first:
			unknown = true
		case raw:
			perStep += float64(b.seen) * float64(p.iv) / float64(max(span, p.iv))
		default:
			perStep += float64(b.seen)
		}
	}
	n := maxChunkSteps
	if perStep > 0 {
		n = min(n, int(float64(p.cfg.MaxSamples)/perStep))
	}
	if unknown {
		n = min(n, firstChunkSteps)
	}
	if sampled {
		n = min(n, p.cfg.MaxPoints)
	}
	return max(1, n)
}

// probe counts, with count_over_time over each raw query's backfill span,
// the samples every raw query would return, batching many expressions into
// one query (each summed over its series and tagged with probeLabel by
// label_replace, so that the answer holds one series per expression, well
// under max_series_per_selector whatever the selectors match). Queries found empty are marked so.
// Native histogram queries are not probed: count_over_time does not count
// histogram samples on every server version.
func (p *Puller) probe(ctx context.Context, bqs []*backfillQuery, to int64, prog *BackfillProgress) error {
	var todo []*backfillQuery
	for _, b := range bqs {
		q := p.queries[b.qi]
		native := false
		for _, si := range p.family(b.qi) {
			native = native || p.sources[si].native != nil
		}
		if q.raw && !native {
			todo = append(todo, b)
		}
	}
	for len(todo) > 0 {
		batch := todo[:min(len(todo), probeBatch)]
		todo = todo[len(batch):]
		var expr strings.Builder
		for i, b := range batch {
			if i > 0 {
				expr.WriteString(" or ")
			}
			fmt.Fprintf(&expr, `label_replace(sum(count_over_time(%s)), %q, "%d", "", "")`,
				RangeSelector(p.queries[b.qi].expr, to-b.after), probeLabel, i)
		}
		v, err := p.q.Query(ctx, expr.String(), time.UnixMilli(to))
		p.log.Debug("probe", zap.String("expr", expr.String()), zap.Int("series", len(v)), zap.Error(err))
		p.c.queries++
		prog.Queries++
		if err != nil {
			p.c.queryErrors++
			return fmt.Errorf("backfill probe: %w", err)
		}
		for _, b := range batch {
			b.samples, b.span = 0, to-b.after
		}
		for _, smp := range v {
			i, err := strconv.Atoi(string(smp.Metric[probeLabel]))
			if err != nil || i < 0 || i >= len(batch) {
				return fmt.Errorf("backfill probe: a series without a valid %s label: %s", probeLabel, smp.Metric)
			}
			batch[i].samples += int64(smp.Value)
		}
		for _, b := range batch {
			b.empty = b.samples == 0
		}
	}
	return nil
}
