package daemon

import (
	"context"
	"reflect"
	"time"

	"go.uber.org/zap"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
)

// build is a reloaded configuration's runtime on its way to replace the
// running one.
type build struct {
	rt  *runtime
	old *runtime // the runtime it was compared with and takes state from
	// carried are the SLOs whose state moves from old; composites holds
	// the identical composites (they have no state but data_up).
	carried    map[string]bool
	composites map[string]bool
	// temp backfills the new and changed SLOs into rt's engine; nil when
	// there are none.
	temp   *scrape.Puller
	to     time.Time // where temp's backfill ended
	cancel context.CancelFunc
}

// prepare compares rt with the running runtime and decides which SLOs
// keep their state (see sameSLO and scrape.Puller.Carryable); the others
// get a puller of their own for their backfill.
func (d *Daemon) prepare(rt *runtime) *build {
	old := d.cur
	b := &build{rt: rt, old: old, composites: map[string]bool{}}
	oldIndex := map[string]int{}
	for i, s := range old.plan.Specs {
		oldIndex[s.Name] = i
	}
	candidates := map[string]bool{}
	if sameSource(old, rt) {
		for i, s := range rt.plan.Specs {
			oi, ok := oldIndex[s.Name]
			if !ok || !sameSLO(old, oi, rt, i) {
				continue
			}
			if s.Composite != nil {
				b.composites[s.Name] = true
			} else {
				candidates[s.Name] = true
			}
		}
	}
	b.carried = rt.puller.Carryable(old.puller, candidates)
	var changed []scrape.Target
	for _, t := range rt.plan.Targets {
		if !b.carried[rt.plan.Specs[t.SLO].Name] {
			changed = append(changed, t)
		}
	}
	if len(changed) > 0 {
		temp, err := scrape.NewPuller(rt.client, rt.engine, changed, rt.pcfg)
		if err != nil {
			// The same targets built rt.puller: this cannot fail. Should it,
			// nothing is carried and the whole runtime is backfilled.
			d.log.Error("building the backfill of the changed SLOs failed; backfilling every SLO", zap.Error(err))
			b.carried = map[string]bool{}
			temp = rt.puller
		}
		b.temp = temp
	}
	d.log.Info("reload: SLOs kept and backfilled", zap.Int("kept", len(b.carried)), zap.Int("backfilled", len(changed)))
	return b
}

// take moves the state of the carried SLOs from b.old (idle) into b.rt,
// and that of the backfilled ones from b.temp, and returns the carried
// SLOs.
func (b *build) take(log *zap.Logger) map[string]bool {
	old, rt := b.old, b.rt
	oldIndex := map[string]int{}
	for i, s := range old.plan.Specs {
		oldIndex[s.Name] = i
	}
	for i, s := range rt.plan.Specs {
		if !b.carried[s.Name] && !b.composites[s.Name] {
			continue
		}
		if err := rt.engine.Adopt(i, old.engine, oldIndex[s.Name]); err != nil {
			// sameSLO compared the specs: this cannot happen.
			log.Error("keeping an SLO's counts failed", zap.String("slo", s.Name), zap.Error(err))
		}
	}
	rt.puller.TakeState(old.puller, b.carried)
	rt.pulled = old.pulled
	if b.temp != nil && b.temp != rt.puller {
		changed := map[string]bool{}
		for _, s := range rt.plan.Specs {
			if !b.carried[s.Name] {
				changed[s.Name] = true
			}
		}
		rt.puller.TakeState(b.temp, changed)
	}
	if b.temp != nil && b.to.Before(rt.pulled) {
		rt.pulled = b.to
	}
	return b.carried
}

// sameSource reports whether two runtimes read the same data the same
// way: Prometheus URL and client configuration, evaluation interval, query
// offset and plausibility bound.
func sameSource(a, b *runtime) bool {
	ga, gb := a.cfg.Global, b.cfg.Global
	return a.cfg.Prometheus.URL == b.cfg.Prometheus.URL &&
		reflect.DeepEqual(a.cfg.Prometheus.HTTPClientConfig, b.cfg.Prometheus.HTTPClientConfig) &&
		a.plan.Interval == b.plan.Interval && ga.QueryOffset == gb.QueryOffset &&
		ga.MaxIncreaseRate == gb.MaxIncreaseRate && ga.Backfill == gb.Backfill
}

// sameSLO reports whether SLO i of a and SLO j of b are identical for the
// engine and the puller: the same spec (objective, period, windows,
// tiers, zones, time slices, calendar), and the same target (selectors and
// grouping). A composite is the same when its components are, by name.
func sameSLO(a *runtime, i int, b *runtime, j int) bool {
	sa, sb := specKey(a, i), specKey(b, j)
	if !reflect.DeepEqual(sa, sb) {
		return false
	}
	ta, oka := targetOf(a, i)
	tb, okb := targetOf(b, j)
	return oka == okb && reflect.DeepEqual(ta, tb)
}

// comparableSpec is a spec with its pointers and indices replaced by
// values that compare across configurations.
type comparableSpec struct {
	spec       evaluator.Spec
	location   string
	components []string
	weights    []float64
	combine    evaluator.Combine
}

func specKey(rt *runtime, i int) comparableSpec {
	s := rt.plan.Specs[i]
	k := comparableSpec{spec: s}
	if s.Location != nil {
		k.location = s.Location.String()
	}
	k.spec.Location = nil
	if c := s.Composite; c != nil {
		k.combine = c.Combine
		for _, comp := range c.Components {
			k.components = append(k.components, rt.plan.Specs[comp.SLO].Name)
			k.weights = append(k.weights, comp.Weight)
		}
		k.spec.Composite = nil
	}
	return k
}

// targetOf returns SLO i's target without its engine index.
func targetOf(rt *runtime, i int) (scrape.Target, bool) {
	for _, t := range rt.plan.Targets {
		if t.SLO == i {
			t.SLO = 0
			return t, true
		}
	}
	return scrape.Target{}, false
}
