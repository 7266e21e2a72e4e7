package openslo

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// The types below are the part of slo-exporter's configuration YAML that
// the converters of this package and of config/sloth emit (see
// docs/configuration.md for what each field means). They are plain
// output types: the config package loads and validates the result.

// Document is one converted configuration file.
type Document struct {
	// Prometheus is set when the input named the server to query.
	Prometheus *Prometheus `yaml:"prometheus,omitempty"`
	// SLOs are the converted SLOs, in input order.
	SLOs []SLO `yaml:"slos"`
}

// Prometheus is the prometheus section.
type Prometheus struct {
	// URL is prometheus.url.
	URL string `yaml:"url"`
}

// SLO is one entry of slos.
type SLO struct {
	// Origin is written as a comment above the SLO: where it came from.
	Origin      string            `yaml:"-"`
	Name        string            `yaml:"name"`
	Service     string            `yaml:"service"`
	Description string            `yaml:"description,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	// Objective is a ratio (float64) or a percent string ("99.9%"); nil
	// leaves it out, which the loader reports as missing.
	Objective any      `yaml:"objective,omitempty"`
	Period    string   `yaml:"period,omitempty"`
	Calendar  string   `yaml:"calendar,omitempty"`
	TimeZone  string   `yaml:"time_zone,omitempty"`
	GroupBy   []string `yaml:"group_by,omitempty"`
	// BudgetingMethod and TimeSlice carry OpenSLO's Timeslices method.
	BudgetingMethod string     `yaml:"budgeting_method,omitempty"`
	TimeSlice       *TimeSlice `yaml:"time_slice,omitempty"`
	SLI             SLI        `yaml:"sli"`
	Alerting        *Alerting  `yaml:"alerting,omitempty"`
}

// TimeSlice is time_slice: a slice's length and the ratio it needs to be
// good.
type TimeSlice struct {
	Length string  `yaml:"length"`
	Target float64 `yaml:"target"`
}

// SLI holds one SLI kind: Ratio, the one both inputs map their
// indicators onto, or Composite, for an OpenSLO SLO whose objectives have
// their own indicators.
type SLI struct {
	// Ratio is sli.ratio; left out when zero (a composite).
	Ratio Ratio `yaml:"ratio,omitempty"`
	// Composite is sli.composite; nil for a ratio.
	Composite *Composite `yaml:"composite,omitempty"`
}

// Composite is sli.composite: the SLOs it combines, with their weights.
type Composite struct {
	// Combine is weighted (OpenSLO's compositeWeight) or product.
	Combine string `yaml:"combine,omitempty"`
	// Components are the combined SLOs, in objective order.
	Components []Component `yaml:"components"`
}

// Component is one entry of sli.composite.components.
type Component struct {
	// SLO is the component SLO's name.
	SLO string `yaml:"slo"`
	// Weight is the component's weight; nil leaves it out (weight 1).
	Weight *float64 `yaml:"weight,omitempty"`
}

// Ratio is sli.ratio: two of good, bad and valid.
type Ratio struct {
	Good  string `yaml:"good,omitempty"`
	Bad   string `yaml:"bad,omitempty"`
	Valid string `yaml:"valid,omitempty"`
}

// Alerting is an SLO's alerting section.
type Alerting struct {
	RunbookURL string `yaml:"runbook_url,omitempty"`
	Tiers      []Tier `yaml:"tiers,omitempty"`
}

// Tier is one entry of alerting.tiers; fields left empty keep the value
// of the global tier of the same name.
type Tier struct {
	Name           string  `yaml:"name"`
	BudgetFraction float64 `yaml:"budget_fraction,omitempty"`
	LongWindow     string  `yaml:"long_window,omitempty"`
	ShortWindow    string  `yaml:"short_window,omitempty"`
	Severity       string  `yaml:"severity,omitempty"`
	For            string  `yaml:"for,omitempty"`
	Enabled        *bool   `yaml:"enabled,omitempty"`
}

// Marshal writes the document as YAML with two-space indentation and each
// SLO's Origin as a comment above it. The output is deterministic: fields
// in a fixed order, map keys sorted.
func (d *Document) Marshal() ([]byte, error) {
	var n yaml.Node
	if err := n.Encode(d); err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "slos" {
			continue
		}
		for j, item := range n.Content[i+1].Content {
			if j < len(d.SLOs) && d.SLOs[j].Origin != "" {
				item.HeadComment = d.SLOs[j].Origin
			}
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
