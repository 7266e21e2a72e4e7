// Package simulate answers "what would this incident do to my SLO?": it
// feeds synthetic traffic with scripted incidents through the daemon's
// evaluator and reports, with the backtest's judgement, when each alert
// tier fires and resolves and how much budget the incident spends.
package simulate

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/backtest"
	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// Incident is a constant error ratio over [Start, Start+Duration), with
// Start measured from the end of the clean lead-in.
type Incident struct {
	Start, Duration time.Duration
	ErrorRatio      float64
}

// ParseIncident reads "start=10m,duration=30m,error_ratio=0.5" (start
// defaults to 0).
func ParseIncident(s string) (Incident, error) {
	var in Incident
	seen := map[string]bool{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return in, fmt.Errorf("incident %q: %q is not key=value", s, kv)
		}
		seen[k] = true
		var err error
		switch k {
		case "start", "duration":
			var d model.Duration
			if d, err = model.ParseDuration(v); err == nil {
				if k == "start" {
					in.Start = time.Duration(d)
				} else {
					in.Duration = time.Duration(d)
				}
			}
		case "error_ratio":
			in.ErrorRatio, err = strconv.ParseFloat(v, 64)
			if err == nil && !(in.ErrorRatio >= 0 && in.ErrorRatio <= 1) {
				err = fmt.Errorf("must be in [0, 1]")
			}
		default:
			return in, fmt.Errorf("incident %q: unknown key %q (want start, duration, error_ratio)", s, k)
		}
		if err != nil {
			return in, fmt.Errorf("incident %q: %s %q: %v", s, k, v, err)
		}
	}
	if !seen["duration"] || !seen["error_ratio"] {
		return in, fmt.Errorf("incident %q: duration and error_ratio are required", s)
	}
	return in, nil
}

// Scenario is one simulation.
type Scenario struct {
	// Spec is the SLO; its windows get the step added.
	Spec evaluator.Spec
	// Step is the evaluation interval (default 30s).
	Step time.Duration
	// EventsPerStep is the traffic (default 100 valid events per step).
	EventsPerStep float64
	// BaselineErrorRatio is the error ratio outside incidents.
	BaselineErrorRatio float64
	// LeadIn is clean history before the first incident so every window is
	// full (default: the longest tier window, or 1h).
	LeadIn time.Duration
	// After is how long to keep simulating after the last incident ends
	// (default: the longest tier window, so every tier resets).
	After time.Duration
	// Incidents are the scripted incidents.
	Incidents []Incident
	// Options judge significance as in the backtest.
	Options backtest.Options
}

// Run simulates the scenario. Times in the report start at the Unix epoch
// plus the lead-in.
func Run(sc Scenario) (*backtest.Report, error) {
	if sc.Step == 0 {
		sc.Step = 30 * time.Second
	}
	if sc.EventsPerStep == 0 {
		sc.EventsPerStep = 100
	}
	longest := time.Hour
	for _, t := range sc.Spec.Tiers {
		longest = max(longest, t.LongWindow)
	}
	if sc.LeadIn == 0 {
		sc.LeadIn = longest
	}
	if sc.After == 0 {
		sc.After = longest
	}
	spec := sc.Spec
	spec.Windows = append(append([]time.Duration(nil), spec.Windows...), sc.Step)
	eng, err := evaluator.New(sc.Step, []evaluator.Spec{spec})
	if err != nil {
		return nil, err
	}
	origin := time.Unix(0, 0).UTC()
	g, err := eng.Group(0, nil, origin.UnixMilli())
	if err != nil {
		return nil, err
	}
	zero := origin.Add(sc.LeadIn)
	end := zero
	for _, in := range sc.Incidents {
		end = maxTime(end, zero.Add(in.Start+in.Duration))
	}
	end = end.Add(sc.After)
	feed := func(t time.Time) error {
		ratio := sc.BaselineErrorRatio
		for _, in := range sc.Incidents {
			s := zero.Add(in.Start)
			if t.After(s) && !t.After(s.Add(in.Duration)) {
				ratio = math.Max(ratio, in.ErrorRatio)
			}
		}
		return g.Record(t.Add(-sc.Step).UnixMilli(), t.UnixMilli(), sc.EventsPerStep*(1-ratio), sc.EventsPerStep)
	}
	return backtest.Run(eng, origin, end, sc.Step, feed, sc.Options)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
