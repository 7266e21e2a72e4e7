package slo

import (
	"encoding/json"
	"math"
)

// Change kinds a deploy gate is asked about. A policy may name others in
// allow and always_allow; these are the ones of the reference policy.
const (
	Feature  = "feature"
	BugFix   = "bugfix"
	Refactor = "refactor"
	Security = "security"
	DataLoss = "dataloss"
)

// StandardApproval is the approval of a zone that needs nothing beyond the
// team's usual review: a change allowed there is allowed outright. Any
// other approval (or an empty one, which means the same as standard) names
// who must approve.
const StandardApproval = "standard"

// Zone is one error-budget policy zone: the budgets it holds and what it
// allows. The engine uses Name and MinRemaining (slo_budget_zone); the
// policy gate and the escalation rules the rest.
type Zone struct {
	// Name is exported in the zone label of slo_budget_zone.
	Name string
	// MinRemaining is the lowest remaining-budget ratio still in this zone;
	// the last zone takes everything below the others (-Inf).
	MinRemaining float64
	// Allow lists the change kinds allowed in the zone.
	Allow []string
	// Approval is who must approve a change; "" or StandardApproval for
	// the usual review.
	Approval string
	// Notify lists who is told while a budget is in the zone.
	Notify []string
}

// NeedsApproval reports whether a change allowed in the zone still needs
// an approval beyond the usual review.
func (z Zone) NeedsApproval() bool {
	return z.Approval != "" && z.Approval != StandardApproval
}

// zoneJSON is a Zone in JSON, with min_remaining left out for the last
// zone's -Inf (JSON has no infinities).
type zoneJSON struct {
	Name         string   `json:"name"`
	MinRemaining *float64 `json:"min_remaining,omitempty"`
	Allow        []string `json:"allow"`
	Approval     string   `json:"approval"`
	Notify       []string `json:"notify,omitempty"`
}

// MarshalJSON writes the zone with its bound when it has one.
func (z Zone) MarshalJSON() ([]byte, error) {
	j := zoneJSON{Name: z.Name, Allow: z.Allow, Approval: z.Approval, Notify: z.Notify}
	if j.Allow == nil {
		j.Allow = []string{}
	}
	if !math.IsInf(z.MinRemaining, 0) && !math.IsNaN(z.MinRemaining) {
		m := z.MinRemaining
		j.MinRemaining = &m
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads a zone; without min_remaining it takes everything
// below the others.
func (z *Zone) UnmarshalJSON(b []byte) error {
	var j zoneJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*z = Zone{Name: j.Name, MinRemaining: math.Inf(-1), Allow: j.Allow, Approval: j.Approval, Notify: j.Notify}
	if j.MinRemaining != nil {
		z.MinRemaining = *j.MinRemaining
	}
	return nil
}

// DefaultZones returns the reference policy's zones, highest first: green
// (>= 75% of the budget left) allows every change with the usual review;
// yellow (>= 25%) needs a senior engineer; orange (>= 0%) allows bug fixes
// only, approved by an engineering manager; red (exhausted) freezes
// everything and needs a VP.
func DefaultZones() []Zone {
	return []Zone{
		{Name: "green", MinRemaining: 0.75, Allow: []string{Feature, BugFix, Refactor}, Approval: StandardApproval},
		{Name: "yellow", MinRemaining: 0.25, Allow: []string{Feature, BugFix, Refactor}, Approval: "senior engineer",
			Notify: []string{"engineering manager"}},
		{Name: "orange", MinRemaining: 0, Allow: []string{BugFix}, Approval: "engineering manager",
			Notify: []string{"engineering manager", "VP engineering"}},
		{Name: "red", MinRemaining: math.Inf(-1), Approval: "VP engineering",
			Notify: []string{"engineering manager", "VP engineering", "executives"}},
	}
}

// DefaultAlwaysAllow returns the change kinds the reference policy allows
// in every zone: security patches and data-loss fixes.
func DefaultAlwaysAllow() []string { return []string{Security, DataLoss} }

// ZoneIndex returns the index of the zone a remaining-budget ratio falls
// in: the first zone whose MinRemaining it reaches, else the last.
func ZoneIndex(zones []Zone, remaining float64) int {
	for i, z := range zones {
		if remaining >= z.MinRemaining {
			return i
		}
	}
	return len(zones) - 1
}
