package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

// zoneColors are the chart colours of the reference zones; other zones
// get grey.
var zoneColors = map[string]string{"green": "#2e7d32", "yellow": "#f9a825", "orange": "#ef6c00", "red": "#c62828", NoZone: "#9e9e9e"}

func zoneColor(z string) string {
	if c, ok := zoneColors[z]; ok {
		return c
	}
	return "#757575"
}

// maxChartPoints bounds the points of a chart's line: a month at 30s
// steps is 89,280 points, more than the 720 pixels can show.
const maxChartPoints = 720

const chartW, chartH, padL, padB = 720.0, 180.0, 48.0, 22.0

// budgetChart draws the period budget remaining over the range as an SVG:
// the zone of every step as a band along the bottom, the remaining ratio
// as a line, 0 and 100% as grid lines. Only numbers go into it.
func (r *Report) budgetChart(g Group) template.HTML {
	span := r.To.Sub(r.From).Seconds()
	x := func(t time.Time) float64 { return padL + (chartW-padL-4)*t.Sub(r.From).Seconds()/span }
	lo, hi := 0.0, 1.0
	for _, p := range g.points {
		if p.ok {
			lo, hi = math.Min(lo, p.remaining), math.Max(hi, p.remaining)
		}
	}
	lo = math.Floor(lo*4) / 4
	plotH := chartH - padB - 14
	y := func(v float64) float64 { return 4 + plotH*(hi-v)/(hi-lo) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" width="%g" height="%g" viewBox="0 0 %g %g" role="img" aria-label="error budget remaining over the range">`, chartW, chartH, chartW, chartH)
	for _, run := range g.zoneRuns {
		fmt.Fprintf(&b, `<rect class="zone-band" data-zone="%s" x="%.1f" y="%.1f" width="%.1f" height="8" fill="%s"/>`,
			template.HTMLEscapeString(run.zone), x(run.from), chartH-padB+2, math.Max(0.5, x(run.to)-x(run.from)), zoneColor(run.zone))
	}
	for _, v := range []float64{hi, 0.75, 0.25, 0, lo} {
		if v < lo || v > hi {
			continue
		}
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%g" y="%.1f" font-size="10" text-anchor="end" fill="#555">%s</text>`,
			padL, chartW-4, y(v), y(v), padL-4, y(v)+3, pct(v))
	}
	step := max(1, len(g.points)/maxChartPoints)
	var pts []string
	flush := func() {
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="#1565c0" stroke-width="1.5" points="%s"/>`, strings.Join(pts, " "))
		}
		pts = pts[:0]
	}
	for i, p := range g.points {
		if i%step != 0 && i != len(g.points)-1 {
			continue
		}
		if !p.ok {
			flush()
			continue
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.t), y(p.remaining)))
	}
	flush()
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" fill="#555">%s</text><text x="%g" y="%g" font-size="10" text-anchor="end" fill="#555">%s</text>`,
		padL, chartH-2, r.time(r.From), chartW-4, chartH-2, r.time(r.To))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// zoneBar draws the time in each zone as one stacked bar.
func zoneBar(g Group) template.HTML {
	var b strings.Builder
	const w = 720.0
	b.WriteString(`<svg class="zones" width="720" height="18" viewBox="0 0 720 18" role="img" aria-label="time in each zone">`)
	x := 0.0
	for _, z := range g.TimeInZones {
		if z.Ratio <= 0 {
			continue
		}
		fmt.Fprintf(&b, `<rect data-zone="%s" x="%.1f" y="0" width="%.1f" height="18" fill="%s"><title>%s %s</title></rect>`,
			template.HTMLEscapeString(z.Zone), x, w*z.Ratio, zoneColor(z.Zone), template.HTMLEscapeString(z.Zone), pct(z.Ratio))
		x += w * z.Ratio
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": pct, "optPct": optPct, "events": events, "minutes": minutes, "yesNo": yesNo,
	"group": GroupName, "dur": func(s float64) string { return duration(time.Duration(s) * time.Second) },
	"color": zoneColor,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>SLO report {{.R.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 960px; color: #222; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; font-size: 14px; }
th { background: #f5f5f5; }
.status-met { color: #2e7d32; font-weight: bold; }
.status-violated { color: #c62828; font-weight: bold; }
.zone { display: inline-block; padding: 0 6px; border-radius: 3px; color: #fff; }
section.group { border-top: 1px solid #ccc; margin-top: 1.5em; }
</style>
</head>
<body>
<h1>SLO report: {{.R.Title}}</h1>
<p>Range {{.R.Range}}. Computed from Prometheus history by the exporter's engine, evaluated every {{.R.Report.Step}}.</p>
<h2>Summary</h2>
<table id="summary">
<tr><th>SLO</th><th>objective</th><th>achieved</th><th>budget spent</th><th>bad minutes (allowed)</th><th>status</th><th>zone at end</th></tr>
{{range .Rows}}<tr class="slo-row" data-slo="{{.SLO.Name}}" data-status="{{.G.Status}}"><td>{{group .SLO.Name .G.Labels}}</td><td>{{pct .SLO.Objective}}</td><td>{{optPct .G.SLI}}</td><td>{{pct .G.Budget.SpentRatio}}</td><td>{{minutes .G.Budget.SpentMinutes}} ({{minutes .G.Budget.AllowedMinutes}})</td><td class="status-{{.G.Status}}">{{.G.Status}}</td><td>{{with .G.AtEnd}}<span class="zone" style="background: {{color .Zone}}">{{.Zone}}</span>{{else}}-{{end}}</td></tr>
{{end}}</table>
{{range .Rows}}
<section class="group" data-slo="{{.SLO.Name}}">
<h2>{{group .SLO.Name .G.Labels}} <small>(service {{.SLO.Service}}, objective {{pct .SLO.Objective}} over {{.SLO.Period}})</small></h2>
<table>
<tr><th>status</th><td class="status-{{.G.Status}}">{{.G.Status}}</td></tr>
{{if not .SLO.Composite}}<tr><th>achieved SLI</th><td>{{optPct .G.SLI}} ({{events .G.GoodEvents}} good of {{events .G.ValidEvents}} valid events)</td></tr>
<tr><th>budget spent (events)</th><td>{{events .G.Budget.SpentEvents}} of {{events .G.Budget.AllowedEvents}} allowed ({{pct .G.Budget.SpentRatio}})</td></tr>
<tr><th>budget spent (minutes)</th><td>{{minutes .G.Budget.SpentMinutes}} of {{minutes .G.Budget.AllowedMinutes}} allowed bad minutes</td></tr>{{end}}
{{with .G.AtEnd}}<tr><th>budget at the end</th><td>{{pct .RemainingRatio}} remaining, zone {{.Zone}}</td></tr>{{end}}
{{with .G.Cost}}<tr><th>cost of budget spent</th><td>{{printf "%.2f" .Spent}} of {{printf "%.2f" .Allowed}} {{.Currency}} allowed</td></tr>{{end}}
</table>
<h3>Error budget remaining over the period, with the zone of every step</h3>
{{.Chart}}
<h3>Time in zones</h3>
{{.Bar}}
<p>{{range $i, $z := .G.TimeInZones}}{{if $i}}, {{end}}{{$z.Zone}} {{pct $z.Ratio}} ({{dur $z.Seconds}}){{end}}</p>
{{if .G.WorstWindows}}<h3>Worst windows</h3>
<table><tr><th>window</th><th>worst SLI</th><th>at</th></tr>
{{range .G.WorstWindows}}<tr><td>{{.Window}}</td><td>{{pct .SLI}}</td><td>{{$.R.Time .At}}</td></tr>{{end}}
</table>{{end}}
<h3>Incidents</h3>
{{if .G.Incidents}}<table><tr><th>start</th><th>end</th><th>budget spent</th><th>significant</th></tr>
{{range .G.Incidents}}<tr class="incident"><td>{{$.R.Time .Start}}</td><td>{{$.R.OpenEnd .End}}</td><td>{{pct .BudgetSpent}}</td><td>{{yesNo .Significant}}</td></tr>{{end}}
</table>{{else}}<p>None.</p>{{end}}
<h3>Alert tier firings</h3>
<table><tr><th>tier</th><th>severity</th><th>start</th><th>end</th><th>budget spent while firing</th></tr>
{{range .G.Tiers}}{{$t := .}}{{range .Firings}}<tr class="firing"><td>{{$t.Tier}}</td><td>{{$t.Severity}}</td><td>{{$.R.Time .Start}}</td><td>{{$.R.OpenEnd .End}}</td><td>{{pct .BudgetSpent}}</td></tr>{{end}}{{end}}
</table>
<h3>Recommendations</h3>
<ul>{{range .G.Recommendations}}<li>{{.}}</li>{{end}}</ul>
</section>
{{end}}
<script>console.log("slo-report: " + document.querySelectorAll("svg.chart").length + " charts");</script>
</body>
</html>
`))

// htmlView adapts the report to the template.
type htmlView struct {
	Report *Report
}

func (v htmlView) Title() string {
	return v.Report.day(v.Report.From) + " to " + v.Report.day(v.Report.To)
}
func (v htmlView) Range() string {
	r := v.Report
	return fmt.Sprintf("%s to %s (%s), %s", r.time(r.From), r.time(r.To), r.TimeZone, duration(r.To.Sub(r.From)))
}
func (v htmlView) Time(t time.Time) string    { return v.Report.time(t) }
func (v htmlView) OpenEnd(t time.Time) string { return v.Report.openEnd(t) }

type htmlRow struct {
	SLO   SLO
	G     Group
	Chart template.HTML
	Bar   template.HTML
}

// WriteHTML writes the report as one self-contained HTML page: inline CSS
// and SVG charts, no external assets.
func (r *Report) WriteHTML(w io.Writer) error {
	var rows []htmlRow
	for _, s := range r.SLOs {
		for _, g := range s.Groups {
			rows = append(rows, htmlRow{SLO: s, G: g, Chart: r.budgetChart(g), Bar: zoneBar(g)})
		}
	}
	return htmlTemplate.Execute(w, struct {
		R    htmlView
		Rows []htmlRow
	}{htmlView{r}, rows})
}
