// Package status renders a one-screen summary of an slo-exporter's SLOs
// from its /metrics exposition. It reads only the public slo_* contract,
// so it works against any version of the exporter, and with series taken
// from Prometheus too.
package status

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Row is one SLO group.
type Row struct {
	SLO, Group           string
	SLIShort, SLIPeriod  *float64
	BurnShort            *float64
	Remaining            *float64
	Zone                 string
	Firing               []string
	DataUp               bool
	ShortWindow, PeriodW string
}

// Parse reads a text exposition and returns one row per SLO group, sorted.
// shortWindow names the window shown as "now" (e.g. "5m").
func Parse(r io.Reader, shortWindow string) ([]Row, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parsing the exposition: %w", err)
	}
	rows := map[string]*Row{}
	periods := map[string]string{}
	row := func(labels map[string]string) *Row {
		group := groupOf(labels)
		key := labels["slo"] + "\xff" + group
		if rows[key] == nil {
			rows[key] = &Row{SLO: labels["slo"], Group: group, ShortWindow: shortWindow}
		}
		return rows[key]
	}
	each := func(name string, f func(labels map[string]string, v float64)) {
		fam := fams[name]
		if fam == nil {
			return
		}
		for _, m := range fam.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			v := m.GetGauge().GetValue()
			if m.Gauge == nil && m.Untyped != nil {
				v = m.Untyped.GetValue()
			}
			f(labels, v)
		}
	}
	each("slo_period_seconds", func(l map[string]string, v float64) {
		periods[l["slo"]] = slo.FormatWindow(time.Duration(v * 1e9))
	})
	each("slo_sli_ratio", func(l map[string]string, v float64) {
		r := row(l)
		switch {
		case l["window"] == shortWindow:
			r.SLIShort = &v
		case l["window"] == periods[l["slo"]] || isCalendar(l["window"]):
			r.SLIPeriod, r.PeriodW = &v, l["window"]
		}
	})
	each("slo_burn_rate", func(l map[string]string, v float64) {
		if l["window"] == shortWindow {
			row(l).BurnShort = &v
		}
	})
	objectives := map[string]float64{}
	each("slo_objective_ratio", func(l map[string]string, v float64) { objectives[l["slo"]] = v })
	each("slo_error_budget_remaining_ratio", func(l map[string]string, v float64) { row(l).Remaining = &v })
	each("slo_budget_zone", func(l map[string]string, v float64) {
		if v == 1 {
			row(l).Zone = l["zone"]
		}
	})
	each("slo_burn_alert", func(l map[string]string, v float64) {
		if v == 1 {
			r := row(l)
			r.Firing = append(r.Firing, l["alert_tier"])
		}
	})
	// slo_data_up is per SLO: it applies to every group of the SLO, and
	// makes a row only for an SLO that has no group yet (no data).
	each("slo_data_up", func(l map[string]string, v float64) {
		found := false
		for _, r := range rows {
			if r.SLO == l["slo"] {
				r.DataUp, found = v == 1, true
			}
		}
		if !found {
			row(l).DataUp = v == 1
		}
	})
	// The default metrics profile exports the SLI over the period only:
	// the short window's is 1 - burn rate x (1 - objective).
	for _, r := range rows {
		if obj, ok := objectives[r.SLO]; ok && r.SLIShort == nil && r.BurnShort != nil {
			v := 1 - *r.BurnShort*(1-obj)
			r.SLIShort = &v
		}
	}
	out := make([]Row, 0, len(rows))
	for _, k := range slices.Sorted(maps.Keys(rows)) {
		slices.Sort(rows[k].Firing)
		out = append(out, *rows[k])
	}
	return out, nil
}

func isCalendar(w string) bool { return w == "month" || w == "week" || w == "quarter" }

// groupOf renders the labels other than the contract's own.
func groupOf(labels map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		switch k {
		case "slo", "service", "window", "zone", "alert_tier", "severity", "long_window", "short_window", "job", "instance":
			continue
		}
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}

// Write prints the rows as a table.
func Write(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	short := "now"
	if len(rows) > 0 {
		short = rows[0].ShortWindow
	}
	fmt.Fprintf(tw, "SLO\tGROUP\tSLI %s\tBURN %s\tSLI PERIOD\tBUDGET LEFT\tZONE\tFIRING\tDATA\n", short, short)
	for _, r := range rows {
		data := "up"
		if !r.DataUp {
			data = "DOWN"
		}
		firing := strings.Join(r.Firing, ",")
		if firing == "" {
			firing = "-"
		}
		zone := r.Zone
		if zone == "" {
			zone = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.SLO, dash(r.Group), pct(r.SLIShort, 3), num(r.BurnShort),
			pct(r.SLIPeriod, 3), pct(r.Remaining, 1), zone, firing, data)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func pct(v *float64, digits int) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.*f%%", digits, *v*100)
}

func num(v *float64) string {
	if v == nil {
		return "-"
	}
	return slo.FormatFloat(float64(int64(*v*100+0.5)) / 100)
}
