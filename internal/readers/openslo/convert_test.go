package openslo_test

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/readers"
	"github.com/slo-exporter/slo-exporter/internal/readers/openslo"
	vocabulary "github.com/slo-exporter/slo-exporter/internal/slo"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// convert reads an OpenSLO file, loads it and prints the configuration
// convert prints; the printed configuration must load back into the same.
func convert(t *testing.T, f string) ([]byte, *config.Config) {
	t.Helper()
	res, err := readers.Load([]string{f}, nil, nil, readers.OpenSLO)
	if err != nil {
		t.Fatalf("convert: %v", err)
	}
	var b bytes.Buffer
	if err := readers.Print(res, &b); err != nil {
		t.Fatal(err)
	}
	back, err := config.Parse(f, b.Bytes())
	if err != nil {
		t.Fatalf("printed configuration does not load:\n%v\n%s", err, b.Bytes())
	}
	if back.Redacted() != res.Config.Redacted() {
		t.Errorf("printed configuration loads differently from the model:\n%s\nwant\n%s", back.Redacted(), res.Config.Redacted())
	}
	return b.Bytes(), res.Config
}

// TestGolden converts each testdata/*.yaml, compares the result with its
// .golden file and checks that the result loads and validates.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	if len(files) < 3 {
		t.Fatalf("found %d inputs", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got, cfg := convert(t, f)
			if !bytes.Contains(data, []byte("kind: SLO")) {
				t.Fatal("no SLO in the input")
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("output differs from %s (run with -update):\n%s", golden, got)
			}
			if len(cfg.SLOs) == 0 {
				t.Error("no SLO loaded")
			}
		})
	}
}

// TestMapping checks the numbers behind the golden files: the objective,
// period and tier arithmetic survive loading.
func TestMapping(t *testing.T) {
	load := func(f string) *config.Config {
		_, cfg := convert(t, f)
		return cfg
	}
	cfg := load("testdata/multi.yaml")
	s := cfg.SLO("feature-store-availability")
	if s == nil {
		t.Fatal("SLO missing")
	}
	if got := s.Objective(); got != 0.9999 {
		t.Errorf("objective %v", got)
	}
	if cfg.Prometheus.URL != "http://prometheus.monitoring:9090" {
		t.Errorf("url %q", cfg.Prometheus.URL)
	}
	var names []string
	for _, tr := range s.EnabledTiers() {
		names = append(names, tr.Name)
		// The condition's threshold comes back from the tier formula.
		want := map[string]float64{"fast-burn": 14.4, "slow-burn": 3}[tr.Name]
		if got := tr.Threshold(s.BudgetPeriod()); got < want-1e-9 || got > want+1e-9 {
			t.Errorf("tier %s threshold %v, want %v", tr.Name, got, want)
		}
	}
	if strings.Join(names, ",") != "fast-burn,slow-burn" {
		t.Errorf("enabled tiers %v, want only the two conditions", names)
	}
	lat := load("testdata/latency-calendar.yaml").SLO("model-api-latency")
	if lat.Calendar != "month" || lat.Location().String() != "Europe/Berlin" || lat.Objective() != 0.95 {
		t.Errorf("calendar %q zone %v objective %v", lat.Calendar, lat.Location(), lat.Objective())
	}
}

const head = "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: s\nspec:\n  service: svc\n"

// slo builds an SLO document from parts that tests replace.
func slo(method, window, objective, indicator string) string {
	return head + "  budgetingMethod: " + method + "\n" + window + objective + indicator
}

const (
	rolling   = "  timeWindow:\n    - duration: 30d\n      isRolling: true\n"
	objective = "  objectives:\n    - target: 0.99\n"
)

func ratio(good, total string) string {
	return "  indicator:\n    metadata:\n      name: i\n    spec:\n      ratioMetric:\n        counter: true\n" +
		"        good:\n          metricSource:\n            type: Prometheus\n            spec:\n              query: '" + good + "'\n" +
		"        total:\n          metricSource:\n            type: Prometheus\n            spec:\n              query: '" + total + "'\n"
}

var okRatio = ratio(`sum(rate(a_total{code="ok"}[5m]))`, `sum(rate(a_total[5m]))`)

func TestInvalid(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"unsupported query shape",
			slo("Occurrences", rolling, objective, ratio(`sum(rate(a_total{code="ok"}[5m])) / sum(rate(a_total[5m]))`, `sum(rate(a_total[5m]))`)),
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.indicator.spec.ratioMetric.good.metricSource.spec.query "sum(rate(a_total{code=\"ok\"}[5m])) / sum(rate(a_total[5m]))": the operator "/" cannot be reduced: a query must be a counter selector, optionally in rate() or increase() and sum(); operators, ratios and other functions compute values the daemon cannot count events from`},
		{"non-counter function",
			slo("Occurrences", rolling, objective, ratio(`histogram_quantile(0.9, rate(a_bucket[5m]))`, `sum(rate(a_total[5m]))`)),
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.indicator.spec.ratioMetric.good.metricSource.spec.query "histogram_quantile(0.9, rate(a_bucket[5m]))": function histogram_quantile() cannot be reduced: only rate() or increase() of a counter selector (optionally inside sum) can, because the daemon reads the raw counters and computes increments itself`},
		{"unknown kind",
			"apiVersion: openslo/v1\nkind: Budget\nmetadata:\n  name: b\n",
			`f.yaml (OpenSLO v1): document 1 (Budget "b"): kind "Budget": not an OpenSLO v1 kind; the kinds are SLO, SLI, DataSource, Service, AlertPolicy, AlertCondition, AlertNotificationTarget`},
		{"other version",
			"apiVersion: openslo/v1alpha\nkind: SLO\nmetadata:\n  name: b\n",
			`f.yaml (OpenSLO v1): document 1 (SLO "b"): apiVersion "openslo/v1alpha": only openslo/v1 is supported`},
		{"missing indicator",
			slo("Occurrences", rolling, objective, "  indicatorRef: nowhere\n"),
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.indicatorRef "nowhere": no SLI of this name in the file`},
		{"ratio timeslices",
			slo("RatioTimeslices", rolling, "  objectives:\n    - target: 0.99\n      timeSliceTarget: 0.95\n      timeSliceWindow: 1m\n", okRatio),
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.budgetingMethod "RatioTimeslices": not supported yet: slo-exporter budgets by Occurrences or Timeslices; RatioTimeslices (the ratio of good time over all slices' events) has no equivalent`},
		{"missing selector",
			slo("Occurrences", rolling, objective, "  indicator:\n    metadata:\n      name: i\n    spec:\n      ratioMetric:\n        counter: true\n        good:\n          metricSource:\n            type: Prometheus\n            spec:\n              expr: x\n        total:\n          metricSource:\n            type: Prometheus\n            spec:\n              query: a_total\n"),
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.indicator.spec.ratioMetric.good.metricSource.spec.query: missing; give a PromQL query of a counter`},
		{"objective out of range",
			slo("Occurrences", rolling, "  objectives:\n    - target: 1.5\n", okRatio),
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.objectives[0].target "1.5": should be less than '1'`},
		{"rolling month",
			slo("Occurrences", "  timeWindow:\n    - duration: 1M\n      isRolling: true\n", objective, okRatio),
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.timeWindow[0].duration "1M": a rolling window in months, quarters or years has no fixed length; write days, e.g. 30d`},
		{"calendar day",
			slo("Occurrences", "  timeWindow:\n    - duration: 1d\n      isRolling: false\n      calendar:\n        startTime: 2024-01-01 00:00:00\n        timeZone: UTC\n", objective, okRatio),
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.timeWindow[0].duration "1d": a calendar window must be 1M (month), 1w (week) or 1Q (quarter)`},
		{"gauge selector",
			slo("Occurrences", rolling, objective, strings.ReplaceAll(ratio(`up{job="a"}`, `sum(rate(a_total[5m]))`), "counter: true", "counter: false")),
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.indicator.spec.ratioMetric.good.metricSource.spec.query "up{job=\"a\"}": a selector without rate() or increase() is read as a counter, but ratioMetric.counter is false; slo-exporter counts events from counters only (set counter: true if it is one)`},
		{"unknown field",
			head + "  budgetingMetod: Occurrences\n",
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): cannot decode: unknown field "budgetingMetod"`},
		{"duplicate names in a file",
			slo("Occurrences", rolling, objective, okRatio) + "---\n" + slo("Occurrences", rolling, objective, okRatio),
			`f.yaml (OpenSLO v1): document 2 (SLO "s"): metadata.name "s": another SLO of this name is document 1; names must be unique per kind`},
		{"lt burn rate",
			slo("Occurrences", rolling, objective, okRatio) + "  alertPolicies:\n    - kind: AlertPolicy\n      metadata:\n        name: p\n      spec:\n        notificationTargets:\n          - targetRef: t\n        conditions:\n          - kind: AlertCondition\n            metadata:\n              name: c\n            spec:\n              severity: page\n              condition:\n                kind: burnrate\n                op: lt\n                threshold: 2\n                lookbackWindow: 1h\n",
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.alertPolicies[0].conditions[0].condition.op "lt": a burn-rate tier fires when the burn rate is above its threshold; only gt and gte map onto it`},
		{"threshold over the budget",
			slo("Occurrences", rolling, objective, okRatio) + "  alertPolicies:\n    - kind: AlertPolicy\n      metadata:\n        name: p\n      spec:\n        notificationTargets:\n          - targetRef: t\n        conditions:\n          - kind: AlertCondition\n            metadata:\n              name: c\n            spec:\n              severity: page\n              condition:\n                kind: burnrate\n                op: gt\n                threshold: 40\n                lookbackWindow: 1d\n",
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.alertPolicies[0].conditions[0].condition.threshold "40": burning at this rate for 1d spends 1.33333333333 times the whole budget of the 30d period (budget_fraction = threshold x lookbackWindow / period must be at most 1)`},
		{"two data sources",
			"apiVersion: openslo/v1\nkind: DataSource\nmetadata:\n  name: a\nspec:\n  type: Prometheus\n  connectionDetails: {url: http://a:9090}\n---\n" +
				"apiVersion: openslo/v1\nkind: DataSource\nmetadata:\n  name: b\nspec:\n  type: Prometheus\n  connectionDetails: {url: http://b:9090}\n---\n" +
				slo("Occurrences", rolling, objective, strings.Replace(strings.Replace(okRatio, "type: Prometheus", "metricSourceRef: a", 1), "type: Prometheus", "metricSourceRef: b", 1)),
			`f.yaml (OpenSLO v1): the SLOs' DataSources name different Prometheus URLs: http://a:9090 (DataSource "a"), http://b:9090 (DataSource "b"); slo-exporter queries one server (prometheus.url), so convert them in separate configurations`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := openslo.Read("f.yaml", []byte(tc.doc))
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// loadConverted converts an OpenSLO file and loads the result as the
// daemon would.
func loadConverted(t *testing.T, f string) *config.Config {
	t.Helper()
	_, cfg := convert(t, f)
	return cfg
}

// TestComposite checks what the composite goldens mean once loaded: one
// ungrouped ratio component per objective, named after it, with its own
// target and the SLO's period and budgeting; and a weighted composite
// over them whose objective is the weighted mean of the targets.
func TestComposite(t *testing.T) {
	tests := []struct {
		file, name string
		components []string
		weights    []float64
		// targets are the objectives' targets as ratios, from the input.
		targets []float64
		// slices are the components' time slice lengths, nil for occurrences.
		slices []time.Duration
		// tiers are the composite's enabled tiers.
		tiers string
	}{
		{
			file: "testdata/composite.yaml", name: "inference-journey",
			components: []string{"inference-journey-feature-lookups", "inference-journey-model-api-2xx-5xx", "inference-journey-objective-2"},
			weights:    []float64{2, 1, 0.5},
			targets:    []float64{0.999, 0.995, 0.99},
			tiers:      "journey-fast-burn",
		},
		{
			file: "testdata/composite-timeslices.yaml", name: "feature-store-minutes",
			components: []string{"feature-store-minutes-online-lookups", "feature-store-minutes-batch-lookups"},
			weights:    []float64{3, 1},
			targets:    []float64{0.99, 0.95},
			slices:     []time.Duration{time.Minute, 5 * time.Minute},
			tiers:      "fast,medium,slow,long",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadConverted(t, tc.file)
			if len(cfg.SLOs) != len(tc.components)+1 {
				t.Fatalf("loaded %d SLOs, want %d components and the composite", len(cfg.SLOs), len(tc.components))
			}
			s := cfg.SLO(tc.name)
			if s == nil || s.SLI.Composite == nil {
				t.Fatalf("no composite SLO %q", tc.name)
			}
			comp := s.SLI.Composite
			if comp.CombineOrDefault() != config.CombineWeighted {
				t.Errorf("combine %q, want weighted", comp.CombineOrDefault())
			}
			if len(comp.Components) != len(tc.components) {
				t.Fatalf("composite has %d components, want %d", len(comp.Components), len(tc.components))
			}
			var num, den, fromTargets float64
			for i, c := range comp.Components {
				if c.SLO != tc.components[i] {
					t.Errorf("component %d is %q, want %q", i, c.SLO, tc.components[i])
				}
				w := 1.0
				if c.Weight != nil {
					w = *c.Weight
				}
				if w != tc.weights[i] {
					t.Errorf("component %q weight %v, want %v", c.SLO, w, tc.weights[i])
				}
				cs := cfg.SLO(c.SLO)
				if cs == nil {
					t.Fatalf("component %q is not defined", c.SLO)
				}
				if cs.SLI.Kind() != "ratio" || len(cs.GroupBy) > 0 {
					t.Errorf("component %q: kind %q grouped by %v, want an ungrouped ratio", c.SLO, cs.SLI.Kind(), cs.GroupBy)
				}
				if cs.Objective() != tc.targets[i] {
					t.Errorf("component %q objective %v, want %v", c.SLO, cs.Objective(), tc.targets[i])
				}
				if cs.BudgetPeriod() != s.BudgetPeriod() || cs.Calendar != s.Calendar || cs.Location().String() != s.Location().String() {
					t.Errorf("component %q budgets over %v %q %v, the composite over %v %q %v", c.SLO,
						cs.BudgetPeriod(), cs.Calendar, cs.Location(), s.BudgetPeriod(), s.Calendar, s.Location())
				}
				wantMethod, wantSlice := vocabulary.Occurrences, time.Duration(0)
				if tc.slices != nil {
					wantMethod, wantSlice = vocabulary.Timeslices, tc.slices[i]
				}
				gotSlice := time.Duration(0)
				if cs.TimeSlice != nil {
					gotSlice = time.Duration(cs.TimeSlice.Length)
				}
				if cs.Method() != wantMethod || gotSlice != wantSlice {
					t.Errorf("component %q budgets %s slices of %v, want %s slices of %v", c.SLO, cs.Method(), gotSlice, wantMethod, wantSlice)
				}
				// Components have no alert policies: the default tiers.
				if n := len(cs.EnabledTiers()); n != len(config.DefaultTiers()) {
					t.Errorf("component %q has %d enabled tiers, want the %d default ones", c.SLO, n, len(config.DefaultTiers()))
				}
				num += w * cs.Objective()
				den += w
				fromTargets += tc.weights[i] * tc.targets[i]
			}
			var sumW float64
			for _, w := range tc.weights {
				sumW += w
			}
			want := fromTargets / sumW
			if got := s.Objective(); math.Abs(got-want) > 1e-12 || math.Abs(got-num/den) > 1e-12 {
				t.Errorf("composite objective %v, want the weighted mean of the targets %v (of the loaded components %v)", got, want, num/den)
			}
			if s.Method() != vocabulary.Occurrences {
				t.Errorf("composite budgets %s, want occurrences", s.Method())
			}
			var tiers []string
			for _, tr := range s.EnabledTiers() {
				tiers = append(tiers, tr.Name)
			}
			if got := strings.Join(tiers, ","); got != tc.tiers {
				t.Errorf("composite tiers %s, want %s", got, tc.tiers)
			}
		})
	}
}

// compositeSLO builds a composite SLO document named name from objective
// entries (see cobj).
func compositeSLO(name, method string, objectives ...string) string {
	return "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: " + name + "\nspec:\n  service: svc\n  budgetingMethod: " + method + "\n" +
		rolling + "  objectives:\n" + strings.Join(objectives, "")
}

// cobj builds one objective entry of a composite: its fields (one per
// line, e.g. "displayName: a") followed by an indicator (see ratio), or by
// nothing when indicator is "".
func cobj(fields []string, indicator string) string {
	out := "    - " + strings.Join(fields, "\n      ") + "\n"
	for _, line := range strings.SplitAfter(indicator, "\n") {
		if line != "" {
			out += "    " + line
		}
	}
	return out
}

// TestComponentNames checks how objectives name their component SLOs.
func TestComponentNames(t *testing.T) {
	tests := []struct {
		displayNames []string
		want         string
	}{
		{[]string{"Feature lookups", "Model API (2xx/5xx)"}, "s-feature-lookups,s-model-api-2xx-5xx,s"},
		{[]string{"", ""}, "s-objective-0,s-objective-1,s"},
		{[]string{"  Trailing--punctuation!  ", "--"}, "s-trailing-punctuation,s-objective-1,s"},
		{[]string{"Été 2024", "p99"}, "s-t-2024,s-p99,s"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.displayNames, "|"), func(t *testing.T) {
			var objs []string
			for _, d := range tc.displayNames {
				fields := []string{"target: 0.99"}
				if d != "" {
					fields = append(fields, "displayName: '"+d+"'")
				}
				objs = append(objs, cobj(fields, okRatio))
			}
			doc, _, err := openslo.Read("f.yaml", []byte(compositeSLO("s", "Occurrences", objs...)))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range doc.SLOs {
				names = append(names, s.Name)
			}
			if got := strings.Join(names, ","); got != tc.want {
				t.Errorf("names %s, want %s", got, tc.want)
			}
		})
	}
}

func TestInvalidComposite(t *testing.T) {
	ind := ratio(`sum(rate(a_total{code="ok"}[5m]))`, `sum(rate(a_total[5m]))`)
	grouped := ratio(`sum by (model) (rate(a_total{code="ok"}[5m]))`, `sum by (model) (rate(a_total[5m]))`)
	ref := func(name string) string { return "  indicatorRef: " + name + "\n" }
	sli := "apiVersion: openslo/v1\nkind: SLI\nmetadata:\n  name: known\nspec:\n  ratioMetric:\n    counter: true\n" +
		"    good:\n      metricSource:\n        type: Prometheus\n        spec:\n          query: a_total{code=\"ok\"}\n" +
		"    total:\n      metricSource:\n        type: Prometheus\n        spec:\n          query: a_total\n---\n"
	tests := []struct {
		name, doc, want string
	}{
		{"two displayNames with one slug",
			compositeSLO("s", "Occurrences", cobj([]string{"displayName: Latency", "target: 0.99"}, ind), cobj([]string{"displayName: latency!", "target: 0.9"}, ind)),
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.objectives[1].displayName "latency!": the component SLO name "s-latency" is also that of spec.objectives[0]; give the objectives distinct displayNames (SLO names must be unique)`},
		{"a displayName takes the name of an objective without one",
			compositeSLO("s", "Occurrences", cobj([]string{"displayName: Objective 1", "target: 0.99"}, ind), cobj([]string{"target: 0.9"}, ind)),
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.objectives[1]: the component SLO name "s-objective-1" is also that of spec.objectives[0]; give the objectives distinct displayNames (SLO names must be unique)`},
		{"a component takes the name of an SLO",
			compositeSLO("s", "Occurrences", cobj([]string{"displayName: a", "target: 0.99"}, ind), cobj([]string{"target: 0.9"}, ind)) +
				"---\n" + strings.Replace(slo("Occurrences", rolling, objective, okRatio), "name: s\n", "name: s-a\n", 1),
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.objectives[0].displayName "a": the component SLO name "s-a" is that of the SLO of document 2; rename one of them (SLO names must be unique)`},
		{"components of two composites share a name",
			compositeSLO("a", "Occurrences", cobj([]string{"displayName: b-c", "target: 0.99"}, ind), cobj([]string{"target: 0.9"}, ind)) +
				"---\n" + compositeSLO("a-b", "Occurrences", cobj([]string{"displayName: c", "target: 0.99"}, ind), cobj([]string{"target: 0.9"}, ind)),
			`f.yaml (OpenSLO v1): document 2 (SLO "a-b"): spec.objectives[0].displayName "c": the component SLO name "a-b-c" is also that of the component of spec.objectives[0] of SLO "a" (document 1); rename one of them (SLO names must be unique)`},
		{"objective without target",
			compositeSLO("s", "Occurrences", cobj([]string{"displayName: a"}, ind), cobj([]string{"target: 0.9"}, ind)),
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.objectives[0]: one of [target, targetPercent] properties must be set, none was provided`},
		{"objective without indicator",
			compositeSLO("s", "Occurrences", cobj([]string{"target: 0.99"}, ind), cobj([]string{"target: 0.9"}, "")),
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.objectives[1].indicator: missing; in a composite SLO every objective needs its own indicator or indicatorRef`},
		{"one objective",
			compositeSLO("s", "Occurrences", cobj([]string{"target: 0.99"}, ind)),
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.objectives: a composite SLO (objectives with their own indicators) needs at least two objectives, got 1; for one, give the indicator at spec level`},
		{"grouped component",
			compositeSLO("s", "Occurrences", cobj([]string{"target: 0.99"}, ind), cobj([]string{"target: 0.9"}, grouped)),
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.objectives[1].indicator.spec.ratioMetric "model": the queries sum by these labels, but a composite's component is ungrouped (the composite combines one SLI per component): drop the by clause, or write a standard SLO for a grouped indicator`},
		{"zero weight",
			compositeSLO("s", "Occurrences", cobj([]string{"target: 0.99", "compositeWeight: 0"}, ind), cobj([]string{"target: 0.9"}, ind)),
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.objectives[0].compositeWeight "0": should be greater than '0'`},
		{"unknown indicatorRef",
			sli + compositeSLO("s", "Occurrences", cobj([]string{"target: 0.99"}, ref("known")), cobj([]string{"target: 0.9"}, ref("unknown"))),
			`f.yaml (OpenSLO v1): document 2 (SLO "s"): spec.objectives[1].indicatorRef "unknown": no SLI of this name in the file`},
		{"indicator at spec level too",
			compositeSLO("s", "Occurrences", cobj([]string{"target: 0.99"}, ind), cobj([]string{"target: 0.9"}, ind)) + okRatio,
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec: 'indicator' or 'indicatorRef' fields must either be defined on the 'spec' level (standard SLOs) or on the 'spec.objectives[*]' level (composite SLOs), but not both`},
		{"ratio timeslices",
			compositeSLO("s", "RatioTimeslices", cobj([]string{"target: 0.99", "timeSliceWindow: 1m"}, ind), cobj([]string{"target: 0.9", "timeSliceWindow: 1m"}, ind)),
			`f.yaml (OpenSLO v1): document 1 (SLO "s"): spec.budgetingMethod "RatioTimeslices": ` + "not supported yet: slo-exporter budgets by Occurrences or Timeslices; RatioTimeslices (the ratio of good time over all slices' events) has no equivalent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := openslo.Read("f.yaml", []byte(tc.doc))
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
