package config

import (
	"fmt"
	"maps"
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
//
// Entries whose own fields were reported already (broken) are left out,
// and so are entries of the names in skip (tiers that were broken where
// they were defined): checking what they decoded to would only report
// the same problem again as a missing field.
func mergeTiers(base, over []AlertTier, prefix string, report func(field, value, msg string), broken func(i int) bool, skip map[string]bool) (tiers []AlertTier, brokenNames map[string]bool) {
	out := make([]AlertTier, len(base))
	copy(out, base)
	seen := map[string]bool{}
	brokenNames = map[string]bool{}
	for i, o := range over {
		if broken(i) {
			if o.Name != "" {
				brokenNames[o.Name] = true
			}
			continue
		}
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
		if j < 0 && skip[o.Name] {
			continue
		}
		if j < 0 {
			set := o.set
			if set == nil {
				set = builtKeys(o)
			}
			var missing []string
			for _, k := range []string{"budget_fraction", "long_window", "short_window", "severity"} {
				if !set[k] {
					missing = append(missing, k)
				}
			}
			if len(missing) > 0 {
				report(tierPath(prefix, o.Name), "", fmt.Sprintf("a new tier needs %v (only the fields of an existing tier may be left out)", missing))
				continue
			}
			t := o
			if !set["enabled"] {
				t.Enabled = true
			}
			t.set = nil
			out = append(out, t)
			continue
		}
		t := &out[j]
		set := o.set
		if set == nil {
			set = builtKeys(o)
		}
		for k := range set {
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
			case "alert_name":
				t.AlertName = o.AlertName
			case "labels":
				t.Labels = o.Labels
			case "annotations":
				t.Annotations = o.Annotations
			}
		}
	}
	for i := range out {
		out[i].set = nil
	}
	return out, brokenNames
}

// overridden returns the names of the tiers an SLO's entries write.
func overridden(over []AlertTier) map[string]bool {
	m := map[string]bool{}
	for _, o := range over {
		m[o.Name] = true
	}
	return m
}

// builtKeys returns the keys a tier built in Go sets: its non-zero fields,
// and enabled, which such a tier always states.
func builtKeys(t AlertTier) map[string]bool {
	all := map[string]bool{
		"budget_fraction": t.BudgetFraction != 0, "long_window": t.LongWindow != 0,
		"short_window": t.ShortWindow != 0, "severity": t.Severity != "", "for": t.For != 0,
		"enabled": true, "alert_name": t.AlertName != "", "labels": t.Labels != nil,
		"annotations": t.Annotations != nil,
	}
	maps.DeleteFunc(all, func(_ string, set bool) bool { return !set })
	return all
}
