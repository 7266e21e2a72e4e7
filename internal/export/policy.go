package export

import (
	"net/http"
	"slices"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/policy"
)

// The deploy gate's families: the policy's answer per service and change
// kind, so that deploy tooling, dashboards and the policy check command
// agree (they all call policy.Check).
var (
	famPolicyAllowed  = &family{"slo_policy_allowed", "1 when the error budget policy allows the change kind for the service's SLOs without extra approval, else 0 (denied, needs approval or cannot decide).", gaugeType}
	famPolicyDecision = &family{"slo_policy_decision", "Error budget policy decision for the change kind and the service's SLOs: 1 for the current decision (allow, approval, unknown, deny), 0 for the others.", gaugeType}
)

// SetPolicy sets the error-budget policy the deploy gate decides with:
// /api/v1/policy at once, the slo_policy_* series from the next snapshot
// on. Until it is called the store answers with policy.Default(). p must
// not be modified afterwards.
func (s *Store) SetPolicy(p policy.Policy) { s.policy.Store(&p) }

// Policy returns the published policy, or policy.Default().
func (s *Store) Policy() policy.Policy {
	if p := s.policy.Load(); p != nil {
		return *p
	}
	return policy.Default()
}

// PolicyStates converts the JSON API's SLOs to the gate's states, one per
// group. A calendar or rolling SLO alike contributes its groups' zones and
// budget remaining; the policy check command uses it on the JSON of a
// remote exporter, the daemon on its own snapshot.
func PolicyStates(slos []SLO) []policy.State {
	var out []policy.State
	for _, s := range slos {
		for _, g := range s.Groups {
			st := policy.State{SLO: s.Name, Service: s.Service, Group: g.Labels, Zone: g.Zone,
				DataUp: s.DataUp, EvaluatedAt: s.EvaluatedAt}
			if g.Budget != nil {
				r := g.Budget.RemainingRatio
				st.Remaining = &r
			}
			out = append(out, st)
		}
		if len(s.Groups) == 0 {
			out = append(out, policy.State{SLO: s.Name, Service: s.Service, DataUp: s.DataUp, EvaluatedAt: s.EvaluatedAt})
		}
	}
	return out
}

// snapshotStates is PolicyStates of the snapshot itself, without building
// the JSON model (the series are rendered for every snapshot); without
// groups it leaves the group labels out, which the decision does not need.
func snapshotStates(snap *evaluator.Snapshot, groups bool) []policy.State {
	var out []policy.State
	for i := range snap.SLOs {
		r := &snap.SLOs[i]
		zones := r.Spec.Zones
		if zones == nil {
			zones = slo.DefaultZones()
		}
		base := policy.State{SLO: r.Spec.Name, Service: r.Spec.Service, DataUp: r.DataUp, EvaluatedAt: snap.Time}
		if len(r.Groups) == 0 {
			out = append(out, base)
		}
		for j := range r.Groups {
			g := &r.Groups[j]
			st := base
			if groups && len(g.Labels) > 0 {
				st.Group = make(map[string]string, len(g.Labels))
				for _, l := range g.Labels {
					st.Group[l.Name] = l.Value
				}
			}
			if g.Zone >= 0 && g.Zone < len(zones) {
				st.Zone = zones[g.Zone].Name
			}
			if g.Budget.OK {
				v := fin(g.Budget.RemainingRatio)
				st.Remaining = &v
			}
			out = append(out, st)
		}
	}
	return out
}

// writePolicy writes slo_policy_allowed and slo_policy_decision for every
// service of the snapshot and every change kind of the policy.
func writePolicy(e emitter, snap *evaluator.Snapshot, _ map[string]SLOInfo, pol policy.Policy) {
	kinds := pol.Kinds()
	if snap == nil || len(snap.SLOs) == 0 || len(kinds) == 0 {
		return
	}
	byService := map[string][]policy.State{}
	var services []string
	for _, st := range snapshotStates(snap, false) {
		if byService[st.Service] == nil {
			services = append(services, st.Service)
		}
		byService[st.Service] = append(byService[st.Service], st)
	}
	slices.Sort(services)
	results := make(map[[2]string]policy.Outcome, len(services)*len(kinds))
	for _, svc := range services {
		for _, k := range kinds {
			results[[2]string{svc, k}] = pol.Outcome(policy.Request{Change: k, Service: svc, Now: snap.Time}, byService[svc])
		}
	}
	e.family(famPolicyAllowed)
	for _, svc := range services {
		for _, k := range kinds {
			e.sample(labels("service", svc, "change", k), nil, b2f(results[[2]string{svc, k}] == policy.Allow))
		}
	}
	e.family(famPolicyDecision)
	for _, svc := range services {
		for _, k := range kinds {
			for _, o := range policy.Outcomes {
				e.sample(labels("service", svc, "change", k, "decision", o.String()), nil, b2f(results[[2]string{svc, k}] == o))
			}
		}
	}
}

// servePolicy answers GET /api/v1/policy: without change, the policy
// itself; with change (and optionally slo or service), the gate's
// decision, as the policy check command prints it with --output json.
// max_age (a Go duration, default policy.DefaultMaxAge, 0 disables) makes
// an SLO evaluated longer ago than that undecidable. The HTTP status is
// 200 for every decision, 400 for a bad request.
func (s *Server) servePolicy(w http.ResponseWriter, r *http.Request) {
	pol := s.store.Policy()
	q := r.URL.Query()
	change := q.Get("change")
	if change == "" {
		writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: pol})
		return
	}
	if err := pol.ValidateChange(change); err != nil {
		writeJSON(w, http.StatusBadRequest, apiResponse{Status: "error", Error: err.Error()})
		return
	}
	if q.Get("slo") != "" && q.Get("service") != "" {
		writeJSON(w, http.StatusBadRequest, apiResponse{Status: "error", Error: "give slo or service, not both"})
		return
	}
	maxAge := policy.DefaultMaxAge
	if v := q.Get("max_age"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			writeJSON(w, http.StatusBadRequest, apiResponse{Status: "error", Error: "max_age " + v + ": not a non-negative duration such as 10m"})
			return
		}
		maxAge = d
	}
	req := policy.Request{Change: change, SLO: q.Get("slo"), Service: q.Get("service"), Now: time.Now(), MaxAge: maxAge}
	snap, _ := s.store.Snapshot()
	var res policy.Result
	if snap == nil {
		res = policy.Unreachable(req, errNotEvaluated)
	} else {
		res = pol.Check(req, snapshotStates(snap, true))
	}
	writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: res})
}

type notEvaluated struct{}

func (notEvaluated) Error() string {
	return "the exporter has not evaluated yet (starting or backfilling)"
}

var errNotEvaluated error = notEvaluated{}
