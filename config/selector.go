package config

import (
	"fmt"

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
	for _, lf := range me.LabelFilterss[0] {
		if lf.Label == "__name__" && !lf.IsRegexp && !lf.IsNegative {
			name = lf.Value
			continue
		}
		matchers = append(matchers, lf)
	}
	return name, matchers, nil
}
