package export

import (
	"encoding/json"
	"maps"
	"net/http"
	"strconv"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// SLO is one SLO in the JSON API. Values that do not exist (an SLI without
// valid events, a budget without valid events in the period, an
// exhaustion time while not burning) are omitted, never NaN.
type SLO struct {
	Name      string            `json:"name"`
	Service   string            `json:"service"`
	Kind      string            `json:"sli_kind,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	Objective float64           `json:"objective"`
	// Period is the period's window label (e.g. "30d", "month");
	// PeriodSeconds its current length.
	Period        string    `json:"period"`
	PeriodSeconds float64   `json:"period_seconds"`
	PeriodStart   time.Time `json:"period_start"`
	DataUp        bool      `json:"data_up"`
	EvaluatedAt   time.Time `json:"evaluated_at"`
	Tiers         []Tier    `json:"tiers,omitempty"`
	Groups        []Group   `json:"groups"`
}

// Tier is an alert tier with its threshold for the SLO's period.
type Tier struct {
	Name        string  `json:"name"`
	Severity    string  `json:"severity"`
	LongWindow  string  `json:"long_window"`
	ShortWindow string  `json:"short_window"`
	Threshold   float64 `json:"threshold"`
}

// Group is one group of an SLO (the only one, without labels, when the
// SLO is not grouped).
type Group struct {
	Labels  map[string]string `json:"labels,omitempty"`
	Windows []Window          `json:"windows"`
	// PeriodSLI is the SLI over the budget period.
	PeriodSLI *float64 `json:"period_sli,omitempty"`
	Budget    *Budget  `json:"budget,omitempty"`
	// Firing lists the tiers whose alert fires.
	Firing []string `json:"firing"`
	Zone   string   `json:"zone,omitempty"`
}

// Window is one window of a group. Good and Valid are left out for a
// composite SLO, which has no events of its own.
type Window struct {
	Window   string   `json:"window"`
	Good     *float64 `json:"good,omitempty"`
	Valid    *float64 `json:"valid,omitempty"`
	Coverage float64  `json:"coverage"`
	SLI      *float64 `json:"sli,omitempty"`
	BurnRate *float64 `json:"burn_rate,omitempty"`
}

// Budget is a group's error budget over the period. The event counts are
// left out for a composite SLO, whose budget is a ratio only.
type Budget struct {
	Allowed           *float64 `json:"allowed_events,omitempty"`
	Bad               *float64 `json:"bad_events,omitempty"`
	RemainingEvents   *float64 `json:"remaining_events,omitempty"`
	RemainingRatio    float64  `json:"remaining_ratio"`
	ExhaustionSeconds *float64 `json:"exhaustion_seconds,omitempty"`
	// Cost is the cost of the bad events and of the budget left, when the
	// SLO has cost.per_event (never for a composite).
	Cost *BudgetCost `json:"cost,omitempty"`
}

// BudgetCost prices a budget: Spent = bad events x PerEvent, Remaining =
// remaining events x PerEvent (negative once exhausted).
type BudgetCost struct {
	PerEvent  float64 `json:"per_event"`
	Currency  string  `json:"currency,omitempty"`
	Spent     float64 `json:"spent"`
	Remaining float64 `json:"remaining"`
}

// opt returns &v when ok and v is finite, else nil.
func opt(v float64, ok bool) *float64 {
	if !ok || !finite(v) {
		return nil
	}
	return &v
}

// fin returns v, or 0 for NaN and infinities (which the evaluator does not
// produce for these fields; JSON cannot carry them).
func fin(v float64) float64 {
	if !finite(v) {
		return 0
	}
	return v
}

// SLOs converts a snapshot to the JSON API's model, in snapshot order.
func SLOs(snap *evaluator.Snapshot, info map[string]SLOInfo) []SLO {
	if snap == nil {
		return []SLO{}
	}
	out := make([]SLO, 0, len(snap.SLOs))
	for i := range snap.SLOs {
		out = append(out, toSLO(snap, &snap.SLOs[i], info[snap.SLOs[i].Spec.Name]))
	}
	return out
}

func toSLO(snap *evaluator.Snapshot, r *evaluator.SLOResult, meta SLOInfo) SLO {
	s := SLO{
		Name: r.Spec.Name, Service: r.Spec.Service, Kind: string(meta.Kind), Metadata: maps.Clone(meta.Labels),
		Objective: r.Spec.Objective, Period: WindowLabel(r.Spec.Period), PeriodSeconds: r.Period.Seconds(),
		PeriodStart: r.PeriodStart.UTC(), DataUp: r.DataUp, EvaluatedAt: snap.Time.UTC(),
		Groups: make([]Group, 0, len(r.Groups)),
	}
	if r.Spec.Calendar != "" {
		s.Period = string(r.Spec.Calendar)
	}
	for _, t := range r.Tiers {
		s.Tiers = append(s.Tiers, Tier{Name: t.Name, Severity: t.Severity, LongWindow: WindowLabel(t.LongWindow),
			ShortWindow: WindowLabel(t.ShortWindow), Threshold: fin(t.Threshold)})
	}
	zones := r.Spec.Zones
	if zones == nil {
		zones = slo.DefaultZones()
	}
	// events is an event count, or nil for a composite.
	events := func(v float64) *float64 {
		if r.Composite {
			return nil
		}
		v = fin(v)
		return &v
	}
	for j := range r.Groups {
		g := &r.Groups[j]
		out := Group{Windows: make([]Window, 0, len(g.Windows)+1), Firing: []string{},
			PeriodSLI: opt(g.Period.SLI, g.Period.HasSLI)}
		if len(g.Labels) > 0 {
			out.Labels = make(map[string]string, len(g.Labels))
			for _, l := range g.Labels {
				out.Labels[l.Name] = l.Value
			}
		}
		add := func(name string, w *evaluator.WindowResult) {
			out.Windows = append(out.Windows, Window{Window: name, Good: events(w.Good), Valid: events(w.Valid),
				Coverage: fin(w.Coverage), SLI: opt(w.SLI, w.HasSLI), BurnRate: opt(w.BurnRate, w.HasSLI)})
		}
		for k, w := range r.Windows {
			add(WindowLabel(w), &g.Windows[k])
		}
		if r.Spec.Calendar != "" {
			add(string(r.Spec.Calendar), &g.Period)
		}
		if b := g.Budget; b.OK {
			out.Budget = &Budget{Allowed: events(b.Allowed), Bad: events(b.Bad), RemainingEvents: events(b.RemainingEvents),
				RemainingRatio: fin(b.RemainingRatio), ExhaustionSeconds: opt(b.ExhaustionSeconds, b.HasExhaustion)}
			if c := meta.Cost; c != nil && !r.Composite {
				out.Budget.Cost = &BudgetCost{PerEvent: c.PerEvent, Currency: c.Currency,
					Spent: fin(b.Bad * c.PerEvent), Remaining: fin(b.RemainingEvents * c.PerEvent)}
			}
		}
		for k, firing := range g.Alerts {
			if firing && k < len(r.Tiers) {
				out.Firing = append(out.Firing, r.Tiers[k].Name)
			}
		}
		if g.Zone >= 0 && g.Zone < len(zones) {
			out.Zone = zones[g.Zone].Name
		}
		s.Groups = append(s.Groups, out)
	}
	return s
}

// apiResponse is the envelope of the JSON API, in the shape of
// Prometheus' own API.
type apiResponse struct {
	Status string `json:"status"`
	Data   any    `json:"data,omitempty"`
	Error  string `json:"error,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v apiResponse) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

func (s *Server) serveSLOs(w http.ResponseWriter, _ *http.Request) {
	snap, info := s.store.Snapshot()
	writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: SLOs(snap, info)})
}

func (s *Server) serveSLO(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	snap, info := s.store.Snapshot()
	if snap != nil {
		for i := range snap.SLOs {
			if snap.SLOs[i].Spec.Name == name {
				writeJSON(w, http.StatusOK, apiResponse{Status: "success", Data: toSLO(snap, &snap.SLOs[i], info[name])})
				return
			}
		}
	}
	writeJSON(w, http.StatusNotFound, apiResponse{Status: "error", Error: "slo " + strconv.Quote(name) + " not found"})
}
