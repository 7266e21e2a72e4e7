// Package daemon runs slo-exporter's main loop: load the configuration,
// backfill the engine from Prometheus, then pull, evaluate and publish at
// every aligned tick; reload on request without losing the running state.
//
// One goroutine (Run) owns the decisions; the network work (the start-up
// backfill, each tick, a reload's backfill) runs in goroutines it starts
// and can cancel, so that a reload or a shutdown never waits behind a
// query that hangs.
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
//     backfill and pulls succeeded. A reload during the start-up (a wrong
//     URL fixed in the file) cancels it and starts the new configuration
//     at once.
//   - ticks: at every multiple of the evaluation interval, the evaluation
//     time is pinned to that multiple minus the query offset; every query of
//     the tick uses it. A tick has a deadline (Options.TickTimeout, by
//     default three quarters of the interval): a tick that misses it is
//     abandoned (its queries are cancelled), counted in State.TicksMissed,
//     and every SLO gets slo_data_up 0 until a tick succeeds. A failed
//     pull leaves the last values in place with slo_data_up 0; when the
//     source returns, the puller backfills the gap first, so no event is
//     lost or counted twice.
//   - slo_data_up means "the numbers are current": 1 after a successful
//     backfill, reload or tick; 0 while the start-up backfill fails, after
//     a failed pull or a missed tick deadline, and for an SLO one of whose
//     sources returned samples in a tick that were all refused (NaN,
//     infinite, negative or an implausible increase).
//   - reload (SIGHUP or POST /-/reload): reloads are serialized, and those
//     that arrive together are coalesced into one load whose result every
//     caller gets. The caller is answered as soon as the configuration is
//     loaded and validated (a file read: it never waits for a tick, a
//     backfill or Prometheus). A bad configuration is rejected, logged and
//     reported in slo_exporter_config_last_reload_successful, and the
//     running one goes on. A good one gets its own engine. Each SLO that
//     is identical in both (same definition, same queries, same Prometheus
//     source, interval, offset and max_increase_rate) and reads no
//     expression shared with a changed SLO keeps its state: its window
//     counts and counter trackers move to the new engine, which resumes
//     them from their last pull with no backfill. The new and changed SLOs
//     are backfilled in the background while the running configuration
//     keeps ticking; then the new engine replaces it (an in-flight tick is
//     cancelled first), pulls the current tick and publishes, with its own
//     slo_data_up, so SLOs removed from the configuration disappear from
//     /metrics then. A reload that arrives while an earlier one is still
//     backfilling cancels that backfill and starts over from the running
//     configuration.
//   - stop: cancelling the context cancels the running work and returns
//     once every goroutine the daemon started has ended.
package daemon

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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
	// TicksMissed counts the ticks abandoned at their deadline
	// (Options.TickTimeout); it only grows.
	TicksMissed uint64
	// Backfill is the start-up backfill's progress; BackfillDone is set
	// once it completed.
	Backfill     scrape.BackfillProgress
	BackfillDone bool
	// Carried is the number of SLOs whose state the last reload kept, and
	// Rebackfilled the number it backfilled (new or changed ones).
	Carried, Rebackfilled int
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
	// time.NewTimer. Tests pass a fake clock's. Tick deadlines use it too.
	NewTimer func(d time.Duration) (<-chan time.Time, func())
	// NewQuerier builds the query client; nil means scrape.NewClient.
	NewQuerier func(scrape.ClientConfig) (scrape.Querier, error)
	// Registerer receives the self-metrics (slo_exporter_*) of the daemon,
	// its clients and pullers, registered once by New and kept across
	// reloads; serve passes the registry /metrics gathers. Nil leaves them
	// unregistered.
	Registerer prometheus.Registerer
	// TickTimeout bounds each tick: its queries and any outage gap it
	// backfills. A tick that misses it is abandoned and its SLOs get
	// slo_data_up 0. Zero means DefaultTickTimeoutRatio of the evaluation
	// interval; more than the interval is capped at the interval.
	TickTimeout time.Duration
}

// DefaultTickTimeoutRatio is the share of the evaluation interval a tick
// may take when Options.TickTimeout is zero: it leaves a quarter of the
// interval before the next tick, so a hung Prometheus shows as
// slo_data_up 0 within the interval.
const DefaultTickTimeoutRatio = 0.75

// errTickDeadline is the cause of a tick's cancellation at its deadline.
var errTickDeadline = errors.New("the tick missed its deadline")

// ErrStopped is returned by Reload once Run has returned.
var ErrStopped = errors.New("the daemon has stopped")

// Daemon is the main loop. Create it with New and run it with Run.
type Daemon struct {
	opt     Options
	log     *zap.Logger
	reloads chan chan error
	events  chan event
	stopped chan struct{} // closed when Run returns

	mu    sync.Mutex // guards cur, the runtimes' ready and state; orders publications
	cur   *runtime
	state State

	// working counts the running runtime's jobs (start-up, ticks) that are
	// busy rather than waiting on a retry timer; tests wait for it to be 0.
	working atomic.Int32
	wg      sync.WaitGroup // the goroutines Run started
	metrics *metrics
}

// runtime is one configuration's engine and puller.
type runtime struct {
	cfg    *config.Config
	plan   *plan.Plan
	engine *evaluator.Engine
	client scrape.Querier
	puller *scrape.Puller
	pcfg   scrape.PullerConfig
	offset time.Duration
	ready  bool      // its start-up (or reload) backfill completed; guarded by Daemon.mu
	pulled time.Time // the time the engine holds data up to; owned by whoever runs its job
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
	d := &Daemon{opt: opt, log: opt.Logger, reloads: make(chan chan error), events: make(chan event),
		stopped: make(chan struct{}), metrics: m}
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
	pcfg := scrape.PullerConfig{
		Interval: p.Interval, MaxPoints: g.MaxPointsPerQuery, Fanout: g.MaxConcurrentQueries, Logger: d.log,
		MaxIncreaseRate: g.MaxIncreaseRate, Metrics: d.metrics.puller, NoRemoteRead: !g.BackfillRemoteRead,
	}
	puller, err := scrape.NewPuller(client, eng, p.Targets, pcfg)
	if err != nil {
		closeIdle(client)
		return nil, err
	}
	return &runtime{cfg: cfg, plan: p, engine: eng, client: client, puller: puller, pcfg: pcfg,
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
