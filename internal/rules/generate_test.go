package rules

import (
	"bytes"
	"slices"
	"testing"
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
