// Package policy is the error-budget policy: zones by budget remaining and
// what each zone allows, so that a CI/CD pipeline can ask "may this change
// ship now?" and get a yes or no with the reason, the approval it needs and
// who to tell.
//
// The defaults follow the reference policy: green (>= 75% remaining) allows
// everything with standard approval; yellow (25-75%) needs a senior
// engineer; orange (0-25%) allows bug fixes only with an engineering
// manager; red (exhausted) freezes features and needs a VP. Security
// patches and data-loss fixes are always allowed. Everything is
// configuration.
package policy

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// Change kinds a gate is asked about.
const (
	Feature  = "feature"
	BugFix   = "bugfix"
	Security = "security"
	DataLoss = "dataloss"
)

// Zone is one policy zone and what it allows.
type Zone struct {
	Name string `yaml:"name" json:"name"`
	// MinRemaining is the lowest remaining-budget ratio still in the zone;
	// the last zone takes everything below the others.
	MinRemaining float64 `yaml:"min_remaining" json:"min_remaining"`
	// Allow lists the change kinds allowed in the zone.
	Allow []string `yaml:"allow" json:"allow"`
	// Approval is who must approve a change.
	Approval string `yaml:"approval" json:"approval"`
	// Notify lists who is told.
	Notify []string `yaml:"notify" json:"notify,omitempty"`
}

// Policy is the zones, highest first, and the kinds always allowed.
type Policy struct {
	Zones       []Zone   `yaml:"zones" json:"zones"`
	AlwaysAllow []string `yaml:"always_allow" json:"always_allow"`
}

// Default returns the reference policy, on the evaluator's default zone
// boundaries (so the exported slo_budget_zone and the gate agree).
func Default() Policy {
	actions := map[string]Zone{
		"green":  {Allow: []string{Feature, BugFix}, Approval: "standard"},
		"yellow": {Allow: []string{Feature, BugFix}, Approval: "senior engineer", Notify: []string{"engineering manager"}},
		"orange": {Allow: []string{BugFix}, Approval: "engineering manager", Notify: []string{"engineering manager", "VP engineering"}},
		"red":    {Approval: "VP engineering", Notify: []string{"engineering manager", "VP engineering", "executives"}},
	}
	p := Policy{AlwaysAllow: []string{Security, DataLoss}}
	for _, ez := range evaluator.DefaultZones() {
		z := actions[ez.Name]
		z.Name, z.MinRemaining = ez.Name, ez.MinRemaining
		p.Zones = append(p.Zones, z)
	}
	return p
}

// EvaluatorZones returns the zone boundaries for the evaluator.
func (p Policy) EvaluatorZones() []evaluator.Zone {
	out := make([]evaluator.Zone, len(p.Zones))
	for i, z := range p.Zones {
		out[i] = evaluator.Zone{Name: z.Name, MinRemaining: z.MinRemaining}
	}
	if len(out) > 0 {
		out[len(out)-1].MinRemaining = math.Inf(-1)
	}
	return out
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

// Decision is the gate's answer for one SLO.
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
// given budget remaining.
func (p Policy) Decide(slo string, remaining float64, kind string) Decision {
	z := p.ZoneFor(remaining)
	d := Decision{SLO: slo, Remaining: remaining, Zone: z.Name, Change: kind, Approval: z.Approval, Notify: z.Notify}
	pct := fmt.Sprintf("%.1f%%", remaining*100)
	switch {
	case slices.Contains(p.AlwaysAllow, kind):
		d.Allowed = true
		d.Reason = fmt.Sprintf("%s changes are always allowed (zone %s, %s of budget left)", kind, z.Name, pct)
	case slices.Contains(z.Allow, kind):
		d.Allowed = true
		d.Reason = fmt.Sprintf("zone %s (%s of budget left) allows %s changes with %s approval", z.Name, pct, kind, z.Approval)
	default:
		allowed := "nothing but " + strings.Join(p.AlwaysAllow, " and ")
		if len(z.Allow) > 0 {
			allowed = strings.Join(z.Allow, ", ")
		}
		d.Reason = fmt.Sprintf("zone %s (%s of budget left) allows %s; %s changes are frozen", z.Name, pct, allowed, kind)
	}
	return d
}
