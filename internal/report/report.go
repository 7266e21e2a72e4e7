// Package report computes the SLO report of a time range: per SLO group,
// the objective against the achieved SLI, the error budget spent (events
// and minutes), the worst windows, the alert tiers' firings, the time in
// each policy zone, met or violated, and recommendations from the
// error-budget policy. It renders the report as Markdown, HTML (with
// inline SVG charts) and JSON, and drafts postmortems from the same data.
//
// The figures come from the same engine the daemon runs, driven step by
// step over the range: a Collector observes the engine after every step a
// driver records (internal/backtest's Replay for Prometheus history, or a
// synthetic feed in tests), so the zones and budgets in the report are the
// ones the daemon exported at those times.
//
// # Definitions (range (From, To], step s = the evaluation interval)
//
//	good, valid      = sums of the step window's counts over the range
//	                   (the step windows tile the range exactly)
//	SLI              = good / valid; absent without valid events
//	allowed events   = (1 - objective) * valid
//	spent events     = valid - good (the bad events)
//	spent ratio      = spent / allowed; remaining = 1 - spent ratio
//	allowed minutes  = (1 - objective) * (To - From)
//	spent minutes    = sum over steps with valid events of (1 - SLI(step)) * s,
//	                   the full-outage time the bad events amount to
//	time in zone Z   = s * the number of steps whose evaluated zone is Z
//	worst window W   = the lowest SLI(W) at any step, and when
//	met              = SLI >= objective
//
// Incidents and tier firings are internal/backtest's (runs of steps
// burning faster than 1; runs of steps during which a tier fired).
package report

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/slo-exporter/slo-exporter/internal/backtest"
	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/policy"
)

// NoZone is the zone of a step without a budget (no valid events in the
// period).
const NoZone = "none"

// Input says what to report on.
type Input struct {
	// Engine is fed by the driver; each SLO must evaluate Step as one of
	// its windows (Prepare adds it).
	Engine *evaluator.Engine
	// Step is the evaluation interval.
	Step time.Duration
	// Policy gives the zones' order and recommendations.
	Policy policy.Policy
	// From and To bound the range (From, To]; steps at or before From
	// only feed the engine (the lead-in that fills the windows).
	From, To time.Time
	// Location is the time zone times are shown in; nil means UTC.
	Location *time.Location
	// Prices, optional, are the cost of one bad event per SLO name; the
	// report shows the cost of the budget spent.
	Prices map[string]Price
}

// Price is the cost of one bad event.
type Price struct {
	PerEvent float64
	Currency string
}

// Report is the whole report.
type Report struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	TimeZone string    `json:"time_zone"`
	// Step is the evaluation interval, e.g. "1m".
	Step string `json:"step"`
	// Zones are the policy's zones, best first.
	Zones []string `json:"zones"`
	SLOs  []SLO    `json:"slos"`

	loc *time.Location
}

// SLO is one SLO's part of the report.
type SLO struct {
	Name      string  `json:"name"`
	Service   string  `json:"service"`
	Objective float64 `json:"objective"`
	// Period is the SLO's budget period: "30d", or "month" for a
	// calendar SLO.
	Period string  `json:"period"`
	Groups []Group `json:"groups"`
	// Composite SLOs have no events of their own: only zones, tiers and
	// the budget at the end are reported.
	Composite bool `json:"composite,omitempty"`
}

// Group is one SLO group over the range.
type Group struct {
	Labels map[string]string `json:"labels,omitempty"`
	// Status is "met", "violated" or "no data".
	Status      string   `json:"status"`
	GoodEvents  float64  `json:"good_events"`
	ValidEvents float64  `json:"valid_events"`
	SLI         *float64 `json:"sli,omitempty"`
	Budget      Budget   `json:"budget"`
	// AtEnd is the SLO's own budget at the end of the range, over its
	// period, as the daemon exported it then.
	AtEnd           *AtEnd         `json:"at_end,omitempty"`
	TimeInZones     []ZoneTime     `json:"time_in_zones"`
	ZoneChanges     []ZoneChange   `json:"zone_changes"`
	WorstWindows    []WorstWindow  `json:"worst_windows"`
	Incidents       []Incident     `json:"incidents"`
	Tiers           []TierFirings  `json:"tiers"`
	Recommendations []string       `json:"recommendations"`
	Cost            *Cost          `json:"cost,omitempty"`
	points          []budgetPoint  // the chart's line
	zoneRuns        []zoneInterval // the chart's bands
}

// Budget is the error budget of the range.
type Budget struct {
	AllowedEvents  float64 `json:"allowed_events"`
	SpentEvents    float64 `json:"spent_events"`
	SpentRatio     float64 `json:"spent_ratio"`
	RemainingRatio float64 `json:"remaining_ratio"`
	AllowedMinutes float64 `json:"allowed_minutes"`
	SpentMinutes   float64 `json:"spent_minutes"`
}

// AtEnd is the SLO's period budget at the end of the range.
type AtEnd struct {
	RemainingRatio float64  `json:"remaining_ratio"`
	PeriodSLI      *float64 `json:"period_sli,omitempty"`
	Zone           string   `json:"zone"`
}

// ZoneTime is the time spent in one zone.
type ZoneTime struct {
	Zone    string  `json:"zone"`
	Seconds float64 `json:"seconds"`
	Ratio   float64 `json:"ratio"`
}

// ZoneChange is a step whose zone differs from the previous step's. The
// first entry is the zone at the start of the range (From zero).
type ZoneChange struct {
	At   time.Time `json:"at"`
	From string    `json:"from,omitempty"`
	To   string    `json:"to"`
}

// WorstWindow is the lowest SLI a window showed during the range.
type WorstWindow struct {
	Window string    `json:"window"`
	SLI    float64   `json:"sli"`
	At     time.Time `json:"at"`
}

// Incident is a run of steps burning budget faster than the period
// allows (backtest's event), with the share of the period's budget it
// spent.
type Incident struct {
	Start       time.Time `json:"start"`
	End         time.Time `json:"end,omitzero"`
	BudgetSpent float64   `json:"budget_spent"`
	Significant bool      `json:"significant"`
}

// TierFirings are the alerts of one tier.
type TierFirings struct {
	Tier     string   `json:"tier"`
	Severity string   `json:"severity"`
	Firings  []Firing `json:"firings"`
}

// Firing is one alert of a tier.
type Firing struct {
	Start       time.Time `json:"start"`
	End         time.Time `json:"end,omitzero"`
	BudgetSpent float64   `json:"budget_spent"`
	// MatchedIncident is set when the firing overlaps a significant
	// incident (backtest's true positive).
	MatchedIncident bool `json:"matched_incident"`
}

// Cost is the cost of the budget spent and allowed over the range.
type Cost struct {
	PerEvent float64 `json:"per_event"`
	Currency string  `json:"currency,omitempty"`
	Spent    float64 `json:"spent"`
	Allowed  float64 `json:"allowed"`
}

type budgetPoint struct {
	t         time.Time
	remaining float64
	ok        bool
}

type zoneInterval struct {
	from, to time.Time
	zone     string
}

// trace accumulates one group while the range is replayed.
type trace struct {
	slo          int
	labels       []evaluator.Label
	good, valid  float64
	badSeconds   float64
	zoneSteps    map[string]int
	changes      []ZoneChange
	last         string
	worst        map[time.Duration]*WorstWindow
	points       []budgetPoint
	runs         []zoneInterval
	end          evaluator.GroupResult
	endWindows   []time.Duration
	steps, first int
}

// Collector observes the engine after every step and builds the report.
type Collector struct {
	in     Input
	rec    *backtest.Recorder
	traces map[string]*trace
	order  []string
	steps  int
	// stride keeps one chart point every stride steps, so that a month
	// at 30s steps keeps about chartResolution points per group instead
	// of 89,280.
	stride int
}

// chartResolution is about how many budget points a group keeps for its
// chart.
const chartResolution = 1440

// Prepare adds the step to every spec's windows, as the Collector needs.
func Prepare(specs []evaluator.Spec, step time.Duration) {
	for i := range specs {
		if !slices.Contains(specs[i].Windows, step) {
			specs[i].Windows = append(specs[i].Windows, step)
		}
	}
}

// NewCollector returns a collector for in.
func NewCollector(in Input) (*Collector, error) {
	if !in.To.After(in.From) {
		return nil, fmt.Errorf("report: from %s is not before to %s", in.From.UTC().Format(time.RFC3339), in.To.UTC().Format(time.RFC3339))
	}
	if len(in.Policy.Zones) == 0 {
		in.Policy = policy.Default()
	}
	if in.Location == nil {
		in.Location = time.UTC
	}
	rec, err := backtest.NewRecorder(in.Engine, in.Step, backtest.Options{})
	if err != nil {
		return nil, err
	}
	steps := int(in.To.Sub(in.From) / in.Step)
	return &Collector{in: in, rec: rec, traces: map[string]*trace{}, stride: max(1, steps/chartResolution)}, nil
}

// Observe evaluates the engine at t, the end of the step just recorded.
// Steps outside (From, To] are ignored (those before From have fed the
// engine's windows).
func (c *Collector) Observe(t time.Time) {
	if !t.After(c.in.From) || t.After(c.in.To) {
		return
	}
	c.rec.Observe(t)
	snap := c.rec.Last()
	c.steps++
	step := c.in.Step.Seconds()
	for si := range snap.SLOs {
		r := &snap.SLOs[si]
		zones := r.Spec.Zones
		if zones == nil {
			zones = slo.DefaultZones()
		}
		ws := r.Window(c.in.Step)
		for gi := range r.Groups {
			g := &r.Groups[gi]
			key := fmt.Sprint(si, g.Labels)
			tr := c.traces[key]
			if tr == nil {
				tr = &trace{slo: si, labels: g.Labels, zoneSteps: map[string]int{}, worst: map[time.Duration]*WorstWindow{}, first: c.steps}
				c.traces[key] = tr
				c.order = append(c.order, key)
			}
			tr.steps++
			if ws >= 0 && !r.Composite {
				w := g.Windows[ws]
				tr.good += w.Good
				tr.valid += w.Valid
				if w.HasSLI {
					tr.badSeconds += (1 - w.SLI) * step
				}
			}
			zone := NoZone
			if g.Zone >= 0 && g.Zone < len(zones) {
				zone = zones[g.Zone].Name
			}
			tr.zoneSteps[zone]++
			if zone != tr.last {
				ch := ZoneChange{At: t, From: tr.last, To: zone}
				if tr.last == "" {
					ch.At = t.Add(-c.in.Step)
				}
				tr.changes = append(tr.changes, ch)
				tr.runs = append(tr.runs, zoneInterval{from: t.Add(-c.in.Step), to: t, zone: zone})
				tr.last = zone
			} else {
				tr.runs[len(tr.runs)-1].to = t
			}
			for k, wd := range r.Windows {
				if wd == c.in.Step && !tierWindow(r, wd) {
					continue // the step window Prepare added
				}
				w := g.Windows[k]
				if !w.HasSLI {
					continue
				}
				if cur := tr.worst[wd]; cur == nil || w.SLI < cur.SLI {
					tr.worst[wd] = &WorstWindow{Window: slo.FormatWindow(wd), SLI: w.SLI, At: t}
				}
			}
			if c.steps%c.stride == 0 || !t.Before(c.in.To) {
				tr.points = append(tr.points, budgetPoint{t: t, remaining: g.Budget.RemainingRatio, ok: g.Budget.OK})
			}
			tr.end = *g
			tr.endWindows = r.Windows
		}
	}
}

// tierWindow reports whether one of the SLO's tiers uses window w.
func tierWindow(r *evaluator.SLOResult, w time.Duration) bool {
	for _, t := range r.Tiers {
		if t.LongWindow == w || t.ShortWindow == w {
			return true
		}
	}
	return false
}

// Report builds the report of what was observed.
func (c *Collector) Report() *Report {
	in := c.in
	rep := &Report{From: in.From, To: in.To, TimeZone: in.Location.String(), Step: slo.FormatWindow(in.Step),
		SLOs: []SLO{}, loc: in.Location}
	for _, z := range in.Policy.Zones {
		rep.Zones = append(rep.Zones, z.Name)
	}
	bt := c.rec.Report()
	btByKey := map[string]*backtest.GroupReport{}
	for i := range bt.Groups {
		g := &bt.Groups[i]
		btByKey[g.SLO+"\xff"+labelKey(g.Labels)] = g
	}
	rangeSeconds := in.To.Sub(in.From).Seconds()
	for i := range in.Engine.Len() {
		spec := in.Engine.Spec(i)
		s := SLO{Name: spec.Name, Service: spec.Service, Objective: spec.Objective, Period: slo.FormatWindow(spec.Period),
			Composite: spec.Composite != nil, Groups: []Group{}}
		if spec.Calendar != "" {
			s.Period = string(spec.Calendar)
		}
		for _, key := range c.order {
			tr := c.traces[key]
			if tr.slo != i {
				continue
			}
			g := buildGroup(in, tr, spec, rangeSeconds, float64(c.steps))
			if b := btByKey[spec.Name+"\xff"+labelKey(g.Labels)]; b != nil {
				for _, ev := range b.Events {
					g.Incidents = append(g.Incidents, Incident{Start: ev.Start, End: ev.End, BudgetSpent: round(ev.BudgetSpent), Significant: ev.Significant})
				}
				for _, tier := range b.Tiers {
					tf := TierFirings{Tier: tier.Tier, Severity: tier.Severity, Firings: []Firing{}}
					for _, a := range tier.Alerts {
						tf.Firings = append(tf.Firings, Firing{Start: a.Start, End: a.End, BudgetSpent: round(a.BudgetSpent), MatchedIncident: a.TruePositive})
					}
					g.Tiers = append(g.Tiers, tf)
				}
			}
			g.Recommendations = recommend(in.Policy, s, &g)
			s.Groups = append(s.Groups, g)
		}
		rep.SLOs = append(rep.SLOs, s)
	}
	return rep
}

func buildGroup(in Input, tr *trace, spec *evaluator.Spec, rangeSeconds, steps float64) Group {
	g := Group{GoodEvents: round(tr.good), ValidEvents: round(tr.valid), ZoneChanges: tr.changes,
		Incidents: []Incident{}, Tiers: []TierFirings{}, WorstWindows: []WorstWindow{}, points: tr.points, zoneRuns: tr.runs}
	if len(tr.labels) > 0 {
		g.Labels = map[string]string{}
		for _, l := range tr.labels {
			g.Labels[l.Name] = l.Value
		}
	}
	allowedErr := 1 - spec.Objective
	spent := tr.valid - tr.good
	g.Budget = Budget{AllowedEvents: round(allowedErr * tr.valid), SpentEvents: round(spent),
		AllowedMinutes: round(allowedErr * rangeSeconds / 60), SpentMinutes: round(tr.badSeconds / 60)}
	switch {
	case spec.Composite != nil:
		g.Status = "composite"
	case tr.valid > 0:
		sli := tr.good / tr.valid
		g.SLI = &sli
		g.Status = "violated"
		if sli >= spec.Objective {
			g.Status = "met"
		}
		g.Budget.SpentRatio = round(spent / (allowedErr * tr.valid))
		g.Budget.RemainingRatio = round(1 - g.Budget.SpentRatio)
	default:
		g.Status = "no data"
	}
	if c, ok := in.Prices[spec.Name]; ok && spec.Composite == nil {
		g.Cost = &Cost{PerEvent: c.PerEvent, Currency: c.Currency, Spent: round(c.PerEvent * spent), Allowed: round(c.PerEvent * allowedErr * tr.valid)}
	}
	zones := spec.Zones
	if zones == nil {
		zones = slo.DefaultZones()
	}
	var names []string
	for _, z := range zones {
		names = append(names, z.Name)
	}
	names = append(names, NoZone)
	for _, z := range names {
		n := tr.zoneSteps[z]
		if n == 0 && z == NoZone {
			continue
		}
		g.TimeInZones = append(g.TimeInZones, ZoneTime{Zone: z, Seconds: float64(n) * in.Step.Seconds(), Ratio: round(float64(n) / steps)})
	}
	for _, w := range slices.Sorted(maps.Keys(tr.worst)) {
		g.WorstWindows = append(g.WorstWindows, *tr.worst[w])
	}
	if b := tr.end.Budget; b.OK {
		g.AtEnd = &AtEnd{RemainingRatio: round(b.RemainingRatio), Zone: tr.last}
		if tr.end.Period.HasSLI {
			v := tr.end.Period.SLI
			g.AtEnd.PeriodSLI = &v
		}
	}
	return g
}

// recommend turns the group's figures and the policy into advice.
func recommend(p policy.Policy, s SLO, g *Group) []string {
	out := []string{}
	if g.AtEnd != nil {
		if z, _, ok := p.Zone(g.AtEnd.Zone); ok {
			out = append(out, zoneAdvice(p, z))
		}
	}
	worst := ""
	for _, zt := range g.TimeInZones {
		if zt.Seconds > 0 && zt.Zone != NoZone {
			worst = zt.Zone
		}
	}
	if worst != "" && (g.AtEnd == nil || worst != g.AtEnd.Zone) {
		out = append(out, fmt.Sprintf("The budget reached zone %s during the range; check that the policy was applied then (%s).",
			worst, zoneAdviceShort(p, worst)))
	}
	switch g.Status {
	case "violated":
		out = append(out, fmt.Sprintf("The objective of %s was missed: make reliability work on %s the priority, starting with the incidents below, until the budget recovers.",
			pct(s.Objective), s.Name))
	case "met":
		if g.Budget.SpentRatio < 0.1 && g.ValidEvents > 0 {
			out = append(out, fmt.Sprintf("Only %s of the budget was spent: the objective may be looser than users need, or the budget can pay for faster delivery and planned risk.",
				pct(g.Budget.SpentRatio)))
		}
	case "no data":
		out = append(out, "No valid events in the range: check the SLI's selectors and the exporter's slo_data_up.")
	}
	for _, tf := range g.Tiers {
		noise := 0
		for _, f := range tf.Firings {
			if !f.MatchedIncident {
				noise++
			}
		}
		if noise > 0 {
			out = append(out, fmt.Sprintf("%d %s-tier alert(s) matched no significant incident: review the tier's threshold and windows.", noise, tf.Tier))
		}
	}
	return out
}

func zoneAdvice(p policy.Policy, z policy.Zone) string {
	allowed := slices.Clone(z.Allow)
	allowed = append(allowed, p.AlwaysAllow...)
	var b strings.Builder
	fmt.Fprintf(&b, "Zone %s at the end of the range: ship %s", z.Name, orList(allowed))
	if z.NeedsApproval() {
		fmt.Fprintf(&b, ", with approval by %s", z.Approval)
	}
	if len(z.Notify) > 0 {
		fmt.Fprintf(&b, "; keep %s informed", strings.Join(z.Notify, ", "))
	}
	b.WriteString(".")
	return b.String()
}

func zoneAdviceShort(p policy.Policy, name string) string {
	z, _, ok := p.Zone(name)
	if !ok {
		return "a zone the policy does not know"
	}
	allowed := append(slices.Clone(z.Allow), p.AlwaysAllow...)
	return "only " + orList(allowed)
}

func orList(xs []string) string {
	if len(xs) == 0 {
		return "nothing"
	}
	return strings.Join(xs, ", ")
}

func labelKey(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// round removes float noise below 1e-9 relative, so that golden files do
// not depend on summation order.
func round(v float64) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	p := math.Pow(10, 9-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

func pct(v float64) string {
	return trimZeros(fmt.Sprintf("%.3f", v*100)) + "%"
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// GroupName is slo{label="value"} or slo alone.
func GroupName(slo string, labels map[string]string) string { return policy.GroupName(slo, labels) }
