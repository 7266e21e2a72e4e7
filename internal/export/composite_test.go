package export

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// compositeStore evaluates a real engine with two components and a
// weighted composite of them.
func compositeStore(t *testing.T) *Store {
	t.Helper()
	ws := []time.Duration{5 * time.Minute, time.Hour}
	e, err := evaluator.New(30*time.Second, []evaluator.Spec{
		{Name: "feature-store-availability", Service: "feature-store", Objective: 0.9999, Period: 24 * time.Hour, Windows: ws},
		{Name: "model-api-availability", Service: "model-api", Objective: 0.999, Period: 24 * time.Hour, Windows: ws},
		{Name: "inference-availability", Service: "inference-journey", Objective: 0.999, Period: 24 * time.Hour, Windows: ws,
			Tiers:     slo.DefaultTiers()[:1],
			Composite: &evaluator.Composite{Components: []evaluator.Component{{SLO: 0, Weight: 2}, {SLO: 1}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := e.Group(0, nil, 0)
	api, _ := e.Group(1, nil, 0)
	if err := fs.Record(0, 30_000, 9990, 10000); err != nil {
		t.Fatal(err)
	}
	if err := api.Record(0, 30_000, 980, 1000); err != nil {
		t.Fatal(err)
	}
	s := NewStoreProfile(ProfileFull)
	s.SetSnapshot(e.Evaluate(time.UnixMilli(30_000)), map[string]SLOInfo{"inference-availability": {Kind: "composite"}})
	return s
}

// TestCompositeExposition checks that a composite exports its SLI, burn
// rates, budget ratio and coverage but no event counts (its Good and Valid
// are weights), in the text writer, client_golang and the JSON API.
func TestCompositeExposition(t *testing.T) {
	store := compositeStore(t)
	text := series(parse(t, exposition(store)))
	want := (2*0.999 + 0.98) / 3
	has := func(key string) (float64, bool) { v, ok := text[key]; return v, ok }
	key := func(name, extra string) string {
		ls := []string{"service=inference-journey", "slo=inference-availability"}
		if extra != "" {
			ls = append(ls, extra)
		}
		slices.Sort(ls)
		return name + "{" + strings.Join(ls, ",") + "}"
	}
	if v, ok := has(key("slo_sli_ratio", "window=1h")); !ok || math.Abs(v-want) > 1e-12 {
		t.Errorf("composite 1h SLI %v (present %v), want %v", v, ok, want)
	}
	if v, ok := has(key("slo_burn_rate", "window=1h")); !ok || math.Abs(v-(1-want)/0.001) > 1e-9 {
		t.Errorf("composite 1h burn %v (present %v), want %v", v, ok, (1-want)/0.001)
	}
	if v, ok := has(key("slo_error_budget_remaining_ratio", "")); !ok || math.Abs(v-(1-(1-want)/0.001)) > 1e-9 {
		t.Errorf("composite budget remaining %v (present %v), want %v", v, ok, 1-(1-want)/0.001)
	}
	if _, ok := has(key("slo_window_coverage_ratio", "window=5m")); !ok {
		t.Error("composite coverage missing")
	}
	for _, name := range []string{"slo_good_events", "slo_valid_events", "slo_error_budget_remaining_events"} {
		for k := range text {
			if strings.HasPrefix(k, name+"{") && strings.Contains(k, "slo=inference-availability") {
				t.Errorf("composite exports %s, which it does not have", k)
			}
		}
		found := false
		for k := range text {
			found = found || (strings.HasPrefix(k, name+"{") && strings.Contains(k, "slo=model-api-availability"))
		}
		if !found {
			t.Errorf("component model-api-availability lost %s", name)
		}
	}

	// client_golang must agree series for series.
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(store))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "slo_") && !strings.HasPrefix(mf.GetName(), "slo_exporter_") {
			n += len(mf.Metric)
		}
	}
	slo := 0
	for k := range text {
		if strings.HasPrefix(k, "slo_") && !strings.HasPrefix(k, "slo_exporter_") {
			slo++
		}
	}
	if n != slo {
		t.Errorf("client_golang has %d slo_* series, the text writer %d", n, slo)
	}

	h := newServer(t, store, Options{}).Handler()
	_, body := do(t, h, "GET", "/api/v1/slos/inference-availability", nil)
	var one struct{ Data SLO }
	if err := json.Unmarshal([]byte(body), &one); err != nil {
		t.Fatal(err)
	}
	g := one.Data.Groups[0]
	if g.Budget == nil || g.Budget.RemainingEvents != nil || g.Budget.Allowed != nil || g.Windows[0].Good != nil || g.Windows[0].Valid != nil {
		t.Errorf("composite JSON carries event counts: %s", body)
	}
	if g.Windows[0].SLI == nil || math.Abs(*g.Windows[0].SLI-want) > 1e-12 {
		t.Errorf("composite JSON SLI %v, want %v", g.Windows[0].SLI, want)
	}
	_, body = do(t, h, "GET", "/api/v1/slos/model-api-availability", nil)
	if !strings.Contains(body, `"good":980`) || !strings.Contains(body, `"remaining_events":`) {
		t.Errorf("component JSON lost its event counts: %s", body)
	}
}
