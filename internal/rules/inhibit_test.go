package rules

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// matches evaluates Alertmanager matchers (name="v", name=~"re") against
// labels, the way Alertmanager does: regexes are anchored, a missing label
// is the empty string.
func matches(t *testing.T, matchers []string, labels map[string]string) bool {
	t.Helper()
	m := regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)(=~|=)(".*")$`)
	for _, s := range matchers {
		p := m.FindStringSubmatch(s)
		if p == nil {
			t.Fatalf("matcher %q: not name=\"v\" or name=~\"re\"", s)
		}
		v, err := strconv.Unquote(p[3])
		if err != nil {
			t.Fatalf("matcher %q: %v", s, err)
		}
		if p[2] == "=" && labels[p[1]] != v {
			return false
		}
		if p[2] == "=~" && !regexp.MustCompile("^(?:"+v+")$").MatchString(labels[p[1]]) {
			return false
		}
	}
	return true
}

// inhibited reports whether target is silenced by one of the firing
// alerts under the rules.
func inhibited(t *testing.T, rules []inhibitRule, firing []map[string]string, target map[string]string) bool {
	for _, r := range rules {
		if !matches(t, r.TargetMatchers, target) {
			continue
		}
		for _, src := range firing {
			if !matches(t, r.SourceMatchers, src) {
				continue
			}
			equal := true
			for _, l := range r.Equal {
				equal = equal && src[l] == target[l]
			}
			if equal {
				return true
			}
		}
	}
	return false
}

// TestInhibitionsSemantics applies the generated inhibit_rules to alerts
// of the reference platform: a page silences the ticket tiers of the same
// SLO and model only.
func TestInhibitionsSemantics(t *testing.T) {
	out, err := Inhibitions(mlPlatform())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		InhibitRules []inhibitRule `yaml:"inhibit_rules"`
	}
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	// model-api-quality has ticket tiers only: nothing to inhibit there.
	if len(doc.InhibitRules) != 7 {
		t.Fatalf("got %d inhibit rules, want 7 (one per SLO with page and ticket tiers)", len(doc.InhibitRules))
	}
	alert := func(slo, model, tier, severity string) map[string]string {
		l := map[string]string{"alertname": AlertBurnRate, "slo": slo, "service": "model-api", "alert_tier": tier, "severity": severity}
		if model != "" {
			l["model"] = model
		}
		return l
	}
	firing := []map[string]string{
		alert("model-api-availability", "resnet50", "fast", "page"),
		alert("model-api-latency", "bert", "medium", "page"),
	}
	for _, tc := range []struct {
		name   string
		target map[string]string
		want   bool
	}{
		{"slow tier of the paging model", alert("model-api-availability", "resnet50", "slow", "ticket"), true},
		{"long tier of the paging model", alert("model-api-availability", "resnet50", "long", "ticket"), true},
		{"slow tier of another model", alert("model-api-availability", "bert", "slow", "ticket"), false},
		{"the page itself", alert("model-api-availability", "resnet50", "fast", "page"), false},
		{"medium page of the same model", alert("model-api-availability", "resnet50", "medium", "page"), false},
		{"slow tier of another SLO", alert("feature-store-latency", "", "slow", "ticket"), false},
		{"latency ticket under a medium page", alert("model-api-latency", "bert", "long", "ticket"), true},
		{"budget exhausted is never silenced", map[string]string{"alertname": AlertBudgetExhausted, "slo": "model-api-availability", "service": "model-api", "model": "resnet50", "severity": "ticket"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := inhibited(t, doc.InhibitRules, firing, tc.target); got != tc.want {
				t.Errorf("inhibited = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestMatcher checks regex quoting of tier names.
func TestMatcher(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"fast"}, `alert_tier="fast"`},
		{[]string{"fast", "medium"}, `alert_tier=~"fast|medium"`},
		{[]string{"tier.1", "tier+2"}, `alert_tier=~"tier\\.1|tier\\+2"`},
		{[]string{"fast", "fast", "medium"}, `alert_tier=~"fast|medium"`},
	} {
		got := matcher("alert_tier", tc.names)
		if got != tc.want {
			t.Errorf("matcher(%v) = %s, want %s", tc.names, got, tc.want)
		}
		if len(tc.names) > 1 && !matches(t, []string{got}, map[string]string{"alert_tier": tc.names[1]}) {
			t.Errorf("%s does not match %q", got, tc.names[1])
		}
		if matches(t, []string{got}, map[string]string{"alert_tier": strings.ToUpper(tc.names[0]) + "x"}) {
			t.Errorf("%s matches a foreign tier", got)
		}
	}
}
