package export

import (
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// sloPage is the view of one SLO's page.
type sloPage struct {
	CSS               template.CSS
	Name, Service     string
	Objective, Period string
	DataUp            bool
	Evaluated         string
	MaxPoints         int
	Groups            []sloGroupView
}

// sloGroupView is one group on the SLO's page.
type sloGroupView struct {
	Labels                     string
	Zone, ZoneName, ZoneClass  string
	SLI, Remaining, Exhaustion string
	Firing                     string
	BurnChart, BudgetChart     template.HTML
	Windows                    []sloWindowView
	Tiers                      []sloTierView
}

// sloWindowView is one row of a group's window table.
type sloWindowView struct {
	Window, SLI, Burn, Good, Valid, Coverage string
}

// sloTierView is one row of a group's tier table.
type sloTierView struct {
	Name, Severity, Windows, Threshold string
	Firing                             bool
}

// formatBurn formats a burn rate, "-" when absent.
func formatBurn(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', 2, 64)
}

// formatCount formats an event count to at most two decimals (counts
// spread over window buckets may be fractional), "-" when absent (a
// composite).
func formatCount(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(math.Round(*v*100)/100, 'f', -1, 64)
}

// formatSeconds formats a duration in seconds, "-" when absent.
func formatSeconds(v *float64) string {
	if v == nil {
		return "- (not burning)"
	}
	d := time.Duration(*v * float64(time.Second)).Round(time.Minute)
	if d >= 48*time.Hour {
		return strconv.FormatFloat(*v/86400, 'f', 1, 64) + " days"
	}
	return d.String()
}

// sloView builds the page of snapshot SLO r from its API model s and the
// history.
func sloView(snap *evaluator.Snapshot, r *evaluator.SLOResult, s SLO, hist *History) sloPage {
	page := sloPage{CSS: template.CSS(statusCSS), Name: s.Name, Service: s.Service,
		Objective: slo.FormatFloat(100*s.Objective) + "%", Period: s.Period, DataUp: s.DataUp,
		Evaluated: snap.Time.UTC().Format(time.RFC3339), MaxPoints: hist.maxPoints}
	zones := r.Spec.Zones
	if zones == nil {
		zones = slo.DefaultZones()
	}
	for j, g := range s.Groups {
		gr := &r.Groups[j]
		v := sloGroupView{Labels: groupLabelText(g.Labels), Zone: g.Zone, ZoneName: g.Zone, ZoneClass: g.Zone,
			SLI: percent(g.PeriodSLI, 3), Remaining: "-", Exhaustion: "-", Firing: strings.Join(g.Firing, ", ")}
		if v.ZoneClass == "" {
			v.ZoneName, v.ZoneClass = "no budget yet", "none"
		}
		if g.Budget != nil {
			rem := g.Budget.RemainingRatio
			v.Remaining = percent(&rem, 2)
			v.Exhaustion = formatSeconds(g.Budget.ExhaustionSeconds)
		}
		for _, w := range g.Windows {
			v.Windows = append(v.Windows, sloWindowView{Window: w.Window, SLI: percent(w.SLI, 3), Burn: formatBurn(w.BurnRate),
				Good: formatCount(w.Good), Valid: formatCount(w.Valid), Coverage: percent(&w.Coverage, 1)})
		}
		for k, t := range s.Tiers {
			v.Tiers = append(v.Tiers, sloTierView{Name: t.Name, Severity: t.Severity, Windows: t.LongWindow + " and " + t.ShortWindow,
				Threshold: strconv.FormatFloat(t.Threshold, 'f', 2, 64), Firing: k < len(gr.Alerts) && gr.Alerts[k]})
		}

		// The history, and the current evaluation when the history's last
		// point is older (it may have been thinned away).
		pts := hist.points(r.Spec.Name, gr.Labels)
		if len(pts) == 0 || pts[len(pts)-1].t.Before(snap.Time) {
			gh := &groupHistory{windows: r.Windows, stride: 1}
			gh.add(snap.Time, gr, math.MaxInt)
			pts = append(pts, gh.points...)
		}
		times := make([]time.Time, len(pts))
		for i, p := range pts {
			times[i] = p.t
		}
		burn := chart{ID: "burn-" + strconv.Itoa(j), Title: "Burn rate per window of " + s.Name + " " + v.Labels}
		for k, w := range r.Windows {
			vals := make([]float64, len(pts))
			for i, p := range pts {
				vals[i] = math.NaN()
				if k < len(p.burn) {
					vals[i] = p.burn[k]
				}
			}
			burn.Series = append(burn.Series, chartSeries{Name: WindowLabel(w), Times: times, Values: vals})
		}
		for _, t := range s.Tiers {
			burn.Rules = append(burn.Rules, chartRule{Name: "threshold " + t.Name + " (" + t.LongWindow + "/" + t.ShortWindow + ")",
				Value: t.Threshold, Class: "threshold"})
		}
		budget := chart{ID: "budget-" + strconv.Itoa(j), Title: "Error budget remaining of " + s.Name + " " + v.Labels, Percent: true}
		rem := make([]float64, len(pts))
		for i, p := range pts {
			rem[i] = p.remaining
		}
		budget.Series = []chartSeries{{Name: "budget remaining", Times: times, Values: rem}}
		for _, z := range zones {
			if !math.IsInf(z.MinRemaining, 0) {
				budget.Rules = append(budget.Rules, chartRule{Name: z.Name + " from", Value: z.MinRemaining, Class: "zone-" + z.Name})
			}
		}
		v.BurnChart, v.BudgetChart = burn.svg(), budget.svg()
		page.Groups = append(page.Groups, v)
	}
	return page
}

func (s *Server) serveSLOPage(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("name")
	snap, info := s.store.Snapshot()
	if snap != nil {
		for i := range snap.SLOs {
			r := &snap.SLOs[i]
			if r.Spec.Name != name {
				continue
			}
			page := sloView(snap, r, toSLO(snap, r, info[name]), s.store.history)
			setPageHeaders(w)
			if err := sloTemplate.Execute(w, page); err != nil {
				s.opt.Logger.Error("rendering an SLO page", "slo", name, "err", err)
			}
			return
		}
	}
	setPageHeaders(w)
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("<!DOCTYPE html><title>not found</title><p>No SLO named " + template.HTMLEscapeString(name) + `. <a href="../">All SLOs</a>.</p>`))
}
