package dashboard

import (
	"regexp"
	"strings"
)

// matchers joins label matchers into a selector body, skipping empty ones.
func matchers(ms ...string) string {
	var out []string
	for _, m := range ms {
		if m != "" {
			out = append(out, m)
		}
	}
	return strings.Join(out, ",")
}

// varMatch is the matcher of a multi-value template variable: Grafana
// expands $name to a regex alternation (or the variable's all value, ".*").
func varMatch(label string) string { return label + `=~"$` + label + `"` }

// groupMatchers are the matchers of the grouping-label variables.
func groupMatchers(groups []string) string {
	ms := make([]string, len(groups))
	for i, g := range groups {
		ms[i] = varMatch(g)
	}
	return matchers(ms...)
}

// byLabels is the label list of a by clause: slo, service and the grouping
// labels, which identify one group of one SLO.
func byLabels(groups []string) string {
	return strings.Join(append([]string{"slo", "service"}, groups...), ", ")
}

// nameRegex is a regex matching exactly the names, escaped for a PromQL
// double-quoted string.
func nameRegex(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = regexp.QuoteMeta(n)
	}
	return strings.ReplaceAll(strings.Join(q, "|"), `\`, `\\`)
}

// overPeriod selects metric's window of each SLO's budget period: the
// window label differs per SLO ("30d", "7d", "month"), which PromQL cannot
// derive from slo_period_seconds, so the configuration's periods give one
// selector per period label, joined with or. sel holds further matchers.
func overPeriod(metric string, slos []SLO, sel string) string {
	labels, names := periods(slos)
	parts := make([]string, 0, len(labels))
	for _, p := range labels {
		parts = append(parts, metric+"{"+matchers(`window="`+p+`"`, `slo=~"`+nameRegex(names[p])+`"`, sel)+"}")
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts, " or ")
}

// withEvents keeps the SLOs that export event counts (not composites).
func withEvents(slos []SLO) []SLO {
	var out []SLO
	for _, s := range slos {
		if s.Events {
			out = append(out, s)
		}
	}
	return out
}

// sliFromBurn is the SLI of every window of the groups sel selects,
// derived from the burn rate: SLI = 1 - burn rate x (1 - objective), which
// inverts the exporter's definition of the burn rate exactly (up to
// float64 rounding). The default metrics profile exports slo_sli_ratio for
// the budget period only and slo_burn_rate for every window; obj selects
// the SLOs' slo_objective_ratio.
func sliFromBurn(sel, obj string) string {
	return "1 - slo_burn_rate{" + sel + "} * on (slo) group_left () (1 - slo_objective_ratio{" + obj + "})"
}
