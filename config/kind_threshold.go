package config

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/slo-exporter/slo-exporter/internal/slo"
)

// ThresholdOps are the comparison operators of a threshold SLI.
var ThresholdOps = []string{"<", "<=", ">", ">=", "==", "!="}

// ThresholdSLI counts gauge samples within a bound, for SLIs that are
// measured as a level rather than counted as events: feature freshness,
// model accuracy, job duration. At every evaluation interval each series
// the Gauge selector returns (per group) is one valid event, good when
// `sample Op Value` holds. The event is thus a time slice of one interval
// per series; see docs/configuration.md.
type ThresholdSLI struct {
	// Gauge is a plain series selector of a gauge, e.g.
	// feature_freshness_seconds{job="feature-store"}.
	Gauge string `yaml:"gauge"`
	// Op compares the sample with Value: one of ThresholdOps.
	Op string `yaml:"op"`
	// Value is the bound, e.g. 300 (seconds of lag). A pointer, because 0
	// is a valid bound and a missing one is not.
	Value *float64 `yaml:"value"`
}

func (*ThresholdSLI) kind() slo.SLIKind { return slo.Threshold }

func (s *ThresholdSLI) validate(report func(field, value, msg string)) {
	name, _, err := parseSelector(s.Gauge)
	switch {
	case err != nil && s.Gauge != "" && strings.Contains(err.Error(), "plain series selector"):
		report("gauge", s.Gauge, "must be a plain series selector such as metric{label=\"value\"}, without functions, ranges, offsets or operators: "+
			"the engine reads every series' raw sample at each tick and applies op and value itself")
	case err != nil:
		report("gauge", s.Gauge, err.Error())
	case name == "":
		report("gauge", s.Gauge, "must name the gauge's metric, e.g. feature_freshness_seconds{job=\"feature-store\"}")
	case strings.HasSuffix(name, "_total"):
		report("gauge", s.Gauge, "names a counter (_total); a threshold compares a gauge's level, use sli.ratio for counters")
	default:
		if suf, ok := isBucketSuffix(name); ok {
			report("gauge", s.Gauge, fmt.Sprintf("names a histogram series (%s); use sli.latency for histograms", suf))
		}
	}
	switch {
	case s.Op == "":
		report("op", "", "missing; one of "+strings.Join(ThresholdOps, " "))
	case !slices.Contains(ThresholdOps, s.Op):
		report("op", s.Op, "must be one of "+strings.Join(ThresholdOps, " "))
	}
	switch {
	case s.Value == nil:
		report("value", "", "missing; the bound the gauge is compared with, e.g. 300")
	case math.IsNaN(*s.Value) || math.IsInf(*s.Value, 0):
		report("value", fmtFloat(*s.Value), "must be a finite number")
	}
}
