package export

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/slo-exporter/slo-exporter/internal/version"
)

//go:embed status.html
var statusHTML string

//go:embed slo.html
var sloHTML string

// statusCSS is the pages' only style sheet, inlined in a <style> element.
//
//go:embed status.css
var statusCSS string

var (
	statusTemplate = template.Must(template.New("status").Parse(statusHTML))
	sloTemplate    = template.Must(template.New("slo").Parse(sloHTML))
)

// contentSecurityPolicy allows the pages nothing but their own inline style
// sheet (by its hash) and inline SVG: no script, no external asset, no
// inline style attribute, so they work offline and cannot be made to load
// anything.
var contentSecurityPolicy = func() string {
	sum := sha256.Sum256([]byte(statusCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}()

// statusPage is the status page's view.
type statusPage struct {
	CSS               template.CSS
	Version, Revision string
	Ready             bool
	Reason            string
	Evaluated         string
	Rows              []statusRow
}

// statusRow is one group of one SLO.
type statusRow struct {
	// remaining orders the rows: the budget remaining, or +Inf without one.
	remaining             float64
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

// groupLabelText is a group's labels as {a=b, c=d}; empty without labels.
func groupLabelText(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// statusRows builds the rows of the status page, one per group, sorted by
// budget remaining (least first; groups without a budget last), then by
// SLO name and labels.
func statusRows(slos []SLO) []statusRow {
	var rows []statusRow
	for _, s := range slos {
		obj := s.Objective
		for _, g := range s.Groups {
			r := statusRow{remaining: math.Inf(1), Name: s.Name, Service: s.Service, Objective: slo.FormatFloat(100*obj) + "%",
				SLI: percent(g.PeriodSLI, 3), Remaining: "-", BarWidth: "0", Zone: g.Zone,
				ZoneName: g.Zone, ZoneClass: g.Zone, Firing: strings.Join(g.Firing, ", "), DataUp: s.DataUp}
			if r.ZoneClass == "" {
				r.ZoneName, r.ZoneClass = "-", "none"
			}
			r.Labels = groupLabelText(g.Labels)
			if g.Budget != nil {
				rem := g.Budget.RemainingRatio
				r.remaining = rem
				r.Remaining = percent(&rem, 1)
				r.BarWidth = strconv.FormatFloat(math.Max(0, math.Min(100, 100*rem)), 'f', 1, 64)
			}
			rows = append(rows, r)
		}
	}
	slices.SortStableFunc(rows, func(a, b statusRow) int {
		if a.remaining != b.remaining {
			if a.remaining < b.remaining {
				return -1
			}
			return 1
		}
		if a.Name != b.Name {
			return strings.Compare(a.Name, b.Name)
		}
		return strings.Compare(a.Labels, b.Labels)
	})
	return rows
}

func (s *Server) serveStatus(w http.ResponseWriter, _ *http.Request) {
	snap, info := s.store.Snapshot()
	rd := s.ready.Load()
	page := statusPage{CSS: template.CSS(statusCSS), Version: version.Version, Revision: version.Revision, Ready: rd.ok, Reason: rd.reason,
		Rows: statusRows(SLOs(snap, info))}
	if snap != nil {
		page.Evaluated = snap.Time.UTC().Format(time.RFC3339)
	}
	setPageHeaders(w)
	if err := statusTemplate.Execute(w, page); err != nil {
		s.opt.Logger.Error("rendering the status page", "err", err)
	}
}

// setPageHeaders sets the headers of an HTML page.
func setPageHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
	w.Header().Set("X-Content-Type-Options", "nosniff")
}
