package config

import (
	"fmt"
	"math"
	"strings"

	"github.com/slo-exporter/slo-exporter/internal/slo"
)

// Ways a composite combines its components (CompositeSLI.Combine).
const (
	// CombineWeighted is the weighted mean of the components' SLIs
	// (OpenSLO's compositeWeight); the default.
	CombineWeighted = "weighted"
	// CombineProduct is the product of the components' SLIs: a journey
	// that needs every step, with steps failing independently.
	CombineProduct = "product"
)

// CompositeSLI combines other SLOs of the configuration. Over a window W,
// for the components that have an SLI in W:
//
//	weighted: SLI(W) = sum_i w_i SLI_i(W) / sum_i w_i
//	product:  SLI(W) = prod_i SLI_i(W)
//
// Burn rates, tiers and the budget ratio follow from that SLI as for any
// SLO; budgets in events are not defined. Components are ungrouped,
// non-composite SLOs with the composite's budget period.
type CompositeSLI struct {
	// Combine is weighted (the default) or product.
	Combine string `yaml:"combine,omitempty"`
	// Components are the SLOs combined, by name, with their weights.
	Components []CompositeComponent `yaml:"components"`
}

// CompositeComponent is one SLO of a composite.
type CompositeComponent struct {
	// SLO is the component SLO's name.
	SLO string `yaml:"slo"`
	// Weight is the component's positive weight; 1 when left out. Only a
	// weighted composite takes weights.
	Weight *float64 `yaml:"weight,omitempty"`
}

func (*CompositeSLI) kind() slo.SLIKind { return slo.Composite }

// CombineOrDefault returns Combine, or CombineWeighted when it is empty.
func (c *CompositeSLI) CombineOrDefault() string {
	if c.Combine == "" {
		return CombineWeighted
	}
	return c.Combine
}

func (c *CompositeSLI) validate(report func(field, value, msg string)) {
	if c.Combine != "" && c.Combine != CombineWeighted && c.Combine != CombineProduct {
		report("combine", c.Combine, fmt.Sprintf("must be %s (the weighted mean of the components' SLIs) or %s (their product)",
			CombineWeighted, CombineProduct))
	}
	if len(c.Components) < 2 {
		report("components", "", fmt.Sprintf("a composite needs at least two component SLOs, got %d", len(c.Components)))
	}
	seen := map[string]bool{}
	for i, comp := range c.Components {
		f := fmt.Sprintf("components[%d]", i)
		switch {
		case comp.SLO == "":
			report(f+".slo", "", "missing; the name of a component SLO")
		case seen[comp.SLO]:
			report(f+".slo", comp.SLO, "listed twice")
		}
		seen[comp.SLO] = true
		w := comp.Weight
		switch {
		case w == nil:
		case c.Combine == CombineProduct:
			report(f+".weight", fmtFloat(*w), "a product of SLIs takes no weights; use combine: weighted for a weighted mean")
		case !(*w > 0) || math.IsInf(*w, 0):
			report(f+".weight", fmtFloat(*w), "must be a positive number")
		}
	}
}

// validateComposites checks what a composite needs of its components,
// once every SLO is known: they exist, are not composites themselves, are
// not grouped and budget over the composite's period. The composite
// itself must not be grouped and budgets occurrences.
func validateComposites(cfg *Config, names map[string]*SLO, checks []*checker) {
	for i, s := range cfg.SLOs {
		c := s.SLI.Composite
		if c == nil {
			continue
		}
		rep := checks[i].report
		if len(s.GroupBy) > 0 {
			rep("group_by", strings.Join(s.GroupBy, ", "), "a composite is not grouped: it combines its components' SLIs, and components are ungrouped SLOs")
		}
		if s.Method() != slo.Occurrences {
			rep("budgeting_method", s.BudgetingMethod, "a composite combines its components' SLIs and cannot budget time slices itself; give time slices to the components")
		}
		for j, comp := range c.Components {
			f := fmt.Sprintf("sli.composite.components[%d].slo", j)
			other, ok := names[comp.SLO]
			switch {
			case comp.SLO == "":
			case !ok:
				rep(f, comp.SLO, "no SLO of that name is defined")
			case other == s:
				rep(f, comp.SLO, "a composite cannot be its own component")
			case other.SLI.Composite != nil:
				rep(f, comp.SLO, "is a composite itself; composites do not nest (list its components instead)")
			case len(other.GroupBy) > 0:
				rep(f, comp.SLO, fmt.Sprintf("is grouped by %s; a component must be ungrouped (define an ungrouped SLO over the same events)",
					strings.Join(other.GroupBy, ", ")))
			case other.Calendar != s.Calendar || other.Period != s.Period || (s.Calendar != "" && other.TimeZone != s.TimeZone):
				rep(f, comp.SLO, fmt.Sprintf("budgets over %s, the composite over %s; they must be the same",
					periodWithZone(other), periodWithZone(s)))
			}
		}
	}
}

// periodWithZone names a budget period with its time zone: 30d, month in
// Europe/Berlin.
func periodWithZone(s *SLO) string {
	if s.Calendar != "" {
		z := s.TimeZone
		if z == "" {
			z = "UTC"
		}
		return s.Calendar + " in " + z
	}
	return periodName(s)
}
