package export

import (
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// The status page draws its charts itself, as inline SVG on the server:
// a charting library would be an external asset (or a large embedded
// script) that a strict Content-Security-Policy and offline use forbid, and
// a line chart of a few hundred points is a few dozen lines of code.

// chart is a line chart over time.
type chart struct {
	// ID names the chart in the page (an element id) and Title is shown
	// above it.
	ID, Title string
	// Series are the lines; Rules horizontal reference lines (thresholds,
	// zone bounds), drawn dashed.
	Series []chartSeries
	Rules  []chartRule
	// Percent formats the y axis as a percentage of a ratio.
	Percent bool
}

// chartSeries is one line; NaN values break it.
type chartSeries struct {
	Name   string
	Times  []time.Time
	Values []float64
}

// chartRule is a horizontal line at Value with its label.
type chartRule struct {
	Name  string
	Value float64
	// Class colours it (a CSS class of the page, e.g. zone-red).
	Class string
}

// Chart geometry in SVG user units; the SVG scales to its container.
const (
	chartW, chartH            = 720.0, 260.0
	padL, padR, padT, padB    = 64.0, 12.0, 12.0, 28.0
	legendLineH, legendSwatch = 16.0, 14.0
	seriesClasses             = 8
)

// svg renders the chart: axes with min/max labels, one polyline per series
// (class "series s<i>"), one dashed line per rule (class "rule"), and a
// legend below. A chart without a single point says so in text.
func (c chart) svg() template.HTML {
	var t0, t1 time.Time
	lo, hi := math.Inf(1), math.Inf(-1)
	points := 0
	for _, s := range c.Series {
		for i, v := range s.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			points++
			lo, hi = math.Min(lo, v), math.Max(hi, v)
			if t0.IsZero() || s.Times[i].Before(t0) {
				t0 = s.Times[i]
			}
			if s.Times[i].After(t1) {
				t1 = s.Times[i]
			}
		}
	}
	for _, r := range c.Rules {
		lo, hi = math.Min(lo, r.Value), math.Max(hi, r.Value)
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	lo = math.Min(lo, 0)
	if hi <= lo {
		hi = lo + 1
	}
	hi += (hi - lo) * 0.05
	if !t1.After(t0) {
		t1 = t0.Add(time.Second)
	}
	legendRows := len(c.Series) + len(c.Rules)
	height := chartH + float64(legendRows)*legendLineH + 8
	x := func(t time.Time) float64 {
		return padL + (chartW-padL-padR)*float64(t.Sub(t0))/float64(t1.Sub(t0))
	}
	y := func(v float64) float64 { return padT + (chartH-padT-padB)*(hi-v)/(hi-lo) }
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	label := func(v float64) string {
		if c.Percent {
			return strconv.FormatFloat(100*v, 'f', 1, 64) + "%"
		}
		return strconv.FormatFloat(v, 'g', 3, 64)
	}

	var b strings.Builder
	b.WriteString(`<svg class="chart" id="` + html.EscapeString(c.ID) + `" viewBox="0 0 ` + f(chartW) + " " + f(height) +
		`" role="img" aria-label="` + html.EscapeString(c.Title) + `" data-series="` + strconv.Itoa(len(c.Series)) +
		`" data-rules="` + strconv.Itoa(len(c.Rules)) + `" data-points="` + strconv.Itoa(points) + `">`)
	b.WriteString("<title>" + html.EscapeString(c.Title) + "</title>")
	// Frame, y labels at the top and bottom and at 0, time labels.
	b.WriteString(`<rect class="frame" x="` + f(padL) + `" y="` + f(padT) + `" width="` + f(chartW-padL-padR) + `" height="` + f(chartH-padT-padB) + `"/>`)
	for _, v := range []float64{lo, hi, 0} {
		b.WriteString(`<text class="axis" x="` + f(padL-4) + `" y="` + f(y(v)+4) + `" text-anchor="end">` + label(v) + `</text>`)
	}
	if lo < 0 {
		b.WriteString(`<line class="zero" x1="` + f(padL) + `" x2="` + f(chartW-padR) + `" y1="` + f(y(0)) + `" y2="` + f(y(0)) + `"/>`)
	}
	b.WriteString(`<text class="axis" x="` + f(padL) + `" y="` + f(chartH-8) + `">` + t0.UTC().Format("01-02 15:04") + `</text>`)
	b.WriteString(`<text class="axis" x="` + f(chartW-padR) + `" y="` + f(chartH-8) + `" text-anchor="end">` + t1.UTC().Format("01-02 15:04") + ` UTC</text>`)
	if points == 0 {
		b.WriteString(`<text class="empty" x="` + f(chartW/2) + `" y="` + f(chartH/2) + `" text-anchor="middle">no data yet</text>`)
	}
	for _, r := range c.Rules {
		b.WriteString(`<line class="rule ` + html.EscapeString(r.Class) + `" x1="` + f(padL) + `" x2="` + f(chartW-padR) +
			`" y1="` + f(y(r.Value)) + `" y2="` + f(y(r.Value)) + `"><title>` + html.EscapeString(r.Name) + `</title></line>`)
	}
	for i, s := range c.Series {
		cls := "s" + strconv.Itoa(i%seriesClasses)
		// One polyline per run of defined values, so gaps stay gaps; every
		// run carries the series' index.
		b.WriteString(`<g class="series ` + cls + `" data-name="` + html.EscapeString(s.Name) + `"><title>` + html.EscapeString(s.Name) + `</title>`)
		var pts []string
		flush := func() {
			switch len(pts) {
			case 0:
			case 1: // a lone point: a dot, or it would not show
				xy := strings.Split(pts[0], ",")
				b.WriteString(`<circle cx="` + xy[0] + `" cy="` + xy[1] + `" r="2"/>`)
			default:
				b.WriteString(`<polyline points="` + strings.Join(pts, " ") + `"/>`)
			}
			pts = pts[:0]
		}
		for j, v := range s.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				flush()
				continue
			}
			pts = append(pts, f(x(s.Times[j]))+","+f(y(v)))
		}
		flush()
		b.WriteString(`</g>`)
	}
	// Legend: series then rules, one per line, with a swatch of the line.
	ly := chartH + legendLineH
	for i, s := range c.Series {
		b.WriteString(`<line class="swatch s` + strconv.Itoa(i%seriesClasses) + `" x1="` + f(padL) + `" x2="` + f(padL+legendSwatch) +
			`" y1="` + f(ly-4) + `" y2="` + f(ly-4) + `"/><text class="legend" x="` + f(padL+legendSwatch+6) + `" y="` + f(ly) + `">` +
			html.EscapeString(s.Name) + `</text>`)
		ly += legendLineH
	}
	for _, r := range c.Rules {
		b.WriteString(`<line class="rule swatch ` + html.EscapeString(r.Class) + `" x1="` + f(padL) + `" x2="` + f(padL+legendSwatch) +
			`" y1="` + f(ly-4) + `" y2="` + f(ly-4) + `"/><text class="legend" x="` + f(padL+legendSwatch+6) + `" y="` + f(ly) + `">` +
			html.EscapeString(r.Name) + " (" + label(r.Value) + `)</text>`)
		ly += legendLineH
	}
	b.WriteString("</svg>")
	return template.HTML(b.String()) // #nosec: every text above is escaped
}
