package sloth_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/config/sloth"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden converts each testdata/*.yaml, compares the result with its
// .golden file and checks that the result loads and validates.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	if len(files) < 2 {
		t.Fatalf("found %d inputs", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !sloth.IsSpec(data) {
				t.Error("IsSpec is false")
			}
			doc, err := sloth.Convert(f, data)
			if err != nil {
				t.Fatalf("convert: %v", err)
			}
			got, err := doc.Marshal()
			if err != nil {
				t.Fatal(err)
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
			cfg, err := config.Parse(f, got)
			if err != nil {
				t.Fatalf("converted output does not load:\n%v", err)
			}
			if len(cfg.SLOs) != len(doc.SLOs) {
				t.Errorf("loaded %d SLOs, converted %d", len(cfg.SLOs), len(doc.SLOs))
			}
		})
	}
}

// TestThresholds: Sloth's page and ticket alerts become the four tiers
// with Sloth's burn rates (14.4, 6, 3, 1 for its 30d period).
func TestThresholds(t *testing.T) {
	data, _ := os.ReadFile("testdata/model-api.yaml")
	doc, err := sloth.Convert("m.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := doc.Marshal()
	cfg, err := config.Parse("m.yaml", out)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.SLO("model-api-requests-availability")
	want := map[string]float64{"fast": 14.4, "medium": 6, "slow": 3, "long": 1}
	sev := map[string]string{"fast": "critical", "medium": "critical", "slow": "warning", "long": "warning"}
	if len(s.EnabledTiers()) != 4 {
		t.Fatalf("%d tiers", len(s.EnabledTiers()))
	}
	for _, tr := range s.EnabledTiers() {
		if got := tr.Threshold(s.BudgetPeriod()); got < want[tr.Name]-1e-9 || got > want[tr.Name]+1e-9 {
			t.Errorf("%s: threshold %v, want %v", tr.Name, got, want[tr.Name])
		}
		if tr.Severity != sev[tr.Name] {
			t.Errorf("%s: severity %q", tr.Name, tr.Severity)
		}
	}
	if got := len(cfg.SLO("model-api-requests-latency").EnabledTiers()); got != 2 {
		t.Errorf("latency: %d tiers enabled, want the 2 page tiers", got)
	}
}

const head = "version: prometheus/v1\nservice: svc\nslos:\n  - name: s\n    objective: 99\n"

func events(errQ, totalQ string) string {
	return head + "    sli:\n      events:\n        error_query: '" + errQ + "'\n        total_query: '" + totalQ + "'\n"
}

func TestInvalid(t *testing.T) {
	const total = `sum(rate(r_total[{{.window}}]))`
	tests := []struct{ name, doc, want string }{
		{"ratio inside a query",
			events(`sum(rate(r_total{code="5xx"}[{{.window}}])) / sum(rate(r_total[{{.window}}]))`, total),
			`f.yaml: slos[0] "s": sli.events.error_query "sum(rate(r_total{code=\"5xx\"}[{{.window}}])) / sum(rate(r_total[{{.window}}]))": the operator "/" cannot be reduced: a query must be a counter selector, optionally in rate() or increase() and sum(); operators, ratios and other functions compute values the daemon cannot count events from`},
		{"non-counter function",
			events(`sum(avg_over_time(errors[{{.window}}]))`, total),
			`f.yaml: slos[0] "s": sli.events.error_query "sum(avg_over_time(errors[{{.window}}]))": function avg_over_time() cannot be reduced: only rate() or increase() of a counter selector (optionally inside sum) can, because the daemon reads the raw counters and computes increments itself`},
		{"no rate",
			events(`sum(errors)`, total),
			`f.yaml: slos[0] "s": sli.events.error_query "sum(errors)": must count events over the window with rate() or increase() of a counter, e.g. sum(rate(http_requests_total[{{.window}}]))`},
		{"raw",
			head + "    sli:\n      raw:\n        error_ratio_query: x\n",
			`f.yaml: slos[0] "s": sli.raw: a raw error ratio cannot be converted: slo-exporter counts good and valid events from counters; write sli.events with error_query and total_query`},
		{"plugin",
			head + "    sli:\n      plugin:\n        id: sloth-common/availability\n",
			`f.yaml: slos[0] "s": sli.plugin: SLI plugins generate queries slo-exporter cannot see; write sli.events with error_query and total_query`},
		{"missing sli",
			head,
			`f.yaml: slos[0] "s": sli.events: missing; give error_query and total_query`},
		{"missing selector",
			events(``, total),
			`f.yaml: slos[0] "s": sli.events.error_query: missing`},
		{"difference of the wrong total",
			events(`sum(rate(other_total[{{.window}}])) - sum(rate(good_total[{{.window}}]))`, total),
			`f.yaml: slos[0] "s": sli.events.error_query "sum(rate(other_total[{{.window}}])) - sum(rate(good_total[{{.window}}]))": a difference is only understood as total - good, and its left side other_total is not total_query's r_total`},
		{"grouping differs",
			events(`sum by (model) (rate(r_total{code="5xx"}[{{.window}}]))`, total),
			`f.yaml: slos[0] "s": sli.events.error_query "sum by (model) (rate(r_total{code=\"5xx\"}[{{.window}}]))": sums by [model] but total_query by []; they must group alike to map onto group_by`},
		{"unknown field",
			events(`rate(e[5m])`, total) + "    objectiv: 99\n",
			`f.yaml: slos[0] "s": objectiv: unknown field of a Sloth prometheus/v1 spec`},
		{"other version",
			"version: prometheus/v2\nservice: x\n",
			`f.yaml: version "prometheus/v2": only Sloth prometheus/v1 specs are supported`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sloth.Convert("f.yaml", []byte(tc.doc))
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
