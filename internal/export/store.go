package export

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/policy"
)

// SLOInfo is the descriptive part of an SLO that the evaluator does not
// know: it goes on slo_info only, so that editing it never changes the
// identity of any other series.
type SLOInfo struct {
	// Kind is the SLI kind, exported as sli_kind (e.g. "ratio", "latency").
	Kind string
	// Labels are metadata labels such as owner, team or tier. Names that
	// are not valid Prometheus label names, or that clash with slo,
	// service or sli_kind, are left out.
	Labels map[string]string
	// Cost, optional, prices one bad event: the JSON API shows the cost of
	// the budget spent and left. It is not exported on /metrics.
	Cost *CostInfo
}

// CostInfo is the price of one bad event of an SLO.
type CostInfo struct {
	PerEvent float64
	Currency string
}

// Histogram is a distribution in the shape the scrape package keeps:
// Counts[i] is the number of observations in (Bounds[i-1], Bounds[i]] and
// the last entry those above the last bound, so len(Counts) is
// len(Bounds)+1. Counts are per bucket, not cumulative.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Sum    float64
	Count  uint64
}

// total is the number of observations: Count, or the sum of Counts if
// that is larger, so that the exported buckets stay cumulative.
func (h *Histogram) total() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return max(n, h.Count)
}

// Self is the daemon's own statistics, exported as slo_exporter_* series.
// Counters are totals since the process started.
type Self struct {
	// QueryDuration observes the wall time of each query in seconds.
	QueryDuration Histogram
	// QueryErrors counts failed queries by reason; the daemon passes every
	// known reason, with 0 for those that never happened.
	QueryErrors map[string]uint64
	// Queries counts the queries issued; Points the samples they returned.
	Queries, Points uint64
	// EvalDuration is the wall time of the last evaluation.
	EvalDuration time.Duration
	// BackfillRatio is the start-up backfill's progress in [0, 1].
	BackfillRatio float64
	// BackfillQueries, BackfillSamples, BackfillBytes and BackfillSeconds
	// are what backfills cost since the process started: queries, samples
	// returned, response bytes and wall time.
	BackfillQueries, BackfillSamples, BackfillBytes uint64
	BackfillSeconds                                 float64
	// TrackedSeries is the number of source series whose counters are
	// followed.
	TrackedSeries int
	// ReloadOK reports whether the last configuration load succeeded;
	// ReloadTime is when the last successful one happened.
	ReloadOK   bool
	ReloadTime time.Time
	// Engine counts records the engine clamped (good > valid), refused as
	// out of order or invalid, and groups it refused (cap) or expired.
	Clamped, OutOfOrder, Invalid, GroupsRefused, GroupsExpired uint64
	// Counter resets seen, invalid samples skipped and pulls refused by the
	// counter trackers.
	CounterResets, InvalidSamples, RefusedPulls uint64
	// PullErrors counts selector pulls refused because the data cannot
	// give exact events, by reason (le_boundary, native_boundary,
	// missing_valid); the daemon passes every reason, with 0 for those that
	// never happened.
	PullErrors map[string]uint64
	// SkippedSamples counts samples whose kind did not fit their selector.
	SkippedSamples uint64
}

// Store holds the latest snapshot and self-statistics. Writers replace
// them atomically; readers never block.
type Store struct {
	cur     atomic.Pointer[published]
	self    atomic.Pointer[Self]
	policy  atomic.Pointer[policy.Policy]
	profile Profile
	// history feeds the status page's charts (see History for its bounds).
	history *History
}

// published is one snapshot with its metadata and the compressed text of
// its slo_* series, shared by every gzipped scrape until the next one.
type published struct {
	snap *evaluator.Snapshot
	info map[string]SLOInfo
	// policy is the store's policy when the snapshot was published; the
	// slo_policy_* series of the snapshot use it.
	policy policy.Policy
	// sizeHint is the previous snapshot's compressed size, to allocate the
	// buffer once. Atomic: the next SetSnapshot reads it while this
	// snapshot may still be compressed.
	sizeHint atomic.Int64
	// gzOnce and gz: the slo_* text as one gzip member, made by warm or
	// the first gzipped scrape. The uncompressed text is never held: a
	// scrape without gzip streams it from the snapshot.
	gzOnce sync.Once
	gz     []byte
	// profile selects the slo_* families rendered.
	profile Profile
	// warmed is closed when Store.warm has finished with this snapshot.
	warmed chan struct{}
}

// NewStore returns an empty store: /metrics shows only self-metrics until
// the first snapshot.
func NewStore() *Store { return NewStoreProfile(ProfileDefault) }

// NewStoreProfile returns an empty store whose /metrics carries the slo_*
// series of profile.
func NewStoreProfile(profile Profile) *Store {
	return &Store{profile: profile, history: NewHistory(DefaultHistoryPoints, DefaultHistoryGroups)}
}

// SetSnapshot publishes a snapshot. info gives each SLO's kind and
// metadata by SLO name; SLOs missing from it get an empty kind. Neither
// may be modified afterwards. SLOs absent from snap disappear from every
// output at once.
func (s *Store) SetSnapshot(snap *evaluator.Snapshot, info map[string]SLOInfo) {
	p := &published{snap: snap, info: info, profile: s.profile, policy: s.Policy(), warmed: make(chan struct{})}
	if old := s.cur.Load(); old != nil {
		p.sizeHint.Store(old.sizeHint.Load())
	}
	s.cur.Store(p)
	s.history.Record(snap)
	go s.warm(p)
}

// warm renders and compresses p's slo_* series off the scrape path, so that
// a gzipped scrape serves bytes made once per snapshot instead of paying
// for them inside Prometheus's scrape timeout. It gives up when a newer
// snapshot replaced p first. A scrape that arrives before warm is done
// waits on the same sync.Once and does not render twice.
func (s *Store) warm(p *published) {
	defer close(p.warmed)
	if s.cur.Load() != p {
		return
	}
	p.sloGzip()
}

// SetSelf publishes the daemon's statistics; st must not be modified
// afterwards.
func (s *Store) SetSelf(st *Self) { s.self.Store(st) }

// Snapshot returns the latest snapshot and its metadata; nil before the
// first.
func (s *Store) Snapshot() (*evaluator.Snapshot, map[string]SLOInfo) {
	p := s.cur.Load()
	if p == nil {
		return nil, nil
	}
	return p.snap, p.info
}

// Self returns the latest statistics; nil before the first.
func (s *Store) Self() *Self { return s.self.Load() }
