package export

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// metricType is the type of a family.
type metricType uint8

const (
	gaugeType metricType = iota
	counterType
)

// family is one metric family: its name, HELP text and type.
type family struct {
	name, help string
	typ        metricType
}

// The slo_* families, in exposition order. docs/metrics.md describes each.
var (
	famInfo        = &family{"slo_info", "Metadata of the SLO; always 1.", gaugeType}
	famObjective   = &family{"slo_objective_ratio", "Target ratio of good to valid events.", gaugeType}
	famPeriod      = &family{"slo_period_seconds", "Length of the error budget period (rolling, or the current calendar period).", gaugeType}
	famSLI         = &family{"slo_sli_ratio", "Good over valid events in the window; absent when the window has no valid events.", gaugeType}
	famGood        = &family{"slo_good_events", "Good events (or good slices) in the window.", gaugeType}
	famValid       = &family{"slo_valid_events", "Valid events (or slices) in the window.", gaugeType}
	famBurn        = &family{"slo_burn_rate", "Error ratio over the window divided by the allowed error ratio; absent with the SLI.", gaugeType}
	famRemRatio    = &family{"slo_error_budget_remaining_ratio", "1 - spent/allowed error budget over the period; negative once exhausted.", gaugeType}
	famRemEvents   = &family{"slo_error_budget_remaining_events", "Bad events the period may still have; negative once exhausted.", gaugeType}
	famExhaustion  = &family{"slo_error_budget_exhaustion_seconds", "Time until the budget is gone at the current burn rate; absent when not burning.", gaugeType}
	famThreshold   = &family{"slo_burn_rate_threshold", "Burn rate above which the alert tier fires: budget fraction x period / long window.", gaugeType}
	famAlert       = &family{"slo_burn_alert", "1 when both windows of the alert tier burn above its threshold, else 0.", gaugeType}
	famZone        = &family{"slo_budget_zone", "Error budget policy zone: 1 for the current zone, 0 for the others.", gaugeType}
	famCoverage    = &family{"slo_window_coverage_ratio", "Share of the window for which data was seen.", gaugeType}
	famDataUp      = &family{"slo_data_up", "1 when the last pull of the SLO's data succeeded, else 0.", gaugeType}
	famEvaluatedAt = &family{"slo_last_evaluation_timestamp_seconds", "Unix time of the evaluation the slo_* values come from.", gaugeType}

	// sloFamilies are the slo_* families in the order writeSLOs emits them.
	sloFamilies = []*family{famInfo, famObjective, famPeriod, famSLI, famGood, famValid, famBurn,
		famRemRatio, famRemEvents, famExhaustion, famThreshold, famAlert, famZone, famCoverage,
		famDataUp, famEvaluatedAt}
)

// labelSet is a list of label pairs with its text form (`a="b",c="d"`)
// rendered once.
type labelSet struct {
	names, values []string
	text          string
}

// labels builds a labelSet from name, value pairs. Invalid names and
// repeated names are left out (the first wins), so the output stays valid
// whatever the configuration holds.
func labels(pairs ...string) *labelSet {
	ls := &labelSet{names: make([]string, 0, len(pairs)/2), values: make([]string, 0, len(pairs)/2)}
	return ls.add(pairs...)
}

// add appends pairs and re-renders the text.
func (ls *labelSet) add(pairs ...string) *labelSet {
	for i := 0; i+1 < len(pairs); i += 2 {
		n := pairs[i]
		if !model.LegacyValidation.IsValidLabelName(n) || slices.Contains(ls.names, n) {
			continue
		}
		ls.names = append(ls.names, n)
		ls.values = append(ls.values, pairs[i+1])
	}
	var b strings.Builder
	for i, n := range ls.names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteString(`="`)
		writeEscaped(&b, ls.values[i])
		b.WriteByte('"')
	}
	ls.text = b.String()
	return ls
}

// writeEscaped writes a label value escaped for the text format.
func writeEscaped(b *strings.Builder, v string) {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
}

// emitter receives the series family by family: family starts one, and
// sample adds series to it. base holds the labels shared by many series,
// extra (nil or not) the series' own.
type emitter interface {
	family(f *family)
	sample(base, extra *labelSet, v float64)
}

// WindowLabel is the window label of a duration: a Prometheus duration
// such as 5m, 1h, 1d or 30d.
func WindowLabel(d time.Duration) string { return slo.FormatWindow(d) }

// sloSeries is one SLO's result with every label set its series need.
type sloSeries struct {
	r       *evaluator.SLOResult
	base    *labelSet   // slo, service
	info    *labelSet   // slo, service, sli_kind, metadata
	windows []*labelSet // window, index for index with r.Windows
	period  *labelSet   // window=<calendar unit> for calendar SLOs, else nil
	tiers   []*labelSet // alert_tier, severity, long_window, short_window
	zones   []*labelSet // zone
	groups  []*labelSet // base plus the group's labels
}

// prepare builds the label sets of every SLO of snap.
func prepare(snap *evaluator.Snapshot, info map[string]SLOInfo) []sloSeries {
	out := make([]sloSeries, len(snap.SLOs))
	for i := range snap.SLOs {
		r := &snap.SLOs[i]
		s := &out[i]
		s.r = r
		s.base = labels("slo", r.Spec.Name, "service", r.Spec.Service)
		meta := info[r.Spec.Name]
		pairs := []string{"slo", r.Spec.Name, "service", r.Spec.Service, "sli_kind", string(meta.Kind)}
		for _, k := range slices.Sorted(maps.Keys(meta.Labels)) {
			pairs = append(pairs, k, meta.Labels[k])
		}
		s.info = labels(pairs...)
		s.windows = make([]*labelSet, len(r.Windows))
		for j, w := range r.Windows {
			s.windows[j] = labels("window", WindowLabel(w))
		}
		if r.Spec.Calendar != "" {
			s.period = labels("window", string(r.Spec.Calendar))
		}
		s.tiers = make([]*labelSet, len(r.Tiers))
		for j, t := range r.Tiers {
			s.tiers[j] = labels("alert_tier", t.Name, "severity", t.Severity,
				"long_window", WindowLabel(t.LongWindow), "short_window", WindowLabel(t.ShortWindow))
		}
		zones := r.Spec.Zones
		if zones == nil {
			zones = slo.DefaultZones()
		}
		s.zones = make([]*labelSet, len(zones))
		for j, z := range zones {
			s.zones[j] = labels("zone", z.Name)
		}
		s.groups = make([]*labelSet, len(r.Groups))
		for j := range r.Groups {
			g := &r.Groups[j]
			if len(g.Labels) == 0 {
				s.groups[j] = s.base
				continue
			}
			pairs := make([]string, 0, 4+2*len(g.Labels))
			pairs = append(pairs, "slo", r.Spec.Name, "service", r.Spec.Service)
			for _, l := range g.Labels {
				pairs = append(pairs, l.Name, l.Value)
			}
			s.groups[j] = labels(pairs...)
		}
	}
	return out
}

// eachWindow calls f for every window of group j: the evaluated windows,
// then the calendar period for calendar SLOs.
func (s *sloSeries) eachWindow(j int, f func(ls *labelSet, w *evaluator.WindowResult)) {
	g := &s.r.Groups[j]
	for k := range g.Windows {
		f(s.windows[k], &g.Windows[k])
	}
	if s.period != nil {
		f(s.period, &g.Period)
	}
}

// periodWindow calls f for the budget period's window of group j: the
// calendar period for calendar SLOs, else the evaluated window as long as
// the rolling period (none if the SLO has no such window).
func (s *sloSeries) periodWindow(j int, f func(ls *labelSet, w *evaluator.WindowResult)) {
	g := &s.r.Groups[j]
	if s.period != nil {
		f(s.period, &g.Period)
		return
	}
	if k := s.r.Window(s.r.Spec.Period); k >= 0 && k < len(g.Windows) {
		f(s.windows[k], &g.Windows[k])
	}
}

// finite reports whether v can be exported.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// writeSLOs emits the slo_* series of a snapshot, family by family; the
// families only ProfileFull exports are left out for any other profile.
func writeSLOs(e emitter, snap *evaluator.Snapshot, slos []sloSeries, profile Profile) {
	perSLO := func(f *family, v func(s *sloSeries) float64) {
		e.family(f)
		for i := range slos {
			e.sample(slos[i].base, nil, v(&slos[i]))
		}
	}
	// events marks families of event counts, which composites (whose Good
	// and Valid are weights) leave out.
	perWindow := func(f *family, events bool, v func(w *evaluator.WindowResult) (float64, bool)) {
		if fullOnly[f] && !profile.full() {
			return
		}
		e.family(f)
		for i := range slos {
			s := &slos[i]
			if events && s.r.Composite {
				continue
			}
			each := s.eachWindow
			if periodOnly[f] && !profile.full() {
				each = s.periodWindow
			}
			for j := range s.r.Groups {
				base := s.groups[j]
				each(j, func(ls *labelSet, w *evaluator.WindowResult) {
					if x, ok := v(w); ok && finite(x) {
						e.sample(base, ls, x)
					}
				})
			}
		}
	}
	perGroup := func(f *family, events bool, v func(g *evaluator.GroupResult) (float64, bool)) {
		if fullOnly[f] && !profile.full() {
			return
		}
		e.family(f)
		for i := range slos {
			s := &slos[i]
			if events && s.r.Composite {
				continue
			}
			for j := range s.r.Groups {
				if x, ok := v(&s.r.Groups[j]); ok && finite(x) {
					e.sample(s.groups[j], nil, x)
				}
			}
		}
	}

	e.family(famInfo)
	for i := range slos {
		e.sample(slos[i].info, nil, 1)
	}
	perSLO(famObjective, func(s *sloSeries) float64 { return s.r.Spec.Objective })
	perSLO(famPeriod, func(s *sloSeries) float64 { return s.r.Period.Seconds() })
	perWindow(famSLI, false, func(w *evaluator.WindowResult) (float64, bool) { return w.SLI, w.HasSLI })
	perWindow(famGood, true, func(w *evaluator.WindowResult) (float64, bool) { return w.Good, true })
	perWindow(famValid, true, func(w *evaluator.WindowResult) (float64, bool) { return w.Valid, true })
	perWindow(famBurn, false, func(w *evaluator.WindowResult) (float64, bool) { return w.BurnRate, w.HasSLI })
	perGroup(famRemRatio, false, func(g *evaluator.GroupResult) (float64, bool) { return g.Budget.RemainingRatio, g.Budget.OK })
	perGroup(famRemEvents, true, func(g *evaluator.GroupResult) (float64, bool) { return g.Budget.RemainingEvents, g.Budget.OK })
	perGroup(famExhaustion, false, func(g *evaluator.GroupResult) (float64, bool) {
		return g.Budget.ExhaustionSeconds, g.Budget.OK && g.Budget.HasExhaustion
	})

	e.family(famThreshold)
	for i := range slos {
		s := &slos[i]
		for k, t := range s.r.Tiers {
			if finite(t.Threshold) {
				e.sample(s.base, s.tiers[k], t.Threshold)
			}
		}
	}
	e.family(famAlert)
	for i := range slos {
		s := &slos[i]
		for j := range s.r.Groups {
			for k, firing := range s.r.Groups[j].Alerts {
				if k < len(s.tiers) {
					e.sample(s.groups[j], s.tiers[k], b2f(firing))
				}
			}
		}
	}
	e.family(famZone)
	for i := range slos {
		s := &slos[i]
		for j := range s.r.Groups {
			zone := s.r.Groups[j].Zone
			if zone < 0 || zone >= len(s.zones) {
				continue
			}
			for k, ls := range s.zones {
				e.sample(s.groups[j], ls, b2f(k == zone))
			}
		}
	}
	perWindow(famCoverage, false, func(w *evaluator.WindowResult) (float64, bool) { return w.Coverage, true })
	perSLO(famDataUp, func(s *sloSeries) float64 { return b2f(s.r.DataUp) })
	t := float64(snap.Time.UnixMilli()) / 1e3
	perSLO(famEvaluatedAt, func(*sloSeries) float64 { return t })
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// formatFloat is the text form of a sample value.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
