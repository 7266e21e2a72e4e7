package scrape

import (
	"testing"

	"github.com/prometheus/common/model"
)

// TestCoarseBatches: selectors that differ only in one label's value are
// read through one union selector and split back by that value; others
// are read alone.
func TestCoarseBatches(t *testing.T) {
	exprs := []string{
		`http_requests_total{job="api",service="a"}`,
		`http_requests_total{job="api",service="b.c|d"}`, // regex characters are quoted
		`http_requests_total{service="",job="api"}`,      // matcher order and the empty value
		`http_requests_total{job="web",service="a"}`,     // differs in job: joins by job or alone
		`other_total{job="api"}`,
		`http_requests_total{job=~"api|web"}`, // a regex matcher: alone
	}
	p := &Puller{}
	var cqs []*coarseQuery
	for i, e := range exprs {
		p.queries = append(p.queries, &query{expr: e})
		cqs = append(cqs, &coarseQuery{qi: i})
	}
	batches := p.coarseBatches(cqs)
	var ub *coarseBatch
	singles := map[string]bool{}
	for i := range batches {
		b := batches[i]
		if b.u.label == "" {
			singles[p.queries[b.cqs[0].qi].expr] = true
			continue
		}
		if ub != nil {
			t.Fatalf("two unions: %+v and %+v", *ub, b)
		}
		ub = &b
	}
	if ub == nil || ub.u.label != "service" || len(ub.cqs) != 3 {
		t.Fatalf("want one union over service of the first three selectors, got %+v", batches)
	}
	want := `{__name__="http_requests_total",job="api",service=~"a|b\\.c\\|d|"}`
	if got := ub.selector(p); got != want {
		t.Errorf("union selector %s, want %s", got, want)
	}
	for _, tc := range []struct {
		m    model.Metric
		want int // index into exprs; -1: none
	}{
		{model.Metric{"job": "api", "service": "a"}, 0},
		{model.Metric{"job": "api", "service": "b.c|d"}, 1},
		{model.Metric{"job": "api"}, 2},
		{model.Metric{"job": "api", "service": "zzz"}, -1},
	} {
		got := ub.of(tc.m)
		switch {
		case tc.want < 0 && got != nil:
			t.Errorf("%v: query %d, want none", tc.m, got.qi)
		case tc.want >= 0 && (got == nil || got.qi != tc.want):
			t.Errorf("%v: %v, want query %d", tc.m, got, tc.want)
		}
	}
	for _, e := range exprs[3:] {
		if !singles[e] {
			t.Errorf("%s: not read alone", e)
		}
	}
}
