package policy

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// Outcome is the gate's answer. Its order is the order of precedence when
// several SLOs answer: one Deny denies the change whatever the others say;
// otherwise one Unknown makes the whole answer Unknown (a budget that
// cannot be read might deny); otherwise one NeedsApproval asks for it.
type Outcome int

// The outcomes, from the weakest to the strongest.
const (
	Allow Outcome = iota
	NeedsApproval
	Unknown
	Deny
)

var outcomeNames = [...]string{"allow", "approval", "unknown", "deny"}

// Outcomes lists every outcome, in the order of the slo_policy_decision
// series.
var Outcomes = []Outcome{Allow, NeedsApproval, Unknown, Deny}

// String returns allow, approval, unknown or deny.
func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return fmt.Sprintf("outcome(%d)", int(o))
	}
	return outcomeNames[o]
}

// MarshalJSON writes the outcome's name.
func (o Outcome) MarshalJSON() ([]byte, error) { return json.Marshal(o.String()) }

// UnmarshalJSON reads an outcome's name.
func (o *Outcome) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	i := slices.Index(outcomeNames[:], s)
	if i < 0 {
		return fmt.Errorf("policy: unknown outcome %q", s)
	}
	*o = Outcome(i)
	return nil
}

// ExitCode is the process exit code of the policy check command for CI/CD:
// 0 allow, 1 deny, 2 needs approval, 3 cannot decide.
func (o Outcome) ExitCode() int {
	switch o {
	case Allow:
		return 0
	case Deny:
		return 1
	case NeedsApproval:
		return 2
	}
	return 3
}

// State is the live state of one SLO group, as the exporter exports it
// (slo_budget_zone, slo_error_budget_remaining_ratio, slo_data_up,
// slo_last_evaluation_timestamp_seconds).
type State struct {
	SLO     string            `json:"slo"`
	Service string            `json:"service"`
	Group   map[string]string `json:"group,omitempty"`
	// Zone is the exported zone; empty when the group has no budget (no
	// valid events in the period).
	Zone string `json:"zone,omitempty"`
	// Remaining is the budget remaining ratio, nil when unknown.
	Remaining *float64 `json:"budget_remaining_ratio,omitempty"`
	// DataUp is false when the exporter's last pull for the SLO failed.
	DataUp bool `json:"data_up"`
	// EvaluatedAt is when the state was computed.
	EvaluatedAt time.Time `json:"evaluated_at"`
}

// Request is one question to the gate.
type Request struct {
	// Change is the change kind (feature, bugfix, ...).
	Change string
	// SLO or Service narrow the SLOs asked (at most one of them); neither
	// asks every SLO.
	SLO, Service string
	// Now is the time of the question; states evaluated more than MaxAge
	// before it are stale (MaxAge 0 disables the check).
	Now    time.Time
	MaxAge time.Duration
}

// SLOResult is the answer for one SLO group.
type SLOResult struct {
	State
	Outcome Outcome `json:"decision"`
	Reason  string  `json:"reason"`
}

// Result is the gate's answer with everything behind it.
type Result struct {
	Change string `json:"change"`
	// Scope says which SLOs were asked: "all SLOs", "slo X" or "service S".
	Scope    string  `json:"scope"`
	Decision Outcome `json:"decision"`
	ExitCode int     `json:"exit_code"`
	// Summary is one sentence for humans.
	Summary string `json:"summary"`
	// Zone is the worst zone among the SLOs asked ("" when none is known).
	Zone string `json:"zone,omitempty"`
	// Approvals are who must approve (when Decision is NeedsApproval).
	Approvals []string `json:"approvals,omitempty"`
	// Notify is everyone the zones of the SLOs asked want told.
	Notify []string `json:"notify,omitempty"`
	// SLOs are the answers per SLO group, worst first.
	SLOs []SLOResult `json:"slos"`
}

// ValidateChange checks that the policy knows a change kind.
func (p Policy) ValidateChange(change string) error {
	if change == "" {
		return fmt.Errorf("the change kind is missing; one of %s", strings.Join(p.Kinds(), ", "))
	}
	if !slices.Contains(p.Kinds(), change) {
		return fmt.Errorf("change %q: the policy names no such change kind; one of %s", change, strings.Join(p.Kinds(), ", "))
	}
	return nil
}

// Check answers a request from the live states of the SLOs. It never
// allows silently: a group whose data is down, stale, without a budget or
// in a zone the policy does not know answers Unknown, and so does a scope
// without any SLO. Only kinds in always_allow are allowed regardless of
// the state, since no zone can deny them.
func (p Policy) Check(req Request, states []State) Result {
	res := Result{Change: req.Change, Scope: "all SLOs", SLOs: []SLOResult{}}
	switch {
	case req.SLO != "":
		res.Scope = "slo " + req.SLO
	case req.Service != "":
		res.Scope = "service " + req.Service
	}
	if err := p.ValidateChange(req.Change); err != nil {
		return res.finish(Unknown, err.Error())
	}
	worst := -1
	notify := []string{}
	approvals := []string{}
	for _, st := range states {
		if (req.SLO != "" && st.SLO != req.SLO) || (req.Service != "" && st.Service != req.Service) {
			continue
		}
		r := SLOResult{State: st}
		z, zi, why := p.decideOne(req, st, &r)
		if why == "" {
			worst = max(worst, zi)
			for _, n := range z.Notify {
				if !slices.Contains(notify, n) {
					notify = append(notify, n)
				}
			}
			if r.Outcome == NeedsApproval && !slices.Contains(approvals, z.Approval) {
				approvals = append(approvals, z.Approval)
			}
		}
		res.SLOs = append(res.SLOs, r)
	}
	if len(res.SLOs) == 0 {
		return res.finish(Unknown, "no SLO matches "+res.Scope+"; the source exports none")
	}
	sort.SliceStable(res.SLOs, func(i, j int) bool { return res.SLOs[i].Outcome > res.SLOs[j].Outcome })
	if worst >= 0 {
		res.Zone = p.Zones[worst].Name
	}
	res.Notify = notify
	out := Allow
	for _, r := range res.SLOs {
		out = max(out, r.Outcome)
	}
	if out == NeedsApproval {
		res.Approvals = approvals
	}
	n := 0
	for _, r := range res.SLOs {
		if r.Outcome == out {
			n++
		}
	}
	first := res.SLOs[0]
	var why string
	switch out {
	case Allow:
		why = fmt.Sprintf("%s changes may ship: %s", req.Change, plural(len(res.SLOs), "SLO group"))
		if res.Zone != "" {
			why += ", worst zone " + res.Zone
		}
	case NeedsApproval:
		why = fmt.Sprintf("%s changes need approval by %s (%s in zone %s)", req.Change, strings.Join(approvals, " and "),
			plural(n, "SLO group"), res.Zone)
	case Deny:
		why = fmt.Sprintf("%s changes are denied: %s %s", req.Change, first.name(), first.Reason)
		if n > 1 {
			why += fmt.Sprintf(" (and %s more)", plural(n-1, "SLO group"))
		}
	case Unknown:
		why = fmt.Sprintf("cannot decide %s changes: %s: %s", req.Change, first.name(), first.Reason)
		if n > 1 {
			why += fmt.Sprintf(" (and %s more)", plural(n-1, "SLO group"))
		}
	}
	return res.finish(out, why)
}

// decideOne judges one state into r (Outcome and Reason) and returns its
// zone, the zone's index and why it cannot be judged ("" when it can).
func (p Policy) decideOne(req Request, st State, r *SLOResult) (Zone, int, string) {
	z, zi, known := p.Zone(st.Zone)
	why := p.undecidable(req, st, known)
	switch {
	case slices.Contains(p.AlwaysAllow, req.Change):
		r.Outcome, r.Reason = Allow, fmt.Sprintf("%s changes are allowed in every zone", req.Change)
		if why != "" {
			r.Reason += " (the zone is not known: " + why + ")"
		}
	case why != "":
		r.Outcome, r.Reason = Unknown, why
	default:
		r.Outcome, r.Reason = p.judge(z, req.Change)
		r.Reason = "zone " + z.Name + ": " + r.Reason
	}
	return z, zi, why
}

// Outcome is Check's decision alone, without the result's details: the
// daemon computes it for every service and change kind of every snapshot.
// States outside the request's scope are skipped as Check skips them.
func (p Policy) Outcome(req Request, states []State) Outcome {
	if p.ValidateChange(req.Change) != nil {
		return Unknown
	}
	always := slices.Contains(p.AlwaysAllow, req.Change)
	out, n := Allow, 0
	for i := range states {
		st := &states[i]
		if (req.SLO != "" && st.SLO != req.SLO) || (req.Service != "" && st.Service != req.Service) {
			continue
		}
		n++
		if always {
			continue
		}
		z, _, known := p.Zone(st.Zone)
		var o Outcome
		switch {
		case !st.DataUp || st.Zone == "" || !known ||
			(req.MaxAge > 0 && !st.EvaluatedAt.IsZero() && req.Now.Sub(st.EvaluatedAt) > req.MaxAge):
			o = Unknown
		case !slices.Contains(z.Allow, req.Change):
			o = Deny
		case z.NeedsApproval():
			o = NeedsApproval
		}
		out = max(out, o)
	}
	if n == 0 {
		return Unknown
	}
	return out
}

// undecidable says why a state cannot be judged, or "" when it can.
func (p Policy) undecidable(req Request, st State, known bool) string {
	switch {
	case !st.DataUp:
		return "data is down: the exporter's last pull for this SLO failed (slo_data_up 0)"
	case req.MaxAge > 0 && !st.EvaluatedAt.IsZero() && req.Now.Sub(st.EvaluatedAt) > req.MaxAge:
		return fmt.Sprintf("stale data: evaluated %s ago, more than the allowed %s",
			req.Now.Sub(st.EvaluatedAt).Round(time.Second), req.MaxAge)
	case st.Zone == "":
		return "no budget: no valid events in the period"
	case !known:
		return fmt.Sprintf("zone %q is not in the policy (zones: %s)", st.Zone, strings.Join(p.zoneNames(), ", "))
	}
	return ""
}

func (p Policy) zoneNames() []string {
	out := make([]string, len(p.Zones))
	for i, z := range p.Zones {
		out[i] = z.Name
	}
	return out
}

func (r *Result) finish(o Outcome, summary string) Result {
	r.Decision, r.ExitCode, r.Summary = o, o.ExitCode(), summary
	return *r
}

// Unreachable is the answer when the source of the live state cannot be
// read at all: cannot decide, whatever the change.
func Unreachable(req Request, err error) Result {
	res := Result{Change: req.Change, Scope: "all SLOs", SLOs: []SLOResult{}}
	switch {
	case req.SLO != "":
		res.Scope = "slo " + req.SLO
	case req.Service != "":
		res.Scope = "service " + req.Service
	}
	return res.finish(Unknown, fmt.Sprintf("cannot decide %s changes: the live state cannot be read: %v", req.Change, err))
}

// name is the SLO's name with its group labels.
func (r SLOResult) name() string { return GroupName(r.SLO, r.Group) }

// GroupName is slo{label="value",...}, or slo alone for an ungrouped SLO.
func GroupName(slo string, group map[string]string) string {
	if len(group) == 0 {
		return slo
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(group)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, group[k]))
	}
	return slo + "{" + strings.Join(parts, ",") + "}"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// DefaultMaxAge is how old a state may be before the gate calls it stale:
// two default Prometheus scrape intervals past the longest usual
// evaluation interval (5m), so a healthy exporter is never stale.
const DefaultMaxAge = 10 * time.Minute
