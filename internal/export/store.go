package export

import (
	"sync"
	"sync/atomic"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/policy"
	"github.com/slo-exporter/slo-exporter/internal/slo"
)

// SLOInfo is the descriptive part of an SLO that the evaluator does not
// know: it goes on slo_info only, so that editing it never changes the
// identity of any other series.
type SLOInfo struct {
	// Kind is the SLI kind, exported as sli_kind (e.g. "ratio", "latency").
	Kind slo.SLIKind
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

// Store holds the latest snapshot. Writers replace it atomically; readers
// never block.
type Store struct {
	cur     atomic.Pointer[published]
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

// NewStore returns an empty store: /metrics shows no slo_* series until
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

// Snapshot returns the latest snapshot and its metadata; nil before the
// first.
func (s *Store) Snapshot() (*evaluator.Snapshot, map[string]SLOInfo) {
	p := s.cur.Load()
	if p == nil {
		return nil, nil
	}
	return p.snap, p.info
}
