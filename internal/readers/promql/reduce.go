// Package promql reduces the PromQL queries of other SLO formats (Sloth's
// error and total queries, OpenSLO metric sources, Pyrra's metrics) to the
// counter selectors slo-exporter reads: the daemon pulls raw counter
// samples and computes exact increments itself, so it needs the selector,
// not a computed value. Queries are parsed with metricsql, which parses
// PromQL (the project already depends on it for selectors).
package promql

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/VictoriaMetrics/metricsql"
)

// Reduced is a query reduced to the counter it counts.
type Reduced struct {
	// Selector is the plain series selector of the counter, in canonical
	// form, e.g. http_requests_total{job="api",code=~"5.."}.
	Selector string
	// GroupBy are the labels of a sum by (...), sorted; nil without one.
	GroupBy []string
	// Rate is true when the selector was wrapped in rate() or increase(),
	// which says that it is a counter.
	Rate bool
}

// counterFuncs are the functions whose argument is a counter and whose
// result the daemon computes itself from the counter's raw samples.
var counterFuncs = map[string]bool{"rate": true, "increase": true}

// Reduce reduces a PromQL query to the counter it counts. It accepts a
// plain series selector, rate(S[w]) or increase(S[w]), each optionally
// inside sum(...) or sum by (...) (...). Everything else is rejected with
// a message that says why: the daemon pulls the raw counter samples and
// computes exact increments itself, so it needs the selector, not a
// computed value.
func Reduce(query string) (Reduced, error) {
	e, err := metricsql.Parse(query)
	if err != nil {
		return Reduced{}, fmt.Errorf("not valid PromQL: %v", err)
	}
	return ReduceExpr(e)
}

// ReduceExpr is Reduce for a parsed expression.
func ReduceExpr(e metricsql.Expr) (Reduced, error) {
	var r Reduced
	if a, ok := e.(*metricsql.AggrFuncExpr); ok {
		if !strings.EqualFold(a.Name, "sum") {
			return r, fmt.Errorf("aggregation %s() cannot be reduced: only sum() of counters adds events up; the daemon reads the raw counters", a.Name)
		}
		if len(a.Args) != 1 {
			return r, fmt.Errorf("sum() must have one argument")
		}
		switch strings.ToLower(a.Modifier.Op) {
		case "":
		case "by":
			r.GroupBy = slices.Sorted(slices.Values(a.Modifier.Args))
		default:
			return r, fmt.Errorf("sum %s (...) cannot be reduced: only sum by (labels) maps onto the SLO's group_by", a.Modifier.Op)
		}
		e = a.Args[0]
	}
	if f, ok := e.(*metricsql.FuncExpr); ok {
		if !counterFuncs[strings.ToLower(f.Name)] {
			return r, fmt.Errorf("function %s() cannot be reduced: only rate() or increase() of a counter selector (optionally inside sum) can, because the daemon reads the raw counters and computes increments itself", f.Name)
		}
		if len(f.Args) != 1 {
			return r, fmt.Errorf("%s() must have one argument", f.Name)
		}
		r.Rate = true
		e = f.Args[0]
		if re, ok := e.(*metricsql.RollupExpr); ok {
			if re.Offset != nil || re.At != nil || re.Step != nil {
				return r, fmt.Errorf("offset, @ and subqueries cannot be reduced: the daemon pins every query to its own evaluation time")
			}
			e = re.Expr
		}
	}
	me, ok := e.(*metricsql.MetricExpr)
	if !ok {
		return r, fmt.Errorf("%s cannot be reduced: a query must be a counter selector, optionally in rate() or increase() and sum(); operators, ratios and other functions compute values the daemon cannot count events from", describe(e))
	}
	if len(me.LabelFilterss) != 1 {
		return r, fmt.Errorf("\"or\" inside braces cannot be reduced to one series selector")
	}
	r.Selector = string(me.AppendString(nil))
	return r, nil
}

// describe names an expression's kind for messages.
func describe(e metricsql.Expr) string {
	switch x := e.(type) {
	case *metricsql.BinaryOpExpr:
		return fmt.Sprintf("the operator %q", x.Op)
	case *metricsql.RollupExpr:
		return "a range selector outside rate() or increase()"
	case *metricsql.AggrFuncExpr:
		return fmt.Sprintf("a nested %s()", x.Name)
	case *metricsql.FuncExpr:
		return fmt.Sprintf("a nested %s()", x.Name)
	case *metricsql.NumberExpr, *metricsql.StringExpr:
		return "a constant"
	}
	return "the expression"
}

// Ratio is a query reduced to a ratio of two counters, possibly as its
// complement: Num / Den, or 1 - Num / Den when Complement.
type Ratio struct {
	// Num and Den are the counters of the numerator and the denominator.
	Num, Den Reduced
	// Complement is true for 1 - Num / Den.
	Complement bool
}

// ReduceRatio reduces a ratio query: A / B or 1 - A / B (parentheses
// allowed), where A and B each reduce (see ReduceExpr) to rate() or
// increase() of a counter and sum by the same labels. It is the shape of
// Sloth's raw errorRatioQuery written from counters.
func ReduceRatio(query string) (Ratio, error) {
	e, err := metricsql.Parse(query)
	if err != nil {
		return Ratio{}, fmt.Errorf("not valid PromQL: %v", err)
	}
	var r Ratio
	if b, ok := e.(*metricsql.BinaryOpExpr); ok && b.Op == "-" {
		if n, ok := b.Left.(*metricsql.NumberExpr); ok && n.N == 1 {
			r.Complement = true
			e = b.Right
		}
	}
	b, ok := e.(*metricsql.BinaryOpExpr)
	if !ok || b.Op != "/" {
		return r, fmt.Errorf("is not a ratio of two counters: only A / B or 1 - A / B reduce, with A and B each sum(rate(counter[{{.window}}])) (optionally by labels)")
	}
	if len(b.GroupModifier.Args) > 0 || len(b.JoinModifier.Args) > 0 || b.GroupModifier.Op != "" || b.JoinModifier.Op != "" {
		return r, fmt.Errorf("on/ignoring/group_left/group_right in the ratio cannot be reduced: the two sides must sum by the same labels")
	}
	if r.Num, err = ReduceExpr(b.Left); err != nil {
		return r, fmt.Errorf("numerator: %v", err)
	}
	if r.Den, err = ReduceExpr(b.Right); err != nil {
		return r, fmt.Errorf("denominator: %v", err)
	}
	if !r.Num.Rate || !r.Den.Rate {
		return r, fmt.Errorf("both sides must count events over the window with rate() or increase() of a counter")
	}
	if !slices.Equal(r.Num.GroupBy, r.Den.GroupBy) {
		return r, fmt.Errorf("the numerator sums by %v but the denominator by %v; they must group alike to map onto group_by", r.Num.GroupBy, r.Den.GroupBy)
	}
	return r, nil
}

// Difference returns the two sides of a query of the form A - B, the
// shape of an error query written as total - good.
func Difference(query string) (d struct{ Left, Right metricsql.Expr }, ok bool) {
	e, err := metricsql.Parse(query)
	if err != nil {
		return d, false
	}
	b, isBin := e.(*metricsql.BinaryOpExpr)
	if !isBin || b.Op != "-" {
		return d, false
	}
	d.Left, d.Right = b.Left, b.Right
	return d, true
}

// Histogram reports whether good is the bucket le="T" of a classic
// histogram whose _count series total is, with the same other matchers,
// and returns the histogram's base selector (without _bucket, _count and
// le) and T. Both arguments are canonical series selectors.
func Histogram(good, total string) (selector string, le float64, ok bool) {
	ge, err1 := metricsql.Parse(good)
	te, err2 := metricsql.Parse(total)
	if err1 != nil || err2 != nil {
		return "", 0, false
	}
	gm, ok1 := ge.(*metricsql.MetricExpr)
	tm, ok2 := te.(*metricsql.MetricExpr)
	if !ok1 || !ok2 || len(gm.LabelFilterss) != 1 || len(tm.LabelFilterss) != 1 {
		return "", 0, false
	}
	var gName, tName, leText string
	var gRest, tRest []string
	for _, f := range gm.LabelFilterss[0] {
		switch {
		case f.Label == "__name__":
			gName = f.Value
		case f.Label == "le" && !f.IsRegexp && !f.IsNegative:
			leText = f.Value
		default:
			gRest = append(gRest, string(f.AppendString(nil)))
		}
	}
	for _, f := range tm.LabelFilterss[0] {
		if f.Label == "__name__" {
			tName = f.Value
		} else {
			tRest = append(tRest, string(f.AppendString(nil)))
		}
	}
	base, isBucket := strings.CutSuffix(gName, "_bucket")
	tbase, isCount := strings.CutSuffix(tName, "_count")
	th, err := strconv.ParseFloat(leText, 64)
	slices.Sort(gRest)
	slices.Sort(tRest)
	if !isBucket || !isCount || base != tbase || err != nil || math.IsInf(th, 0) || !slices.Equal(gRest, tRest) {
		return "", 0, false
	}
	selector = base
	if len(tRest) > 0 {
		selector += "{" + strings.Join(tRest, ",") + "}"
	}
	return selector, th, true
}
