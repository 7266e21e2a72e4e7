package readers_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/plan"
	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/readers"
	"github.com/slo-exporter/slo-exporter/internal/readers/sloth"
	"github.com/slo-exporter/slo-exporter/internal/rules"
)

// slothAlert is one alert rule sloth generate wrote.
type slothAlert struct {
	Alert  string            `yaml:"alert"`
	Expr   string            `yaml:"expr"`
	Labels map[string]string `yaml:"labels"`
}

// condition is one multi-window condition of a Sloth alert.
type condition struct {
	factor      float64
	short, long time.Duration
}

// slothCondition matches one window of a condition in Sloth's alert
// expressions: slo:sli_error:ratio_rate5m{...} > (14.4 * 0.001).
var slothCondition = regexp.MustCompile(`slo:sli_error:ratio_rate(\w+)\{[^}]*\} > \(([0-9.e+-]+) \*`)

// slothID finds the sloth_id of an alert expression.
var slothID = regexp.MustCompile(`sloth_id="([^"]+)"`)

// slothSeriesLabel matches the labels of Sloth's series that its alerts
// keep (max ... without (sloth_window)).
var slothSeriesLabel = regexp.MustCompile(`(sloth_id|sloth_service|sloth_slo)="([^"]+)"`)

// alertRules collects every mapping with an alert key in the YAML
// documents of sloth's output (rule files or PrometheusRule objects).
func alertRules(t *testing.T, data []byte) []slothAlert {
	t.Helper()
	var out []slothAlert
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == "alert" {
					var a slothAlert
					if err := n.Decode(&a); err != nil {
						t.Fatal(err)
					}
					out = append(out, a)
					return
				}
				walk(n.Content[i+1])
			}
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("sloth output: %v", err)
		}
		walk(&n)
	}
	return out
}

// conditions parses an alert expression's conditions, short window first
// in each, as Sloth writes them.
func conditions(t *testing.T, expr string) []condition {
	t.Helper()
	m := slothCondition.FindAllStringSubmatch(expr, -1)
	if len(m) == 0 || len(m)%2 != 0 {
		t.Fatalf("cannot parse the windows of %q", expr)
	}
	var out []condition
	for i := 0; i < len(m); i += 2 {
		s, err1 := model.ParseDuration(m[i][1])
		l, err2 := model.ParseDuration(m[i+1][1])
		f, err3 := strconv.ParseFloat(m[i][2], 64)
		f2, err4 := strconv.ParseFloat(m[i+1][2], 64)
		if err := errors.Join(err1, err2, err3, err4); err != nil || f != f2 {
			t.Fatalf("cannot parse %q: %v", m[i][0], err)
		}
		out = append(out, condition{factor: f, short: time.Duration(s), long: time.Duration(l)})
	}
	return out
}

// TestSlothGenerates runs the real Sloth (v0.16.0) on every Sloth input
// that converts and checks the converted SLOs against what Sloth
// generates: per SLO and alert (page, ticket), the tiers have Sloth's
// burn-rate factors and windows, the generated alerts carry Sloth's alert
// name and every label Sloth puts on its alert, and an alert Sloth does not
// generate is a disabled tier.
func TestSlothGenerates(t *testing.T) {
	if testing.Short() {
		t.Skip("runs sloth")
	}
	bin := promtest.Binary(t, "sloth", "SLOTH")
	compared := 0
	for _, f := range inputs(t, "sloth") {
		res, err := readers.Load([]string{f}, nil, nil, readers.Sloth)
		if err != nil {
			continue // inputs slo-exporter refuses
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			outFile := filepath.Join(t.TempDir(), "sloth.yaml")
			cmd := exec.Command(bin, "generate", "-i", f, "-o", outFile)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("sloth generate: %v\n%s", err, out)
			}
			data, err := os.ReadFile(outFile)
			if err != nil {
				t.Fatal(err)
			}
			generated, err := rules.Generate(plan.Rules(res.Config), rules.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var ours struct {
				Groups []struct {
					Rules []slothAlert `yaml:"rules"`
				} `yaml:"groups"`
			}
			if err := yaml.Unmarshal(generated, &ours); err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{} // slo/severity Sloth alerts on
			for _, a := range alertRules(t, data) {
				id := slothID.FindStringSubmatch(a.Expr)
				kind := a.Labels["sloth_severity"]
				if id == nil || sloth.Tiers[kind] == nil {
					t.Fatalf("alert %s: no sloth_id or sloth_severity", a.Alert)
				}
				seen[id[1]+"/"+kind] = true
				// The alert also has the labels of the series it fires on.
				for _, m := range slothSeriesLabel.FindAllStringSubmatch(a.Expr, -1) {
					a.Labels[m[1]] = m[2]
				}
				s := res.Config.SLO(id[1])
				if s == nil {
					t.Fatalf("Sloth alerts on %s, which was not converted", id[1])
				}
				conds := conditions(t, a.Expr)
				names := sloth.Tiers[kind]
				if len(conds) != len(names) {
					t.Fatalf("%s %s: Sloth has %d conditions, the mapping %d tiers", id[1], kind, len(conds), len(names))
				}
				for i, c := range conds {
					j := slices.IndexFunc(s.Alerting.Tiers, func(tr configTier) bool { return tr.Name == names[i] })
					if j < 0 || !s.Alerting.Tiers[j].Enabled {
						t.Errorf("%s: no enabled tier %s for Sloth's %s condition %v", id[1], names[i], kind, c)
						continue
					}
					tr := s.Alerting.Tiers[j]
					th := tr.Threshold(s.BudgetPeriod())
					if diff := th - c.factor; diff > 1e-9 || diff < -1e-9 || time.Duration(tr.LongWindow) != c.long || time.Duration(tr.ShortWindow) != c.short {
						t.Errorf("%s tier %s: threshold %v over %v/%v, Sloth %v over %v/%v", id[1], tr.Name, th,
							time.Duration(tr.LongWindow), time.Duration(tr.ShortWindow), c.factor, c.long, c.short)
					}
					compared++
					// The generated alert of the tier keeps Sloth's name
					// and every label Sloth sets.
					found := false
					for _, g := range ours.Groups {
						for _, r := range g.Rules {
							if r.Labels["slo"] != s.Name || r.Labels["alert_tier"] != tr.Name {
								continue
							}
							found = true
							if r.Alert != a.Alert {
								t.Errorf("%s tier %s: alert %s, Sloth's %s", s.Name, tr.Name, r.Alert, a.Alert)
							}
							for k, v := range a.Labels {
								if r.Labels[k] != v {
									t.Errorf("%s tier %s: label %s=%q, Sloth's %q", s.Name, tr.Name, k, r.Labels[k], v)
								}
							}
						}
					}
					if !found {
						t.Errorf("%s tier %s: no generated alert", s.Name, tr.Name)
					}
				}
			}
			for _, s := range res.Config.SLOs {
				for kind, names := range sloth.Tiers {
					if seen[s.Name+"/"+kind] {
						continue
					}
					for _, tr := range s.Alerting.Tiers {
						if slices.Contains(names, tr.Name) && tr.Enabled {
							t.Errorf("%s: Sloth generates no %s alert, but tier %s is enabled", s.Name, kind, tr.Name)
						}
					}
				}
			}
		})
	}
	if compared == 0 {
		t.Fatal("no condition compared")
	}
	t.Logf("%d Sloth conditions compared", compared)
}

type configTier = config.AlertTier
