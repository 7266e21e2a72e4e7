package export

import (
	_ "embed"
	"html/template"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/version"
)

//go:embed status.html
var statusHTML string

var statusTemplate = template.Must(template.New("status").Parse(statusHTML))

// statusPage is the status page's view.
type statusPage struct {
	Version, Revision string
	Ready             bool
	Reason            string
	Evaluated         string
	Rows              []statusRow
}

// statusRow is one group of one SLO.
type statusRow struct {
	Name, Labels, Service string
	Objective, SLI        string
	Remaining             string
	BarWidth              string
	Zone                  string // zone name, empty when there is no budget
	ZoneName, ZoneClass   string
	Firing                string
	DataUp                bool
}

// percent formats a ratio as a percentage with the given decimals; "-"
// when it does not exist.
func percent(v *float64, decimals int) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(100**v, 'f', decimals, 64) + "%"
}

// statusRows builds the rows of the status page, one per group.
func statusRows(slos []SLO) []statusRow {
	var rows []statusRow
	for _, s := range slos {
		obj := s.Objective
		for _, g := range s.Groups {
			r := statusRow{Name: s.Name, Service: s.Service, Objective: evaluator.FormatFloat(100*obj) + "%",
				SLI: percent(g.PeriodSLI, 3), Remaining: "-", BarWidth: "0", Zone: g.Zone,
				ZoneName: g.Zone, ZoneClass: g.Zone, Firing: strings.Join(g.Firing, ", "), DataUp: s.DataUp}
			if r.ZoneClass == "" {
				r.ZoneName, r.ZoneClass = "-", "none"
			}
			if len(g.Labels) > 0 {
				var parts []string
				for _, k := range slices.Sorted(maps.Keys(g.Labels)) {
					parts = append(parts, k+"="+g.Labels[k])
				}
				r.Labels = "{" + strings.Join(parts, ", ") + "}"
			}
			if g.Budget != nil {
				rem := g.Budget.RemainingRatio
				r.Remaining = percent(&rem, 1)
				r.BarWidth = strconv.FormatFloat(math.Max(0, math.Min(100, 100*rem)), 'f', 1, 64)
			}
			rows = append(rows, r)
		}
	}
	return rows
}

func (s *Server) serveStatus(w http.ResponseWriter, _ *http.Request) {
	snap, info := s.store.Snapshot()
	rd := s.ready.Load()
	page := statusPage{Version: version.Version, Revision: version.Revision, Ready: rd.ok, Reason: rd.reason,
		Rows: statusRows(SLOs(snap, info))}
	if snap != nil {
		page.Evaluated = snap.Time.UTC().Format(time.RFC3339)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := statusTemplate.Execute(w, page); err != nil {
		s.opt.Logger.Error("rendering the status page", "err", err)
	}
}
