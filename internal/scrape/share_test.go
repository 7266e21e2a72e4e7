package scrape

import (
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// TestShareReads checks which queries are read with another one, and that
// a child keeps exactly the parent's series its own selector selects, as
// Prometheus matches them.
func TestShareReads(t *testing.T) {
	exprs := []string{
		`x{job="a"}`,                        // 0: parent of 1..5
		`x{job="a",code="200"}`,             // 1
		`x{job="a",code=~"2..|3.."}`,        // 2
		`x{job="a",code!="500"}`,            // 3
		`x{code!~"5..",job="a"}`,            // 4: order does not matter
		`x{job="a",zone=""}`,                // 5: a missing label is ""
		`x{job="b"}`,                        // 6: a parent without children
		`{__name__="x",job="a",code="200"}`, // 7: the same matchers as 1
	}
	specs := make([]evaluator.Spec, len(exprs))
	targets := make([]Target, len(exprs))
	for i, e := range exprs {
		specs[i] = evaluator.Spec{Name: e, Objective: 0.9, Period: time.Hour}
		targets[i] = Target{SLO: i, Good: Selector{Expr: e}, Valid: Selector{Expr: `y`}}
	}
	p := newTestPuller(t, nil, interval, specs, targets)
	byExpr := map[string]*query{}
	for _, q := range p.queries {
		byExpr[q.expr] = q
	}
	parentOf := func(e string) string {
		q := byExpr[e]
		if q.parent < 0 {
			return ""
		}
		return p.queries[q.parent].expr
	}
	wantParent := map[string]string{exprs[0]: "", exprs[1]: exprs[0], exprs[2]: exprs[0], exprs[3]: exprs[0],
		exprs[4]: exprs[0], exprs[5]: exprs[0], exprs[6]: "", exprs[7]: exprs[0], `y`: ""}
	for e, want := range wantParent {
		if got := parentOf(e); got != want {
			t.Errorf("parent of %s: %q, want %q", e, got, want)
		}
	}
	series := []model.Metric{
		{"__name__": "x", "job": "a", "code": "200"},
		{"__name__": "x", "job": "a", "code": "302"},
		{"__name__": "x", "job": "a", "code": "500"},
		{"__name__": "x", "job": "a", "code": "200", "zone": "eu"},
		{"__name__": "x", "job": "a"},
	}
	pts := make([]point, len(series))
	for i, m := range series {
		pts[i] = point{fp: uint64(m.Fingerprint()), metric: m}
	}
	want := map[string][]int{ // indexes of the series kept
		exprs[1]: {0, 3}, exprs[2]: {0, 1, 3}, exprs[3]: {0, 1, 3, 4}, exprs[4]: {0, 1, 3, 4}, exprs[5]: {0, 1, 2, 4}, exprs[7]: {0, 3},
	}
	for e, idx := range want {
		got := byExpr[e].filter.filter(nil, pts)
		if len(got) != len(idx) {
			t.Errorf("%s keeps %d series, want %v", e, len(got), idx)
			continue
		}
		for k, i := range idx {
			if got[k].fp != pts[i].fp {
				t.Errorf("%s: series %d is %v, want %v", e, k, got[k].metric, series[i])
			}
		}
	}
	// NoSharedReads reads every expression itself.
	p, err := NewPuller(nil, p.eng, targets, PullerConfig{Interval: interval, NoSharedReads: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range p.queries {
		if q.parent >= 0 {
			t.Errorf("%s read with %s despite NoSharedReads", q.expr, p.queries[q.parent].expr)
		}
	}
}
