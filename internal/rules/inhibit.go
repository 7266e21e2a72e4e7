package rules

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// PageSeverity is the severity Inhibitions treats as paging.
const PageSeverity = "page"

// inhibitRule is one Alertmanager inhibit_rules entry.
type inhibitRule struct {
	SourceMatchers []string `yaml:"source_matchers"`
	TargetMatchers []string `yaml:"target_matchers"`
	Equal          []string `yaml:"equal"`
}

// Inhibitions renders an Alertmanager inhibit_rules snippet: for every SLO
// with both paging (severity "page") and other enabled tiers, a firing page
// tier silences the other tiers of the same SLO, service and group (equal
// on slo, service and the SLO's group labels). SLOs are sorted by name.
// Paste the list under inhibit_rules in alertmanager.yml.
func Inhibitions(slos []SLO) ([]byte, error) {
	sorted, err := validated(slos)
	if err != nil {
		return nil, err
	}
	out := struct {
		InhibitRules []inhibitRule `yaml:"inhibit_rules"`
	}{InhibitRules: []inhibitRule{}}
	for _, s := range sorted {
		var pages, others, pageNames, otherNames []string
		for _, t := range s.enabledTiers() {
			if t.Severity == PageSeverity {
				pages = append(pages, t.Name)
				pageNames = append(pageNames, t.alertName())
			} else {
				others = append(others, t.Name)
				otherNames = append(otherNames, t.alertName())
			}
		}
		if len(pages) == 0 || len(others) == 0 {
			continue
		}
		slo := "slo=" + strconv.Quote(s.Name)
		out.InhibitRules = append(out.InhibitRules, inhibitRule{
			SourceMatchers: []string{matcher("alertname", pageNames), slo, matcher("alert_tier", pages)},
			TargetMatchers: []string{matcher("alertname", otherNames), slo, matcher("alert_tier", others)},
			Equal:          append([]string{"slo", "service"}, s.GroupBy...),
		})
	}
	return encode(out)
}

// matcher matches a label against the names (duplicates removed, in
// order).
func matcher(label string, names []string) string {
	var uniq []string
	for _, n := range names {
		if !slices.Contains(uniq, n) {
			uniq = append(uniq, n)
		}
	}
	names = uniq
	if len(names) == 1 {
		return label + "=" + strconv.Quote(names[0])
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = regexp.QuoteMeta(n)
	}
	return label + "=~" + strconv.Quote(strings.Join(q, "|"))
}
