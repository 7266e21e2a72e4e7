// Package policy is the error-budget policy: zones by budget remaining and
// what each zone allows, so that a CI/CD pipeline can ask "may this change
// ship now?" and get allow, deny, needs approval or cannot decide, with the
// SLOs and zones behind the answer, the approvals it needs and who to tell.
//
// The defaults follow the reference policy: green (>= 75% remaining) allows
// every change with standard approval; yellow (25-75%) needs a senior
// engineer; orange (0-25%) allows bug fixes only with an engineering
// manager; red (exhausted) freezes everything and needs a VP. Security
// patches and data-loss fixes are always allowed. Everything is
// configuration (global.budget_policy); internal/plan converts the
// configuration into a Policy.
//
// This package is the one implementation of the gate: the policy check
// command, the daemon's /api/v1/policy and the slo_policy_* series all
// call Check.
package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/slo-exporter/slo-exporter/internal/slo"
)

// Change kinds and the standard approval are the vocabulary's.
const (
	Feature          = slo.Feature
	BugFix           = slo.BugFix
	Refactor         = slo.Refactor
	Security         = slo.Security
	DataLoss         = slo.DataLoss
	StandardApproval = slo.StandardApproval
)

// Zone is the vocabulary's policy zone (slo.Zone).
type Zone = slo.Zone

// Policy is the zones, highest first, and the kinds always allowed.
type Policy struct {
	Zones       []Zone   `json:"zones"`
	AlwaysAllow []string `json:"always_allow"`
}

// Default returns the reference policy of the vocabulary
// (slo.DefaultZones, slo.DefaultAlwaysAllow), the same zones the engine
// exports in slo_budget_zone.
func Default() Policy {
	return Policy{Zones: slo.DefaultZones(), AlwaysAllow: slo.DefaultAlwaysAllow()}
}

// Validate checks that zones are named, unique and in descending order.
func (p Policy) Validate() error {
	if len(p.Zones) == 0 {
		return fmt.Errorf("policy: no zones")
	}
	seen := map[string]bool{}
	for i, z := range p.Zones {
		switch {
		case z.Name == "":
			return fmt.Errorf("policy: zones[%d]: name is empty", i)
		case seen[z.Name]:
			return fmt.Errorf("policy: zones[%d]: duplicate zone %q", i, z.Name)
		case i > 0 && z.MinRemaining >= p.Zones[i-1].MinRemaining:
			return fmt.Errorf("policy: zones[%d] %q: min_remaining %v must be below the previous zone's %v",
				i, z.Name, z.MinRemaining, p.Zones[i-1].MinRemaining)
		}
		seen[z.Name] = true
	}
	return nil
}

// ZoneFor returns the zone of a remaining-budget ratio.
func (p Policy) ZoneFor(remaining float64) Zone {
	for _, z := range p.Zones {
		if remaining >= z.MinRemaining {
			return z
		}
	}
	return p.Zones[len(p.Zones)-1]
}

// Zone returns the zone named name and its index (0 is the best zone).
func (p Policy) Zone(name string) (Zone, int, bool) {
	for i, z := range p.Zones {
		if z.Name == name {
			return z, i, true
		}
	}
	return Zone{}, -1, false
}

// Kinds returns every change kind the policy names, always-allowed kinds
// first, then in zone order, without duplicates.
func (p Policy) Kinds() []string {
	out := slices.Clone(p.AlwaysAllow)
	for _, z := range p.Zones {
		for _, k := range z.Allow {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// Decision is the gate's answer for one SLO with a known remaining ratio.
type Decision struct {
	SLO       string   `json:"slo"`
	Remaining float64  `json:"budget_remaining_ratio"`
	Zone      string   `json:"zone"`
	Change    string   `json:"change"`
	Allowed   bool     `json:"allowed"`
	Approval  string   `json:"approval"`
	Notify    []string `json:"notify,omitempty"`
	Reason    string   `json:"reason"`
}

// Decide answers whether a change of kind may ship for an SLO with the
// given budget remaining. Allowed is true also when the zone asks for an
// approval; Check tells the two apart.
func (p Policy) Decide(slo string, remaining float64, kind string) Decision {
	z := p.ZoneFor(remaining)
	d := Decision{SLO: slo, Remaining: remaining, Zone: z.Name, Change: kind, Approval: z.Approval, Notify: z.Notify}
	pct := fmt.Sprintf("%.1f%%", remaining*100)
	out, reason := p.judge(z, kind)
	d.Allowed = out == Allow || out == NeedsApproval
	d.Reason = fmt.Sprintf("zone %s (%s of budget left): %s", z.Name, pct, reason)
	return d
}

// judge decides a change kind in a zone.
func (p Policy) judge(z Zone, kind string) (Outcome, string) {
	switch {
	case slices.Contains(p.AlwaysAllow, kind):
		return Allow, fmt.Sprintf("%s changes are allowed in every zone", kind)
	case slices.Contains(z.Allow, kind) && z.NeedsApproval():
		return NeedsApproval, fmt.Sprintf("%s changes need approval by %s", kind, z.Approval)
	case slices.Contains(z.Allow, kind):
		return Allow, fmt.Sprintf("%s changes are allowed with standard approval", kind)
	}
	allowed := "nothing but " + orNone(p.AlwaysAllow)
	if len(z.Allow) > 0 {
		allowed = "only " + strings.Join(append(slices.Clone(z.Allow), p.AlwaysAllow...), ", ")
	}
	return Deny, fmt.Sprintf("%s changes are frozen (the zone allows %s)", kind, allowed)
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, " and ")
}
