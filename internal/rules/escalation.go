package rules

import (
	"fmt"
	"strings"
	"time"
)

// AlertBudgetZone is the escalation alert of the error-budget policy: it
// fires while an SLO group's budget is in a zone that notifies someone
// (orange and red notify the VP engineering and executives in the
// reference policy), with the zone's notify list as a label for
// Alertmanager to route on.
const AlertBudgetZone = "SLOErrorBudgetZone"

// DefaultZoneFor is the for clause of AlertBudgetZone: a budget hovering
// at a zone boundary does not page the executives every few minutes.
const DefaultZoneFor = 5 * time.Minute

// Escalation is one zone of the error-budget policy that notifies
// someone.
type Escalation struct {
	// Zone is the zone label of slo_budget_zone.
	Zone string
	// Notify lists who is told while the budget is in the zone; it becomes
	// the notify label, joined with ", ".
	Notify []string
	// Approval is who approves changes in the zone (for the alert text).
	Approval string
	// Allow lists the change kinds the zone allows (for the alert text).
	Allow []string
}

func (e Escalation) validate() error {
	if e.Zone == "" || strings.ContainsAny(e.Zone, unsafeChars) {
		return fmt.Errorf("escalation zone %q: empty or contains one of %q", e.Zone, unsafeChars)
	}
	for _, s := range append(append([]string{e.Approval}, e.Notify...), e.Allow...) {
		if strings.ContainsAny(s, unsafeChars) {
			return fmt.Errorf("escalation zone %q: %q contains one of the characters %q, which cannot be used in alert rules", e.Zone, s, unsafeChars)
		}
	}
	return nil
}

// escalationRules are the AlertBudgetZone alerts of an SLO, one per zone
// with someone to notify, in policy order.
func escalationRules(s SLO, opt Options) []rule {
	var out []rule
	for _, e := range s.Escalations {
		if len(e.Notify) == 0 {
			continue
		}
		allowed := "nothing but the always-allowed kinds"
		if len(e.Allow) > 0 {
			allowed = strings.Join(e.Allow, ", ")
		}
		approval := ""
		if e.Approval != "" {
			approval = fmt.Sprintf(" Approval by %s.", e.Approval)
		}
		out = append(out, rule{
			Alert:  AlertBudgetZone,
			Expr:   fmt.Sprintf("slo_budget_zone{slo=%q,zone=%q} == 1", s.Name, e.Zone),
			For:    forClause(opt.ZoneFor),
			Labels: alertLabels(s, opt, opt.TicketSeverity, map[string]string{"zone": e.Zone, "notify": strings.Join(e.Notify, ", ")}),
			Annotations: annotations(s,
				fmt.Sprintf("%s: error budget in zone %s", subject(s, true), e.Zone),
				fmt.Sprintf("Error budget remaining is %s: the error budget policy's %s zone applies. Changes allowed: %s.%s Notify: %s.",
					queryValue(s, "slo_error_budget_remaining_ratio", "", "", "humanizePercentage"), e.Zone, allowed, approval,
					strings.Join(e.Notify, ", "))),
		})
	}
	return out
}
