package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes the report as Markdown.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# SLO report: %s to %s\n\n", r.day(r.From), r.day(r.To))
	fmt.Fprintf(&b, "Range %s to %s (%s), %s. Computed from Prometheus history by the exporter's engine, evaluated every %s.\n\n",
		r.time(r.From), r.time(r.To), r.TimeZone, duration(r.To.Sub(r.From)), r.Step)
	b.WriteString("## Summary\n\n")
	b.WriteString("| SLO | objective | achieved | budget spent | bad minutes (allowed) | status | zone at end |\n|---|---|---|---|---|---|---|\n")
	for _, s := range r.SLOs {
		for _, g := range s.Groups {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s (%s) | %s | %s |\n", mdEscape(GroupName(s.Name, g.Labels)), pct(s.Objective),
				optPct(g.SLI), spentCell(g), minutes(g.Budget.SpentMinutes), minutes(g.Budget.AllowedMinutes), g.Status, zoneAtEnd(g))
		}
	}
	for _, s := range r.SLOs {
		fmt.Fprintf(&b, "\n## %s (service %s)\n\nObjective %s over %s.\n", s.Name, s.Service, pct(s.Objective), s.Period)
		if len(s.Groups) == 0 {
			b.WriteString("\nNo data in the range.\n")
		}
		for _, g := range s.Groups {
			if len(g.Labels) > 0 {
				fmt.Fprintf(&b, "\n### %s\n", mdEscape(GroupName(s.Name, g.Labels)))
			}
			r.groupMarkdown(&b, s, g)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) groupMarkdown(b *strings.Builder, s SLO, g Group) {
	b.WriteString("\n| | |\n|---|---|\n")
	fmt.Fprintf(b, "| status | **%s** |\n", g.Status)
	if !s.Composite {
		fmt.Fprintf(b, "| achieved SLI | %s (%s good of %s valid events) |\n", optPct(g.SLI), events(g.GoodEvents), events(g.ValidEvents))
		fmt.Fprintf(b, "| budget spent (events) | %s of %s allowed bad events (%s) |\n", events(g.Budget.SpentEvents), events(g.Budget.AllowedEvents), pct(g.Budget.SpentRatio))
		fmt.Fprintf(b, "| budget spent (minutes) | %s of %s allowed bad minutes |\n", minutes(g.Budget.SpentMinutes), minutes(g.Budget.AllowedMinutes))
	}
	if g.AtEnd != nil {
		fmt.Fprintf(b, "| budget at the end (%s period) | %s remaining, zone %s |\n", s.Period, pct(g.AtEnd.RemainingRatio), g.AtEnd.Zone)
	}
	if g.Cost != nil {
		fmt.Fprintf(b, "| cost of budget spent | %s of %s allowed (%s per bad event) |\n", money(g.Cost.Spent, g.Cost.Currency), money(g.Cost.Allowed, g.Cost.Currency), money(g.Cost.PerEvent, g.Cost.Currency))
	}
	b.WriteString("\nTime in zones: ")
	var parts []string
	for _, z := range g.TimeInZones {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", z.Zone, pct(z.Ratio), duration(time.Duration(z.Seconds)*time.Second)))
	}
	b.WriteString(strings.Join(parts, ", ") + ".\n")
	if len(g.WorstWindows) > 0 {
		b.WriteString("\n| window | worst SLI | at |\n|---|---|---|\n")
		for _, w := range g.WorstWindows {
			fmt.Fprintf(b, "| %s | %s | %s |\n", w.Window, pct(w.SLI), r.time(w.At))
		}
	}
	b.WriteString("\n#### Incidents\n\n")
	if len(g.Incidents) == 0 {
		b.WriteString("None: the budget never burned faster than the period allows.\n")
	} else {
		b.WriteString("| start | end | duration | budget spent | significant |\n|---|---|---|---|---|\n")
		for _, in := range g.Incidents {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", r.time(in.Start), r.openEnd(in.End), r.span(in.Start, in.End), pct(in.BudgetSpent), yesNo(in.Significant))
		}
	}
	b.WriteString("\n#### Alert tier firings\n\n")
	n := 0
	for _, t := range g.Tiers {
		n += len(t.Firings)
	}
	if n == 0 {
		b.WriteString("None.\n")
	} else {
		b.WriteString("| tier | severity | start | end | budget spent while firing | matched an incident |\n|---|---|---|---|---|---|\n")
		for _, t := range g.Tiers {
			for _, f := range t.Firings {
				fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", t.Tier, t.Severity, r.time(f.Start), r.openEnd(f.End), pct(f.BudgetSpent), yesNo(f.MatchedIncident))
			}
		}
	}
	if len(g.ZoneChanges) > 1 {
		b.WriteString("\n#### Zone changes\n\n| at | from | to |\n|---|---|---|\n")
		for _, c := range g.ZoneChanges[1:] {
			fmt.Fprintf(b, "| %s | %s | %s |\n", r.time(c.At), c.From, c.To)
		}
	}
	b.WriteString("\n#### Recommendations\n\n")
	for _, rec := range g.Recommendations {
		fmt.Fprintf(b, "- %s\n", rec)
	}
}

func (r *Report) location() *time.Location {
	if r.loc == nil {
		if l, err := time.LoadLocation(r.TimeZone); err == nil {
			r.loc = l
		} else {
			r.loc = time.UTC
		}
	}
	return r.loc
}

func (r *Report) time(t time.Time) string { return t.In(r.location()).Format("2006-01-02 15:04") }
func (r *Report) day(t time.Time) string  { return t.In(r.location()).Format("2006-01-02") }

func (r *Report) openEnd(t time.Time) string {
	if t.IsZero() {
		return "still open at the end"
	}
	return r.time(t)
}

func (r *Report) span(a, b time.Time) string {
	if b.IsZero() {
		b = r.To
	}
	return duration(b.Sub(a))
}

// duration prints 3d 4h, 2h 5m or 30s.
func duration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	days, h, m := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	if days > 0 {
		parts = append(parts, fmt.Sprintf("%dd", days))
	}
	if h > 0 {
		parts = append(parts, fmt.Sprintf("%dh", h))
	}
	if m > 0 && days == 0 {
		parts = append(parts, fmt.Sprintf("%dm", m))
	}
	if len(parts) == 0 {
		return "0m"
	}
	return strings.Join(parts, " ")
}

func optPct(v *float64) string {
	if v == nil {
		return "-"
	}
	return pct(*v)
}

func spentCell(g Group) string {
	if g.Status == "no data" || g.Status == "composite" {
		return "-"
	}
	return fmt.Sprintf("%s (%s of %s events)", pct(g.Budget.SpentRatio), events(g.Budget.SpentEvents), events(g.Budget.AllowedEvents))
}

func zoneAtEnd(g Group) string {
	if g.AtEnd == nil {
		return "-"
	}
	return g.AtEnd.Zone
}

func events(v float64) string  { return trimZeros(fmt.Sprintf("%.1f", v)) }
func minutes(v float64) string { return trimZeros(fmt.Sprintf("%.1f", v)) }

func money(v float64, currency string) string {
	s := fmt.Sprintf("%.2f", v)
	if currency != "" {
		s += " " + currency
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
