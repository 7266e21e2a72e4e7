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

// benchUnion is the union of bench-daemon's 20 SLOs at 100,000 groups:
// selectors that differ only in a regex on model, each passing the models
// whose number ends in one of five two-digit suffixes.
func benchUnion(t testing.TB) union {
	var exprs []string
	for j := range 20 {
		suf := make([]string, 5)
		for k := range suf {
			suf[k] = fmt.Sprintf("%02d", j*5+k)
		}
		exprs = append(exprs, fmt.Sprintf(`bench_requests_total{job="bench",model=~"m[0-9]*(%s)"}`, strings.Join(suf, "|")))
	}
	plans := planUnions(exprs, unionLimits{regex: true})
	if len(plans) != 1 || len(plans[0].members) != 20 {
		t.Fatalf("want one union of 20 selectors, got %d plans", len(plans))
	}
	return plans[0]
}

// TestUnionCacheFitsTheAnswer: an answer with more label values than
// unionCacheMax, read with the cache fitted to it, leaves every value in
// the cache (a second read meets no regex), and every series still goes
// to the one member whose regex it passes.
func TestUnionCacheFitsTheAnswer(t *testing.T) {
	const models = unionCacheMax + 34464 // 100,000
	for _, tc := range []struct {
		name   string
		fit    bool
		cached int
	}{
		{"fitted", true, models},
		{"unfitted: restarts within the read", false, models - unionCacheMax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := benchUnion(t)
			if tc.fit {
				u.fit(2 * models) // two series (code ok and error) per model
			}
			var in []int
			for i := range models {
				v := fmt.Sprintf("m%05d", i)
				in = u.matching(model.Metric{"model": model.LabelValue(v)}, in[:0])
				if want := (i % 100) / 5; len(in) != 1 || in[0] != want {
					t.Fatalf("%s: members %v, want [%d]", v, in, want)
				}
			}
			if got := len(u.cache.hits); got != tc.cached {
				t.Errorf("%d values cached after the read, want %d", got, tc.cached)
			}
		})
	}
}

// BenchmarkUnionMatching splits a tick's answer at 100,000 groups (200,000
// series, 100,000 model values) between the 20 members of benchUnion, in
// steady state: with the cache fitted to the answer, and with the fixed
// cap of 65,536 values it had before (valueCache quotes the figures).
func BenchmarkUnionMatching(b *testing.B) {
	ms := make([]model.Metric, 200000)
	for i := range ms {
		ms[i] = model.Metric{"model": model.LabelValue(fmt.Sprintf("m%05d", i/2))}
	}
	for _, fit := range []bool{true, false} {
		b.Run(map[bool]string{true: "fitted", false: "fixed-cap"}[fit], func(b *testing.B) {
			u := benchUnion(b)
			var in []int
			read := func() {
				if fit {
					u.fit(len(ms))
				}
				for _, m := range ms {
					in = u.matching(m, in[:0])
				}
			}
			read()
			for b.Loop() {
				read()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(ms)), "ns/series")
		})
	}
}
