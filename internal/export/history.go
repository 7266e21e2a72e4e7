package export

import (
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// Bounds of the status page's history. A point is a timestamp, one burn
// rate per window and the budget remaining: about 100 bytes with the
// reference SLOs' 8 windows, so a group's history takes at most about
// 25 KB and the whole history at most about 25 MB, whatever the traffic and
// however long the process runs.
const (
	// DefaultHistoryPoints is the number of points kept per group.
	DefaultHistoryPoints = 256
	// DefaultHistoryGroups is the number of groups (over all SLOs) with a
	// history; groups seen after the cap is reached get none until others
	// disappear.
	DefaultHistoryGroups = 1000
)

// History keeps, for the status page's charts, a bounded series of
// snapshots per SLO group: one point per evaluation until maxPoints are
// kept, then every other point is dropped and only every second
// evaluation is recorded, and so on. The points so stay evenly spaced and
// always cover the time since the process started (or since the group
// appeared), at a resolution that halves each time the buffer fills.
//
// The exporter keeps its own history instead of querying Prometheus so that
// the page works without a query path to Prometheus and shows exactly the
// values the exporter computed.
type History struct {
	mu                   sync.Mutex
	maxPoints, maxGroups int
	// groups are keyed by a hash of the SLO name and group labels, which
	// costs no allocation per group and tick; each entry keeps its full key
	// to tell a (very unlikely) collision from the same group.
	seed   maphash.Seed
	groups map[uint64]*groupHistory
	// seen is the set of hashes of the current snapshot, kept between calls.
	seen map[uint64]struct{}
}

// groupHistory is one group's points.
type groupHistory struct {
	key     string // groupKey
	windows []time.Duration
	points  []historyPoint
	// stride is how many evaluations one point stands for; skip counts the
	// evaluations left out since the last recorded one.
	stride, skip int
}

// historyPoint is one evaluation of a group. Missing values are NaN.
type historyPoint struct {
	t         time.Time
	burn      []float64 // one per window
	remaining float64
}

// NewHistory returns an empty history with the given bounds; values below
// 2 points or 0 groups are raised to those.
func NewHistory(maxPoints, maxGroups int) *History {
	return &History{maxPoints: max(maxPoints, 2), maxGroups: max(maxGroups, 0), seed: maphash.MakeSeed(),
		groups: map[uint64]*groupHistory{}, seen: map[uint64]struct{}{}}
}

// hash is the map key of a group.
func (h *History) hash(slo string, labels []evaluator.Label) uint64 {
	var m maphash.Hash
	m.SetSeed(h.seed)
	m.WriteString(slo)
	for _, l := range labels {
		m.WriteByte(0)
		m.WriteString(l.Name)
		m.WriteByte(0)
		m.WriteString(l.Value)
	}
	return m.Sum64()
}

// sameGroup reports whether gh is the history of that group (and not of
// one whose hash collides), comparing with its key without building it.
func (gh *groupHistory) sameGroup(slo string, labels []evaluator.Label) bool {
	k := gh.key
	eat := func(s string) bool {
		if !strings.HasPrefix(k, s) {
			return false
		}
		k = k[len(s):]
		return true
	}
	if !eat(slo) {
		return false
	}
	for _, l := range labels {
		if !eat("\x00") || !eat(l.Name) || !eat("\x00") || !eat(l.Value) {
			return false
		}
	}
	return k == ""
}

// groupKey identifies a group of an SLO.
func groupKey(slo string, labels []evaluator.Label) string {
	var b strings.Builder
	b.WriteString(slo)
	for _, l := range labels {
		b.WriteByte(0)
		b.WriteString(l.Name)
		b.WriteByte(0)
		b.WriteString(l.Value)
	}
	return b.String()
}

// Record adds snap's values. Groups absent from snap are forgotten, so an
// SLO removed by a reload frees its share of the bound.
func (h *History) Record(snap *evaluator.Snapshot) {
	if snap == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	// Forget the groups snap no longer holds first, so that their slots
	// serve new groups at once.
	clear(h.seen)
	for i := range snap.SLOs {
		r := &snap.SLOs[i]
		for j := range r.Groups {
			h.seen[h.hash(r.Spec.Name, r.Groups[j].Labels)] = struct{}{}
		}
	}
	for k := range h.groups {
		if _, ok := h.seen[k]; !ok {
			delete(h.groups, k)
		}
	}
	for i := range snap.SLOs {
		r := &snap.SLOs[i]
		for j := range r.Groups {
			g := &r.Groups[j]
			k := h.hash(r.Spec.Name, g.Labels)
			gh := h.groups[k]
			if gh != nil && !gh.sameGroup(r.Spec.Name, g.Labels) {
				continue // another group with the same hash has the slot
			}
			if gh != nil && !slices.Equal(gh.windows, r.Windows) {
				delete(h.groups, k) // windows changed by a reload: start over
				gh = nil
			}
			if gh == nil {
				if len(h.groups) >= h.maxGroups {
					continue
				}
				gh = &groupHistory{key: groupKey(r.Spec.Name, g.Labels), windows: slices.Clone(r.Windows), stride: 1}
				h.groups[k] = gh
			}
			gh.add(snap.Time, g, h.maxPoints)
		}
	}
}

// add records one evaluation, thinning when the buffer is full.
func (gh *groupHistory) add(t time.Time, g *evaluator.GroupResult, maxPoints int) {
	if gh.skip > 0 {
		gh.skip--
		return
	}
	p := historyPoint{t: t, burn: make([]float64, len(g.Windows)), remaining: math.NaN()}
	for k := range g.Windows {
		p.burn[k] = math.NaN()
		if w := &g.Windows[k]; w.HasSLI && finite(w.BurnRate) {
			p.burn[k] = w.BurnRate
		}
	}
	if g.Budget.OK && finite(g.Budget.RemainingRatio) {
		p.remaining = g.Budget.RemainingRatio
	}
	gh.points = append(gh.points, p)
	gh.skip = gh.stride - 1
	if n := len(gh.points); n >= maxPoints {
		// Keep the even points; the next one is due where the next even
		// point would have been, counted in evaluations from this one.
		kept := gh.points[:0]
		for i := 0; i < n; i += 2 {
			kept = append(kept, gh.points[i])
		}
		next := 2 * len(kept) // index, among the old points, of the next one
		gh.skip = (next-(n-1))*gh.stride - 1
		clear(gh.points[len(kept):n])
		gh.points = kept
		gh.stride *= 2
	}
}

// points returns a copy of a group's points, oldest first.
func (h *History) points(slo string, labels []evaluator.Label) []historyPoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	gh := h.groups[h.hash(slo, labels)]
	if gh == nil || !gh.sameGroup(slo, labels) {
		return nil
	}
	return slices.Clone(gh.points)
}

// len returns the number of groups with a history.
func (h *History) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.groups)
}
