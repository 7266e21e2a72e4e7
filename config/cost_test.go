package config

import (
	"strings"
	"testing"
)

func TestCost(t *testing.T) {
	cfg, err := Parse("t.yaml", []byte(`slos: [{name: a, service: s, objective: 0.99, period: 30d, cost: {per_event: 0.02, currency: EUR}, sli: {ratio: {good: g, valid: v}}}]`))
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.SLOs[0].Cost; c == nil || c.PerEvent != 0.02 || c.Currency != "EUR" {
		t.Errorf("cost %+v", c)
	}
	for doc, want := range map[string]string{
		`slos: [{name: a, service: s, objective: 0.99, period: 30d, cost: {per_event: -1}, sli: {ratio: {good: g, valid: v}}}]`:    `cost.per_event`,
		`slos: [{name: a, service: s, objective: 0.99, period: 30d, cost: {per_evnt: 1}, sli: {ratio: {good: g, valid: v}}}]`:      `cost.per_evnt`,
		`slos: [{name: a, service: s, objective: 0.99, period: 30d, cost: {per_event: cheap}, sli: {ratio: {good: g, valid: v}}}]`: `cost.per_event`,
	} {
		_, err := Parse("t.yaml", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "t.yaml") {
			t.Errorf("%s: error %v, want one naming t.yaml and %s", doc, err, want)
		}
	}
}
