package scrape

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
)

// TestPlanUnionsLimits: unions respect their member and byte limits, every
// selector is planned exactly once, and two selectors with the same value
// (the same matchers written in another order) never share a union, where
// the split could not tell them apart.
func TestPlanUnionsLimits(t *testing.T) {
	svc := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf(`req_total{job="api",service="svc-%03d"}`, i)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		exprs []string
		lim   unionLimits
		sizes []int // members per plan, in plan order
	}{
		{"members", svc(150), unionLimits{maxMembers: 64}, []int{64, 64, 22}},
		// each value is 7 bytes, 8 with its "|": 10 to 80 bytes
		{"bytes", svc(25), unionLimits{maxBytes: 80}, []int{10, 10, 5}},
		{"no limit", svc(300), unionLimits{}, []int{300}},
		{"one left over", svc(65), unionLimits{maxMembers: 64}, []int{64, 1}},
		{"same value twice", append(svc(2), `req_total{service="svc-000",job="api"}`), unionLimits{}, []int{1, 2}},
		{"nothing in common", []string{`a_total{x="1"}`, `b_total{x="2"}`, `rate(a_total[5m])`}, unionLimits{}, []int{1, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plans := planUnions(tc.exprs, tc.lim)
			var sizes, seen []int
			for _, u := range plans {
				sizes = append(sizes, len(u.members))
				seen = append(seen, u.members...)
				if len(u.members) > 1 {
					sel := u.selector(tc.exprs)
					if !strings.Contains(sel, u.label+`=~"`) {
						t.Errorf("union selector %s has no regex on %s", sel, u.label)
					}
					for i, m := range u.members {
						if got := u.of(metricOf(t, tc.exprs[m])); got != i {
							t.Errorf("series of %s split to member %d, want %d", tc.exprs[m], got, i)
						}
					}
				}
			}
			if !slices.Equal(sizes, tc.sizes) {
				t.Errorf("plan sizes %v, want %v", sizes, tc.sizes)
			}
			slices.Sort(seen)
			for i, m := range seen {
				if m != i {
					t.Fatalf("selectors planned %v, want each of 0..%d once", seen, len(tc.exprs)-1)
				}
			}
		})
	}
}

// metricOf returns the labels of a series that the plain selector expr
// selects with its equality matchers.
func metricOf(t *testing.T, expr string) model.Metric {
	t.Helper()
	ms, ok := selectorMatchers(expr)
	if !ok {
		t.Fatalf("%s: not a plain selector", expr)
	}
	m := model.Metric{}
	for _, f := range ms {
		if !f.IsRegexp && !f.IsNegative {
			m[model.LabelName(f.Label)] = model.LabelValue(f.Value)
		}
	}
	return m
}

// TestRegexUnions: selectors that differ in a regex matcher on one label
// join one union where regex unions are allowed, and a series goes to
// every member whose own matcher it passes, overlaps included, as each
// member's own query would have returned it.
func TestRegexUnions(t *testing.T) {
	exprs := []string{
		`req_total{job="api",model=~"m0.*"}`,
		`req_total{job="api",model=~"m.*"}`, // overlaps the first
		`req_total{job="api",model="x.y"}`,  // a literal joins too
		`req_total{job="api",model=~"(m"}`,  // invalid: read alone
		`req_total{job="api",model!~"m.*"}`, // negative: read alone
	}
	if plans := planUnions(exprs, unionLimits{}); len(plans) != len(exprs) {
		t.Fatalf("without regex unions: %d plans, want every selector alone", len(plans))
	}
	plans := planUnions(exprs, unionLimits{regex: true})
	var u *union
	for i := range plans {
		if len(plans[i].members) > 1 {
			if u != nil {
				t.Fatalf("two unions: %+v", plans)
			}
			u = &plans[i]
		}
	}
	if u == nil || !slices.Equal(u.members, []int{0, 1, 2}) {
		t.Fatalf("want one union of the first three selectors, got %+v", plans)
	}
	want := `{__name__="req_total",job="api",model=~"(?:m0.*)|(?:m.*)|(?:x\\.y)"}`
	if got := u.selector(exprs); got != want {
		t.Errorf("union selector %s, want %s", got, want)
	}
	for _, tc := range []struct {
		model string
		want  []int // positions in the union
	}{
		{"m05", []int{0, 1}},
		{"m5", []int{1}},
		{"x.y", []int{2}},
		{"xzy", nil}, // the dot is a literal
		{"am0", nil}, // anchored
	} {
		got := u.matching(model.Metric{"job": "api", "model": model.LabelValue(tc.model)}, nil)
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("model %q: members %v, want %v", tc.model, got, tc.want)
		}
		if again := u.matching(model.Metric{"model": model.LabelValue(tc.model)}, nil); len(again) != len(got) {
			t.Errorf("model %q: cached answer %v, first %v", tc.model, again, got)
		}
	}
}
