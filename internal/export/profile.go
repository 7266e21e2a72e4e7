package export

import "fmt"

// Profile selects which slo_* series /metrics carries. Every series is
// ingested by the Prometheus that scrapes the exporter at every scrape, so
// the default carries what alert rules, dashboards and the budget policy
// read, and the rest is opt-in.
type Profile string

const (
	// ProfileDefault: slo_info, objective, period, burn rate per window,
	// SLI over the budget period, budget remaining ratio, exhaustion, tier
	// thresholds and alerts, zone, data_up and the evaluation time. Per
	// group with the default 7 windows and the period, 4 tiers and 4
	// zones: 8 burn rates + 1 SLI + remaining + exhaustion + 4 tier alerts
	// + 4 zones = 19 series. The SLI of any other window is
	// 1 - burn rate x (1 - objective), which PromQL derives exactly, so
	// exporting both per window would double the ingestion for no
	// information.
	ProfileDefault Profile = "default"
	// ProfileFull adds the SLI of every window, the event counts per
	// window (slo_good_events, slo_valid_events),
	// slo_error_budget_remaining_events and slo_window_coverage_ratio: 32
	// more series per group, for users who aggregate events across groups
	// or debug gaps.
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

// periodOnly lists the families the default profile exports for the
// budget period's window only (ProfileFull: for every window).
var periodOnly = map[*family]bool{famSLI: true}

// PeriodOnlyFamilies returns the names of the slo_* families that the
// default profile exports only for the budget period's window (the
// rolling period, e.g. window="30d", or the calendar unit, e.g.
// window="month"); they are also among DefaultProfileFamilies. A tool that
// reads them must select that window.
func PeriodOnlyFamilies() []string {
	var out []string
	for _, f := range sloFamilies {
		if periodOnly[f] {
			out = append(out, f.name)
		}
	}
	return out
}

// DefaultProfileFamilies returns the names of the slo_* families of the
// default profile, for tools (dashboards, rules) that must read only those;
// see PeriodOnlyFamilies for those exported for one window only.
func DefaultProfileFamilies() []string {
	var out []string
	for _, f := range sloFamilies {
		if !fullOnly[f] {
			out = append(out, f.name)
		}
	}
	return out
}
