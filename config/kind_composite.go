package config

import (
	"fmt"
	"math"
)

// CompositeSLI is a weighted composite of other SLOs (OpenSLO's
// compositeWeight). Its SLI over a window W would be
// sum_i w_i * SLI_i(W) / sum_i w_i over the components that have an SLI in
// W; burn rates and the budget follow from that SLI. The engine does not
// evaluate it yet, so validation accepts its shape and then refuses it;
// docs/configuration.md has the design. A journey with its own good and
// valid events is a ratio SLI over them instead.
type CompositeSLI struct {
	// Components are the SLOs combined, by name, with their weights.
	Components []CompositeComponent `yaml:"components"`
}

// CompositeComponent is one SLO of a composite.
type CompositeComponent struct {
	// SLO is the component SLO's name.
	SLO string `yaml:"slo"`
	// Weight is the component's positive weight; 1 when left out.
	Weight *float64 `yaml:"weight,omitempty"`
}

func (*CompositeSLI) kindName() string { return "composite" }

func (c *CompositeSLI) validate(report func(field, value, msg string)) {
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
		if w := comp.Weight; w != nil && (!(*w > 0) || math.IsInf(*w, 0)) {
			report(f+".weight", fmtFloat(*w), "must be a positive number")
		}
	}
	report("", "", "weighted composite SLOs are not supported yet: the engine evaluates each SLO on its own events "+
		"(docs/configuration.md, \"Composite and journey SLOs\", describes the planned semantics); "+
		"for a journey with its own good and valid events use sli.ratio over them")
}
