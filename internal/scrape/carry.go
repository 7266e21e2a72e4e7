package scrape

import (
	"fmt"
	"strings"
)

// sourceKey identifies a source across pullers: its expression and its le
// filter, gauge condition or native threshold. Two sources with the same
// key read the same series the same way, so one's counter state is valid
// for the other.
func sourceKey(sel Selector) string {
	key := strings.TrimSpace(sel.Expr)
	if sel.LE != nil {
		key += "\xffle=" + fmt.Sprint(*sel.LE)
	}
	if sel.Gauge != nil {
		key += "\xffgauge " + sel.Gauge.String()
	}
	if sel.NativeLE != nil {
		key += "\xffnative=" + fmt.Sprint(*sel.NativeLE)
	}
	return key
}

// Carryable narrows candidates, the names of SLOs whose definition and
// target are the same in p and old, to those whose state can move from
// old to p with TakeState: the SLO has a target in both, and every source
// it reads in p is read in old too and, in p, feeds only SLOs that are
// carried as well. A source shared with an SLO that is backfilled again
// cannot keep old's counter state (the backfill needs a fresh one), so the
// SLOs that read it are backfilled again too. It does not modify either
// puller and only reads their plans, which never change after NewPuller:
// it may run while old ticks.
func (p *Puller) Carryable(old *Puller, candidates map[string]bool) map[string]bool {
	oldTargets := map[string]bool{}
	for _, ts := range old.targets {
		oldTargets[ts.name] = true
	}
	oldSources := map[string]bool{}
	for _, s := range old.sources {
		oldSources[sourceKey(s.sel)] = true
	}
	carried := map[string]bool{}
	for _, ts := range p.targets {
		if candidates[ts.name] && oldTargets[ts.name] {
			carried[ts.name] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for _, ts := range p.targets {
			if !carried[ts.name] {
				continue
			}
			for _, si := range ts.sources {
				s := p.sources[si]
				ok := oldSources[sourceKey(s.sel)]
				for _, c := range s.consumers {
					ok = ok && carried[p.targets[c.target].name]
				}
				if !ok {
					delete(carried, ts.name)
					changed = true
					break
				}
			}
		}
	}
	return carried
}

// TakeState moves the state of the named SLOs' targets from `from` into
// p: the targets' groups and pending pulls, and the counter trackers of
// their sources, so that p resumes each of them where `from` stopped (a
// Backfill or Tick then starts after the sources' last pull). names must
// come from p.Carryable(from, ...) or name SLOs whose sources feed only
// SLOs in names, in both pullers; their engine groups must have moved to
// p's engine with evaluator.Engine.Adopt. `from` must not be used for
// those SLOs afterwards. Neither puller may be ticking.
func (p *Puller) TakeState(from *Puller, names map[string]bool) {
	fromTarget := map[string]*targetState{}
	for _, ts := range from.targets {
		fromTarget[ts.name] = ts
	}
	fromSource := map[string]*source{}
	for _, s := range from.sources {
		fromSource[sourceKey(s.sel)] = s
	}
	moved := map[int]bool{}
	for _, ts := range p.targets {
		ots := fromTarget[ts.name]
		if !names[ts.name] || ots == nil {
			continue
		}
		ts.groups, ts.byKey, ts.pending = ots.groups, ots.byKey, ots.pending
		ts.lastRec, ts.hasRec, ts.logged = ots.lastRec, ots.hasRec, ots.logged
		ots.groups, ots.byKey, ots.pending = nil, map[string]int{}, nil
		for _, si := range ts.sources {
			if moved[si] {
				continue
			}
			moved[si] = true
			s, os := p.sources[si], fromSource[sourceKey(p.sources[si].sel)]
			if os == nil {
				continue
			}
			// The series cache maps series to groups by consumer index,
			// which differs between pullers: it is rebuilt as series come.
			s.tracker, s.native, s.kindWarned = os.tracker, os.native, os.kindWarned
			s.series = map[uint64]*seriesInfo{}
		}
	}
	// The moved trackers' counts were exported by the puller they come
	// from: this one exports only what they count from now on.
	p.sentCounters = p.counterStats()
	p.publish()
}
