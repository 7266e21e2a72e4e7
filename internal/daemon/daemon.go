// Package daemon runs slo-exporter's main loop: load the configuration,
// backfill the engine from Prometheus, then pull, evaluate and publish at
// every aligned tick; reload on request without losing the running state
// until the new one is ready.
//
// Lifecycle:
//
//   - start: the configuration is loaded and validated (an invalid one is a
//     start-up error). The whole longest period is backfilled with range
//     queries; while Prometheus is unreachable the backfill is retried every
//     interval, snapshots are still published (slo_data_up 0) and the
//     daemon is not ready. When the backfill ended before the current tick
//     (it crossed a tick boundary), that tick is pulled too, so the first
//     snapshot holds every interval up to its stamp; then it is evaluated
//     and the daemon reports ready, with slo_data_up 1 for every SLO whose
//     backfill and pulls succeeded.
//   - ticks: at every multiple of the evaluation interval, the evaluation
//     time is pinned to that multiple minus the query offset; every query of
//     the tick uses it. A failed pull leaves the last values in place with
//     slo_data_up 0; when the source returns, the puller backfills the gap
//     first, so no event is lost or counted twice.
//   - reload (SIGHUP or POST /-/reload): the new configuration is loaded and
//     validated; a bad one is rejected, logged and reported in
//     slo_exporter_config_last_reload_successful, and the running one goes
//     on. A good one gets its own engine, backfilled in the background while
//     the old one keeps ticking; once ready it is pulled up to the current
//     tick and replaces the old one (with its own slo_data_up, 1 where its
//     backfill succeeded), so SLOs removed from the configuration disappear
//     from /metrics then.
//   - stop: cancelling the context ends the loop after the current step.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/plan"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
)

// State is what the daemon publishes after every evaluation. The
// self-metrics are not in it: the components that count them register
// them (Options.Registerer).
type State struct {
	// Snapshot is the latest evaluation; nil before the first.
	Snapshot *evaluator.Snapshot
	// Meta describes the snapshot's SLOs, index for index.
	Meta []plan.Meta
	// Tick is the last tick's report.
	Tick scrape.TickResult
	// Backfill is the start-up backfill's progress; BackfillDone is set
	// once it completed.
	Backfill     scrape.BackfillProgress
	BackfillDone bool
	// ReloadOK and ReloadTime describe the last configuration load.
	ReloadOK   bool
	ReloadTime time.Time
	// Ready is set after the backfill and the first evaluation.
	Ready bool
	// NotReadyReason says what the daemon waits for.
	NotReadyReason string
}

// Sink receives the daemon's states; export implements it.
type Sink interface {
	Publish(*State)
}

// Loader loads the configuration; config.Load with the daemon's files,
// environment and flags.
type Loader func() (*config.Config, error)

// Options configures a Daemon.
type Options struct {
	Load   Loader
	Sink   Sink
	Logger *zap.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewTimer starts a timer that fires once after d on the same clock as
	// Now and returns its channel and a function that stops it; nil means
	// time.NewTimer. Tests pass a fake clock's.
	NewTimer func(d time.Duration) (<-chan time.Time, func())
	// NewQuerier builds the query client; nil means scrape.NewClient.
	NewQuerier func(scrape.ClientConfig) (scrape.Querier, error)
	// Registerer receives the self-metrics (slo_exporter_*) of the daemon,
	// its clients and pullers, registered once by New and kept across
	// reloads; serve passes the registry /metrics gathers. Nil leaves them
	// unregistered.
	Registerer prometheus.Registerer
}

// Daemon is the main loop. Create it with New and run it with Run.
type Daemon struct {
	opt     Options
	log     *zap.Logger
	reloads chan chan error
	cur     *runtime
	state   State
	metrics *metrics
}

// runtime is one configuration's engine and puller.
type runtime struct {
	cfg    *config.Config
	plan   *plan.Plan
	engine *evaluator.Engine
	client scrape.Querier
	puller *scrape.Puller
	offset time.Duration
	ready  bool
	pulled time.Time // the time the engine holds data up to
	// counted is the engine's Stats as of its last evaluation, what the
	// engine counters have received from it.
	counted evaluator.Stats
}

// New loads the configuration and builds the first runtime. A bad
// configuration is an error.
func New(opt Options) (*Daemon, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.NewTimer == nil {
		opt.NewTimer = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTimer(d)
			return t.C, func() { t.Stop() }
		}
	}
	if opt.Logger == nil {
		opt.Logger = zap.NewNop()
	}
	if opt.NewQuerier == nil {
		opt.NewQuerier = func(c scrape.ClientConfig) (scrape.Querier, error) { return scrape.NewClient(c) }
	}
	m, err := newMetrics(opt.Registerer)
	if err != nil {
		return nil, fmt.Errorf("registering the self-metrics: %w", err)
	}
	d := &Daemon{opt: opt, log: opt.Logger, reloads: make(chan chan error), metrics: m}
	cfg, err := opt.Load()
	if err != nil {
		return nil, err
	}
	rt, err := d.build(cfg)
	if err != nil {
		return nil, err
	}
	d.cur = rt
	d.state.ReloadOK, d.state.ReloadTime = true, opt.Now()
	d.metrics.reloadOK.Set(1)
	d.metrics.reloadTime.Set(float64(d.state.ReloadTime.UnixMilli()) / 1e3)
	return d, nil
}

func (d *Daemon) build(cfg *config.Config) (*runtime, error) {
	for _, s := range cfg.SLOs {
		for _, w := range s.Warnings() {
			d.log.Warn(w, zap.String("slo", s.Name))
		}
	}
	p, err := plan.Build(cfg)
	if err != nil {
		return nil, err
	}
	eng, err := evaluator.New(p.Interval, p.Specs)
	if err != nil {
		return nil, err
	}
	g := cfg.Global
	client, err := d.opt.NewQuerier(scrape.ClientConfig{
		URL: cfg.Prometheus.URL, HTTP: cfg.Prometheus.HTTPClientConfig,
		Timeout: time.Duration(g.QueryTimeout), Retries: retries(g.QueryRetries),
		MaxConcurrency: g.MaxConcurrentQueries, Logger: d.log,
		MaxResponseBytes: g.MaxResponseBytes.Bytes(), MaxSeries: cfg.MaxSeriesPerAnswer(),
		Metrics: d.metrics.client,
	})
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	puller, err := scrape.NewPuller(client, eng, p.Targets, scrape.PullerConfig{
		Interval: p.Interval, MaxPoints: g.MaxPointsPerQuery, Fanout: g.MaxConcurrentQueries, Logger: d.log,
		MaxIncreaseRate: g.MaxIncreaseRate, Metrics: d.metrics.puller,
	})
	if err != nil {
		return nil, err
	}
	return &runtime{cfg: cfg, plan: p, engine: eng, client: client, puller: puller,
		offset: time.Duration(g.QueryOffset)}, nil
}

// retries maps the configuration's count (0 = none) to the client's
// convention (0 = default, negative = none).
func retries(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// Reload loads the configuration again. It returns once the new
// configuration is validated (or rejected); the new engine replaces the
// running one after its backfill.
func (d *Daemon) Reload(ctx context.Context) error {
	res := make(chan error, 1)
	select {
	case d.reloads <- res:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run backfills, then ticks until ctx is cancelled.
func (d *Daemon) Run(ctx context.Context) error {
	d.startup(ctx, d.cur, true)
	if ctx.Err() != nil {
		return nil
	}
	d.evaluate(d.cur, d.catchUp(ctx, d.cur))
	d.cur.ready = true
	d.publish()

	pending := make(chan *runtime, 1)
	var building context.CancelFunc
	for {
		interval := d.cur.plan.Interval
		now := d.opt.Now()
		timer, stop := d.opt.NewTimer(now.Truncate(interval).Add(interval).Sub(now))
		select {
		case <-ctx.Done():
			stop()
			if building != nil {
				building()
			}
			return nil
		case res := <-d.reloads:
			stop()
			rt, err := d.reload()
			res <- err
			if err != nil || rt == nil {
				continue
			}
			if building != nil {
				building()
			}
			bctx, cancel := context.WithCancel(ctx)
			building = cancel
			go func() {
				d.startup(bctx, rt, false)
				if bctx.Err() == nil {
					pending <- rt
				}
			}()
		case rt := <-pending:
			stop()
			building = nil
			d.log.Info("new configuration is ready; replacing the running one", zap.Int("slos", len(rt.plan.Specs)))
			d.cur = rt
			d.evaluate(rt, d.catchUp(ctx, rt))
			rt.ready = true
			d.publish()
		case <-timer:
			rt := d.cur
			t := d.evalTime(rt)
			d.state.Tick = rt.puller.Tick(ctx, t)
			for _, err := range d.state.Tick.Errors {
				d.log.Warn("pull failed", zap.Time("eval_time", t), zap.Error(err))
			}
			rt.pulled = t
			d.evaluate(rt, t)
			d.publish()
		}
	}
}

// catchUp pulls rt up to the current tick when its backfill ended before
// it (a backfill that crossed a tick boundary, or a new configuration
// whose backfill ran while the old one ticked), so that the first snapshot
// it publishes holds every interval up to its stamp; a gap of more than
// one interval is backfilled by the tick itself. It returns the time to
// evaluate at.
func (d *Daemon) catchUp(ctx context.Context, rt *runtime) time.Time {
	t := d.evalTime(rt)
	if !t.After(rt.pulled) {
		return rt.pulled
	}
	d.state.Tick = rt.puller.Tick(ctx, t)
	for _, err := range d.state.Tick.Errors {
		d.log.Warn("pull failed", zap.Time("eval_time", t), zap.Error(err))
	}
	rt.pulled = t
	return t
}

// evalTime is the pinned time of the current tick: the last multiple of the
// interval, minus the query offset.
func (d *Daemon) evalTime(rt *runtime) time.Time {
	return d.opt.Now().Truncate(rt.plan.Interval).Add(-rt.offset)
}

// reload loads and validates the configuration and builds its runtime.
// Every successful reload is rebuilt and backfilled, even when the file did
// not change: secrets read from files (password_file, credentials_file) may
// have.
func (d *Daemon) reload() (*runtime, error) {
	cfg, err := d.opt.Load()
	var rt *runtime
	if err == nil {
		rt, err = d.build(cfg)
	}
	d.state.ReloadOK = err == nil
	d.metrics.reloadOK.Set(b2f(err == nil))
	if err != nil {
		d.log.Error("configuration rejected; the running one stays", zap.Error(err))
		d.publish()
		return nil, err
	}
	d.state.ReloadTime = d.opt.Now()
	d.metrics.reloadTime.Set(float64(d.state.ReloadTime.UnixMilli()) / 1e3)
	d.log.Info("configuration loaded; backfilling before it replaces the running one", zap.Int("slos", len(rt.plan.Specs)))
	d.publish()
	return rt, nil
}

// startup backfills rt's longest period up to the current tick, retrying
// every interval while the source fails. While it is the published runtime
// (first start), snapshots with data_up 0 are published between attempts.
func (d *Daemon) startup(ctx context.Context, rt *runtime, published bool) {
	for attempt := 1; ; attempt++ {
		to := d.evalTime(rt)
		from := to.Add(-rt.plan.LongestPeriod())
		if !rt.cfg.Global.Backfill {
			from = to
		}
		start := time.Now()
		var last scrape.BackfillProgress
		err := rt.puller.Backfill(ctx, from, to, func(p scrape.BackfillProgress) {
			last = p
			if published {
				d.state.Backfill = p
				d.metrics.backfillProgress.Set(float64(p.StepsDone) / float64(max(1, p.StepsTotal)))
				d.state.NotReadyReason = fmt.Sprintf("backfill %.0f%%", 100*float64(p.StepsDone)/float64(max(1, p.StepsTotal)))
				d.publish()
			}
		})
		if err == nil {
			d.log.Info("backfill done", zap.Time("from", from), zap.Time("to", to), zap.Duration("took", time.Since(start)),
				zap.Int("queries", last.Queries), zap.Uint64("points", last.Points), zap.Uint64("bytes", last.Bytes))
			rt.pulled = to
			if published {
				d.state.BackfillDone = true
				d.metrics.backfillProgress.Set(1)
			}
			return
		}
		if ctx.Err() != nil || errors.Is(err, context.Canceled) {
			return
		}
		d.log.Warn("backfill failed; retrying", zap.Int("attempt", attempt), zap.Error(err))
		if published {
			d.state.NotReadyReason = "backfill failed, retrying: " + err.Error()
			for i := range rt.plan.Specs {
				rt.engine.SetDataUp(i, false)
			}
			d.evaluate(rt, to)
			d.publish()
		}
		timer, stop := d.opt.NewTimer(rt.plan.Interval)
		select {
		case <-ctx.Done():
			stop()
			return
		case <-timer:
		}
	}
}

func (d *Daemon) evaluate(rt *runtime, t time.Time) {
	start := time.Now()
	snap := rt.engine.Evaluate(t)
	d.metrics.evalDuration.Set(time.Since(start).Seconds())
	d.metrics.addEngine(rt.counted, snap.Stats)
	rt.counted = snap.Stats
	d.metrics.trackedSeries.Set(float64(rt.puller.Stats().SeriesTracked))
	d.state.Snapshot = snap
	d.state.Meta = rt.plan.Meta
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// publish hands a copy of the state to the sink.
func (d *Daemon) publish() {
	st := d.state
	st.Ready = d.cur.ready
	if st.Ready {
		st.NotReadyReason = ""
	}
	d.opt.Sink.Publish(&st)
}
