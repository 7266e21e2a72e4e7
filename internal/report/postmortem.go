package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// humanSections are the postmortem's sections that only people can write;
// the draft leaves them as headed blanks with a prompt.
var humanSections = []struct{ title, prompt string }{
	{"Summary", "What happened, in two or three sentences, for readers outside the team."},
	{"Root cause", "Why it happened. Keep asking why until the answer is something the team can change."},
	{"Trigger", "The change or event that set it off (deploy, config change, traffic, dependency)."},
	{"Resolution and recovery", "What stopped the bleeding, and what restored the service fully."},
	{"What went well", "Detection, tooling, people and processes that helped."},
	{"What went wrong", "What made it worse or slower to fix."},
	{"Where we got lucky", "What could have made it much worse, and did not."},
}

// timelineEntry is one line of the timeline.
type timelineEntry struct {
	at    time.Time
	order int
	text  string
}

// WritePostmortem writes a Markdown postmortem draft for one SLO of the
// report: the impact, detection and reset times, and a timeline of
// incidents, tier firings and zone changes, all from the data; the
// sections for people are headed blanks.
func (r *Report) WritePostmortem(w io.Writer, slo string) error {
	i := slices.IndexFunc(r.SLOs, func(s SLO) bool { return s.Name == slo })
	if i < 0 {
		var names []string
		for _, s := range r.SLOs {
			names = append(names, s.Name)
		}
		return fmt.Errorf("slo %q is not in the report (SLOs: %s)", slo, strings.Join(names, ", "))
	}
	s := r.SLOs[i]
	var b strings.Builder
	fmt.Fprintf(&b, "# Postmortem draft: %s, %s to %s\n\n", s.Name, r.time(r.From), r.time(r.To))
	fmt.Fprintf(&b, "Service %s, objective %s over %s. Times in %s. Drafted by slo-exporter from Prometheus history: the data sections are filled in; the others are for the people who were there.\n",
		s.Service, pct(s.Objective), s.Period, r.TimeZone)

	for _, h := range humanSections[:1] {
		fmt.Fprintf(&b, "\n## %s\n\n<!-- %s -->\n", h.title, h.prompt)
	}

	b.WriteString("\n## Impact\n\n")
	var affected []Group
	for _, g := range s.Groups {
		if len(g.Incidents) > 0 || firings(g) > 0 {
			affected = append(affected, g)
		}
	}
	if len(affected) == 0 {
		b.WriteString("No incident in the range: no group burned budget faster than the period allows, and no alert tier fired.\n")
	} else {
		fmt.Fprintf(&b, "Groups affected: %d of %d.\n\n", len(affected), len(s.Groups))
		b.WriteString("| group | incidents | period budget spent by them | budget spent in the range | bad minutes | worst SLI | budget at the end |\n|---|---|---|---|---|---|---|\n")
		for _, g := range affected {
			var byIncidents float64
			for _, in := range g.Incidents {
				byIncidents += in.BudgetSpent
			}
			atEnd := "-"
			if g.AtEnd != nil {
				atEnd = fmt.Sprintf("%s (zone %s)", pct(g.AtEnd.RemainingRatio), g.AtEnd.Zone)
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %s of %s allowed events (%s) | %s of %s | %s | %s |\n", groupLabel(g), len(g.Incidents),
				pct(byIncidents), events(g.Budget.SpentEvents), events(g.Budget.AllowedEvents), pct(g.Budget.SpentRatio),
				minutes(g.Budget.SpentMinutes), minutes(g.Budget.AllowedMinutes), r.worstSLI(g), atEnd)
		}
	}

	b.WriteString("\n## Detection and reset\n\n")
	rows := 0
	for _, g := range affected {
		for _, in := range g.Incidents {
			if !in.Significant {
				continue
			}
			if rows == 0 {
				b.WriteString("| group | incident | first alert | detection time | last alert resolved | reset time |\n|---|---|---|---|---|---|\n")
			}
			rows++
			first, firstTier, last := time.Time{}, "", time.Time{}
			open := false
			for _, t := range g.Tiers {
				for _, f := range t.Firings {
					if !f.MatchedIncident || f.Start.Before(in.Start) || (!in.End.IsZero() && f.Start.After(in.End.Add(time.Hour))) {
						continue
					}
					if first.IsZero() || f.Start.Before(first) {
						first, firstTier = f.Start, t.Tier
					}
					if f.End.IsZero() {
						open = true
					} else if f.End.After(last) {
						last = f.End
					}
				}
			}
			detect, reset, firstCell, lastCell := "not detected", "-", "none", "-"
			if !first.IsZero() {
				firstCell = fmt.Sprintf("%s (%s)", r.time(first), firstTier)
				detect = duration(first.Sub(in.Start))
				switch {
				case open:
					lastCell = "still firing at the end"
				case !last.IsZero() && !in.End.IsZero():
					lastCell, reset = r.time(last), duration(last.Sub(in.End))
				}
			}
			fmt.Fprintf(&b, "| %s | %s to %s (%s of the period's budget) | %s | %s | %s | %s |\n", groupLabel(g), r.time(in.Start),
				r.openEnd(in.End), pct(in.BudgetSpent), firstCell, detect, lastCell, reset)
		}
	}
	if rows == 0 {
		b.WriteString("No significant incident (one spending 2% of the period's budget within an hour).\n")
	}

	fmt.Fprintf(&b, "\n## Timeline (%s)\n\n", r.TimeZone)
	var tl []timelineEntry
	for _, g := range s.Groups {
		name := groupLabel(g)
		for _, in := range g.Incidents {
			tl = append(tl, timelineEntry{in.Start, 0, fmt.Sprintf("%s: budget starts burning faster than the period allows", name)})
			if !in.End.IsZero() {
				tl = append(tl, timelineEntry{in.End, 3, fmt.Sprintf("%s: burn back below the allowed rate (%s of the period's budget spent)", name, pct(in.BudgetSpent))})
			}
		}
		for _, t := range g.Tiers {
			for _, f := range t.Firings {
				tl = append(tl, timelineEntry{f.Start, 1, fmt.Sprintf("%s: %s-tier alert fires (%s)", name, t.Tier, t.Severity)})
				if !f.End.IsZero() {
					tl = append(tl, timelineEntry{f.End, 4, fmt.Sprintf("%s: %s-tier alert resolves", name, t.Tier)})
				}
			}
		}
		if len(g.Incidents) > 0 || firings(g) > 0 {
			for _, c := range g.ZoneChanges {
				if c.From == "" {
					tl = append(tl, timelineEntry{c.At, 2, fmt.Sprintf("%s: error budget in zone %s", name, c.To)})
					continue
				}
				tl = append(tl, timelineEntry{c.At, 2, fmt.Sprintf("%s: error budget zone %s -> %s", name, c.From, c.To)})
			}
		}
	}
	slices.SortStableFunc(tl, func(a, b timelineEntry) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.order - b.order
	})
	if len(tl) == 0 {
		b.WriteString("Nothing happened in the range.\n")
	}
	for _, e := range tl {
		fmt.Fprintf(&b, "- %s %s\n", r.time(e.at), e.text)
	}

	for _, h := range humanSections[1:] {
		fmt.Fprintf(&b, "\n## %s\n\n", h.title)
		if h.prompt != "" {
			fmt.Fprintf(&b, "<!-- %s -->\n", h.prompt)
		}
	}
	b.WriteString("\n## Action items\n\n| action | type (prevent, detect, mitigate) | owner | ticket |\n|---|---|---|---|\n| | | | |\n")

	b.WriteString("\n## Error budget policy\n\n")
	n := 0
	for _, g := range affected {
		for _, rec := range g.Recommendations {
			fmt.Fprintf(&b, "- %s: %s\n", groupLabel(g), rec)
			n++
		}
	}
	if n == 0 {
		b.WriteString("No group left the policy's first zone.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func firings(g Group) int {
	n := 0
	for _, t := range g.Tiers {
		n += len(t.Firings)
	}
	return n
}

// worstSLI is the lowest SLI of the group's shortest window, with when.
func (r *Report) worstSLI(g Group) string {
	if len(g.WorstWindows) == 0 {
		return "-"
	}
	w := g.WorstWindows[0]
	return fmt.Sprintf("%s over %s at %s", pct(w.SLI), w.Window, r.time(w.At))
}

func groupLabel(g Group) string {
	if len(g.Labels) == 0 {
		return "(all)"
	}
	return GroupName("", g.Labels)
}
