package plan

import (
	"slices"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/policy"
)

// Policy converts the configuration's global.budget_policy into the
// deploy gate's policy. The zone boundaries are the ones the evaluator
// gets from Build, so the exported slo_budget_zone and the gate agree.
func Policy(cfg *config.Config) policy.Policy {
	bp := cfg.Global.BudgetPolicy
	p := policy.Policy{AlwaysAllow: slices.Clone(bp.AlwaysAllow)}
	for _, z := range bp.Zones {
		p.Zones = append(p.Zones, policy.Zone{Name: z.Name, MinRemaining: z.Min(), Allow: slices.Clone(z.Allow),
			Approval: z.Approval, Notify: slices.Clone(z.Notify)})
	}
	return p
}
