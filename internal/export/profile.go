package export

import "fmt"

// Profile selects which slo_* series /metrics carries. Every series is
// ingested by the Prometheus that scrapes the exporter at every scrape, so
// the default carries what alert rules, dashboards and the budget policy
// read, and the rest is opt-in.
type Profile string

const (
	// ProfileDefault: slo_info, objective, period, SLI and burn rate per
	// window, budget remaining ratio, exhaustion, tier thresholds and
	// alerts, zone, data_up and the evaluation time. Per group with the
	// default 7 windows and the period: 8 SLI + 8 burn rate + remaining +
	// exhaustion + 4 tier alerts + 4 zones = 26 series.
	ProfileDefault Profile = "default"
	// ProfileFull adds the event counts per window (slo_good_events,
	// slo_valid_events), slo_error_budget_remaining_events and
	// slo_window_coverage_ratio: 25 more series per group, for users who
	// aggregate events across groups or debug gaps.
	ProfileFull Profile = "full"
)

// ParseProfile checks a profile name; empty means ProfileDefault.
func ParseProfile(s string) (Profile, error) {
	switch Profile(s) {
	case "", ProfileDefault:
		return ProfileDefault, nil
	case ProfileFull:
		return ProfileFull, nil
	}
	return "", fmt.Errorf("metrics profile %q: want %s or %s", s, ProfileDefault, ProfileFull)
}

// full reports whether the opt-in series are exported.
func (p Profile) full() bool { return p == ProfileFull }

// fullOnly lists the families only ProfileFull exports.
var fullOnly = map[*family]bool{famGood: true, famValid: true, famRemEvents: true, famCoverage: true}

// DefaultProfileFamilies returns the names of the slo_* families of the
// default profile, for tools (dashboards, rules) that must read only those.
func DefaultProfileFamilies() []string {
	var out []string
	for _, f := range sloFamilies {
		if !fullOnly[f] {
			out = append(out, f.name)
		}
	}
	return out
}
