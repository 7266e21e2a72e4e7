package export

import (
	"bytes"
	"flag"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/version"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// fixedBuild pins build_info's labels for golden files.
func fixedBuild(t *testing.T) {
	t.Helper()
	old := buildLabels
	buildLabels = labels("version", "1.2.3", "revision", "abc", "build_date", "2025-03-14", "goversion", "go1.x")
	t.Cleanup(func() { buildLabels = old })
}

// exposition renders the slo_* text of a store and the self-metrics
// export owns (build_info, groups), without the Go and process collectors
// (which change from run to run) or the self-metrics other packages
// register.
func exposition(s *Store) string {
	var b bytes.Buffer
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(selfCollector{s})
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		_, _ = expfmt.MetricFamilyToText(&b, mf)
	}
	if p := s.cur.Load(); p != nil {
		b.Write(p.sloText())
	}
	return b.String()
}

func fixtureStore() *Store {
	s := NewStoreProfile(ProfileFull)
	s.SetSnapshot(fixture())
	return s
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the output (go test -update rewrites it); got:\n%s", path, got)
	}
}

func TestExpositionGolden(t *testing.T) {
	fixedBuild(t)
	golden(t, "exposition.golden", exposition(fixtureStore()))
	// Before any snapshot or statistics, only build_info.
	golden(t, "exposition-empty.golden", exposition(NewStore()))
}

// parse parses a text exposition, failing the test on any error.
func parse(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parsing the exposition: %v\n%s", err, text)
	}
	return mfs
}

// series flattens families to "name{sorted labels}" -> value.
func series(mfs map[string]*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.Metric {
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			slices.Sort(ls)
			key := name + "{" + strings.Join(ls, ",") + "}"
			switch {
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Histogram != nil:
				out[key+"_count"] = float64(m.Histogram.GetSampleCount())
				out[key+"_sum"] = m.Histogram.GetSampleSum()
				for _, b := range m.Histogram.Bucket {
					out[key+"_le_"+formatFloat(b.GetUpperBound())] = float64(b.GetCumulativeCount())
				}
			default:
				out[key] = math.NaN() // untyped: the test below fails on it
			}
		}
	}
	return out
}

func TestAbsentNeverNaN(t *testing.T) {
	got := series(parse(t, exposition(fixtureStore())))
	for k, v := range got {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("%s = %v: no value may be NaN or infinite (nor untyped)", k, v)
		}
	}
	const avail = "slo=model-api-availability"
	tests := []struct {
		series string
		want   float64 // NaN: must be absent
	}{
		// bert had no requests in 5m: no SLI and no burn rate there, counts are 0.
		{"slo_sli_ratio{model=bert,service=model-api," + avail + ",window=5m}", math.NaN()},
		{"slo_burn_rate{model=bert,service=model-api," + avail + ",window=5m}", math.NaN()},
		{"slo_valid_events{model=bert,service=model-api," + avail + ",window=5m}", 0},
		{"slo_sli_ratio{model=bert,service=model-api," + avail + ",window=1h}", 1},
		{"slo_window_coverage_ratio{model=bert,service=model-api," + avail + ",window=30d}", 0.5},
		// bert is not burning: no exhaustion.
		{"slo_error_budget_exhaustion_seconds{model=bert,service=model-api," + avail + "}", math.NaN()},
		{"slo_error_budget_exhaustion_seconds{model=resnet50,service=model-api," + avail + "}", 54288},
		{"slo_sli_ratio{model=resnet50,service=model-api," + avail + ",window=5m}", 0.95},
		{"slo_burn_alert{alert_tier=fast,long_window=1h,model=resnet50,service=model-api,severity=page,short_window=5m," + avail + "}", 1},
		{"slo_burn_alert{alert_tier=medium,long_window=6h,model=resnet50,service=model-api,severity=page,short_window=30m," + avail + "}", 0},
		{"slo_burn_rate_threshold{alert_tier=fast,long_window=1h,service=model-api,severity=page,short_window=5m," + avail + "}", 14.4},
		{"slo_budget_zone{model=resnet50,service=model-api," + avail + ",zone=yellow}", 1},
		{"slo_budget_zone{model=resnet50,service=model-api," + avail + ",zone=green}", 0},
		{"slo_info{description=HTTP 2xx / all \"requests\",owner=ml-platform,service=model-api,sli_kind=ratio," + avail + ",team=inference}", 1},
		// feature-store has no data at all: no budget, no zone, data down.
		{"slo_error_budget_remaining_ratio{service=feature-store,slo=feature-store-availability}", math.NaN()},
		{"slo_error_budget_remaining_events{service=feature-store,slo=feature-store-availability}", math.NaN()},
		{"slo_budget_zone{service=feature-store,slo=feature-store-availability,zone=red}", math.NaN()},
		{"slo_budget_zone{service=feature-store,slo=feature-store-availability,zone=green}", math.NaN()},
		{"slo_sli_ratio{service=feature-store,slo=feature-store-availability,window=30d}", math.NaN()},
		{"slo_data_up{service=feature-store,slo=feature-store-availability}", 0},
		{"slo_info{service=feature-store,sli_kind=,slo=feature-store-availability}", 1},
		// The calendar SLO's period window is labelled with its unit.
		{"slo_sli_ratio{service=batch-inference,slo=batch-success,window=month}", 500.0 / 520},
		{"slo_sli_ratio{service=batch-inference,slo=batch-success,window=3d}", 118.0 / 120},
		{"slo_period_seconds{service=batch-inference,slo=batch-success}", 31 * 86400},
		{"slo_budget_zone{service=batch-inference,slo=batch-success,zone=orange}", 1},
		{"slo_last_evaluation_timestamp_seconds{service=batch-inference,slo=batch-success}", float64(fixtureTime.Unix())},
		{"slo_exporter_groups{service=model-api,slo=model-api-availability}", 2},
		{"slo_exporter_groups{service=feature-store,slo=feature-store-availability}", 1},
	}
	for _, tt := range tests {
		v, ok := got[tt.series]
		switch {
		case math.IsNaN(tt.want) && ok:
			t.Errorf("%s = %v, want absent", tt.series, v)
		case !math.IsNaN(tt.want) && !ok:
			t.Errorf("%s is absent, want %v", tt.series, tt.want)
		case ok && v != tt.want:
			t.Errorf("%s = %v, want %v", tt.series, v, tt.want)
		}
	}
}

// TestZoneStateSet checks that every group with a budget has exactly one
// zone at 1 and every zone of its policy present.
func TestZoneStateSet(t *testing.T) {
	mfs := parse(t, exposition(fixtureStore()))
	ones := map[string]int{}
	all := map[string]int{}
	for _, m := range mfs["slo_budget_zone"].Metric {
		var key []string
		for _, l := range m.Label {
			if l.GetName() != "zone" {
				key = append(key, l.GetValue())
			}
		}
		k := strings.Join(key, ",")
		all[k]++
		if m.Gauge.GetValue() == 1 {
			ones[k]++
		}
	}
	if len(all) != 3 {
		t.Errorf("zones of %d groups, want 3 (bert, resnet50, batch-success): %v", len(all), all)
	}
	for k, n := range all {
		if n != 4 || ones[k] != 1 {
			t.Errorf("%s: %d zones with %d at 1, want 4 with exactly 1", k, n, ones[k])
		}
	}
}

func TestRemovedSLODisappears(t *testing.T) {
	s := fixtureStore()
	if !strings.Contains(exposition(s), `slo="feature-store-availability"`) {
		t.Fatal("fixture lacks feature-store-availability")
	}
	snap, info := fixture()
	snap.SLOs = slices.DeleteFunc(snap.SLOs, func(r evaluator.SLOResult) bool { return r.Spec.Name == "feature-store-availability" })
	s.SetSnapshot(snap, info)
	out := exposition(s)
	if strings.Contains(out, "feature-store") {
		t.Errorf("removed SLO still exported:\n%s", out)
	}
	if !strings.Contains(out, `slo="model-api-availability"`) {
		t.Errorf("the remaining SLOs are gone too")
	}
}

// TestImplementationsAgree checks that the client_golang collector
// exports exactly the series, values, types and help of the text writer.
func TestImplementationsAgree(t *testing.T) {
	for name, store := range map[string]*Store{"fixture": fixtureStore(), "empty": NewStore(), "big": bigStore(3, 20, 8, 4)} {
		t.Run(name, func(t *testing.T) {
			text := parse(t, exposition(store))
			reg := prometheus.NewRegistry()
			reg.MustRegister(NewCollector(store), selfCollector{store})
			gathered, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			for _, mf := range gathered {
				if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
					t.Fatal(err)
				}
			}
			cg := parse(t, b.String())
			if len(cg) != len(text) {
				t.Errorf("client_golang has %d families, text %d", len(cg), len(text))
			}
			for name, mf := range text {
				o := cg[name]
				if o == nil {
					t.Errorf("%s missing from client_golang", name)
					continue
				}
				if mf.GetHelp() != o.GetHelp() || mf.GetType() != o.GetType() {
					t.Errorf("%s: help/type %q/%v vs %q/%v", name, mf.GetHelp(), mf.GetType(), o.GetHelp(), o.GetType())
				}
			}
			a, c := series(text), series(cg)
			for k, v := range a {
				if w, ok := c[k]; !ok || w != v {
					t.Errorf("%s: text %v, client_golang %v (present %v)", k, v, w, ok)
				}
			}
			for k := range c {
				if _, ok := a[k]; !ok {
					t.Errorf("%s only in client_golang", k)
				}
			}
		})
	}
}

func bigStore(slos, groups, windows, tiers int) *Store {
	s := NewStoreProfile(ProfileFull)
	s.SetSnapshot(bigSnapshot(slos, groups, windows, tiers))
	return s
}

// promtoolCheck runs promtool check metrics on text and fails on any
// problem it reports.
func promtoolCheck(t *testing.T, text []byte) {
	t.Helper()
	bin := promtest.Binary(t, "promtool", "PROMTOOL")
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestBuildInfoUsesVersionPackage(t *testing.T) {
	want := labels("version", version.Version, "revision", version.Revision)
	if !strings.HasPrefix(buildLabels.text, want.text) {
		t.Errorf("build_info labels %s do not start with %s", buildLabels.text, want.text)
	}
}

// TestDefaultProfile: the default /metrics carries every family of the
// default profile and none of the opt-in ones, the SLI only over the budget
// period, and at most 20 series per group for the reference shape (7
// windows and the period, 4 tiers, 4 zones): 19, against 51 for the full
// profile, which carries every family for every window.
func TestDefaultProfile(t *testing.T) {
	snap, info := fixture()
	big, bigInfo := bigSnapshot(1, 2, 8, 4)
	for _, tc := range []struct {
		profile  Profile
		want     map[string]bool // family -> present
		perGroup int             // series of one group of big
	}{
		{ProfileDefault, map[string]bool{"slo_sli_ratio": true, "slo_burn_rate": true, "slo_error_budget_remaining_ratio": true,
			"slo_burn_alert": true, "slo_budget_zone": true, "slo_data_up": true,
			"slo_good_events": false, "slo_valid_events": false, "slo_error_budget_remaining_events": false, "slo_window_coverage_ratio": false}, 19},
		{ProfileFull, map[string]bool{"slo_sli_ratio": true, "slo_good_events": true, "slo_valid_events": true,
			"slo_error_budget_remaining_events": true, "slo_window_coverage_ratio": true}, 51},
	} {
		s := NewStoreProfile(tc.profile)
		s.SetSnapshot(snap, info)
		text := string(s.cur.Load().sloText())
		for fam, want := range tc.want {
			if got := strings.Contains(text, "\n"+fam+"{"); got != want {
				t.Errorf("%s profile: %s present %v, want %v", tc.profile, fam, got, want)
			}
		}
		// The SLI's windows: the period's only by default (30d for the
		// rolling SLOs, the calendar unit for the calendar one).
		sliWindows := map[string]bool{}
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "slo_sli_ratio{") {
				sliWindows[line[strings.Index(line, `window="`)+8:strings.LastIndex(line, `"`)]] = true
			}
		}
		wantWindows := []string{"30d", "month"}
		if tc.profile == ProfileFull {
			wantWindows = []string{"1h", "30d", "30m", "3d", "5m", "6h", "month"} // those with an SLI
		}
		if got := slices.Sorted(maps.Keys(sliWindows)); !slices.Equal(got, wantWindows) {
			t.Errorf("%s profile: slo_sli_ratio windows %v, want %v", tc.profile, got, wantWindows)
		}

		s = NewStoreProfile(tc.profile)
		s.SetSnapshot(big, bigInfo)
		perGroup := 0
		for _, line := range strings.Split(string(s.cur.Load().sloText()), "\n") {
			if strings.Contains(line, `model="model-0001"`) {
				perGroup++
			}
		}
		if perGroup != tc.perGroup {
			t.Errorf("%s profile: %d series for one group of 8 windows, 4 tiers and 4 zones, want %d", tc.profile, perGroup, tc.perGroup)
		}
	}
	fams := DefaultProfileFamilies()
	if slices.Contains(fams, "slo_good_events") || !slices.Contains(fams, "slo_burn_rate") || !slices.Contains(fams, "slo_sli_ratio") {
		t.Errorf("DefaultProfileFamilies = %v", fams)
	}
	if got := PeriodOnlyFamilies(); !slices.Equal(got, []string{"slo_sli_ratio"}) {
		t.Errorf("PeriodOnlyFamilies = %v", got)
	}
}

func TestParseProfile(t *testing.T) {
	for in, want := range map[string]Profile{"": ProfileDefault, "default": ProfileDefault, "full": ProfileFull} {
		if got, err := ParseProfile(in); err != nil || got != want {
			t.Errorf("ParseProfile(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseProfile("lean"); err == nil || err.Error() != `metrics profile "lean": want default or full` {
		t.Errorf("ParseProfile(lean) error %v", err)
	}
}
