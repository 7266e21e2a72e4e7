package dashboard

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/export"
)

// panelQuery is one PromQL expression found in a dashboard's JSON.
type panelQuery struct {
	// Where names it for failure messages: panel title and refId, or the
	// annotation's name.
	Where string
	Expr  string
	// Instant is set for instant queries; others run as range queries.
	Instant bool
	// FullProfile is set for queries in the collapsed row of panels that
	// need serve --web.metrics-profile=full (FullProfileRow).
	FullProfile bool
}

// variable is a query variable: label_values(Selector, Label).
type variable struct {
	Name, Label, Selector string
	Multi                 bool
}

// parsed is what the tests read back from a generated dashboard's JSON,
// independently of the builders: every target and annotation expression and
// every query variable.
type parsed struct {
	UID       string
	Queries   []panelQuery
	Variables []variable
}

var labelValuesRE = regexp.MustCompile(`^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// parseDashboard walks a dashboard's JSON.
func parseDashboard(t *testing.T, name string, data []byte) parsed {
	t.Helper()
	var d struct {
		UID    string            `json:"uid"`
		Panels []json.RawMessage `json:"panels"`
		Annot  struct {
			List []struct {
				Name string `json:"name"`
				Expr string `json:"expr"`
			} `json:"list"`
		} `json:"annotations"`
		Templating struct {
			List []struct {
				Type  string `json:"type"`
				Name  string `json:"name"`
				Query any    `json:"query"`
				Multi bool   `json:"multi"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	p := parsed{UID: d.UID}
	var walk func(raw json.RawMessage, full bool)
	walk = func(raw json.RawMessage, full bool) {
		var panel struct {
			Title   string            `json:"title"`
			Panels  []json.RawMessage `json:"panels"`
			Targets []struct {
				Expr    string `json:"expr"`
				RefID   string `json:"refId"`
				Instant bool   `json:"instant"`
			} `json:"targets"`
		}
		if err := json.Unmarshal(raw, &panel); err != nil {
			t.Fatalf("%s: panel: %v", name, err)
		}
		for i, tg := range panel.Targets {
			p.Queries = append(p.Queries, panelQuery{Where: fmt.Sprintf("panel %q target %d (%s)", panel.Title, i, tg.RefID), Expr: tg.Expr, Instant: tg.Instant, FullProfile: full})
		}
		for _, c := range panel.Panels {
			walk(c, full || panel.Title == FullProfileRow)
		}
	}
	for _, raw := range d.Panels {
		walk(raw, false)
	}
	for _, a := range d.Annot.List {
		if a.Expr != "" {
			p.Queries = append(p.Queries, panelQuery{Where: "annotation " + a.Name, Expr: a.Expr, Instant: false})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(string)
		m := labelValuesRE.FindStringSubmatch(q)
		if m == nil {
			t.Fatalf("%s: variable %s: query %v is not label_values(selector, label)", name, v.Name, v.Query)
		}
		p.Variables = append(p.Variables, variable{Name: v.Name, Selector: m[1], Label: m[2], Multi: v.Multi})
	}
	return p
}

// substitute replaces Grafana's variables in expr: template variables from
// vals (a multi-value variable's regex, or one value), and the built-ins
// the dashboards use.
func substitute(expr string, vals map[string]string, builtins map[string]string) string {
	for k, v := range builtins {
		expr = strings.ReplaceAll(expr, k, v)
	}
	// Longest names first, so $slo does not eat a prefix of $slo_x.
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			if len(names[j]) > len(names[i]) {
				names[i], names[j] = names[j], names[i]
			}
		}
	}
	for _, k := range names {
		expr = strings.ReplaceAll(expr, "${"+k+"}", vals[k])
		expr = strings.ReplaceAll(expr, "$"+k, vals[k])
	}
	return expr
}

// TestDashboardsShape checks what needs no Prometheus: every dashboard has
// its UID, queries that name no unknown variable, and a variable for each
// grouping label of the reference configuration.
func TestDashboardsShape(t *testing.T) {
	files := referenceFiles(t)
	uids := map[string]bool{}
	for _, f := range files {
		p := parseDashboard(t, f.Name, f.JSON)
		uids[p.UID] = true
		if len(p.Queries) == 0 {
			t.Errorf("%s: no queries", f.Name)
		}
		known := map[string]string{"datasource": "x"}
		for _, v := range p.Variables {
			known[v.Name] = ".*"
		}
		for _, q := range p.Queries {
			s := substitute(q.Expr, known, map[string]string{"$__rate_interval": "1m", "${__from:date:seconds}": "0"})
			if strings.Contains(s, "$") {
				t.Errorf("%s %s: unresolved variable in %s", f.Name, q.Where, s)
			}
		}
		if f.Name != HealthUID+".json" {
			found := false
			for _, v := range p.Variables {
				found = found || v.Name == "model"
			}
			if !found {
				t.Errorf("%s: no variable for the grouping label model", f.Name)
			}
		}
	}
	for _, u := range []string{OverviewUID, DetailUID, HealthUID} {
		if !uids[u] {
			t.Errorf("no dashboard with uid %s", u)
		}
	}
	if _, err := Generate(nil); err == nil {
		t.Error("Generate(nil) succeeded; want an error")
	}
}

// TestOverPeriod: each SLO's SLI over the period comes from its own period's
// window, and names with regex metacharacters are matched literally.
func TestOverPeriod(t *testing.T) {
	tests := []struct {
		slos []SLO
		want string
	}{
		{[]SLO{{Name: "a", Period: "30d"}}, `m{window="30d",slo=~"a",x="y"}`},
		{[]SLO{{Name: "a.b", Period: "30d"}, {Name: "c", Period: "month"}, {Name: "d", Period: "30d"}},
			`m{window="30d",slo=~"a\\.b|d",x="y"} or m{window="month",slo=~"c",x="y"}`},
	}
	for _, tt := range tests {
		if got := overPeriod("m", tt.slos, `x="y"`); got != tt.want {
			t.Errorf("overPeriod(%v) = %s, want %s", tt.slos, got, tt.want)
		}
	}
}

// TestDashboardsReadDefaultProfile: every slo_* series a panel reads outside
// the full-profile row is in the exporter's default metrics profile, so the
// dashboards work against a default exporter: families the default exports
// only for the budget period are read only with a period's window
// selector; the full-profile row reads at least one series that is not in
// the default.
func TestDashboardsReadDefaultProfile(t *testing.T) {
	files := referenceFiles(t)
	def := map[string]bool{}
	for _, f := range export.DefaultProfileFamilies() {
		def[f] = true
	}
	periodOnly := map[string]bool{}
	for _, f := range export.PeriodOnlyFamilies() {
		periodOnly[f] = true
	}
	// A series name and, when it has one, its selector's body.
	name := regexp.MustCompile(`\b(slo_[a-z_]+)\b(\{[^}]*\})?`)
	periodWindow := regexp.MustCompile(`window="(` + strings.Join(referencePeriods(t), "|") + `)"`)
	optIn := 0
	for _, f := range files {
		for _, q := range parseDashboard(t, f.Name, f.JSON).Queries {
			for _, sm := range name.FindAllStringSubmatch(q.Expr, -1) {
				m, sel := sm[1], sm[2]
				if strings.HasPrefix(m, "slo_exporter_") {
					continue
				}
				switch {
				case q.FullProfile && !def[m]:
					optIn++
				case !q.FullProfile && !def[m]:
					t.Errorf("%s %s reads %s, which the default metrics profile does not export", f.Name, q.Where, m)
				case !q.FullProfile && periodOnly[m] && !periodWindow.MatchString(sel):
					t.Errorf("%s %s reads %s%s: the default metrics profile exports it only for the budget period's window", f.Name, q.Where, m, sel)
				}
			}
		}
	}
	if optIn == 0 {
		t.Error("the full-profile row reads no opt-in series: the check above would pass vacuously")
	}
}

// referencePeriods are the window labels of the reference configuration's
// budget periods (e.g. 30d, month), quoted for a regex.
func referencePeriods(t *testing.T) []string {
	t.Helper()
	cfg, err := config.Load([]string{referenceConfig}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	labels, _ := periods(FromConfig(cfg))
	out := make([]string, len(labels))
	for i, l := range labels {
		out[i] = regexp.QuoteMeta(l)
	}
	return out
}
