package config

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/slo"
)

// TimeSlice configures the timeslices budgeting method.
type TimeSlice struct {
	// Length of one slice; a multiple of the evaluation interval and at
	// most the SLO's shortest window.
	Length model.Duration `yaml:"length"`
	// Target is the good/valid ratio a slice needs to count as good, in
	// (0, 1], e.g. 0.95.
	Target float64 `yaml:"target"`
}

// Method returns the SLO's budgeting method (the vocabulary's
// slo.Occurrences or slo.Timeslices): occurrences unless it says
// timeslices.
func (s *SLO) Method() string {
	if s.BudgetingMethod == "" {
		return slo.Occurrences
	}
	return s.BudgetingMethod
}

// validateBudgeting checks budgeting_method and time_slice.
func validateBudgeting(s *SLO, interval time.Duration, c *checker) {
	switch s.Method() {
	case slo.Occurrences:
		if s.TimeSlice != nil {
			c.report("time_slice", "", "only applies to budgeting_method: timeslices")
		}
		return
	case slo.Timeslices:
	default:
		c.report("budgeting_method", s.BudgetingMethod, "must be one of "+strings.Join(slo.BudgetingMethods(), ", "))
		return
	}
	ts := s.TimeSlice
	if ts == nil {
		c.report("time_slice", "", "missing; budgeting_method: timeslices needs time_slice: {length: 1m, target: 0.95}")
		return
	}
	l := time.Duration(ts.Length)
	switch {
	case l <= 0:
		c.report("time_slice.length", md(ts.Length), "must be positive, e.g. 1m")
	case interval > 0 && l%interval != 0:
		c.report("time_slice.length", md(ts.Length), fmt.Sprintf("must be a multiple of the evaluation interval %s (a slice is made of whole ticks)", slo.FormatWindow(interval)))
	default:
		if ws := s.AllWindows(); len(ws) > 0 && l > ws[0] {
			c.report("time_slice.length", md(ts.Length), fmt.Sprintf("longer than the shortest window %s, which would then hold at most one slice", slo.FormatWindow(ws[0])))
		}
	}
	if !(ts.Target > 0 && ts.Target <= 1) || math.IsNaN(ts.Target) {
		c.report("time_slice.target", fmtFloat(ts.Target), "must be a ratio in (0, 1], e.g. 0.95")
	}
}
