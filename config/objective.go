package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"go.yaml.in/yaml/v3"
)

// Objective is an SLO target as written in the configuration: a ratio
// (0.999), a percent string ("99.9%"), or a bare number in (1, 100) read as
// a percent (99.9). Ratio applies the rule; see docs/configuration.md.
type Objective struct {
	text string
}

// ParseObjective returns the Objective for a written value without
// checking it; Ratio reports whether it is valid.
func ParseObjective(s string) Objective { return Objective{text: strings.TrimSpace(s)} }

// String returns the objective as written.
func (o Objective) String() string { return o.text }

// IsZero reports whether no objective was written.
func (o Objective) IsZero() bool { return o.text == "" }

// Ratio returns the objective as a ratio in (0, 1):
//
//   - "99.9%": a percent in (0, 100) -> 0.999;
//   - 0.999: a number in (0, 1) is a ratio;
//   - 99.9: a number in (1, 100) is a percent -> 0.999;
//   - exactly 1 is ambiguous (100% as a ratio, or 1%) and is an error;
//   - 0 or less, and 100 or more, leave no room for a budget or for
//     success, and are errors.
//
// The result is rounded to 12 significant digits, so 99.9 gives 0.999 and
// not 0.9990000000000001.
func (o Objective) Ratio() (float64, error) {
	if o.text == "" {
		return 0, fmt.Errorf("missing; write a ratio such as 0.999 or a percent such as \"99.9%%\"")
	}
	s, pct := strings.CutSuffix(o.text, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("not a number; write a ratio such as 0.999 or a percent such as \"99.9%%\"")
	}
	switch {
	case pct && v <= 0:
		return 0, fmt.Errorf("a percent must be above 0%%")
	case pct && v >= 100:
		return 0, fmt.Errorf("impossible: 100%% or more leaves no error budget; write a percent below 100 such as \"99.9%%\"")
	case pct:
		return slo.RoundNoise(v / 100), nil
	case v == 1:
		return 0, fmt.Errorf("ambiguous: 1 could mean a ratio of 1 (100%%, no error budget) or 1%%; write a ratio below 1 such as 0.99 or a percent string such as \"1%%\"")
	case v <= 0:
		return 0, fmt.Errorf("must be above 0: write a ratio in (0, 1) such as 0.999 or a percent such as \"99.9%%\"")
	case v >= 100:
		return 0, fmt.Errorf("impossible: 100%% or more leaves no error budget; write a ratio in (0, 1) such as 0.999 or a percent below 100 such as \"99.9%%\"")
	case v > 1:
		return slo.RoundNoise(v / 100), nil
	}
	return v, nil
}

// UnmarshalYAML keeps the scalar as written.
func (o *Objective) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("must be a number or a percent string")
	}
	*o = ParseObjective(n.Value)
	return nil
}

// MarshalYAML writes the objective as it was written: a number, or a
// quoted percent string.
func (o Objective) MarshalYAML() (any, error) {
	if v, err := strconv.ParseFloat(o.text, 64); err == nil {
		return v, nil
	}
	return o.text, nil
}
