package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// modelSLO is an SLO as a reader builds it.
func modelSLO(name string, tiers ...AlertTier) *SLO {
	return &SLO{Name: name, Service: "svc", RawObjective: ParseObjective("99.9%"), Period: model.Duration(30 * 24 * time.Hour),
		SLI: SLI{Ratio: &RatioSLI{Bad: `a_total{code="5xx"}`, Valid: "a_total"}}, Alerting: Alerting{Tiers: tiers}}
}

// TestLoadSourcesModel loads SLOs built in Go next to a YAML file: tiers
// built in Go override their non-zero fields and Enabled, and carry
// alert names, labels and annotations; the reader's model is not changed.
func TestLoadSourcesModel(t *testing.T) {
	m := modelSLO("built",
		AlertTier{Name: "fast", Enabled: true, AlertName: "BuiltFast", Severity: "critical", Labels: map[string]string{"routing_key": "team"},
			Annotations: map[string]string{"summary": "fast burn"}},
		AlertTier{Name: "long"},
		AlertTier{Name: "extra", Enabled: true, BudgetFraction: 0.5, LongWindow: model.Duration(7 * 24 * time.Hour),
			ShortWindow: model.Duration(12 * time.Hour), Severity: "ticket"})
	cfg, err := LoadSources([]Source{
		{Name: "own.yaml", Data: []byte(oneSLO)},
		{Name: "sloth.yaml", Format: "Sloth prometheus/v1", PrometheusURL: "http://p:9090", SLOs: []*SLO{m}},
	}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Prometheus.URL != "http://p:9090" {
		t.Errorf("url %q", cfg.Prometheus.URL)
	}
	s := cfg.SLO("built")
	if f, _ := s.File(); f != "sloth.yaml" || s.MaxGroups != DefaultMaxGroups {
		t.Errorf("file %q max_groups %d", f, s.MaxGroups)
	}
	var got []string
	for _, tr := range s.Alerting.Tiers {
		got = append(got, tr.Name+":"+tr.Severity+":"+tr.AlertName+":"+md(tr.LongWindow)+":"+fmtFloat(tr.BudgetFraction)+":"+map[bool]string{true: "on", false: "off"}[tr.Enabled])
	}
	want := "fast:critical:BuiltFast:1h:0.02:on,medium:page::6h:0.05:on,slow:ticket::1d:0.1:on,long:ticket::3d:0.1:off,extra:ticket::7d:0.5:on"
	if strings.Join(got, ",") != want {
		t.Errorf("tiers\n got %s\nwant %s", strings.Join(got, ","), want)
	}
	if s.Alerting.Tiers[0].Labels["routing_key"] != "team" || s.Alerting.Tiers[0].Annotations["summary"] != "fast burn" {
		t.Errorf("labels or annotations lost: %+v", s.Alerting.Tiers[0])
	}
	s.Alerting.Tiers[0].Labels["routing_key"] = "changed"
	if m.Alerting.Tiers[0].Labels["routing_key"] != "team" || m.MaxGroups != 0 {
		t.Error("loading changed the reader's model")
	}
}

// TestLoadSourcesProblems checks how problems of built SLOs and of
// readers are reported: one FieldError type, joined, in file order.
func TestLoadSourcesProblems(t *testing.T) {
	bad := modelSLO("bad-tier", AlertTier{Name: "fast", Enabled: true, AlertName: "not a name",
		Labels: map[string]string{"severity": "x", "9bad": "y"}, Annotations: map[string]string{"ok": "x"}})
	bad.RawObjective = ParseObjective("100%")
	prior := errors.Join(&FieldError{Source: "b.yaml", Format: "Pyrra", Doc: 2, Kind: "ServiceLevelObjective", Object: "x", Index: -1, Field: "spec.target", Msg: "missing"})
	_, err := LoadSources([]Source{
		{Name: "a.yaml", Format: "Sloth prometheus/v1", SLOs: []*SLO{bad}},
		{Name: "b.yaml", Format: "Pyrra"},
	}, nil, nil, prior)
	want := []string{
		`a.yaml (Sloth prometheus/v1): slo "bad-tier": objective "100%": impossible: 100% or more leaves no error budget; write a percent below 100 such as "99.9%"`,
		`a.yaml (Sloth prometheus/v1): slo "bad-tier": alerting.tiers[fast].alert_name "not a name": must be a Prometheus metric-style name ([a-zA-Z_:][a-zA-Z0-9_:]*)`,
		`a.yaml (Sloth prometheus/v1): slo "bad-tier": alerting.tiers[fast].labels.9bad "9bad": not a valid label name`,
		`a.yaml (Sloth prometheus/v1): slo "bad-tier": alerting.tiers[fast].labels.severity "severity": the generated alert sets this label itself (slo, service, severity, alert_tier, long_window, short_window)`,
		`b.yaml (Pyrra): document 2 (ServiceLevelObjective "x"): spec.target: missing`,
	}
	list := List(err)
	var got []string
	for _, e := range list {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Errorf("%v is %T, want *FieldError", e, e)
		}
		got = append(got, e.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err.Error() != strings.Join(want, "\n") {
		t.Errorf("the joined error is not one problem per line:\n%s", err)
	}
}
