package scrape

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"go.uber.org/zap"

	"github.com/slo-exporter/slo-exporter/internal/counters"
	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// Defaults of PullerConfig.
const (
	// DefaultMaxPoints is Prometheus' limit of points per series in one
	// range query.
	DefaultMaxPoints = 11000
	// DefaultMaxSamples caps the samples one backfill chunk holds in memory
	// across all its queries: 1,000,000 samples are 16 MB decoded, so that
	// the backfill's peak memory stays near the steady state.
	DefaultMaxSamples = 1_000_000
	// DefaultMaxPending caps the per-target pending pulls kept while some
	// of a target's queries fail.
	DefaultMaxPending = 120
	// DefaultFanout is how many queries of one tick or chunk are started
	// at once (the Client's own limit still applies).
	DefaultFanout = 8
	// firstChunkSteps is the length of the first backfill chunk, before the
	// number of series is known.
	firstChunkSteps = 720
	// maxChunkSteps caps a backfill chunk of raw samples (a week at 30s),
	// so that progress is reported regularly even for sparse series.
	maxChunkSteps = 20160
	// refusedRetry is how long a group refused by the engine's cap waits
	// before its creation is tried again.
	refusedRetry = 5 * time.Minute
)

// PullerConfig configures NewPuller.
type PullerConfig struct {
	// Interval is the engine's evaluation interval: the tick period and the
	// backfill step. Required.
	Interval time.Duration
	// MaxPoints caps the points per series of one range query; zero means
	// DefaultMaxPoints.
	MaxPoints int
	// MaxSamples caps series x points of one backfill chunk; zero means
	// DefaultMaxSamples.
	MaxSamples int
	// ForgetAfter is how long a series may be missing before its counter
	// state is dropped (counters.NewTracker); zero means one hour or ten
	// intervals, whichever is longer.
	ForgetAfter time.Duration
	// MaxIncreaseRate is the highest plausible increase per second of one
	// counter series (global.max_increase_rate); samples implying more are
	// refused and counted as invalid. Zero means no bound.
	MaxIncreaseRate float64
	// MaxPending caps a target's pending pulls; zero means
	// DefaultMaxPending. Beyond it the oldest two are merged: their events
	// are kept but land in the later one's bucket.
	MaxPending int
	// Fanout is how many queries run at once; zero means DefaultFanout.
	Fanout int
	// NoSharedReads reads every expression by itself, even when the read
	// of a more general one holds its series (see shareReads): for
	// comparisons, and for tests where one of a target's queries fails
	// while the other succeeds.
	NoSharedReads bool
	// RawBackfill reads every raw sample in backfills, also for history
	// older than the fine tier's reach, instead of bucket-boundary values
	// where counters did not drop (see "Coarse backfill"): for
	// comparisons.
	RawBackfill bool
	// NoRemoteRead reads the coarse part of backfills through PromQL
	// even where the server serves remote read (see "Streamed
	// backfill"): for comparisons.
	NoRemoteRead bool
	// Logger; nil means none.
	Logger *zap.Logger
	// Metrics receives the puller's counts as self-metrics; nil means
	// unregistered ones of its own. Pass the same one to the pullers of
	// successive configurations so that the counters only grow.
	Metrics *PullerMetrics
	// AfterStep, when set, is called after every pull (tick or backfill
	// step) has been recorded, with its time. Backtests evaluate the engine
	// there, so history replays step by step through the same code.
	AfterStep func(t time.Time)
}

// Puller pulls the targets' counters at pinned times and records the
// increments into an evaluator.Engine. Tick and Backfill must be called
// from the goroutine that owns the engine; Stats may be called from any.
type Puller struct {
	q          Querier
	eng        *evaluator.Engine
	cfg        PullerConfig
	iv         int64 // ms
	forget     int64 // ms
	log        *zap.Logger
	queries    []*query
	sources    []*source
	targets    []*targetState
	client     Querier // q, whose Stats give the backfill's bytes read
	entryPool  []*entry
	scratch    []*entry
	stepsSince int
	overlap    int64 // ms a tick reads before its previous pull
	reads      []union
	// refusedUnions are the selectors of unions that failed where their
	// members read alone succeeded: never sent again (refuseUnion).
	refusedUnions map[string]bool
	// noRemoteRead is set once the server refused a remote read: later
	// backfills read through PromQL.
	noRemoteRead bool
	// slotBufs are coarseSlotSteps' buffers, reused.
	slotBufs [][]point

	c       internalStats
	statsMu sync.Mutex
	pub     Stats
	// m receives the counts; sent and sentCounters are what publish added
	// to it so far.
	m            *PullerMetrics
	sent         internalStats
	sentCounters counters.Stats
}

// query is one unique expression and how it is read.
type query struct {
	expr string
	// raw: the query reads raw samples (counters and native histograms);
	// otherwise it reads the value at each pull (gauges).
	raw     bool
	sources []int
	// parent is the raw query whose read serves this one (-1: it is read
	// itself), filter keeps the parent's series this one selects, and
	// children are the queries this one's read serves (see shareReads).
	parent   int
	filter   *seriesFilter
	children []int
}

// source is one (expression, le filter, gauge condition or native
// threshold) tuple: the unit of counter tracking.
type source struct {
	q          int
	sel        Selector
	le         *leMatcher
	tracker    incrementer    // counters.Tracker, gaugeEvents for a gauge, nativeCounter
	native     *nativeCounter // the tracker of a native histogram source, else nil
	nvals      []float64      // this step's derived values of a native source
	kept       []point        // this step's points of the source's kind, when some were not
	kindWarned bool           // a pull with only samples of the other kind was logged
	series     map[uint64]*seriesInfo
	consumers  []consumer
	maxPeriod  int64             // longest period of its targets, ms
	err        error             // this step's source-level error (le mismatch, straddled native threshold)
	refused    error             // set when this step had samples and the tracker refused every one (see step)
	matched    int               // series that passed the source's filters at its last step
	flagged    map[uint64]string // series flagged by the duplicate guard: their labels
}

type consumer struct {
	target int
	role   role
}

type seriesInfo struct {
	match  bool  // passes the le filter (true without one)
	groups []int // group index per consumer; -1: refused by the consumer's caps
	seen   int64
	// refused: every consumer refused the series (group or series cap):
	// it is not tracked, and tried again after refusedRetry.
	refused   bool
	refusedAt int64
}

type targetState struct {
	Target
	name    string
	sources []int // source index per role set, in role order
	roles   []role
	period  int64
	groups  []*groupState
	byKey   map[string]int
	pending []*entry // ascending t
	lastRec int64
	hasRec  bool
	logged  bool   // ErrTooManyGroups logged
	tracked [3]int // series admitted per role (MaxSeries, shared evenly by the roles)
	// capLogged: series refused at the group cap, or at MaxSeries, logged.
	capLogged [2]bool
}

type groupState struct {
	labels    []evaluator.Label
	g         *evaluator.Group
	refusedAt int64
	refused   bool
}

// entry is one pull's increments of one target, per group and role.
type entry struct {
	t    int64
	sums [][3]float64
}

// point is one series of one source at one pull: its raw samples since the
// previous pull (or, for a gauge, its one value at the pull), floats in
// vals and native histograms in hists, each ascending. A series can have
// both while it changes kind; each source reads only its own kind.
type point struct {
	fp     uint64
	metric model.Metric
	vals   []model.SamplePair
	hists  []model.SampleHistogramPair
}

type internalStats struct {
	ticks, steps, gapBackfills, gapErrors, queries, queryErrors, points uint64
	groupsRefused, negativeGood, recordErrors, leErrors, merged         uint64
	nativeErrors, skipped, missingValid                                 uint64
	seriesRefused                                                       [2]uint64 // by refusal
	droppedValid                                                        float64
	bfQueries, bfSamples, bfBytes                                       uint64
	bfSeconds                                                           float64
	bfSlots                                                             [3]uint64 // coarse: clean, one drop, raw
}

// Stats is what one Puller counted, for tests, backtests and the daemon's
// gauges; the same counts reach /metrics through PullerMetrics, summed over
// the pullers of successive configurations. Fields other than
// SeriesTracked and Groups only grow.
type Stats struct {
	// Ticks counts Tick calls; Steps counts pulls processed (ticks and
	// backfill steps).
	Ticks, Steps uint64
	// GapBackfills counts outage gaps backfilled by Tick; GapBackfillErrors
	// those whose range queries failed (their events then land at the
	// tick that ended the outage).
	GapBackfills, GapBackfillErrors uint64
	// Queries and QueryErrors count instant and range queries issued by
	// the puller; PointsFetched the samples they returned. Failed queries
	// are exported by reason by the Client
	// (slo_exporter_query_errors_total).
	Queries, QueryErrors, PointsFetched uint64
	// LEErrors counts pulls of a bucket selector whose series had no le
	// label equal to the wanted boundary.
	LEErrors uint64
	// NativeErrors counts pulls of a native histogram selector that failed
	// because a populated bucket lay across its threshold.
	NativeErrors uint64
	// SkippedSamples counts samples whose kind does not fit the selector
	// that received them: floats seen by a native histogram selector, and
	// native histograms seen by any other selector. A sample is counted
	// once per selector (expression and filter) that skipped it.
	SkippedSamples uint64
	// MissingValid counts target pulls where the good or bad selector
	// returned series but the valid selector none (a histogram without
	// _count, a mistyped valid selector): the target is then down.
	MissingValid uint64
	// SeriesTracked is the number of series whose counters are followed.
	SeriesTracked int
	// Groups is the number of groups known across targets.
	Groups int
	// GroupsRefused counts groups the engine refused (its MaxGroups cap;
	// the engine exports its own count,
	// slo_exporter_engine_groups_refused_total); DroppedValidEvents the
	// valid events lost because a group with events could not be created
	// (one that expired and came back over the cap). The series of groups
	// refused when first seen are not tracked at all: see
	// SeriesRefusedGroups.
	GroupsRefused      uint64
	DroppedValidEvents float64
	// NegativeGood counts group pulls where bad exceeded valid (good =
	// valid - bad was floored at 0).
	NegativeGood uint64
	// RecordErrors counts increments the engine refused.
	RecordErrors uint64
	// MergedPending counts pending pulls merged over MaxPending.
	MergedPending uint64
	// SeriesRefusedGroups counts series not tracked because their group
	// was refused at the SLO's group cap (max_groups); SeriesRefusedCap
	// those refused at the SLO's series cap (max_series). A series is
	// counted once per SLO that refuses it, when first seen.
	SeriesRefusedGroups, SeriesRefusedCap uint64
	// DuplicateSeries is the number of series (label sets) the
	// duplicate-replica guard flags now (counters: resets on half their
	// samples, their increments dropped); Duplicates names the first
	// maxListedDuplicates of them in label order.
	DuplicateSeries int
	Duplicates      []DuplicateSeries
	// Counters sums the counter trackers' stats.
	Counters counters.Stats
	// BackfillQueries, BackfillSamples and BackfillBytes are what the
	// backfills (start-up and outage gaps) cost: queries issued (the probe
	// included), raw samples (or, for gauges, points) returned, and
	// response bytes read (0 when the Querier is not a *Client);
	// BackfillSeconds their wall time. They are included in Queries and
	// PointsFetched.
	BackfillQueries, BackfillSamples, BackfillBytes uint64
	// BackfillSlots counts the slots of coarse backfills (history older
	// than the fine tier, see "Coarse backfill") per series-set read: from
	// boundary values, from boundary values around one counter drop, and
	// from raw samples. A streamed backfill (see "Streamed backfill")
	// counts its thinned slots as the first kind and those stepped at
	// every interval as the third.
	BackfillSlots   [3]uint64
	BackfillSeconds float64
}

// DuplicateSeries is a series flagged by the duplicate-replica guard.
type DuplicateSeries struct {
	// SLOs are the SLOs that read the series.
	SLOs []string
	// Series is its label set.
	Series string
}

// addDuplicate adds a flagged series read for slos to list, once per
// label set (a series read by two selectors is flagged by each).
func addDuplicate(list []DuplicateSeries, labels string, slos []string) []DuplicateSeries {
	for i := range list {
		if list[i].Series == labels {
			for _, name := range slos {
				if !slices.Contains(list[i].SLOs, name) {
					list[i].SLOs = append(list[i].SLOs, name)
				}
			}
			return list
		}
	}
	return append(list, DuplicateSeries{SLOs: slices.Clone(slos), Series: labels})
}

// maxListedDuplicates caps Stats.Duplicates.
const maxListedDuplicates = 20

// duplicateHint is the advice logged with a flagged series.
const duplicateHint = "two replicas without dedup? set the selector to one replica, or dedup with a replica label in Prometheus/Thanos"

// refusal is why a series is not tracked.
type refusal int

const (
	refusedGroupCap  refusal = iota // its group was refused (max_groups)
	refusedSeriesCap                // the SLO tracks max_series already
)

// NewPuller validates the targets against the engine and builds the
// query plan: one query per unique expression, one counter tracker per
// unique (expression, le, gauge condition or native threshold) tuple.
func NewPuller(q Querier, eng *evaluator.Engine, targets []Target, cfg PullerConfig) (*Puller, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Puller{q: q, eng: eng, cfg: cfg, iv: cfg.Interval.Milliseconds(),
		forget: cfg.ForgetAfter.Milliseconds(), log: cfg.Logger, m: cfg.Metrics}
	if p.m == nil {
		p.m, _ = NewPullerMetrics(nil) // unregistered: cannot fail
	}
	if p.log == nil {
		p.log = zap.NewNop()
	}
	p.overlap = p.iv
	p.client = q
	p.refusedUnions = map[string]bool{}
	idx := planIndex{queries: map[string]int{}, sources: map[string]int{}, usedSLO: map[int]bool{}}
	var errs []error
	for ti := range targets {
		if err := p.addTarget(&idx, ti, targets[ti]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, q := range p.queries {
		q.parent = -1
	}
	if !cfg.NoSharedReads {
		if err := p.shareReads(); err != nil {
			return nil, err
		}
	}
	p.alignReadPeriods()
	p.planReads()
	p.publish()
	return p, nil
}

// withDefaults returns cfg with its zero fields set to their defaults, or
// an error naming a field whose value cannot work.
func (cfg PullerConfig) withDefaults() (PullerConfig, error) {
	if cfg.Interval < time.Second {
		return cfg, fmt.Errorf("puller: interval %s: must be at least 1s", cfg.Interval)
	}
	if cfg.MaxPoints == 0 {
		cfg.MaxPoints = DefaultMaxPoints
	}
	if cfg.MaxPoints < 2 {
		return cfg, fmt.Errorf("puller: max points %d: must be at least 2", cfg.MaxPoints)
	}
	if cfg.MaxSamples <= 0 {
		cfg.MaxSamples = DefaultMaxSamples
	}
	if cfg.ForgetAfter <= 0 {
		cfg.ForgetAfter = max(time.Hour, 10*cfg.Interval)
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	if cfg.Fanout <= 0 {
		cfg.Fanout = DefaultFanout
	}
	return cfg, nil
}

// planIndex finds, while NewPuller builds the plan, the query of an
// expression and the source of a selector already planned, and the SLOs
// that have a target.
type planIndex struct {
	queries map[string]int // by expression, plus "\xffsampled" for gauges
	sources map[string]int // by sourceKey
	usedSLO map[int]bool
}

// addTarget validates target t (the ti-th given) and adds it to the plan
// with a source per selector, or returns why it cannot be.
func (p *Puller) addTarget(idx *planIndex, ti int, t Target) error {
	if t.SLO < 0 || t.SLO >= p.eng.Len() {
		return fmt.Errorf("target %d: slo index %d: the engine has %d SLOs", ti, t.SLO, p.eng.Len())
	}
	spec := p.eng.Spec(t.SLO)
	if idx.usedSLO[t.SLO] {
		return fmt.Errorf("slo %s: more than one target", spec.Name)
	}
	idx.usedSLO[t.SLO] = true
	if err := t.validate(spec.Name); err != nil {
		return err
	}
	ts := &targetState{Target: t, name: spec.Name, period: spec.Period.Milliseconds(), byKey: map[string]int{}}
	ts.GroupBy = append([]string(nil), t.GroupBy...)
	for r, sel := range []Selector{t.Good, t.Valid, t.Bad} {
		if sel.IsZero() {
			continue
		}
		si := p.sourceFor(idx, sel)
		s := p.sources[si]
		s.consumers = append(s.consumers, consumer{target: len(p.targets), role: role(r)})
		s.maxPeriod = max(s.maxPeriod, ts.period)
		ts.sources = append(ts.sources, si)
		ts.roles = append(ts.roles, role(r))
	}
	p.targets = append(p.targets, ts)
	return nil
}

// sourceFor returns the index of selector sel's source, adding it (and
// the query of its expression, if new) to the plan when it is not there.
func (p *Puller) sourceFor(idx *planIndex, sel Selector) int {
	expr := strings.TrimSpace(sel.Expr)
	raw := sel.Gauge == nil
	qkey := expr
	if !raw {
		qkey += "\xffsampled"
	}
	qi, ok := idx.queries[qkey]
	if !ok {
		qi = len(p.queries)
		idx.queries[qkey] = qi
		p.queries = append(p.queries, &query{expr: expr, raw: raw})
	}
	key := sourceKey(sel)
	if si, ok := idx.sources[key]; ok {
		return si
	}
	si := len(p.sources)
	idx.sources[key] = si
	s := &source{q: qi, sel: Selector{Expr: expr, LE: sel.LE, Gauge: sel.Gauge, NativeLE: sel.NativeLE},
		series: map[uint64]*seriesInfo{}}
	if sel.NativeLE != nil {
		s.native = newNativeCounter(p.cfg.ForgetAfter)
		s.tracker = s.native
	} else {
		s.tracker = newIncrementer(sel, p.cfg.ForgetAfter, p.cfg.MaxIncreaseRate)
	}
	if sel.LE != nil {
		s.le = &leMatcher{want: *sel.LE}
	}
	p.sources = append(p.sources, s)
	p.queries[qi].sources = append(p.queries[qi].sources, si)
	return si
}

// alignReadPeriods gives the sources of one read the longest period among
// them: they are backfilled together, from the same start, since the
// first pull of a query carries the baselines of all its series.
func (p *Puller) alignReadPeriods() {
	for qi, q := range p.queries {
		if q.parent >= 0 {
			continue
		}
		var longest int64
		fam := p.family(qi)
		for _, si := range fam {
			longest = max(longest, p.sources[si].maxPeriod)
		}
		for _, si := range fam {
			p.sources[si].maxPeriod = longest
		}
	}
}

// Queries returns the unique expressions the puller queries, in plan
// order.
func (p *Puller) Queries() []string {
	out := make([]string, len(p.queries))
	for i, q := range p.queries {
		out[i] = q.expr
	}
	return out
}

// TickResult reports one Tick.
type TickResult struct {
	// Time is the pinned evaluation time.
	Time time.Time
	// Queries is the number of requests sent (a union of selectors is
	// one; see "Union reads"); Failed how many failed.
	Queries, Failed int
	// Errors are the failed queries' errors (*QueryError) and source
	// errors such as a missing le boundary.
	Errors []error
	// Up and Down count targets whose pulls all succeeded, or not.
	Up, Down int
	// GapSteps is the number of steps backfilled for an outage before this
	// tick's data was recorded.
	GapSteps int
	// Duration is the wall time of the tick.
	Duration time.Duration
}

// Tick pulls every target at the pinned time t. A counter or native
// histogram expression is read as raw samples: every sample stored since
// the previous pull (and a little before it, so that samples ingested late
// are not missed; each raw sample still counts once), so a counter reset
// between two ticks loses nothing. A gauge expression is read as one
// instant query at t. Targets whose queries all succeeded record their
// increments for (previous success, t]; the others record nothing, get
// data_up false, and keep the increments already taken from their
// successful queries for their next successful pull. When a source comes
// back after missing pulls, the gap is backfilled first, so that its
// events land in the right buckets.
func (p *Puller) Tick(ctx context.Context, t time.Time) TickResult {
	start := time.Now()
	tms := t.UnixMilli()
	res := TickResult{Time: t}
	pulled, npts, errs, sent := p.pullAll(ctx, t)
	p.c.ticks++
	ok, inputs := p.tickInputs(pulled, npts, errs, sent, &res)
	p.backfillGaps(ctx, t, ok, &res)
	p.step(tms, inputs, ok)
	p.setDataUp(ok, &res)
	p.publish()
	res.Duration = time.Since(start)
	return res
}

// pullAll reads every query at the pinned time t through the tick's reads
// (see planReads), at most cfg.Fanout at once: a raw query its samples
// since rawFrom, a sampled one its value at t. A query read with its
// parent gets its part of the parent's read, or the parent's error. It
// returns per query the points, the samples read (0 for those read with
// their parent) and the error, and the error (nil: success) of every
// request sent.
func (p *Puller) pullAll(ctx context.Context, t time.Time) (pulled [][]point, npts []int, errs, sent []error) {
	pulled = make([][]point, len(p.queries))
	errs = make([]error, len(p.queries))
	npts = make([]int, len(p.queries))
	sent = p.readAll(ctx, t, p.reads, pulled, npts, errs)
	sent = append(sent, p.splitFailedUnions(ctx, t, pulled, npts, errs)...)
	for qi, q := range p.queries {
		if q.parent >= 0 {
			errs[qi] = errs[q.parent]
			if errs[qi] == nil {
				pulled[qi] = q.filter.filter(nil, pulled[q.parent])
			}
		}
	}
	return pulled, npts, errs, sent
}

// readAll sends reads, filling pulled, npts and errs of their queries, and
// returns each read's error.
func (p *Puller) readAll(ctx context.Context, t time.Time, reads []union, pulled [][]point, npts []int, errs []error) []error {
	tms := t.UnixMilli()
	sent := make([]error, len(reads))
	p.fanout(len(reads), func(ri int) {
		r := reads[ri]
		if q := p.queries[r.members[0]]; !q.raw {
			v, err := p.q.Query(ctx, q.expr, t)
			qi := r.members[0]
			pulled[qi], npts[qi], errs[qi], sent[ri] = vectorPoints(v, tms), len(v), err, err
			return
		}
		from := tms
		for _, qi := range r.members {
			from = min(from, p.rawFrom(qi, tms))
		}
		m, err := p.q.RawSamples(withSelectors(ctx, len(r.members)), r.sel, time.UnixMilli(from), t)
		sent[ri] = err
		for _, qi := range r.members {
			errs[qi] = err // a retry's answer replaces its union's error
		}
		if err != nil {
			return
		}
		npts[r.members[0]] = matrixSamples(m) // the request's samples, counted once
		if len(r.members) == 1 {
			pulled[r.members[0]] = matrixPoints(m)
			return
		}
		var in []int
		r.fit(len(m))
		for _, ss := range m {
			in = r.matching(ss.Metric, in[:0])
			if len(in) == 0 {
				continue
			}
			pt := point{fp: uint64(ss.Metric.Fingerprint()), metric: ss.Metric, vals: ss.Values, hists: ss.Histograms}
			for _, i := range in {
				pulled[r.members[i]] = append(pulled[r.members[i]], pt)
			}
		}
	})
	return sent
}

// splitFailedUnions reads again, one by one, the members of every union
// whose read failed in a way a smaller read may not (the answer was
// refused, or the server rejected the request: too many series, too long a
// selector). When one of them succeeds alone, the union is what failed:
// it is refused for good (refuseUnion) and the tick's reads no longer send
// it. When all fail, the server is what failed, and the union is kept.
func (p *Puller) splitFailedUnions(ctx context.Context, t time.Time, pulled [][]point, npts []int, errs []error) []error {
	var retry, failed []union
	for _, r := range p.reads {
		if len(r.members) < 2 || errs[r.members[0]] == nil || !splitMayHelp(errs[r.members[0]]) {
			continue
		}
		failed = append(failed, r)
		retry = append(retry, p.singles(r, p.queryExpr)...)
	}
	if len(retry) == 0 || ctx.Err() != nil {
		return nil
	}
	sent := p.readAll(ctx, t, retry, pulled, npts, errs)
	for _, r := range failed {
		if slices.ContainsFunc(r.members, func(qi int) bool { return errs[qi] == nil }) {
			p.refuseUnion(r)
		}
	}
	p.reads = p.withoutRefused(p.reads, p.queryExpr)
	return sent
}

// queryExpr returns query qi's expression.
func (p *Puller) queryExpr(qi int) string { return p.queries[qi].expr }

// splitMayHelp reports whether a union's failure may be the union's own:
// an answer refused or over a limit, or a request the server rejected.
func splitMayHelp(err error) bool {
	switch ReasonOf(err) {
	case ReasonBadResponse, ReasonBadData, ReasonHTTP4xx:
		return true
	}
	return false
}

// tickInputs hands each source the points of its query, ok when the query
// succeeded, and counts the requests sent, their failures (also in res)
// and the samples read.
func (p *Puller) tickInputs(pulled [][]point, npts []int, errs, sent []error, res *TickResult) (ok []bool, inputs [][]point) {
	for _, err := range sent {
		p.c.queries++
		res.Queries++
		if err != nil {
			p.c.queryErrors++
			res.Failed++
			res.Errors = append(res.Errors, err)
		}
	}
	ok = make([]bool, len(p.sources))
	inputs = make([][]point, len(p.sources))
	for qi, q := range p.queries {
		if errs[qi] != nil {
			continue
		}
		if q.parent < 0 {
			p.c.points += uint64(npts[qi])
		}
		for _, si := range q.sources {
			ok[si] = true
			inputs[si] = pulled[qi]
		}
	}
	return ok, inputs
}

// backfillGaps backfills outage gaps before the tick at t: a source that
// answers now (ok) but missed pulls since its last one is backfilled up to
// the previous step first. A failed gap backfill is reported in res and
// logged; the gap's events then land at this tick.
func (p *Puller) backfillGaps(ctx context.Context, t time.Time, ok []bool, res *TickResult) {
	tms := t.UnixMilli()
	var gap []int
	var gapFrom []int64
	for si, s := range p.sources {
		last, started := s.tracker.Last()
		if !ok[si] || !started || last >= tms-p.iv {
			continue
		}
		gap = append(gap, si)
		gapFrom = append(gapFrom, max(last+p.iv, tms-s.maxPeriod))
	}
	if len(gap) == 0 {
		return
	}
	p.c.gapBackfills++
	steps, err := p.backfill(ctx, gap, gapFrom, tms-p.iv, nil)
	res.GapSteps = steps
	if err != nil {
		p.c.gapErrors++
		res.Errors = append(res.Errors, fmt.Errorf("backfilling the gap before %s: %w", t.UTC().Format(time.RFC3339), err))
		p.log.Warn("outage gap backfill failed; the gap's events are counted at this tick", zap.Time("t", t), zap.Error(err))
	}
}

// setDataUp sets, after a tick's step, each target's data_up: up when
// every one of its sources was pulled (ok), had no source error and not
// every new sample refused, and its valid selector had series when its
// good or bad one did. The errors and the counts of targets up and down
// go to res.
func (p *Puller) setDataUp(ok []bool, res *TickResult) {
	for si, s := range p.sources {
		if s.err != nil {
			ok[si] = false
			res.Errors = append(res.Errors, s.err)
		} else if s.refused != nil {
			ok[si] = false // the numbers of its targets are not current
			res.Errors = append(res.Errors, s.refused)
		}
	}
	for _, ts := range p.targets {
		up := true
		for _, si := range ts.sources {
			up = up && ok[si]
		}
		if up {
			if err := p.checkValid(ts); err != nil {
				up = false
				res.Errors = append(res.Errors, err)
			}
		}
		p.eng.SetDataUp(ts.SLO, up)
		if up {
			res.Up++
		} else {
			res.Down++
		}
	}
}

// fanout runs f(0..n-1) with at most cfg.Fanout running at once.
func (p *Puller) fanout(n int, f func(i int)) {
	sem := make(chan struct{}, p.cfg.Fanout)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

// rawFrom is where a tick at t starts reading a raw query's samples
// (exclusive): the earliest last pull of its sources, moved back by one
// interval for samples that were ingested after that pull (they still
// count once: the trackers drop what they consumed before). A source
// without a pull yet reads back ForgetAfter, to find every series'
// baseline. After an outage the gap is backfilled separately, so a tick
// never reads back more than two intervals for a started source.
func (p *Puller) rawFrom(qi int, t int64) int64 {
	from := t
	for _, si := range p.family(qi) {
		last, started := p.sources[si].tracker.Last()
		if !started {
			from = min(from, t-p.forget)
			continue
		}
		from = min(from, max(last, t-p.iv)-p.overlap)
	}
	return min(from, t-p.iv)
}

// vectorPoints converts an instant vector at t into points of one sample
// each: floats, and native histograms (each source keeps the kind it
// reads).
func vectorPoints(v model.Vector, t int64) []point {
	pts := make([]point, 0, len(v))
	for _, s := range v {
		pt := point{fp: uint64(s.Metric.Fingerprint()), metric: s.Metric}
		if s.Histogram != nil {
			pt.hists = []model.SampleHistogramPair{{Timestamp: model.Time(t), Histogram: s.Histogram}}
		} else {
			pt.vals = []model.SamplePair{{Timestamp: model.Time(t), Value: s.Value}}
		}
		pts = append(pts, pt)
	}
	return pts
}

// matrixPoints converts a matrix of raw samples into points.
func matrixPoints(m model.Matrix) []point {
	pts := make([]point, 0, len(m))
	for _, ss := range m {
		pts = append(pts, point{fp: uint64(ss.Metric.Fingerprint()), metric: ss.Metric, vals: ss.Values, hists: ss.Histograms})
	}
	return pts
}

// matrixSamples counts the samples of a matrix.
func matrixSamples(m model.Matrix) int {
	n := 0
	for _, ss := range m {
		n += len(ss.Values) + len(ss.Histograms)
	}
	return n
}

// step processes one pull at time t: inputs[si] are source si's samples,
// used when ok[si]. Ticks and every backfill step go through here. A
// source whose tracker is already at or past t (its increments up to t
// were taken before) is skipped. Afterwards each target records its
// pending pulls up to the point all its sources have reached.
func (p *Puller) step(t int64, inputs [][]point, ok []bool) {
	p.c.steps++
	touched := false
	for si, s := range p.sources {
		s.err, s.refused = nil, nil
		if ok[si] && p.pullSource(s, t, inputs[si]) {
			touched = true
		}
	}
	if touched {
		p.stepsSince++
		if int64(p.stepsSince)*p.iv >= p.forget {
			p.stepsSince = 0
			p.pruneSeries(t)
		}
		for _, ts := range p.targets {
			p.flush(ts)
		}
	}
	if p.cfg.AfterStep != nil {
		p.cfg.AfterStep(time.UnixMilli(t))
	}
}

// pullSource feeds source s its points of the pull at t into its tracker
// and adds the increments to its consumers' pending pulls. It returns
// false, doing nothing, when the tracker is already at or past t or the
// pull fails the source's le or native threshold checks (s.err then says
// why). When samples came but every one was refused, s.refused says so.
func (p *Puller) pullSource(s *source, t int64, input []point) bool {
	last, started := s.tracker.Last()
	if started && last >= t {
		return false
	}
	pts := p.ofKind(s, input)
	if s.le != nil && !p.checkLE(s, t, pts) {
		return false
	}
	if s.native != nil && !p.deriveNative(s, pts) {
		return false
	}
	s.tracker.Begin(t)
	before := s.tracker.Stats()
	ents := p.consumerEntries(s, t, last, started)
	accepted := p.observePoints(s, t, pts, ents)
	p.reportDuplicates(s, pts)
	s.tracker.End()
	// Samples came but every one was refused (NaN, infinite, negative,
	// implausible) and none became a baseline: the pull succeeded, but
	// its numbers are not current. Tick reports its targets down; a
	// backfill goes on. A staleness marker is not such a sample (see
	// staleMarkers).
	if after := s.tracker.Stats(); !accepted && after.InvalidSamples > before.InvalidSamples+staleMarkers(pts) && after.NewSeries == before.NewSeries {
		s.refused = fmt.Errorf("selector %s: all %d new samples were refused as invalid (NaN, infinite, negative or an implausible increase)",
			s.sel, after.InvalidSamples-before.InvalidSamples)
	}
	return true
}

// staleMarkers counts the series of pts whose last sample is a NaN after
// a number (or alone): the staleness marker a server writes when a series
// stops being scraped. Prometheus drops them from range selectors;
// VictoriaMetrics returns them, and JSON cannot tell them from a NaN the
// counter itself exposed. One NaN that ends a series is a marker; NaN
// after NaN is the counter's own, and refused.
func staleMarkers(pts []point) uint64 {
	var n uint64
	for _, pt := range pts {
		k := len(pt.vals)
		if k > 0 && math.IsNaN(float64(pt.vals[k-1].Value)) && (k == 1 || !math.IsNaN(float64(pt.vals[k-2].Value))) {
			n++
		}
	}
	return n
}

// consumerEntries returns, per consumer of source s, its target's pending
// pull at t (in p.scratch). When the source skipped pulls since its last
// one (at last), the target's pending pulls in between join the one at t,
// since the source's increment covers (last, t]: the target's roles stay
// consistent (good never runs ahead of valid).
func (p *Puller) consumerEntries(s *source, t, last int64, started bool) []*entry {
	ents := p.scratch[:0]
	for range s.consumers {
		ents = append(ents, nil)
	}
	p.scratch = ents
	for ci, c := range s.consumers {
		ts := p.targets[c.target]
		ents[ci] = ts.entryAt(p, t)
		if started && t-last > p.iv {
			ts.mergeInto(p, last, ents[ci])
		}
	}
	return ents
}

// observePoints feeds the series of pts to source s's tracker at step t
// and adds each series' increment to its group, in the consumers' entries
// ents, for the source's role. Series new to the source are admitted (or
// refused at the caps), refused ones retried after refusedRetry; series
// that fail the source's filter or are refused are skipped. It counts the
// matching series in s.matched and returns whether the tracker counted
// any sample.
func (p *Puller) observePoints(s *source, t int64, pts []point, ents []*entry) (accepted bool) {
	s.matched = 0
	nv := 0 // index into s.nvals
	for i := range pts {
		pt := &pts[i]
		info := s.series[pt.fp]
		if info == nil {
			info = p.newSeries(s, pt.fp, pt.metric, t)
		} else if info.refused && t-info.refusedAt >= refusedRetry.Milliseconds() {
			info = p.readmit(s, pt.fp, pt.metric, t)
		}
		if !info.match {
			continue
		}
		s.matched++
		info.seen = t
		if info.refused {
			continue // over a cap: no counter state at all
		}
		inc, counted := observeSamples(s, pt, &nv)
		accepted = accepted || counted
		for ci, c := range s.consumers {
			if info.groups[ci] < 0 {
				continue // refused by this consumer's caps
			}
			sums := ents[ci].at(info.groups[ci]) // a slot even without an increment
			if counted {
				sums[c.role] += inc
			}
		}
	}
	return accepted
}

// observeSamples feeds the samples of one series of source s, pt, to the
// source's tracker and returns their increment and whether any sample was
// counted. A native source observes its histograms' values derived in
// s.nvals, from index *nv on, and moves *nv past them.
func observeSamples(s *source, pt *point, nv *int) (inc float64, counted bool) {
	if s.native != nil {
		for _, h := range pt.hists {
			d, c := s.native.observe(pt.fp, int64(h.Timestamp), s.nvals[*nv], float64(h.Histogram.Count))
			*nv++
			inc += d
			counted = counted || c
		}
		return inc, counted
	}
	for _, sp := range pt.vals {
		d, c := s.tracker.ObserveSample(pt.fp, int64(sp.Timestamp), float64(sp.Value))
		inc += d
		counted = counted || c
	}
	return inc, counted
}

// checkValid returns an error when a target's good or bad selector had
// series at the tick just pulled but its valid selector none: no valid
// events can be counted, so the good ones would be clamped away. For a
// latency SLI this is a histogram without _count.
func (p *Puller) checkValid(ts *targetState) error {
	var other, valid *source
	for i, si := range ts.sources {
		if ts.roles[i] == roleValid {
			valid = p.sources[si]
		} else {
			other = p.sources[si]
		}
	}
	if other == nil || valid == nil || other.matched == 0 || valid.matched > 0 {
		return nil
	}
	p.c.missingValid++
	hint := "check that the valid selector matches the same series as the good one"
	if other.sel.LE != nil {
		hint = "a classic histogram exposes _count next to _bucket; is the histogram's name right?"
	}
	return fmt.Errorf("slo %s: selector %s returned %d series but the valid selector %s none, so no valid events can be counted; %s",
		ts.name, other.sel, other.matched, valid.sel.Expr, hint)
}

// checkLE reports whether a bucket source has series with the wanted
// boundary, or no series at all. Otherwise it sets s.err with the
// boundaries that exist.
func (p *Puller) checkLE(s *source, t int64, pts []point) bool {
	if len(pts) == 0 {
		return true
	}
	for i := range pts {
		info := s.series[pts[i].fp]
		if info == nil {
			info = p.newSeries(s, pts[i].fp, pts[i].metric, t)
		}
		if info.match {
			return true
		}
	}
	metrics := make([]model.Metric, len(pts))
	for i := range pts {
		metrics[i] = pts[i].metric
	}
	p.c.leErrors++
	b := leBoundaries(metrics)
	if len(b) == 0 {
		s.err = fmt.Errorf("selector %s: %d series but none has an le label: le needs a histogram _bucket selector", s.sel, len(pts))
	} else {
		s.err = fmt.Errorf("selector %s: no bucket with le=%v; the boundaries that exist are %s",
			s.sel, s.le.want, strings.Join(b, ", "))
	}
	return false
}

// newSeries registers a series of source s: its le match and, for each
// consumer, its group (created in the engine if new).
func (p *Puller) newSeries(s *source, fp uint64, m model.Metric, t int64) *seriesInfo {
	info := &seriesInfo{match: true, groups: make([]int, len(s.consumers)), seen: t}
	if s.le != nil {
		info.match, _ = s.le.match(m)
	}
	if info.match {
		p.admit(s, info, m, t, true)
	}
	s.series[fp] = info
	return info
}

// admit decides, for each consumer of source s, whether a new series is
// tracked: its group must exist or be created under the SLO's group cap,
// and the SLO must track fewer than its MaxSeries. A series no consumer
// admits is refused: it gets no counter state. count: count and log the
// refusals (not on a retry of a series refused before).
func (p *Puller) admit(s *source, info *seriesInfo, m model.Metric, t int64, count bool) {
	info.refused = true
	for ci, c := range s.consumers {
		ts := p.targets[c.target]
		info.groups[ci] = -1
		if ts.MaxSeries > 0 && ts.tracked[c.role] >= max(ts.MaxSeries/len(ts.sources), 1) {
			p.refuseSeries(ts, refusedSeriesCap, m, count)
			continue
		}
		gi := ts.groupOf(p, m, t)
		gs := ts.groups[gi]
		if gs.g == nil && gs.refused && t-gs.refusedAt >= refusedRetry.Milliseconds() {
			p.createGroup(ts, gs, t)
		}
		if gs.g == nil && gs.refused {
			p.refuseSeries(ts, refusedGroupCap, m, count)
			continue
		}
		info.groups[ci] = gi
		ts.tracked[c.role]++
		info.refused = false
	}
	if info.refused {
		info.refusedAt = t
	}
}

// readmit tries a refused series again (its SLOs may have room now).
func (p *Puller) readmit(s *source, fp uint64, m model.Metric, t int64) *seriesInfo {
	info := s.series[fp]
	p.admit(s, info, m, t, false)
	return info
}

// refuseSeries counts a series a target refused and logs the first one
// refused at max_series per target (createGroup logs the group cap).
func (p *Puller) refuseSeries(ts *targetState, why refusal, m model.Metric, count bool) {
	if !count {
		return
	}
	p.c.seriesRefused[why]++
	if ts.capLogged[why] {
		return
	}
	ts.capLogged[why] = true
	if why == refusedGroupCap {
		return // createGroup logged the cap
	}
	p.log.Warn("too many series: series over the SLO's max_series are not tracked", zap.String("slo", ts.name),
		zap.Int("max_series", ts.MaxSeries), zap.Stringer("series", m))
}

// reportDuplicates logs the series of source s that its tracker's
// duplicate-replica guard flagged or cleared in this pull, and keeps the
// flagged ones for Stats.
func (p *Puller) reportDuplicates(s *source, pts []point) {
	fc, ok := s.tracker.(interface{ FlagChanges() []counters.FlagChange })
	if !ok || len(fc.FlagChanges()) == 0 {
		return
	}
	changes := fc.FlagChanges()
	want := make(map[uint64]bool, len(changes))
	for _, ch := range changes {
		want[ch.Key] = true
	}
	labels := make(map[uint64]string, len(changes))
	for i := range pts {
		if want[pts[i].fp] {
			labels[pts[i].fp] = pts[i].metric.String()
		}
	}
	slos := p.sourceSLOs(s)
	if s.flagged == nil {
		s.flagged = map[uint64]string{}
	}
	for _, ch := range changes {
		if !ch.Flagged {
			delete(s.flagged, ch.Key)
			p.log.Info("series behaves again: its increments count again", zap.Strings("slos", slos),
				zap.String("selector", s.sel.String()), zap.String("series", labels[ch.Key]), zap.Int("samples_without_reset", counters.DuplicateWindow))
			continue
		}
		s.flagged[ch.Key] = labels[ch.Key]
		p.log.Warn("series resets on nearly every sample: its increments are not counted", zap.Strings("slos", slos),
			zap.String("selector", s.sel.String()), zap.String("series", labels[ch.Key]), zap.Int("resets", ch.Resets), zap.Int("of_samples", counters.DuplicateWindow),
			zap.String("hint", duplicateHint))
	}
}

// sourceSLOs names the SLOs that read source s.
func (p *Puller) sourceSLOs(s *source) []string {
	var out []string
	for _, c := range s.consumers {
		if name := p.targets[c.target].name; !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// pruneSeries drops cached series not seen for ForgetAfter, and the shared
// reads' cached matches (they are rebuilt as series come).
func (p *Puller) pruneSeries(t int64) {
	for _, q := range p.queries {
		if q.filter != nil {
			clear(q.filter.seen)
		}
	}
	for _, s := range p.sources {
		for fp, info := range s.series {
			if t-info.seen > p.forget {
				for ci, gi := range info.groups {
					if gi >= 0 && info.match {
						c := s.consumers[ci]
						p.targets[c.target].tracked[c.role]--
					}
				}
				delete(s.series, fp)
				delete(s.flagged, fp)
			}
		}
	}
}

// groupOf returns the index of the target's group for metric m, creating
// it (and its engine group) when new.
func (ts *targetState) groupOf(p *Puller, m model.Metric, t int64) int {
	var labels []evaluator.Label
	var key string
	if len(ts.GroupBy) > 0 {
		labels = make([]evaluator.Label, len(ts.GroupBy))
		var b strings.Builder
		for i, name := range ts.GroupBy {
			v := string(m[model.LabelName(name)])
			labels[i] = evaluator.Label{Name: name, Value: v}
			b.WriteString(v)
			b.WriteByte(0xff)
		}
		key = b.String()
	}
	if gi, ok := ts.byKey[key]; ok {
		return gi
	}
	gs := &groupState{labels: labels}
	gi := len(ts.groups)
	ts.groups = append(ts.groups, gs)
	ts.byKey[key] = gi
	p.createGroup(ts, gs, t)
	return gi
}

// createGroup asks the engine for the group; over the SLO's cap it counts,
// logs once per SLO and remembers the refusal.
func (p *Puller) createGroup(ts *targetState, gs *groupState, t int64) bool {
	g, err := p.eng.Group(ts.SLO, gs.labels, t)
	if err != nil {
		p.c.groupsRefused++
		gs.refused, gs.refusedAt = true, t
		if !ts.logged {
			ts.logged = true
			p.log.Warn("too many groups: series of new groups are not tracked and their events are dropped", zap.String("slo", ts.name),
				zap.Int("max_groups", p.eng.Spec(ts.SLO).MaxGroups), zap.Any("group", gs.labels), zap.Error(err))
		}
		return false
	}
	gs.g, gs.refused = g, false
	return true
}

// entryAt returns the target's pending entry for time t, creating it.
func (ts *targetState) entryAt(p *Puller, t int64) *entry {
	for i := len(ts.pending) - 1; i >= 0; i-- {
		e := ts.pending[i]
		if e.t == t {
			return e
		}
		if e.t < t {
			break
		}
	}
	e := p.newEntry(t)
	// Pulls arrive in time order per source; keep the list sorted anyway.
	i := len(ts.pending)
	for i > 0 && ts.pending[i-1].t > t {
		i--
	}
	ts.pending = append(ts.pending, nil)
	copy(ts.pending[i+1:], ts.pending[i:])
	ts.pending[i] = e
	if len(ts.pending) > p.cfg.MaxPending {
		// Merge the oldest pull into the next: nothing is lost, it only
		// lands later.
		a, b := ts.pending[0], ts.pending[1]
		for gi := range a.sums {
			sb := b.at(gi)
			for r := range sb {
				sb[r] += a.sums[gi][r]
			}
		}
		ts.pending = ts.pending[1:]
		p.freeEntry(a)
		p.c.merged++
	}
	return e
}

// mergeInto adds the target's pending entries with after < t < dst.t into
// dst and drops them.
func (ts *targetState) mergeInto(p *Puller, after int64, dst *entry) {
	kept := ts.pending[:0]
	for _, e := range ts.pending {
		if e.t <= after || e.t >= dst.t {
			kept = append(kept, e)
			continue
		}
		for gi := range e.sums {
			sd := dst.at(gi)
			for r := range sd {
				sd[r] += e.sums[gi][r]
			}
		}
		p.freeEntry(e)
	}
	clear(ts.pending[len(kept):])
	ts.pending = kept
}

// at returns the sums of group gi, growing the entry as needed.
func (e *entry) at(gi int) *[3]float64 {
	if gi >= len(e.sums) {
		if gi < cap(e.sums) {
			old := len(e.sums)
			e.sums = e.sums[:gi+1]
			clear(e.sums[old:])
		} else {
			e.sums = append(e.sums, make([][3]float64, gi+1-len(e.sums))...)
		}
	}
	return &e.sums[gi]
}

func (p *Puller) newEntry(t int64) *entry {
	if n := len(p.entryPool); n > 0 {
		e := p.entryPool[n-1]
		p.entryPool = p.entryPool[:n-1]
		e.t, e.sums = t, e.sums[:0]
		return e
	}
	return &entry{t: t}
}

func (p *Puller) freeEntry(e *entry) { p.entryPool = append(p.entryPool, e) }

// flush records the target's pending entries that every source of the
// target has reached, in time order.
func (p *Puller) flush(ts *targetState) {
	var through int64
	for i, si := range ts.sources {
		last, started := p.sources[si].tracker.Last()
		if !started {
			return
		}
		if i == 0 || last < through {
			through = last
		}
	}
	n := 0
	for _, e := range ts.pending {
		if e.t > through {
			break
		}
		p.record(ts, e)
		p.freeEntry(e)
		n++
	}
	if n > 0 {
		rest := copy(ts.pending, ts.pending[n:])
		clear(ts.pending[rest:])
		ts.pending = ts.pending[:rest]
	}
}

// record writes one complete entry into the engine: every known group
// gets (last record, e.t], with zeros where it had no increments, so that
// coverage shows the pull succeeded. The first entry of a target only sets
// the start: its increments belong to an interval nobody observed.
func (p *Puller) record(ts *targetState, e *entry) {
	if !ts.hasRec {
		ts.lastRec, ts.hasRec = e.t, true
		return
	}
	from := ts.lastRec
	ts.lastRec = e.t
	for gi, gs := range ts.groups {
		var sum [3]float64
		if gi < len(e.sums) {
			sum = e.sums[gi]
		}
		good, valid := ts.values(p, sum)
		if gs.g == nil {
			if good == 0 && valid == 0 {
				continue // expired or refused, and nothing to say
			}
			if gs.refused && e.t-gs.refusedAt < refusedRetry.Milliseconds() {
				p.c.droppedValid += valid
				continue
			}
			if !p.createGroup(ts, gs, e.t) {
				p.c.droppedValid += valid
				continue
			}
		}
		err := gs.g.Record(from, e.t, good, valid)
		if errors.Is(err, evaluator.ErrGroupExpired) {
			gs.g = nil
			if good == 0 && valid == 0 {
				continue // stays dormant until it has events again
			}
			if !p.createGroup(ts, gs, e.t) {
				p.c.droppedValid += valid
				continue
			}
			err = gs.g.Record(from, e.t, good, valid)
		}
		if err != nil {
			p.c.recordErrors++
			p.log.Debug("record refused", zap.String("slo", ts.name), zap.Any("group", gs.labels), zap.Error(err))
		}
	}
}

// values turns a group's role sums into good and valid events.
func (ts *targetState) values(p *Puller, s [3]float64) (good, valid float64) {
	switch {
	case ts.Bad.IsZero():
		return s[roleGood], s[roleValid]
	case ts.Good.IsZero():
		good = s[roleValid] - s[roleBad]
		if good < 0 {
			p.c.negativeGood++
			good = 0
		}
		return good, s[roleValid]
	default:
		return s[roleGood], s[roleGood] + s[roleBad]
	}
}

// publish copies the counts into the Stats that other goroutines read and
// adds what was counted since the previous call to the self-metrics.
func (p *Puller) publish() {
	s := Stats{
		Ticks: p.c.ticks, Steps: p.c.steps, GapBackfills: p.c.gapBackfills, GapBackfillErrors: p.c.gapErrors,
		Queries: p.c.queries, QueryErrors: p.c.queryErrors, PointsFetched: p.c.points, LEErrors: p.c.leErrors,
		GroupsRefused: p.c.groupsRefused, DroppedValidEvents: p.c.droppedValid, NegativeGood: p.c.negativeGood,
		RecordErrors: p.c.recordErrors, MergedPending: p.c.merged,
		NativeErrors: p.c.nativeErrors, SkippedSamples: p.c.skipped, MissingValid: p.c.missingValid,
		SeriesRefusedGroups: p.c.seriesRefused[refusedGroupCap], SeriesRefusedCap: p.c.seriesRefused[refusedSeriesCap],
		BackfillSlots: p.c.bfSlots, BackfillQueries: p.c.bfQueries, BackfillSamples: p.c.bfSamples, BackfillBytes: p.c.bfBytes, BackfillSeconds: p.c.bfSeconds,
	}
	s.Counters = p.counterStats()
	for _, src := range p.sources {
		s.SeriesTracked += src.tracker.Len()
		for _, labels := range src.flagged {
			s.Duplicates = addDuplicate(s.Duplicates, labels, p.sourceSLOs(src))
		}
	}
	s.DuplicateSeries = len(s.Duplicates)
	slices.SortFunc(s.Duplicates, func(a, b DuplicateSeries) int { return strings.Compare(a.Series, b.Series) })
	s.Duplicates = s.Duplicates[:min(len(s.Duplicates), maxListedDuplicates)]
	for _, ts := range p.targets {
		s.Groups += len(ts.groups)
	}
	p.m.add(&p.sent, &p.c, &p.sentCounters, &s.Counters)
	p.m.dupSeries.Set(float64(s.DuplicateSeries))
	p.sent, p.sentCounters = p.c, s.Counters
	p.statsMu.Lock()
	p.pub = s
	p.statsMu.Unlock()
}

// counterStats sums the counter trackers' stats.
func (p *Puller) counterStats() counters.Stats {
	var sum counters.Stats
	for _, src := range p.sources {
		cs := src.tracker.Stats()
		sum.Resets += cs.Resets
		sum.InvalidSamples += cs.InvalidSamples
		sum.ImplausibleSamples += cs.ImplausibleSamples
		sum.RefusedPulls += cs.RefusedPulls
		sum.NewSeries += cs.NewSeries
		sum.ForgottenSeries += cs.ForgottenSeries
		sum.DuplicateFlags += cs.DuplicateFlags
		sum.DuplicateSamples += cs.DuplicateSamples
		sum.DroppedEvents += cs.DroppedEvents
	}
	return sum
}

// Stats returns the counts as of the end of the last Tick or backfill
// chunk. It is safe to call from any goroutine.
func (p *Puller) Stats() Stats {
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	return p.pub
}
