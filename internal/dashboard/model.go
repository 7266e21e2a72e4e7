package dashboard

import (
	"slices"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/slo-exporter/slo-exporter/config"
)

// SLO is what the dashboards need to know of one configured SLO.
type SLO struct {
	// Name is the slo label of its series.
	Name string
	// Service is the service label.
	Service string
	// Period is the window label of the budget period: a duration such as
	// "30d" for a rolling period, or the calendar unit ("month").
	Period string
	// GroupBy are the SLO's grouping labels (e.g. model).
	GroupBy []string
	// Events is false for a composite SLO, which exports no event counts.
	Events bool
}

// FromConfig converts a loaded configuration, in its order.
func FromConfig(cfg *config.Config) []SLO {
	out := make([]SLO, 0, len(cfg.SLOs))
	for _, s := range cfg.SLOs {
		d := SLO{Name: s.Name, Service: s.Service, GroupBy: slices.Clone(s.GroupBy),
			Period: slo.FormatWindow(time.Duration(s.Period)), Events: s.SLI.Composite == nil}
		if s.Calendar != "" {
			d.Period = s.Calendar
		}
		out = append(out, d)
	}
	return out
}

// groupLabels returns the union of the SLOs' grouping labels, sorted.
func groupLabels(slos []SLO) []string {
	var out []string
	for _, s := range slos {
		for _, l := range s.GroupBy {
			if !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	}
	slices.Sort(out)
	return out
}

// periods returns the SLO names of each period label, periods sorted.
func periods(slos []SLO) (labels []string, names map[string][]string) {
	names = map[string][]string{}
	for _, s := range slos {
		if _, ok := names[s.Period]; !ok {
			labels = append(labels, s.Period)
		}
		names[s.Period] = append(names[s.Period], s.Name)
	}
	slices.Sort(labels)
	return labels, names
}
