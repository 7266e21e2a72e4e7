package config

import (
	"fmt"
	"regexp"
	"regexp/syntax"

	"github.com/VictoriaMetrics/metricsql"
)

// parseSelector checks that s is a plain series selector, such as
// http_requests_total{job="model-api",code=~"2.."}: the engine reads raw
// counter samples, so functions, ranges, offsets, operators and
// VictoriaMetrics' "or" filters are not allowed. It returns the metric name
// ("" when the selector has none) and the label matchers.
func parseSelector(s string) (name string, matchers []metricsql.LabelFilter, err error) {
	if s == "" {
		return "", nil, fmt.Errorf("missing selector")
	}
	expr, err := metricsql.Parse(s)
	if err != nil {
		return "", nil, fmt.Errorf("not valid PromQL: %v", err)
	}
	me, ok := expr.(*metricsql.MetricExpr)
	if !ok {
		return "", nil, fmt.Errorf("must be a plain series selector such as metric{label=\"value\"}, without functions, ranges, offsets or operators, because the engine reads raw counters")
	}
	if len(me.LabelFilterss) != 1 {
		return "", nil, fmt.Errorf("must be a single series selector; \"or\" inside braces is not PromQL")
	}
	narrows := false
	for _, lf := range me.LabelFilterss[0] {
		if lf.Label == "__name__" && !lf.IsRegexp && !lf.IsNegative {
			name = lf.Value
			continue
		}
		matchers = append(matchers, lf)
		narrows = narrows || narrowing(lf)
	}
	if name == "" && !narrows {
		return "", nil, fmt.Errorf("matches every metric of the server: it names no metric and none of its matchers narrows it " +
			"(a matcher that accepts the empty string, a negative one or .+ lets almost every series through), " +
			"and the exporter would track every one of them in memory; name the counter, e.g. http_requests_total{job=\"api\"}")
	}
	return name, matchers, nil
}

// narrowing reports whether a matcher (other than an exact metric name)
// narrows a selector to a small part of the server's series. Matchers that
// accept the empty string (job="", code=~"5..|") also take every series
// without the label; negative ones (code!="200", job!~"x") take every
// series but a few; and a regexp that accepts any non-empty value
// (__name__=~".+") takes every series that has the label.
func narrowing(lf metricsql.LabelFilter) bool {
	if lf.IsNegative {
		return false
	}
	if !lf.IsRegexp {
		return lf.Value != ""
	}
	re, err := regexp.Compile("^(?s:" + lf.Value + ")$")
	if err != nil || re.MatchString("") {
		return false
	}
	return !matchesAnyValue(lf.Value)
}

// matchesAnyValue reports whether a regexp accepts every non-empty string:
// .+, (.+), .*, (?s).+ and the like.
func matchesAnyValue(expr string) bool {
	re, err := syntax.Parse(expr, syntax.Perl|syntax.DotNL)
	if err != nil {
		return false
	}
	re = re.Simplify()
	for re.Op == syntax.OpCapture && len(re.Sub) == 1 {
		re = re.Sub[0]
	}
	switch re.Op {
	case syntax.OpPlus, syntax.OpStar:
	case syntax.OpRepeat:
		if re.Min > 1 || re.Max != -1 {
			return false
		}
	default:
		return false
	}
	sub := re.Sub[0]
	return sub.Op == syntax.OpAnyChar || sub.Op == syntax.OpAnyCharNotNL
}
