package promql

import (
	"strings"
	"testing"
)

func TestReduce(t *testing.T) {
	for _, tc := range []struct{ q, sel, by string }{
		{`a_total{x="1"}`, `a_total{x="1"}`, ""},
		{`rate(a_total[5m])`, `a_total`, ""},
		{`sum(increase(a_total{code=~"5.."}[1h]))`, `a_total{code=~"5.."}`, ""},
		{`sum by (model, job) (rate(a_total[5m]))`, `a_total`, "job,model"},
		{`sum(rate(a_total[5m])) by (model)`, `a_total`, "model"},
	} {
		r, err := Reduce(tc.q)
		if err != nil || r.Selector != tc.sel || strings.Join(r.GroupBy, ",") != tc.by {
			t.Errorf("%s: got %q by %v, %v", tc.q, r.Selector, r.GroupBy, err)
		}
	}
	for _, q := range []string{`sum without (x) (rate(a[5m]))`, `avg(rate(a[5m]))`, `rate(a[5m] offset 1h)`, `a{x="1" or y="2"}`, `1`, `a[5m]`} {
		if _, err := Reduce(q); err == nil {
			t.Errorf("%s: no error", q)
		}
	}
}

func TestReduceRatio(t *testing.T) {
	for _, tc := range []struct {
		q, num, den, by string
		complement      bool
		err             string
	}{
		{q: `sum(rate(a{code="5xx"}[5m])) / sum(rate(a[5m]))`, num: `a{code="5xx"}`, den: `a`},
		{q: `(sum by (m) (rate(a{code="5xx"}[5m])) / sum by (m) (rate(a[5m])))`, num: `a{code="5xx"}`, den: `a`, by: "m"},
		{q: `1 - (sum(increase(good_total[1h])) / sum(increase(all_total[1h])))`, num: `good_total`, den: `all_total`, complement: true},
		{q: `1 - sum(rate(good_total[5m])) / sum(rate(all_total[5m]))`, num: `good_total`, den: `all_total`, complement: true},
		{q: `sum(rate(a[5m]))`, err: "is not a ratio of two counters"},
		{q: `2 - sum(rate(a[5m])) / sum(rate(b[5m]))`, err: "is not a ratio of two counters"},
		{q: `sum by (m) (rate(a[5m])) / sum(rate(b[5m]))`, err: "the numerator sums by [m] but the denominator by []"},
		{q: `sum(rate(a[5m])) / on (x) sum(rate(b[5m]))`, err: "on/ignoring"},
		{q: `a / b`, err: "both sides must count events"},
		{q: `histogram_quantile(0.9, rate(a[5m])) / sum(rate(b[5m]))`, err: "numerator: function histogram_quantile() cannot be reduced"},
	} {
		r, err := ReduceRatio(tc.q)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.q, err, tc.err)
			}
			continue
		}
		if err != nil || r.Num.Selector != tc.num || r.Den.Selector != tc.den || r.Complement != tc.complement || strings.Join(r.Den.GroupBy, ",") != tc.by {
			t.Errorf("%s: got %+v, %v", tc.q, r, err)
		}
	}
}
