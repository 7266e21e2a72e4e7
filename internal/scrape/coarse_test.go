package scrape

import (
	"maps"
	"math"
	"slices"
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

// TestCounts: the compact per-slot counts read back what was set, NaN
// outside the run of points and in its gaps, whatever the order of sets.
func TestCounts(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		name string
		set  map[int]float32
		n    int
	}{
		{"none", map[int]float32{}, 6},
		{"zeros and a drop", map[int]float32{1: 0, 2: 0, 3: 2, 4: 0}, 7},
		{"a gap", map[int]float32{0: 0, 1: 1, 4: 0, 5: nan}, 7},
		{"one", map[int]float32{3: 0}, 5},
	} {
		for _, order := range []string{"ascending", "descending"} {
			t.Run(tc.name+"/"+order, func(t *testing.T) {
				idx := slices.Sorted(maps.Keys(tc.set))
				if order == "descending" {
					slices.Reverse(idx)
				}
				c := newCounts()
				for _, i := range idx {
					c.set(i, tc.set[i])
				}
				for i := -1; i <= tc.n; i++ {
					want, ok := tc.set[i]
					if !ok {
						want = nan // outside the run, or a gap in it
					}
					got := c.at(i)
					if !(math.IsNaN(got) && math.IsNaN(float64(want))) && got != float64(want) {
						t.Errorf("count %d: %v, want %v", i, got, want)
					}
				}
			})
		}
	}
	var none *counts
	if !math.IsNaN(none.at(0)) {
		t.Error("a counts never read must read NaN")
	}
}
