package scrape

import (
	"context"
	"fmt"
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
}

// Backfill replays history into the engine: range queries at step =
// interval from `from` to `to` (both rounded down to the interval), chunked
// so that no series has more than MaxPoints points per query and one chunk
// holds at most MaxSamples samples, chunks in time order. Each chunk is
// transposed into one pull per step, recorded by exactly the code that
// Tick uses. Every source starts at to minus the longest period of the
// targets that use it (or at from, if later), and resumes after its last
// pull when it has one, so a failed Backfill can be called again.
//
// The first step of a source is its baseline: events are counted from the
// interval after it. The daemon calls Backfill for the longest SLO period
// before it reports ready, then ticks from the next interval on.
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

// backfill replays sources srcs from starts[i] (rounded up onto the grid
// to - k*interval, and past each source's last pull) to `to`, and returns
// the number of steps processed.
func (p *Puller) backfill(ctx context.Context, srcs []int, starts []int64, to int64, progress func(BackfillProgress)) (int, error) {
	began := time.Now()
	startOf := make(map[int]int64, len(srcs))
	from := to + p.iv
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
	if len(startOf) == 0 {
		return 0, nil
	}
	total := int((to-from)/p.iv) + 1
	prog := BackfillProgress{From: time.UnixMilli(from).UTC(), To: time.UnixMilli(to).UTC(), StepsTotal: total}
	var bytes0 uint64
	if p.client != nil {
		bytes0 = p.client.Stats().BytesRead
	}

	// Chunk length in steps: MaxPoints, fewer when the series known so far
	// would exceed MaxSamples; a short first chunk when nothing is known.
	chunkSteps := func(series int) int {
		if series == 0 {
			return min(p.cfg.MaxPoints, firstChunkSteps)
		}
		return max(1, min(p.cfg.MaxPoints, p.cfg.MaxSamples/series))
	}
	known := 0
	for si := range startOf {
		known += p.sources[si].tracker.Len()
	}
	n := chunkSteps(known)

	ok := make([]bool, len(p.sources))
	inputs := make([][]point, len(p.sources))
	steps := 0
	for cs := from; cs <= to; {
		ce := min(to, cs+int64(n-1)*p.iv)
		// The queries this chunk needs, each from its earliest source's start.
		type rq struct {
			qi    int
			start int64
			srcs  []int
			m     model.Matrix
			err   error
		}
		var rqs []*rq
		for qi, q := range p.queries {
			var r *rq
			for _, si := range q.sources {
				st, ok := startOf[si]
				if !ok || st > ce {
					continue
				}
				if r == nil {
					r = &rq{qi: qi, start: max(cs, st)}
				}
				r.start = min(r.start, max(cs, st))
				r.srcs = append(r.srcs, si)
			}
			if r != nil {
				rqs = append(rqs, r)
			}
		}
		p.fanout(len(rqs), func(i int) {
			r := rqs[i]
			r.m, r.err = p.q.QueryRange(ctx, p.queries[r.qi].expr, time.UnixMilli(r.start), time.UnixMilli(ce), p.cfg.Interval)
		})
		series := 0
		for _, r := range rqs {
			p.c.queries++
			prog.Queries++
			if r.err != nil {
				p.c.queryErrors++
				return steps, fmt.Errorf("backfill chunk %s..%s: %w",
					time.UnixMilli(r.start).UTC().Format(time.RFC3339), time.UnixMilli(ce).UTC().Format(time.RFC3339), r.err)
			}
			series += len(r.m)
			for _, ss := range r.m {
				n := uint64(len(ss.Values) + len(ss.Histograms))
				p.c.points += n
				prog.Points += n
			}
		}

		// Transpose: one pull per step, in time order.
		cursors := make([][]streamCursor, len(rqs))
		for i, r := range rqs {
			cursors[i] = make([]streamCursor, len(r.m))
			for j, ss := range r.m {
				cursors[i][j] = streamCursor{fp: uint64(ss.Metric.Fingerprint()), metric: ss.Metric, vals: ss.Values, hists: ss.Histograms}
			}
		}
		bufs := make([][]point, len(rqs))
		for s := cs; s <= ce; s += p.iv {
			clear(ok)
			for i, r := range rqs {
				bufs[i] = bufs[i][:0]
				for j := range cursors[i] {
					c := &cursors[i][j]
					for len(c.vals) > 0 && int64(c.vals[0].Timestamp) < s {
						c.vals = c.vals[1:]
					}
					if len(c.vals) > 0 && int64(c.vals[0].Timestamp) == s {
						bufs[i] = append(bufs[i], point{fp: c.fp, metric: c.metric, v: float64(c.vals[0].Value)})
					}
					// A series may change kind over time (floats, then
					// native histograms); each source keeps its kind.
					for len(c.hists) > 0 && int64(c.hists[0].Timestamp) < s {
						c.hists = c.hists[1:]
					}
					if len(c.hists) > 0 && int64(c.hists[0].Timestamp) == s {
						bufs[i] = append(bufs[i], point{fp: c.fp, metric: c.metric, h: c.hists[0].Histogram})
					}
				}
				for _, si := range r.srcs {
					if startOf[si] <= s {
						ok[si], inputs[si] = true, bufs[i]
					}
				}
			}
			p.step(s, inputs, ok)
			for _, r := range rqs {
				for _, si := range r.srcs {
					if err := p.sources[si].err; err != nil {
						return steps, fmt.Errorf("backfill at %s: %w", time.UnixMilli(s).UTC().Format(time.RFC3339), err)
					}
				}
			}
			steps++
		}
		clear(inputs)

		prog.StepsDone = int((ce-from)/p.iv) + 1
		prog.Elapsed = time.Since(began)
		if p.client != nil {
			prog.Bytes = p.client.Stats().BytesRead - bytes0
		}
		p.publish()
		if progress != nil {
			progress(prog)
		}
		if err := ctx.Err(); err != nil {
			return steps, err
		}
		p.log.Debug("backfill chunk", zap.Time("from", time.UnixMilli(cs)), zap.Time("to", time.UnixMilli(ce)),
			zap.Int("series", series), zap.Int("steps", int((ce-cs)/p.iv)+1))
		n = chunkSteps(series)
		cs = ce + p.iv
	}
	return steps, nil
}

// streamCursor walks one series of a range result step by step, through
// its float samples and its native histogram samples.
type streamCursor struct {
	fp     uint64
	metric model.Metric
	vals   []model.SamplePair
	hists  []model.SampleHistogramPair
}
