package daemon

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// selfFamilies gathers the harness's /metrics registry and returns its
// slo_exporter_* families by name.
func (h *harness) selfFamilies() map[string]*dto.MetricFamily {
	h.t.Helper()
	g, ok := h.srv.Registerer().(prometheus.Gatherer)
	if !ok {
		h.t.Fatalf("the server's registerer %T cannot be gathered", h.srv.Registerer())
	}
	mfs, err := g.Gather()
	if err != nil {
		h.t.Fatalf("gathering /metrics' registry: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "slo_exporter_") {
			out[mf.GetName()] = mf
		}
	}
	return out
}

// labelNames are the label names of a family's series, sorted.
func labelNames(mf *dto.MetricFamily) []string {
	var out []string
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if !slices.Contains(out, l.GetName()) {
				out = append(out, l.GetName())
			}
		}
	}
	slices.Sort(out)
	return out
}

func typeName(t dto.MetricType) string { return strings.ToLower(t.String()) }

// TestSelfMetricsGolden pins the name, type, label names and help of every
// self-metric a running daemon registers on /metrics' registry (the
// daemon's, its query client's and puller's, and export's): dashboards
// and alerts read them. go test -update rewrites the golden file.
func TestSelfMetricsGolden(t *testing.T) {
	h := newHarness(t, false)
	h.idle()
	fams := h.selfFamilies()
	names := make([]string, 0, len(fams))
	for n := range fams {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		mf := fams[n]
		b.WriteString(n + " " + typeName(mf.GetType()) + " {" + strings.Join(labelNames(mf), ",") + "} " + mf.GetHelp() + "\n")
	}
	path := filepath.Join("testdata", "self-metrics.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("%s differs from the registered self-metrics (go test -update rewrites it); got:\n%s", path, b.String())
	}
}

// docRow is one row of docs/metrics.md's self-monitoring table:
// | `name` | type | `label`, `label` | meaning |.
var docRow = regexp.MustCompile("^\\| `(slo_exporter_[a-z_]+)` \\| ([a-z]+) \\|([^|]*)\\|")

// TestSelfMetricsDocumented requires docs/metrics.md to list every
// registered self-metric with its type and label names, and nothing that
// is not registered: every counter that is counted is exported and
// documented.
func TestSelfMetricsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string][2]string{} // name -> type, label names
	for _, line := range strings.Split(string(doc), "\n") {
		m := docRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var ls []string
		for _, l := range strings.Split(m[3], ",") {
			if l = strings.Trim(strings.TrimSpace(l), "`"); l != "" {
				ls = append(ls, l)
			}
		}
		slices.Sort(ls)
		documented[m[1]] = [2]string{m[2], strings.Join(ls, ",")}
	}
	h := newHarness(t, false)
	h.idle()
	fams := h.selfFamilies()
	for name, mf := range fams {
		d, ok := documented[name]
		switch {
		case !ok:
			t.Errorf("%s is exported but not documented in docs/metrics.md", name)
		case d[0] != typeName(mf.GetType()) || d[1] != strings.Join(labelNames(mf), ","):
			t.Errorf("%s: docs/metrics.md says %s with labels {%s}, /metrics has %s with {%s}",
				name, d[0], d[1], typeName(mf.GetType()), strings.Join(labelNames(mf), ","))
		}
	}
	for name := range documented {
		if fams[name] == nil {
			t.Errorf("docs/metrics.md documents %s, which is not exported", name)
		}
	}
	if len(fams) == 0 {
		t.Error("no self-metric registered")
	}
}

// counters returns the value of every slo_exporter_* counter series of
// /metrics' registry, by name and labels.
func (h *harness) counters() map[string]float64 {
	h.t.Helper()
	out := map[string]float64{}
	for name, mf := range h.selfFamilies() {
		if mf.GetType() != dto.MetricType_COUNTER {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := name
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			out[key] = m.GetCounter().GetValue()
		}
	}
	return out
}

// checkNoReset fails when a counter of after is below its value in before.
func checkNoReset(t *testing.T, before, after map[string]float64) {
	t.Helper()
	for k, v := range before {
		if got, ok := after[k]; !ok || got < v {
			t.Errorf("%s went from %v to %v (present %v)", k, v, got, ok)
		}
	}
}
