package status

import (
	"flag"
	"math"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden file")

// TestGolden renders an exposition captured from the demo (the reference
// ML platform a minute after start) and compares with the golden table.
func TestGolden(t *testing.T) {
	f, err := os.Open("testdata/metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := Parse(f, "5m")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Write(&b, rows); err != nil {
		t.Fatal(err)
	}
	if *update {
		_ = os.WriteFile("testdata/status.golden", []byte(b.String()), 0o644)
	}
	want, err := os.ReadFile("testdata/status.golden")
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("table differs from testdata/status.golden (-update to accept):\n%s", b.String())
	}
}

func TestRowValues(t *testing.T) {
	in := `# TYPE slo_sli_ratio gauge
slo_sli_ratio{slo="a",service="s",model="m",window="5m"} 0.99
slo_sli_ratio{slo="a",service="s",model="m",window="30d"} 0.995
# TYPE slo_period_seconds gauge
slo_period_seconds{slo="a",service="s"} 2.592e+06
# TYPE slo_error_budget_remaining_ratio gauge
slo_error_budget_remaining_ratio{slo="a",service="s",model="m"} -0.5
# TYPE slo_budget_zone gauge
slo_budget_zone{slo="a",service="s",model="m",zone="green"} 0
slo_budget_zone{slo="a",service="s",model="m",zone="red"} 1
# TYPE slo_burn_alert gauge
slo_burn_alert{slo="a",service="s",model="m",alert_tier="slow"} 1
slo_burn_alert{slo="a",service="s",model="m",alert_tier="fast"} 1
slo_burn_alert{slo="a",service="s",model="m",alert_tier="long"} 0
# TYPE slo_data_up gauge
slo_data_up{slo="a",service="s"} 0
slo_data_up{slo="b",service="s"} 1
`
	rows, err := Parse(strings.NewReader(in), "5m")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows %+v", rows)
	}
	a := rows[0]
	if a.Group != "model=m" || *a.SLIShort != 0.99 || *a.SLIPeriod != 0.995 || *a.Remaining != -0.5 || a.Zone != "red" ||
		strings.Join(a.Firing, ",") != "fast,slow" || a.DataUp {
		t.Errorf("row a = %+v", a)
	}
	if b := rows[1]; b.SLO != "b" || !b.DataUp || b.SLIShort != nil {
		t.Errorf("row b = %+v", b)
	}
	if _, err := Parse(strings.NewReader("not an exposition {"), "5m"); err == nil {
		t.Error("junk accepted")
	}
}

// TestShortSLIFromBurnRate: with the default metrics profile, which exports
// the SLI over the period only, the short window's SLI is derived from its
// burn rate and the objective: 998 good of 1000 events against 0.999 burn
// at 2, so the SLI is 0.998. A window with its own SLI keeps it.
func TestShortSLIFromBurnRate(t *testing.T) {
	in := `# TYPE slo_objective_ratio gauge
slo_objective_ratio{slo="a",service="s"} 0.999
# TYPE slo_period_seconds gauge
slo_period_seconds{slo="a",service="s"} 2.592e+06
# TYPE slo_sli_ratio gauge
slo_sli_ratio{slo="a",service="s",model="m",window="30d"} 0.9995
slo_sli_ratio{slo="a",service="s",model="n",window="5m"} 0.5
# TYPE slo_burn_rate gauge
slo_burn_rate{slo="a",service="s",model="m",window="5m"} 2
slo_burn_rate{slo="a",service="s",model="m",window="30d"} 0.5
slo_burn_rate{slo="a",service="s",model="n",window="5m"} 500
`
	rows, err := Parse(strings.NewReader(in), "5m")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"model=m": 998.0 / 1000, "model=n": 0.5}
	if len(rows) != 2 {
		t.Fatalf("rows %+v", rows)
	}
	for _, r := range rows {
		if r.SLIShort == nil || math.Abs(*r.SLIShort-want[r.Group]) > 1e-12 {
			t.Errorf("%s: SLIShort %v, want %v", r.Group, r.SLIShort, want[r.Group])
		}
	}
	if rows[0].SLIPeriod == nil || *rows[0].SLIPeriod != 0.9995 {
		t.Errorf("model=m: SLIPeriod %v, want 0.9995", rows[0].SLIPeriod)
	}
}
