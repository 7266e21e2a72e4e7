package backtest

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"
)

// WriteTable prints the report for people: per SLO group the incidents
// found, then one line per tier with alerts, precision, recall, and mean
// detection and reset times.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "backtest %s .. %s, step %s\n", r.From.UTC().Format(time.RFC3339), r.To.UTC().Format(time.RFC3339), r.Step)
	for _, g := range r.Groups {
		name := g.SLO
		if len(g.Labels) > 0 {
			var ls []string
			for k, v := range g.Labels {
				ls = append(ls, k+"="+v)
			}
			slices.Sort(ls)
			name += "{" + strings.Join(ls, ",") + "}"
		}
		sig := 0
		for _, ev := range g.Events {
			if ev.Significant {
				sig++
			}
		}
		fmt.Fprintf(tw, "\n%s: %d incidents, %d significant\n", name, len(g.Events), sig)
		for _, ev := range g.Events {
			mark := " "
			if ev.Significant {
				mark = "*"
			}
			fmt.Fprintf(tw, "  %s incident\t%s\t%s\tbudget %s%%\n", mark, ev.Start.UTC().Format(time.RFC3339),
				ev.End.Sub(ev.Start), slo.FormatFloat(roundTo(100*ev.BudgetSpent, 3)))
		}
		fmt.Fprintln(tw, "  tier\tseverity\tthreshold\talerts\tprecision\trecall\tdetection\treset")
		for _, t := range g.Tiers {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", t.Tier, t.Severity, slo.FormatFloat(t.Threshold),
				len(t.Alerts), ratio(t.Precision), ratio(t.Recall), meanSeconds(t.DetectionSeconds), meanSeconds(t.ResetSeconds))
		}
	}
	return tw.Flush()
}

func ratio(p *float64) string {
	if p == nil {
		return "-"
	}
	return slo.FormatFloat(roundTo(*p, 3))
}

func meanSeconds(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return (time.Duration(s/float64(len(xs))) * time.Second).String()
}

func roundTo(x float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(x*p+0.5)) / p
}
