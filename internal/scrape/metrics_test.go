package scrape

import (
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// gathered is a registry's series after one Gather: value by name and
// labels, e.g. `slo_exporter_query_errors_total{reason="timeout"}`; a
// histogram gives name_count and name_sum.
type gathered map[string]float64

// gather gathers reg as /metrics does.
func gather(t *testing.T, reg prometheus.Gatherer) gathered {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := gathered{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName() + labelText(m.GetLabel())
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[mf.GetName()+"_count"+labelText(m.GetLabel())] = float64(m.GetHistogram().GetSampleCount())
				out[mf.GetName()+"_sum"+labelText(m.GetLabel())] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

func labelText(ls []*dto.LabelPair) string {
	if len(ls) == 0 {
		return ""
	}
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.GetName() + `="` + l.GetValue() + `"`
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// check compares the series named in want with got; a series missing from
// got is an error (a counter must be exported from 0).
func (got gathered) check(t *testing.T, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s not exported", k)
			continue
		}
		if g != v {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
}

func TestMetricsRegisterOnce(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	if _, err := NewClientMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := NewPullerMetrics(reg); err != nil {
		t.Fatal(err)
	}
	// A second set on the same registry is refused, not silently added:
	// the daemon creates one set and hands it to every reload's puller.
	if _, err := NewPullerMetrics(reg); err == nil {
		t.Error("registering the puller's metrics twice succeeded")
	}
	if _, err := NewClientMetrics(reg); err == nil {
		t.Error("registering the client's metrics twice succeeded")
	}
	g := gather(t, reg)
	for _, r := range Reasons() {
		if _, ok := g[`slo_exporter_query_errors_total{reason="`+string(r)+`"}`]; !ok {
			t.Errorf("query error reason %s is not exported from 0", r)
		}
	}
	for _, r := range []string{"le_boundary", "native_boundary", "missing_valid"} {
		if _, ok := g[`slo_exporter_source_pull_errors_total{reason="`+r+`"}`]; !ok {
			t.Errorf("pull error reason %s is not exported from 0", r)
		}
	}
}
