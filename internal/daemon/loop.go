package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/slo-exporter/slo-exporter/internal/scrape"
)

// jobKind is what a job of the running runtime does.
type jobKind int

const (
	jobStart jobKind = iota // start-up backfill with retries, catch-up, first evaluation
	jobTick                 // one tick: pull, evaluate, publish
)

// job is work on a runtime's engine and puller in its own goroutine; while
// it runs, nothing else touches them.
type job struct {
	rt     *runtime
	kind   jobKind
	cancel context.CancelFunc
}

// event is what Run's goroutines report to it: a job or a build ended.
type event struct {
	job   *job
	build *build
}

// Reload loads the configuration again. It returns once the new
// configuration is validated (or rejected), without waiting for ticks,
// backfills or Prometheus; the new engine replaces the running one after
// the backfill of its new and changed SLOs. Reloads that arrive while one
// is loaded are answered with its result.
func (d *Daemon) Reload(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	res := make(chan error, 1)
	select {
	case d.reloads <- res:
	case <-ctx.Done():
		return ctx.Err()
	case <-d.stopped:
		return ErrStopped
	}
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run backfills, then ticks until ctx is cancelled. It returns after every
// goroutine it started has ended.
func (d *Daemon) Run(ctx context.Context) error {
	defer close(d.stopped)
	defer d.wg.Wait()
	var (
		running *job   // the running runtime's job; nil when it is idle
		pending *build // a reload's backfill in progress
		swap    *build // a reload ready to replace the running runtime once running ends
	)
	running = d.launch(ctx, d.cur, jobStart)
	for {
		var timer <-chan time.Time
		stop := func() {}
		if running == nil && d.ready() {
			interval := d.cur.plan.Interval
			now := d.opt.Now()
			timer, stop = d.opt.NewTimer(now.Truncate(interval).Add(interval).Sub(now))
		}
		select {
		case <-ctx.Done():
			stop()
			if running != nil {
				running.cancel()
			}
			if pending != nil {
				pending.cancel()
			}
			return nil
		case res := <-d.reloads:
			stop()
			waiters := []chan error{res}
			for more := true; more; {
				select {
				case r := <-d.reloads:
					waiters = append(waiters, r)
				default:
					more = false
				}
			}
			rt, err := d.reload()
			for _, w := range waiters {
				w <- err
			}
			if err != nil {
				continue
			}
			if pending != nil {
				pending.cancel() // its goroutine discards its runtime
				pending = nil
			}
			if swap != nil {
				closeIdle(swap.rt.client)
				swap = nil
			}
			if !d.ready() {
				// The start-up has not completed (Prometheus unreachable,
				// a wrong URL being fixed): nothing to keep, start over.
				if running != nil {
					running.cancel()
				}
				d.replaceStartup(rt)
				running = d.launch(ctx, rt, jobStart)
				continue
			}
			b := d.prepare(rt)
			if b.temp == nil {
				swap = b // nothing to backfill: replace as soon as the runtime is idle
			} else {
				pending = b
				d.startBuild(ctx, b)
			}
		case ev := <-d.events:
			stop()
			switch {
			case ev.job != nil:
				if ev.job != running {
					continue // a replaced runtime's job
				}
				running = nil
			case ev.build != nil:
				if ev.build != pending {
					continue // cancelled by a later reload
				}
				pending, swap = nil, ev.build
			}
		case <-timer:
			running = d.launch(ctx, d.cur, jobTick)
			continue
		}
		if swap != nil {
			if running != nil {
				running.cancel() // a tick in flight: swap when it has returned
				continue
			}
			running = d.swap(ctx, swap)
			swap = nil
		}
	}
}

// ready reports whether the running runtime completed its start-up.
func (d *Daemon) ready() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cur.ready
}

// launch runs a job of rt in its own goroutine; it reports to Run when it
// ends.
func (d *Daemon) launch(ctx context.Context, rt *runtime, kind jobKind) *job {
	jctx, cancel := context.WithCancel(ctx)
	j := &job{rt: rt, kind: kind, cancel: cancel}
	d.working.Add(1)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		switch kind {
		case jobStart:
			d.startup(jctx, rt)
			if jctx.Err() != nil {
				closeIdle(rt.client) // replaced by a reload, or stopping
			}
		case jobTick:
			d.tick(jctx, rt)
		}
		cancel()
		d.working.Add(-1)
		select {
		case d.events <- event{job: j}:
		case <-ctx.Done():
		}
	}()
	return j
}

// commit applies f to the state and, when publish is set, publishes it,
// provided rt is still the running runtime; it reports whether it was.
func (d *Daemon) commit(rt *runtime, publish bool, f func(st *State)) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if rt != d.cur {
		return false
	}
	if f != nil {
		f(&d.state)
	}
	if publish {
		d.publishLocked()
	}
	return true
}

// publishLocked hands a copy of the state to the sink; d.mu is held.
func (d *Daemon) publishLocked() {
	st := d.state
	st.Ready = d.cur.ready
	if st.Ready {
		st.NotReadyReason = ""
	}
	d.opt.Sink.Publish(&st)
}

// evaluate evaluates rt's engine at t and returns a function that stores
// the snapshot in a state.
func (d *Daemon) evaluate(rt *runtime, t time.Time) func(st *State) {
	start := time.Now()
	snap := rt.engine.Evaluate(t)
	d.metrics.evalDuration.Set(time.Since(start).Seconds())
	d.metrics.addEngine(rt.counted, snap.Stats)
	rt.counted = snap.Stats
	d.metrics.trackedSeries.Set(float64(rt.puller.Stats().SeriesTracked))
	return func(st *State) {
		st.Snapshot = snap
		st.Meta = rt.plan.Meta
	}
}

// evalTime is the pinned time of the current tick: the last multiple of the
// interval, minus the query offset.
func (d *Daemon) evalTime(rt *runtime) time.Time {
	return d.opt.Now().Truncate(rt.plan.Interval).Add(-rt.offset)
}

// tickTimeout is how long one tick of rt may take.
func (d *Daemon) tickTimeout(rt *runtime) time.Duration {
	iv := rt.plan.Interval
	if d.opt.TickTimeout > 0 {
		return min(d.opt.TickTimeout, iv)
	}
	return time.Duration(float64(iv) * DefaultTickTimeoutRatio)
}

// pull runs one tick of rt at t under the tick deadline. missed reports
// that the deadline cancelled it; then every SLO of rt is set down.
func (d *Daemon) pull(ctx context.Context, rt *runtime, t time.Time) (res scrape.TickResult, missed bool) {
	tctx, cancel := context.WithCancelCause(ctx)
	fire, stop := d.opt.NewTimer(d.tickTimeout(rt))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-fire:
			cancel(errTickDeadline)
		case <-done:
		}
	}()
	res = rt.puller.Tick(tctx, t)
	close(done)
	wg.Wait()
	stop()
	missed = errors.Is(context.Cause(tctx), errTickDeadline)
	cancel(nil)
	if ctx.Err() != nil {
		return res, false // cancelled by a reload or a shutdown: nobody reads it
	}
	for _, err := range res.Errors {
		d.log.Warn("pull failed", zap.Time("eval_time", t), zap.Error(err))
	}
	if missed {
		d.log.Warn("tick abandoned at its deadline; slo_data_up is 0 until a tick succeeds",
			zap.Time("eval_time", t), zap.Duration("deadline", d.tickTimeout(rt)))
		for i := range rt.plan.Specs {
			rt.engine.SetDataUp(i, false)
		}
	}
	return res, missed
}

// tick pulls rt at the current tick, evaluates and publishes. A tick
// cancelled by a reload or a shutdown publishes nothing and leaves
// rt.pulled, so the runtime that follows pulls that time again.
func (d *Daemon) tick(ctx context.Context, rt *runtime) {
	t := d.evalTime(rt)
	if !t.After(rt.pulled) {
		d.commit(rt, true, d.evaluate(rt, rt.pulled))
		return
	}
	res, missed := d.pull(ctx, rt, t)
	if ctx.Err() != nil {
		return
	}
	rt.pulled = t
	store := d.evaluate(rt, t)
	d.commit(rt, true, func(st *State) {
		st.Tick = res
		if missed {
			st.TicksMissed++
			d.metrics.ticksMissed.Inc()
		}
		store(st)
	})
}

// startup backfills rt's longest period up to the current tick, retrying
// every interval while the source fails, then pulls the tick it may have
// crossed, evaluates and marks rt ready. While rt is the running runtime,
// progress and snapshots with data_up 0 between attempts are published.
func (d *Daemon) startup(ctx context.Context, rt *runtime) {
	if !d.backfill(ctx, rt, rt.puller, true) {
		return
	}
	d.metrics.backfillProgress.Set(1)
	d.commit(rt, false, func(st *State) { st.BackfillDone = true })
	t := rt.pulled
	var res *scrape.TickResult
	var missed bool
	if now := d.evalTime(rt); now.After(rt.pulled) {
		// The backfill crossed a tick boundary: pull that tick, so that the
		// first snapshot holds every interval up to its stamp.
		r, m := d.pull(ctx, rt, now)
		if ctx.Err() != nil {
			return
		}
		res, missed, t = &r, m, now
		rt.pulled = now
	}
	store := d.evaluate(rt, t)
	d.commit(rt, true, func(st *State) {
		if res != nil {
			st.Tick = *res
		}
		if missed {
			st.TicksMissed++
			d.metrics.ticksMissed.Inc()
		}
		store(st)
		rt.ready = true
	})
}

// backfill runs p's Backfill of rt's longest period up to the current tick,
// retrying every interval while it fails, and reports whether it
// completed (false: ctx was cancelled). p is rt's puller, or the puller of
// a reload's new and changed SLOs. With published, progress and failures
// are published while rt is the running runtime.
func (d *Daemon) backfill(ctx context.Context, rt *runtime, p *scrape.Puller, published bool) bool {
	for attempt := 1; ; attempt++ {
		to := d.evalTime(rt)
		from := to.Add(-rt.plan.LongestPeriod())
		if !rt.cfg.Global.Backfill {
			from = to
		}
		start := time.Now()
		var last scrape.BackfillProgress
		err := p.Backfill(ctx, from, to, func(pr scrape.BackfillProgress) {
			last = pr
			if published {
				d.metrics.backfillProgress.Set(float64(pr.StepsDone) / float64(max(1, pr.StepsTotal)))
				d.commit(rt, true, func(st *State) {
					st.Backfill = pr
					st.NotReadyReason = fmt.Sprintf("backfill %.0f%%", 100*float64(pr.StepsDone)/float64(max(1, pr.StepsTotal)))
				})
			}
		})
		if err == nil {
			d.log.Info("backfill done", zap.Time("from", from), zap.Time("to", to), zap.Duration("took", time.Since(start)),
				zap.Int("queries", last.Queries), zap.Uint64("points", last.Points), zap.Uint64("bytes", last.Bytes),
				zap.Duration("read_wait", last.ReadWait))
			rt.pulled = to
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		d.log.Warn("backfill failed; retrying", zap.Int("attempt", attempt), zap.Error(err))
		if published {
			for i := range rt.plan.Specs {
				rt.engine.SetDataUp(i, false)
			}
			store := d.evaluate(rt, to)
			d.commit(rt, true, func(st *State) {
				st.NotReadyReason = "backfill failed, retrying: " + err.Error()
				store(st)
			})
		}
		if !d.sleep(ctx, rt.plan.Interval) {
			return false
		}
	}
}

// sleep waits for dur on the daemon's clock, not counted as working, and
// reports whether ctx is still live.
func (d *Daemon) sleep(ctx context.Context, dur time.Duration) bool {
	timer, stop := d.opt.NewTimer(dur)
	defer stop()
	d.working.Add(-1)
	defer d.working.Add(1)
	select {
	case <-ctx.Done():
		return false
	case <-timer:
		return true
	}
}

// replaceStartup makes rt the running runtime in place of one whose
// start-up had not completed.
func (d *Daemon) replaceStartup(rt *runtime) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cur = rt
	d.state.Backfill, d.state.BackfillDone = scrape.BackfillProgress{}, false
	d.metrics.backfillProgress.Set(0)
	d.state.NotReadyReason = "backfill starting (the configuration was reloaded during the start-up)"
	d.log.Info("configuration reloaded during the start-up; starting over with it", zap.Int("slos", len(rt.plan.Specs)))
	d.publishLocked()
}

// reload loads and validates the configuration and builds its runtime.
// Every successful reload is rebuilt, even when the file did not change:
// secrets read from files (password_file, credentials_file) may have; the
// state of unchanged SLOs moves to it (see prepare).
func (d *Daemon) reload() (*runtime, error) {
	cfg, err := d.opt.Load()
	var rt *runtime
	if err == nil {
		rt, err = d.build(cfg)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.state.ReloadOK = err == nil
	d.metrics.reloadOK.Set(b2f(err == nil))
	if err != nil {
		d.log.Error("configuration rejected; the running one stays", zap.Error(err))
		d.publishLocked()
		return nil, err
	}
	d.state.ReloadTime = d.opt.Now()
	d.metrics.reloadTime.Set(float64(d.state.ReloadTime.UnixMilli()) / 1e3)
	d.log.Info("configuration loaded", zap.Int("slos", len(rt.plan.Specs)))
	d.publishLocked()
	return rt, nil
}

// startBuild backfills b's new and changed SLOs in the background; it
// reports to Run when done. Cancelled, it discards b's runtime.
func (d *Daemon) startBuild(ctx context.Context, b *build) {
	bctx, cancel := context.WithCancel(ctx)
	b.cancel = cancel
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer cancel()
		if !d.backfill(bctx, b.rt, b.temp, false) {
			closeIdle(b.rt.client)
			return
		}
		b.to = b.rt.pulled
		select {
		case d.events <- event{build: b}:
		case <-ctx.Done():
		}
	}()
}

// swap replaces the running runtime (idle) with b's, moving the state of
// the SLOs b carries, and starts the new runtime's catch-up tick; it
// returns that job, or nil when the new runtime is current already (it
// then publishes at once).
func (d *Daemon) swap(ctx context.Context, b *build) *job {
	old, rt := d.cur, b.rt
	carried := b.take(d.log)
	d.mu.Lock()
	d.state.Carried, d.state.Rebackfilled = len(carried), len(rt.plan.Specs)-len(carried)
	rt.ready = true
	d.cur = rt
	d.mu.Unlock()
	closeIdle(old.client)
	d.log.Info("new configuration is ready; it replaced the running one", zap.Int("slos", len(rt.plan.Specs)),
		zap.Int("kept", len(carried)), zap.Int("backfilled", len(rt.plan.Specs)-len(carried)))
	if d.evalTime(rt).After(rt.pulled) {
		return d.launch(ctx, rt, jobTick)
	}
	d.commit(rt, true, d.evaluate(rt, rt.pulled))
	return nil
}

// closeIdle closes the idle connections of a client that is no longer
// used, so that reloads do not leave open sockets behind.
func closeIdle(q scrape.Querier) {
	if c, ok := q.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
