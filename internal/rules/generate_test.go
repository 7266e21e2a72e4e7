package rules

import (
	"bytes"
	"maps"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestGolden pins the generated output for the reference platform.
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		gen  func() ([]byte, error)
	}{
		{"ml-platform.rules.yaml", func() ([]byte, error) { return Generate(mlPlatform(), Options{}) }},
		{"ml-platform.promql.rules.yaml", func() ([]byte, error) { return Generate(mlPlatform(), Options{Mode: ModePromQL}) }},
		{"ml-platform.prometheusrule.yaml", func() ([]byte, error) {
			return Generate(mlPlatform(), Options{Format: FormatPrometheusRule, Name: "ml-platform-slos", Namespace: "monitoring",
				ResourceLabels: map[string]string{"release": "kube-prometheus-stack", "app.kubernetes.io/part-of": "ml-platform"},
				ExtraLabels:    map[string]string{"team": "ml-platform"}})
		}},
		{"ml-platform.inhibit.yaml", func() ([]byte, error) { return Inhibitions(mlPlatform()) }},
		{"thresholds.promql.rules.yaml", func() ([]byte, error) { return Generate(thresholdSLOs(), Options{Mode: ModePromQL}) }},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := tc.gen()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, got)
		})
	}
}

// TestDeterministic checks that the order of SLOs, tiers and group labels'
// maps does not change the output.
func TestDeterministic(t *testing.T) {
	slos := mlPlatform()
	want, err := Generate(slos, Options{ExtraLabels: map[string]string{"team": "ml", "env": "prod", "region": "eu"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		shuffled := slices.Clone(slos)
		slices.Reverse(shuffled)
		for j := range shuffled {
			shuffled[j].Tiers = slices.Clone(shuffled[j].Tiers)
			slices.Reverse(shuffled[j].Tiers)
		}
		got, err := Generate(shuffled, Options{ExtraLabels: map[string]string{"region": "eu", "env": "prod", "team": "ml"}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("output depends on input order")
		}
	}
}

// TestModesAgreeOnLabels checks that the daemon and PromQL modes produce
// the same alerts with the same labels and annotations, so routes and
// inhibitions work with either; only the expressions differ.
func TestModesAgreeOnLabels(t *testing.T) {
	parse := func(mode string) ruleFile {
		out, err := Generate(mlPlatform(), Options{Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		var f ruleFile
		if err := yaml.Unmarshal(out, &f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	daemon, promql := parse(ModeDaemon), parse(ModePromQL)
	if len(daemon.Groups) != len(mlPlatform()) || len(daemon.Groups) != len(promql.Groups) {
		t.Fatalf("groups: daemon %d, promql %d, want %d", len(daemon.Groups), len(promql.Groups), len(mlPlatform()))
	}
	tiers := 0
	for i, dg := range daemon.Groups {
		pg := promql.Groups[i]
		if dg.Name != pg.Name || len(dg.Rules) != len(pg.Rules) {
			t.Fatalf("group %d: daemon %s (%d rules), promql %s (%d rules)", i, dg.Name, len(dg.Rules), pg.Name, len(pg.Rules))
		}
		for j, dr := range dg.Rules {
			pr := pg.Rules[j]
			if dr.Alert != pr.Alert || dr.For != pr.For || !maps.Equal(dr.Labels, pr.Labels) || !maps.Equal(dr.Annotations, pr.Annotations) {
				t.Errorf("%s rule %d differs beyond expr:\ndaemon %+v\npromql %+v", dg.Name, j, dr, pr)
			}
			if dr.Alert == AlertBurnRate {
				tiers++
				if dr.Expr == pr.Expr {
					t.Errorf("%s rule %d: same expr in both modes: %s", dg.Name, j, dr.Expr)
				}
			}
		}
	}
	// 7 SLOs with the 4 workbook tiers, model-api-quality with 2 enabled.
	if tiers != 30 {
		t.Errorf("got %d burn-rate tier alerts, want 30", tiers)
	}
}

// TestTierAlertNamesLabelsAnnotations checks that a tier's alert name,
// labels and annotations reach its alert (an annotation replacing the
// generated summary), that the labels the alert sets itself stay, and
// that the SLO's other tiers and alerts are untouched.
func TestTierAlertNamesLabelsAnnotations(t *testing.T) {
	slos := mlPlatform()[:1]
	s := &slos[0]
	s.Tiers = slices.Clone(s.Tiers)
	fast := slices.IndexFunc(s.Tiers, func(t Tier) bool { return t.Name == "fast" })
	s.Tiers[fast].AlertName = "ModelAPIHighErrorRate"
	s.Tiers[fast].Labels = map[string]string{"routing_key": "ml", "sloth_severity": "page"}
	s.Tiers[fast].Annotations = map[string]string{"summary": "errors are high", "runbook": "https://r"}
	for _, mode := range []string{ModeDaemon, ModePromQL} {
		out, err := Generate(slos, Options{Mode: mode, ExtraLabels: map[string]string{"team": "ml"}})
		if err != nil {
			t.Fatal(err)
		}
		var doc ruleFile
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		named := 0
		for _, r := range doc.Groups[0].Rules {
			if r.Labels["alert_tier"] != "fast" {
				if r.Alert == "ModelAPIHighErrorRate" || r.Labels["routing_key"] != "" || r.Annotations["runbook"] != "" {
					t.Errorf("%s (%s): the fast tier's settings leaked onto another alert: %+v", r.Alert, r.Labels["alert_tier"], r)
				}
				continue
			}
			named++
			want := map[string]string{"routing_key": "ml", "sloth_severity": "page", "team": "ml", "severity": "page",
				"slo": s.Name, "service": s.Service, "long_window": "1h", "short_window": "5m"}
			for k, v := range want {
				if r.Labels[k] != v {
					t.Errorf("%s: label %s=%q, want %q", mode, k, r.Labels[k], v)
				}
			}
			if r.Alert != "ModelAPIHighErrorRate" || r.Annotations["summary"] != "errors are high" || r.Annotations["runbook"] != "https://r" || r.Annotations["description"] == "" {
				t.Errorf("%s: alert %s annotations %v", mode, r.Alert, r.Annotations)
			}
		}
		if named != 1 {
			t.Errorf("%s: %d fast-tier alerts", mode, named)
		}
	}
	inh, err := Inhibitions(slos)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(inh, []byte(`alertname=~"ModelAPIHighErrorRate|SLOBurnRate"`)) || !bytes.Contains(inh, []byte(`alertname="SLOBurnRate"`)) {
		t.Errorf("inhibitions do not match the tiers' alert names:\n%s", inh)
	}
}
