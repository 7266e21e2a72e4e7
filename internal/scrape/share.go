package scrape

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/VictoriaMetrics/metricsql"
	"github.com/prometheus/common/model"
)

// Shared reads
//
// A ratio SLI's good selector is usually its valid selector with one more
// matcher (http_requests_total{job="api",code=~"2.."} inside
// http_requests_total{job="api"}): reading both would fetch the good
// series' raw samples twice. A raw query whose matchers include all the
// matchers of another raw query is therefore not sent: it takes the
// series of that query (its parent) that pass its extra matchers, matched
// here as Prometheus matches them (= and != on the value, "" for a missing
// label; =~ and !~ as fully anchored RE2). Parents are queries that are
// sent; the most general query of a family is its parent.

// labelMatcher is one parsed matcher of a selector.
type labelMatcher struct {
	f  metricsql.LabelFilter
	re *regexp.Regexp // for =~ and !~
}

// anchored compiles a matcher's regex as Prometheus applies it: fully
// anchored.
func anchored(re string) (*regexp.Regexp, error) { return regexp.Compile("^(?:" + re + ")$") }

// newLabelMatcher returns the matcher of f, its regex compiled.
func newLabelMatcher(f metricsql.LabelFilter) (labelMatcher, error) {
	lm := labelMatcher{f: f}
	if f.IsRegexp {
		re, err := anchored(f.Value)
		if err != nil {
			return lm, err
		}
		lm.re = re
	}
	return lm, nil
}

// matches reports whether metric m passes the matcher.
func (lm *labelMatcher) matches(m model.Metric) bool {
	v := string(m[model.LabelName(lm.f.Label)])
	ok := v == lm.f.Value
	if lm.re != nil {
		ok = lm.re.MatchString(v)
	}
	return ok != lm.f.IsNegative
}

// seriesFilter keeps the series of a parent query that a child query
// selects, remembering each series' answer.
type seriesFilter struct {
	extra []labelMatcher
	seen  map[uint64]bool
}

func (sf *seriesFilter) keep(fp uint64, m model.Metric) bool {
	if ok, found := sf.seen[fp]; found {
		return ok
	}
	ok := true
	for i := range sf.extra {
		ok = ok && sf.extra[i].matches(m)
	}
	sf.seen[fp] = ok
	return ok
}

// filter returns the points of pts that the child selects, in dst.
func (sf *seriesFilter) filter(dst, pts []point) []point {
	dst = dst[:0]
	for _, pt := range pts {
		if sf.keep(pt.fp, pt.metric) {
			dst = append(dst, pt)
		}
	}
	return dst
}

// selectorMatchers parses a plain selector into its matchers; ok is false
// for anything else (the query is then always sent).
func selectorMatchers(expr string) ([]metricsql.LabelFilter, bool) {
	e, err := metricsql.Parse(expr)
	if err != nil {
		return nil, false
	}
	me, isSel := e.(*metricsql.MetricExpr)
	if !isSel || len(me.LabelFilterss) != 1 {
		return nil, false
	}
	return me.LabelFilterss[0], true
}

// shareReads finds, for every raw query, the raw query it can be read from
// (its parent), and sets the children's filters.
func (p *Puller) shareReads() error {
	type cand struct {
		qi int
		ms []metricsql.LabelFilter
	}
	var cands []cand
	for qi, q := range p.queries {
		q.parent = -1
		if !q.raw {
			continue
		}
		if ms, ok := selectorMatchers(q.expr); ok {
			cands = append(cands, cand{qi, ms})
		}
	}
	// The most general first: a parent has no more matchers than its
	// children.
	slices.SortStableFunc(cands, func(a, b cand) int { return len(a.ms) - len(b.ms) })
	for i, c := range cands {
		for _, a := range cands[:i] {
			if p.queries[a.qi].parent >= 0 || !subset(a.ms, c.ms) {
				continue
			}
			sf := &seriesFilter{seen: map[uint64]bool{}}
			for _, f := range c.ms {
				if slices.Contains(a.ms, f) {
					continue
				}
				lm, err := newLabelMatcher(f)
				if err != nil {
					return fmt.Errorf("selector %s: matcher %s: %w", p.queries[c.qi].expr, f.AppendString(nil), err)
				}
				sf.extra = append(sf.extra, lm)
			}
			q := p.queries[c.qi]
			q.parent, q.filter = a.qi, sf
			p.queries[a.qi].children = append(p.queries[a.qi].children, c.qi)
			break
		}
	}
	return nil
}

// subset reports whether every matcher of a is in b.
func subset(a, b []metricsql.LabelFilter) bool {
	for _, f := range a {
		if !slices.Contains(b, f) {
			return false
		}
	}
	return true
}

// family returns the sources a query's read serves: its own and its
// children's.
func (p *Puller) family(qi int) []int {
	q := p.queries[qi]
	if len(q.children) == 0 {
		return q.sources
	}
	out := slices.Clone(q.sources)
	for _, ci := range q.children {
		out = append(out, p.queries[ci].sources...)
	}
	return out
}
