package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/policy"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it); got:\n%s", path, got)
	}
}

// The deterministic fixture: a 99%/1d SLO per model, 1,000 valid events a
// minute, 1 bad (0.1%) normally. Model "a" has a 60-minute incident with
// 200 bad a minute (20%) six hours into the range: 12,000 bad events, 83%
// of the 14,400 a day allows, so with the baseline it goes through yellow
// into orange, and back once the incident leaves the 1d window.
var (
	fxStart    = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC) // feed starts (lead-in)
	fxFrom     = fxStart.Add(24 * time.Hour)                  // range (From, To]
	fxTo       = fxFrom.Add(48 * time.Hour)
	fxIncident = fxFrom.Add(6 * time.Hour)
	fxStep     = time.Minute
)

const fxValid, fxBase, fxBurst = 1000.0, 1.0, 200.0

// fxBad is the bad events of the step ending at t for a model.
func fxBad(model string, t time.Time) float64 {
	if model == "a" && t.After(fxIncident) && !t.After(fxIncident.Add(time.Hour)) {
		return fxBurst
	}
	return fxBase
}

func fixtureSpec() evaluator.Spec {
	tiers := slo.DefaultTiers()[:2]
	return evaluator.Spec{Name: "api-availability", Service: "api", Objective: 0.99, Period: 24 * time.Hour, Tiers: tiers,
		Windows: []time.Duration{time.Hour, 24 * time.Hour}}
}

// fixtureReport feeds the engine step by step, as a driver does, and
// collects the range.
func fixtureReport(t *testing.T, prices map[string]Price) *Report {
	t.Helper()
	specs := []evaluator.Spec{fixtureSpec()}
	Prepare(specs, fxStep)
	eng, err := evaluator.New(fxStep, specs)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCollector(Input{Engine: eng, Step: fxStep, Policy: policy.Default(), From: fxFrom, To: fxTo,
		Prices: prices})
	if err != nil {
		t.Fatal(err)
	}
	for ts := fxStart.Add(fxStep); !ts.After(fxTo); ts = ts.Add(fxStep) {
		for _, m := range []string{"a", "b"} {
			g, err := eng.Group(0, []evaluator.Label{{Name: "model", Value: m}}, ts.UnixMilli())
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Record(ts.Add(-fxStep).UnixMilli(), ts.UnixMilli(), fxValid-fxBad(m, ts), fxValid); err != nil {
				t.Fatal(err)
			}
		}
		eng.SetDataUp(0, true)
		c.Observe(ts)
	}
	return c.Report()
}

// independent computes, from the fixture's own arithmetic, the figures
// the report must show for a model.
type expected struct {
	good, valid, badMinutes float64
	zoneSeconds             map[string]float64
}

func independent(model string) expected {
	e := expected{zoneSeconds: map[string]float64{}}
	p := policy.Default()
	// bad events per step since fxStart, for the rolling 1d budget.
	var bads []float64
	for ts := fxStart.Add(fxStep); !ts.After(fxTo); ts = ts.Add(fxStep) {
		bads = append(bads, fxBad(model, ts))
		if !ts.After(fxFrom) {
			continue
		}
		b := fxBad(model, ts)
		e.good += fxValid - b
		e.valid += fxValid
		e.badMinutes += b / fxValid
		// The period (ts-1d, ts] holds the last 1440 steps.
		n := int(24 * time.Hour / fxStep)
		var bad float64
		for _, x := range bads[max(0, len(bads)-n):] {
			bad += x
		}
		remaining := 1 - bad/(0.01*fxValid*float64(min(n, len(bads))))
		e.zoneSeconds[p.ZoneFor(remaining).Name] += fxStep.Seconds()
	}
	return e
}

func TestReportFiguresMatchIndependentComputation(t *testing.T) {
	rep := fixtureReport(t, nil)
	if len(rep.SLOs) != 1 || len(rep.SLOs[0].Groups) != 2 {
		t.Fatalf("report shape: %+v", rep.SLOs)
	}
	for _, g := range rep.SLOs[0].Groups {
		m := g.Labels["model"]
		want := independent(m)
		// Event counts are sums of whole numbers: exact.
		if g.GoodEvents != want.good || g.ValidEvents != want.valid {
			t.Errorf("%s: good/valid %v/%v, want %v/%v", m, g.GoodEvents, g.ValidEvents, want.good, want.valid)
		}
		sli := want.good / want.valid
		if g.SLI == nil || math.Abs(*g.SLI-sli) > 1e-12 {
			t.Errorf("%s: SLI %v, want %v", m, g.SLI, sli)
		}
		if math.Abs(g.Budget.SpentMinutes-want.badMinutes) > 1e-6 {
			t.Errorf("%s: spent minutes %v, want %v", m, g.Budget.SpentMinutes, want.badMinutes)
		}
		if math.Abs(g.Budget.SpentRatio-(want.valid-want.good)/(0.01*want.valid)) > 1e-9 {
			t.Errorf("%s: spent ratio %v", m, g.Budget.SpentRatio)
		}
		// Zones: the engine's 1d window is exact at its bucket resolution
		// here (every boundary is on the minute grid), so each zone's time
		// must match to the step.
		for _, zt := range g.TimeInZones {
			if zt.Seconds != want.zoneSeconds[zt.Zone] {
				t.Errorf("%s: %s for %vs, want %vs", m, zt.Zone, zt.Seconds, want.zoneSeconds[zt.Zone])
			}
		}
		switch m {
		case "a":
			if g.Status != "met" && g.Status != "violated" {
				t.Errorf("a: status %s", g.Status)
			}
			if want.zoneSeconds["orange"] == 0 {
				t.Fatal("fixture never reaches orange")
			}
			if len(g.Incidents) != 1 || !g.Incidents[0].Start.Equal(fxIncident) || !g.Incidents[0].End.Equal(fxIncident.Add(time.Hour)) {
				t.Errorf("a: incidents %+v, want one from %s for 1h", g.Incidents, fxIncident)
			}
			if len(g.Tiers) != 2 || len(g.Tiers[0].Firings) != 1 {
				t.Errorf("a: tiers %+v, want the fast tier firing once", g.Tiers)
			}
		case "b":
			if g.Status != "met" || len(g.Incidents) != 0 || len(g.ZoneChanges) != 1 {
				t.Errorf("b: %+v", g)
			}
		}
	}
}

func TestReportGolden(t *testing.T) {
	rep := fixtureReport(t, map[string]Price{"api-availability": {PerEvent: 0.05, Currency: "EUR"}})
	var md, js bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.md.golden", md.Bytes())
	golden(t, "report.json.golden", js.Bytes())
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.SLOs) != 1 || back.SLOs[0].Groups[0].Cost == nil {
		t.Errorf("JSON round trip lost data: %+v", back)
	}
	var html bytes.Buffer
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<svg class="chart"`, `data-zone="orange"`, `<polyline`, `class="status-`} {
		if !bytes.Contains(html.Bytes(), []byte(want)) {
			t.Errorf("HTML lacks %s", want)
		}
	}
	for _, banned := range []string{"http://", "https://", "<link", " src="} {
		if bytes.Contains(html.Bytes(), []byte(banned)) {
			t.Errorf("HTML refers to an external asset (%q)", banned)
		}
	}
}

func TestPostmortemGolden(t *testing.T) {
	rep := fixtureReport(t, nil)
	var md bytes.Buffer
	if err := rep.WritePostmortem(&md, "api-availability"); err != nil {
		t.Fatal(err)
	}
	golden(t, "postmortem.md.golden", md.Bytes())
	// The fast tier detects the incident 2 minutes after it starts; the
	// last alert (medium) resolves 30 minutes after it ends, its short
	// window.
	for _, want := range []string{"| {model=\"a\"} | 2026-10-02 06:00 to 2026-10-02 07:00 (83.333% of the period's budget) | 2026-10-02 06:02 (fast) | 2m | 2026-10-02 07:30 | 30m |",
		"Groups affected: 1 of 2.", "## Root cause", "## Action items"} {
		if !bytes.Contains(md.Bytes(), []byte(want)) {
			t.Errorf("postmortem lacks %q", want)
		}
	}
	if err := rep.WritePostmortem(&md, "nope"); err == nil || err.Error() != `slo "nope" is not in the report (SLOs: api-availability)` {
		t.Errorf("unknown SLO: %v", err)
	}
}
