package evaluator

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/slo-exporter/slo-exporter/internal/windows"
)

// Stats counts what the engine refused or corrected. Fields only grow.
type Stats struct {
	// Clamped counts records whose good events exceeded valid ones and were
	// clamped to valid.
	Clamped uint64
	// OutOfOrder counts records that ended at or before the group's last one.
	OutOfOrder uint64
	// Invalid counts records with NaN, infinite or negative values.
	Invalid uint64
	// GroupsRefused counts attempts to create a group over an SLO's cap.
	GroupsRefused uint64
	// GroupsExpired counts groups dropped after a period without data.
	GroupsExpired uint64
}

// ErrGroupExpired is returned by Group.Record after the group aged out; the
// caller must ask Engine.Group again.
var ErrGroupExpired = errors.New("group expired")

// ErrTooManyGroups is returned by Engine.Group when the SLO's cap is reached.
var ErrTooManyGroups = errors.New("too many groups")

// ErrComposite is returned by Engine.Group for a composite SLO, which
// records no events of its own.
var ErrComposite = errors.New("a composite SLO records no events; record its components")

// Engine holds the counts of every SLO and group and evaluates them. It is
// not safe for concurrent use: one driver goroutine records and evaluates,
// and readers use the immutable snapshots it returns.
type Engine struct {
	slos  []*sloState
	stats Stats
}

type sloState struct {
	spec       *Spec
	layout     *windows.Layout
	windows    []time.Duration // reported windows
	layoutIdx  []int           // layout index of each reported window
	periodIdx  int             // reported index of the rolling period; -1 for calendar SLOs
	exhaustIdx int
	tiers      []TierResult
	tierIdx    [][2]int // long, short window indices per tier
	groups     map[string]*Group
	order      []*Group // sorted by key
	dataUp     bool
	comps      []compState // a composite's components
}

// compState is one component of a composite as the engine evaluates it.
type compState struct {
	slo    int
	weight float64
	win    []int // the component's window index of each of the composite's windows
}

// Group is the counts of one label-value group of an SLO (the SLO itself
// when it is not grouped).
type Group struct {
	key     string
	labels  []Label
	counts  *windows.Counts
	engine  *Engine
	slice   *sliceAcc // nil unless the SLO budgets time slices
	created int64
	expired bool
}

// sliceAcc accumulates the events of the time slice being filled.
type sliceAcc struct {
	target      float64
	len         int64 // ms
	index       int64 // slice k covers (k·len, (k+1)·len]
	good, valid float64
	open        bool
}

// New validates the specs and builds an engine with empty counts.
func New(interval time.Duration, specs []Spec) (*Engine, error) {
	e := &Engine{}
	var errs []error
	for i := range specs {
		s, err := newSLOState(interval, specs[i])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		e.slos = append(e.slos, s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for i, s := range e.slos {
		if s.spec.Composite != nil {
			if err := e.link(i); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return e, nil
}

// link resolves composite i's components and checks that each has the
// composite's budget period and every one of its windows.
func (e *Engine) link(i int) error {
	s := e.slos[i]
	errf := func(format string, a ...any) error {
		return fmt.Errorf("slo %q: "+format, append([]any{s.spec.Name}, a...)...)
	}
	seen := map[int]bool{}
	for _, c := range s.spec.Composite.Components {
		if c.SLO < 0 || c.SLO >= len(e.slos) {
			return errf("composite component %d: the engine has %d SLOs", c.SLO, len(e.slos))
		}
		cs := e.slos[c.SLO]
		name := cs.spec.Name
		switch {
		case c.SLO == i:
			return errf("a composite cannot be its own component")
		case seen[c.SLO]:
			return errf("composite component %q listed twice", name)
		case cs.spec.Composite != nil:
			return errf("composite component %q is a composite itself; composites do not nest", name)
		case cs.spec.Calendar != s.spec.Calendar || cs.spec.Period != s.spec.Period ||
			(s.spec.Calendar != "" && locName(cs.spec.Location) != locName(s.spec.Location)):
			return errf("composite component %q budgets over %s, the composite over %s: they must be the same",
				name, cs.spec.periodName(), s.spec.periodName())
		}
		seen[c.SLO] = true
		cp := compState{slo: c.SLO, weight: c.Weight}
		if cp.weight == 0 {
			cp.weight = 1
		}
		var missing []string
		for _, w := range s.windows {
			j := slices.Index(cs.windows, w)
			if j < 0 {
				missing = append(missing, slo.FormatWindow(w))
			}
			cp.win = append(cp.win, j)
		}
		if len(missing) > 0 {
			return errf("composite component %q does not keep the window(s) %s: a composite's windows must be windows of every component",
				name, strings.Join(missing, ", "))
		}
		s.comps = append(s.comps, cp)
	}
	return nil
}

func locName(l *time.Location) string {
	if l == nil {
		return "UTC"
	}
	return l.String()
}

// periodName describes the budget period in errors: "30d" or "month in UTC".
func (s *Spec) periodName() string {
	if s.Calendar != "" {
		return fmt.Sprintf("calendar %s in %s", s.Calendar, locName(s.Location))
	}
	return "a rolling " + slo.FormatWindow(s.Period)
}

func newSLOState(interval time.Duration, spec Spec) (*sloState, error) {
	if spec.Zones == nil {
		spec.Zones = slo.DefaultZones()
	}
	if spec.ExhaustionWindow == 0 {
		spec.ExhaustionWindow = time.Hour
	}
	if spec.MaxGroups == 0 {
		spec.MaxGroups = 1000
	}
	spec.Tiers = slices.Clone(spec.Tiers)
	if err := spec.validate(); err != nil {
		return nil, err
	}
	if ts := spec.TimeSlice; ts != nil && ts.Length%interval != 0 {
		return nil, fmt.Errorf("slo %q: time slice length %s: must be a multiple of the evaluation interval %s",
			spec.Name, ts.Length, interval)
	}
	// Reported windows: the configured ones, the exhaustion and tier
	// windows, and the rolling period. A calendar SLO's layout also holds
	// the unit's longest period, for SumSince, without reporting it.
	ws := append(slices.Clone(spec.Windows), spec.ExhaustionWindow)
	for _, t := range spec.Tiers {
		ws = append(ws, t.LongWindow, t.ShortWindow)
	}
	if spec.Calendar == "" {
		ws = append(ws, spec.Period)
	}
	slices.Sort(ws)
	ws = slices.Compact(ws)
	layout, err := windows.NewLayout(interval, append(slices.Clone(ws), spec.Period))
	if err != nil {
		return nil, fmt.Errorf("slo %q: %w", spec.Name, err)
	}
	s := &sloState{spec: &spec, layout: layout, windows: ws, groups: map[string]*Group{}}
	index := func(w time.Duration) int { return slices.Index(ws, w) }
	for _, w := range ws {
		s.layoutIdx = append(s.layoutIdx, layout.Index(w))
	}
	s.periodIdx = -1
	if spec.Calendar == "" {
		s.periodIdx = index(spec.Period)
	}
	s.exhaustIdx = index(spec.ExhaustionWindow)
	for _, t := range spec.Tiers {
		s.tiers = append(s.tiers, TierResult{Tier: t, Threshold: t.Threshold(spec.Period)})
		s.tierIdx = append(s.tierIdx, [2]int{index(t.LongWindow), index(t.ShortWindow)})
	}
	return s, nil
}

// Len returns the number of SLOs.
func (e *Engine) Len() int { return len(e.slos) }

// Spec returns SLO i's spec, with defaults filled in. Do not modify it.
func (e *Engine) Spec(i int) *Spec { return e.slos[i].spec }

// Layout returns SLO i's window layout.
func (e *Engine) Layout(i int) *windows.Layout { return e.slos[i].layout }

// Stats returns a copy of the engine's counts so far.
func (e *Engine) Stats() Stats { return e.stats }

// Groups returns the number of groups of SLO i.
func (e *Engine) Groups(i int) int { return len(e.slos[i].groups) }

// Group returns SLO i's group with these labels, creating it if needed.
// Labels must be in the SLO's group_by order; nil for an ungrouped SLO.
// now (unix ms) dates a new group for ageing out. Over the SLO's cap it
// returns ErrTooManyGroups and counts it.
func (e *Engine) Group(i int, labels []Label, now int64) (*Group, error) {
	s := e.slos[i]
	if s.spec.Composite != nil {
		return nil, ErrComposite
	}
	key := groupKey(labels)
	if g, ok := s.groups[key]; ok {
		return g, nil
	}
	if len(s.groups) >= s.spec.MaxGroups {
		e.stats.GroupsRefused++
		return nil, ErrTooManyGroups
	}
	g := &Group{key: key, labels: slices.Clone(labels), counts: s.layout.New(), engine: e, created: now}
	if ts := s.spec.TimeSlice; ts != nil {
		g.slice = &sliceAcc{target: ts.Target, len: ts.Length.Milliseconds()}
	}
	s.groups[key] = g
	at, _ := slices.BinarySearchFunc(s.order, key, func(g *Group, k string) int { return strings.Compare(g.key, k) })
	s.order = slices.Insert(s.order, at, g)
	return g, nil
}

func groupKey(labels []Label) string {
	var b strings.Builder
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(0xff)
		}
		b.WriteString(l.Name)
		b.WriteByte('=')
		b.WriteString(l.Value)
	}
	return b.String()
}

// Labels returns the group's labels.
func (g *Group) Labels() []Label { return g.labels }

// Last returns the end of the group's last record (unix ms) and whether it
// has one.
func (g *Group) Last() (int64, bool) { return g.counts.Last() }

// Record adds the events of the interval (from, to], unix ms. good is
// clamped to valid (and counted); out-of-order and invalid records are
// refused and counted, and never reach the windows.
func (g *Group) Record(from, to int64, good, valid float64) error {
	if g.expired {
		return ErrGroupExpired
	}
	if math.IsNaN(good) || math.IsNaN(valid) || math.IsInf(good, 0) || math.IsInf(valid, 0) || good < 0 || valid < 0 {
		g.engine.stats.Invalid++
		return fmt.Errorf("invalid increment good=%v valid=%v", good, valid)
	}
	if good > valid {
		g.engine.stats.Clamped++
		good = valid
	}
	if g.slice != nil {
		return g.recordSlice(from, to, good, valid)
	}
	err := g.counts.Record(from, to, good, valid)
	if errors.Is(err, windows.ErrOutOfOrder) {
		g.engine.stats.OutOfOrder++
	}
	return err
}

// recordSlice accumulates events into the current time slice and, when a
// slice is complete, records it as one valid event, good when its ratio
// meets the target. A slice without valid events is not recorded: it is
// neither good nor bad, and its time is not counted as seen.
func (g *Group) recordSlice(from, to int64, good, valid float64) error {
	sl := g.slice
	if last, ok := g.counts.Last(); (ok && to <= last) || (sl.open && to <= sl.index*sl.len) {
		g.engine.stats.OutOfOrder++
		return windows.ErrOutOfOrder
	}
	k := ceilDivMs(to, sl.len) - 1
	if sl.open && k != sl.index {
		if err := g.closeSlice(); err != nil {
			return err
		}
	}
	if !sl.open {
		sl.index, sl.good, sl.valid, sl.open = k, 0, 0, true
	}
	sl.good += good
	sl.valid += valid
	if to == (k+1)*sl.len {
		return g.closeSlice()
	}
	return nil
}

func (g *Group) closeSlice() error {
	sl := g.slice
	sl.open = false
	if sl.valid == 0 {
		return nil
	}
	good := 0.0
	if sl.good/sl.valid >= sl.target {
		good = 1
	}
	return g.counts.Record(sl.index*sl.len, (sl.index+1)*sl.len, good, 1)
}

func ceilDivMs(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}

// Adopt moves SLO j's groups (their window counts, time slices and ages)
// and data_up from engine `from` into this engine's SLO i, for a reload
// that keeps the SLO unchanged: the counts go on where they were, with no
// backfill. Both SLOs must have the same spec (period, windows, time
// slices) and the engines the same interval; anything else is an error and
// moves nothing. Afterwards `from` no longer has the groups; its SLO j
// must not be recorded again.
func (e *Engine) Adopt(i int, from *Engine, j int) error {
	s, o := e.slos[i], from.slos[j]
	if s.spec.Composite != nil || o.spec.Composite != nil {
		if (s.spec.Composite == nil) != (o.spec.Composite == nil) {
			return fmt.Errorf("slo %q: adopting a composite from a simple SLO or the reverse", s.spec.Name)
		}
		s.dataUp = o.dataUp
		return nil
	}
	if s.layout.Interval() != o.layout.Interval() || !slices.Equal(s.layout.Windows(), o.layout.Windows()) ||
		(s.spec.TimeSlice == nil) != (o.spec.TimeSlice == nil) ||
		(s.spec.TimeSlice != nil && *s.spec.TimeSlice != *o.spec.TimeSlice) {
		return fmt.Errorf("slo %q: cannot adopt the counts of %q: their windows, interval or time slices differ", s.spec.Name, o.spec.Name)
	}
	if len(s.groups) > 0 {
		return fmt.Errorf("slo %q: cannot adopt counts: it already has %d groups", s.spec.Name, len(s.groups))
	}
	s.groups, s.order, s.dataUp = o.groups, o.order, o.dataUp
	for _, g := range s.order {
		g.engine = e
	}
	o.groups, o.order = map[string]*Group{}, nil
	return nil
}

// SetDataUp records whether the last pull for SLO i succeeded.
func (e *Engine) SetDataUp(i int, up bool) { e.slos[i].dataUp = up }

// Evaluate computes every SLO and group at time t and returns the snapshot.
// Groups with no record for a whole period are dropped first. t must not be
// before the last recorded time for exact results.
func (e *Engine) Evaluate(t time.Time) *Snapshot {
	now := t.UnixMilli()
	snap := &Snapshot{Time: t, SLOs: make([]SLOResult, len(e.slos))}
	for i, s := range e.slos {
		if s.spec.Composite == nil {
			e.expire(s, now)
			snap.SLOs[i] = s.evaluate(now)
		}
	}
	// Composites after their components, from the components' results.
	for i, s := range e.slos {
		if s.spec.Composite != nil {
			snap.SLOs[i] = s.evaluateComposite(now, snap.SLOs)
		}
	}
	snap.Stats = e.stats
	return snap
}

func (e *Engine) expire(s *sloState, now int64) {
	period := s.spec.Period.Milliseconds()
	kept := s.order[:0]
	for _, g := range s.order {
		last, ok := g.counts.Last()
		if !ok {
			last = g.created
		}
		if now-last > period {
			g.expired = true
			delete(s.groups, g.key)
			e.stats.GroupsExpired++
			continue
		}
		kept = append(kept, g)
	}
	clear(s.order[len(kept):])
	s.order = kept
}

// header returns the SLO's result without groups, and where its budget
// period starts (unix ms).
func (s *sloState) header(now int64) (SLOResult, int64) {
	res := SLOResult{
		Spec: s.spec, Windows: s.windows, Tiers: s.tiers, DataUp: s.dataUp,
		Period: s.spec.Period,
	}
	var periodStart int64
	if s.spec.Calendar != "" {
		// Windows are (t-W, t]: the instant a period ends still belongs to it.
		start, end := s.spec.Calendar.Period(time.UnixMilli(now-1), s.spec.Location)
		res.PeriodStart, res.Period = start, end.Sub(start)
		periodStart = start.UnixMilli()
		res.Tiers = slices.Clone(s.tiers)
		for i := range res.Tiers {
			res.Tiers[i].Threshold = res.Tiers[i].Tier.Threshold(res.Period)
		}
	} else {
		res.PeriodStart = time.UnixMilli(now - s.spec.Period.Milliseconds())
	}
	return res, periodStart
}

func (s *sloState) evaluate(now int64) SLOResult {
	nw, nt := len(s.windows), len(s.tiers)
	res, periodStart := s.header(now)
	res.Groups = make([]GroupResult, len(s.order))
	ws := make([]WindowResult, len(s.order)*nw)
	alerts := make([]bool, len(s.order)*nt)
	errBudget := 1 - s.spec.Objective
	for gi, g := range s.order {
		gr := &res.Groups[gi]
		gr.Labels = g.labels
		gr.Windows = ws[gi*nw : (gi+1)*nw : (gi+1)*nw]
		gr.Alerts = alerts[gi*nt : (gi+1)*nt : (gi+1)*nt]
		for wi, li := range s.layoutIdx {
			sum := g.counts.Sum(li, now)
			gr.Windows[wi] = windowResult(sum, float64(s.windows[wi].Milliseconds()), errBudget)
		}
		if s.periodIdx < 0 {
			gr.Period = windowResult(g.counts.SumSince(periodStart, now), float64(now-periodStart), errBudget)
		}
		s.finish(gr, &res)
	}
	return res
}

// finish computes a group's alerts, rolling period, budget and zone from
// its windows (and, for a calendar SLO, its Period already set).
func (s *sloState) finish(gr *GroupResult, res *SLOResult) {
	for ti, idx := range s.tierIdx {
		long, short := gr.Windows[idx[0]], gr.Windows[idx[1]]
		th := res.Tiers[ti].Threshold
		gr.Alerts[ti] = long.HasSLI && short.HasSLI && long.BurnRate > th && short.BurnRate > th
	}
	if s.periodIdx >= 0 {
		gr.Period = gr.Windows[s.periodIdx]
	}
	gr.Budget, gr.Zone = s.budget(gr.Period, gr.Windows[s.exhaustIdx], res.Period)
}

// evaluateComposite combines the components' results (all, indexed like
// the engine's SLOs, already evaluated) into the composite's one group.
// The composite has no group until a component has one; it is up when
// every component is.
func (s *sloState) evaluateComposite(now int64, all []SLOResult) SLOResult {
	res, _ := s.header(now)
	res.Composite, res.DataUp = true, true
	parts := make([]*GroupResult, len(s.comps))
	found := false
	for k, c := range s.comps {
		cr := &all[c.slo]
		res.DataUp = res.DataUp && cr.DataUp
		for gi := range cr.Groups {
			if len(cr.Groups[gi].Labels) == 0 {
				parts[k], found = &cr.Groups[gi], true
				break
			}
		}
	}
	if !found {
		res.Groups = []GroupResult{}
		return res
	}
	gr := GroupResult{Windows: make([]WindowResult, len(s.windows)), Alerts: make([]bool, len(s.tiers))}
	for wi := range s.windows {
		gr.Windows[wi] = s.combine(func(k int) *WindowResult {
			if parts[k] == nil {
				return nil
			}
			return &parts[k].Windows[s.comps[k].win[wi]]
		})
	}
	if s.periodIdx < 0 {
		gr.Period = s.combine(func(k int) *WindowResult {
			if parts[k] == nil {
				return nil
			}
			return &parts[k].Period
		})
	}
	s.finish(&gr, &res)
	res.Groups = []GroupResult{gr}
	return res
}

// combine computes one window of a composite from its components' results
// in that window (at(k) is component k's, nil when it has no group). Good
// and Valid become the combination's numerator and denominator (weights,
// not events): sum w_i SLI_i and sum w_i, or the product of the SLIs and 1.
// Coverage is the weighted mean of the components' coverages.
func (s *sloState) combine(at func(k int) *WindowResult) WindowResult {
	product := s.spec.Composite.Combine == CombineProduct
	num, den, cov, wsum := 0.0, 0.0, 0.0, 0.0
	if product {
		num = 1
	}
	for k, c := range s.comps {
		wt := c.weight
		if product {
			wt = 1
		}
		wsum += wt
		r := at(k)
		if r == nil {
			continue
		}
		cov += wt * r.Coverage
		if !r.HasSLI {
			continue
		}
		if product {
			num, den = num*r.SLI, 1
		} else {
			num, den = num+wt*r.SLI, den+wt
		}
	}
	if den == 0 {
		num = 0
	}
	w := WindowResult{Good: num, Valid: den, Coverage: cov / wsum}
	setSLI(&w, 1-s.spec.Objective)
	return w
}

func windowResult(sum windows.Sum, lengthMs, errBudget float64) WindowResult {
	w := WindowResult{Good: sum.Good, Valid: sum.Valid}
	if lengthMs > 0 {
		w.Coverage = min(1, max(0, sum.Seen/lengthMs))
	}
	setSLI(&w, errBudget)
	return w
}

// setSLI sets the SLI and burn rate from Good and Valid.
func setSLI(w *WindowResult, errBudget float64) {
	if w.Valid > 0 {
		w.HasSLI = true
		w.SLI = w.Good / w.Valid
		w.BurnRate = (1 - w.SLI) / errBudget
	}
}

func (s *sloState) budget(p, ex WindowResult, period time.Duration) (Budget, int) {
	if !p.HasSLI {
		return Budget{}, -1
	}
	b := Budget{OK: true}
	b.Allowed = (1 - s.spec.Objective) * p.Valid
	b.Bad = p.Valid - p.Good
	b.RemainingEvents = b.Allowed - b.Bad
	b.RemainingRatio = 1 - b.Bad/b.Allowed
	if ex.HasSLI && ex.BurnRate > 0 {
		b.HasExhaustion = true
		if b.RemainingRatio > 0 {
			b.ExhaustionSeconds = b.RemainingRatio * period.Seconds() / ex.BurnRate
		}
	}
	return b, slo.ZoneIndex(s.spec.Zones, b.RemainingRatio)
}
