package config

import (
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"
)

// UnmarshalYAML decodes a tier and records which keys were written, so
// that a partial entry overrides only those fields of the tier it names.
func (t *AlertTier) UnmarshalYAML(n *yaml.Node) error {
	type plain AlertTier
	var p plain
	err := n.Decode(&p)
	*t = AlertTier(p)
	t.set = map[string]bool{}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			t.set[n.Content[i].Value] = true
		}
	}
	return err
}

// tierPath names a tier in field paths by its name: alert_tiers[fast].
func tierPath(prefix, name string) string {
	return fmt.Sprintf("%s[%s]", prefix, name)
}

// mergeTiers applies overriding entries to base by name: keys an entry
// writes replace the base tier's; an entry with a new name adds a tier and
// must then give budget_fraction, long_window, short_window and severity.
// A new tier is enabled unless it says otherwise.
func mergeTiers(base, over []AlertTier, prefix string, report func(field, value, msg string)) []AlertTier {
	out := make([]AlertTier, len(base))
	copy(out, base)
	seen := map[string]bool{}
	for i, o := range over {
		if o.Name == "" {
			report(fmt.Sprintf("%s[%d].name", prefix, i), "", "missing; a tier is named so that it can be overridden")
			continue
		}
		if seen[o.Name] {
			report(tierPath(prefix, o.Name), "", "defined twice")
			continue
		}
		seen[o.Name] = true
		j := slices.IndexFunc(out, func(t AlertTier) bool { return t.Name == o.Name })
		if j < 0 {
			var missing []string
			for _, k := range []string{"budget_fraction", "long_window", "short_window", "severity"} {
				if !o.set[k] {
					missing = append(missing, k)
				}
			}
			if len(missing) > 0 {
				report(tierPath(prefix, o.Name), "", fmt.Sprintf("a new tier needs %v (only the fields of an existing tier may be left out)", missing))
				continue
			}
			t := o
			if !o.set["enabled"] {
				t.Enabled = true
			}
			t.set = nil
			out = append(out, t)
			continue
		}
		t := &out[j]
		for k := range o.set {
			switch k {
			case "budget_fraction":
				t.BudgetFraction = o.BudgetFraction
			case "long_window":
				t.LongWindow = o.LongWindow
			case "short_window":
				t.ShortWindow = o.ShortWindow
			case "severity":
				t.Severity = o.Severity
			case "for":
				t.For = o.For
			case "enabled":
				t.Enabled = o.Enabled
			}
		}
	}
	for i := range out {
		out[i].set = nil
	}
	return out
}

// overridden returns the names of the tiers an SLO's entries write.
func overridden(over []AlertTier) map[string]bool {
	m := map[string]bool{}
	for _, o := range over {
		m[o.Name] = true
	}
	return m
}
