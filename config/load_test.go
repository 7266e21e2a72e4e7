package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/slo"
)

const day = 24 * time.Hour

// oneSLO is a valid document body with one SLO, for tests that vary the
// other sections.
const oneSLO = `
slos:
  - name: api
    service: api
    objective: 99.9%
    sli: {ratio: {good: 'http_requests_total{code="200"}', valid: 'http_requests_total'}}
`

func TestObjectiveRule(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    float64
		wantErr string
	}{
		{in: "0.999", want: 0.999},
		{in: "0.5", want: 0.5},
		{in: "99.9%", want: 0.999},
		{in: "99.99%", want: 0.9999},
		{in: "1%", want: 0.01},
		{in: "0.5%", want: 0.005},
		{in: "99.9", want: 0.999},
		{in: "95", want: 0.95},
		{in: "1.5", want: 0.015},
		{in: "1", wantErr: "ambiguous"},
		{in: "1.0", wantErr: "ambiguous"},
		{in: "100", wantErr: "impossible"},
		{in: "100%", wantErr: "impossible"},
		{in: "0", wantErr: "must be above 0"},
		{in: "0%", wantErr: "must be above 0%"},
		{in: "-1", wantErr: "must be above 0"},
		{in: "", wantErr: "missing"},
		{in: "nines", wantErr: "not a number"},
	} {
		got, err := ParseObjective(tc.in).Ratio()
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%q: got %v, %v; want error containing %q", tc.in, got, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("%q: got %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// TestScenarioArithmetic checks the thresholds of the reference scenario
// through the helpers, for the default tiers at 30d and 28d.
func TestScenarioArithmetic(t *testing.T) {
	cfg, err := Parse("t.yaml", []byte(oneSLO))
	if err != nil {
		t.Fatal(err)
	}
	want := map[time.Duration][]float64{
		30 * day: {14.4, 6, 3, 1},
		28 * day: {13.44, 5.6, 2.8, 0.933333333333},
	}
	for period, ths := range want {
		tiers := cfg.SLOs[0].EnabledTiers()
		if len(tiers) != len(ths) {
			t.Fatalf("tiers %v, want %d", tiers, len(ths))
		}
		for i, tier := range tiers {
			if got := slo.RoundNoise(tier.Threshold(period)); got != ths[i] {
				t.Errorf("%s tier at %s: threshold %v, want %v", tier.Name, slo.FormatWindow(period), got, ths[i])
			}
		}
	}
	// Budget = (1 - objective) x period: 43.2 min for 99.9% over 30d.
	s := cfg.SLOs[0]
	if got := time.Duration(math.Round((1 - s.Objective()) * float64(s.BudgetPeriod()))); got != 43*time.Minute+12*time.Second {
		t.Errorf("budget %s, want 43m12s", got)
	}
}

func TestDefaultsFilled(t *testing.T) {
	cfg, err := Parse("t.yaml", []byte(oneSLO))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Global, DefaultGlobal()) {
		t.Errorf("global %+v, want the defaults %+v", cfg.Global, DefaultGlobal())
	}
	if cfg.Prometheus.URL != DefaultPrometheusURL || !cfg.Prometheus.HTTPClientConfig.FollowRedirects || !cfg.Prometheus.HTTPClientConfig.EnableHTTP2 {
		t.Errorf("prometheus %+v: want prometheus/common's defaults", cfg.Prometheus)
	}
	s := cfg.SLOs[0]
	if time.Duration(s.Period) != DefaultPeriod || s.MaxGroups != DefaultMaxGroups || s.SLI.Kind() != "ratio" {
		t.Errorf("slo %+v", s)
	}
	wantWindows := []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, day, 3 * day, 30 * day}
	if got := s.AllWindows(); !reflect.DeepEqual(got, wantWindows) {
		t.Errorf("AllWindows %v, want %v", got, wantWindows)
	}
	if f, i := s.File(); f != "t.yaml" || i != 0 {
		t.Errorf("File() = %q, %d", f, i)
	}
}

func TestAllWindows(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []time.Duration
	}{
		{
			name: "configured windows, tier windows and period, deduplicated",
			yaml: `{name: a, service: s, objective: 0.99, period: 7d, windows: [2h, 1h, 1h],
				sli: {ratio: {good: g, valid: v}}, alerting: {tiers: [{name: slow, enabled: false}, {name: long, enabled: false}]}}`,
			want: []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 7 * day},
		},
		{
			name: "default windows stop at a 1d period",
			yaml: `{name: a, service: s, objective: 0.99, period: 1d, sli: {ratio: {good: g, valid: v}},
				alerting: {tiers: [{name: long, enabled: false}]}}`,
			want: []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, day},
		},
		{
			name: "calendar SLOs have no period window",
			yaml: `{name: a, service: s, objective: 0.99, calendar: week, time_zone: Europe/Berlin, windows: [],
				sli: {ratio: {good: g, valid: v}}}`,
			want: []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, day, 3 * day},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("t.yaml", []byte("slos:\n  - "+tc.yaml+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.SLOs[0].AllWindows(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCalendarLocation(t *testing.T) {
	cfg, err := Parse("t.yaml", []byte(`slos: [{name: a, service: s, objective: 0.99, calendar: month, time_zone: Europe/Berlin, sli: {ratio: {good: g, valid: v}}}]`))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.SLOs[0]
	if s.Location().String() != "Europe/Berlin" || s.Period != 0 || s.BudgetPeriod() != 31*day+time.Hour {
		t.Errorf("location %s, period %s, budget period %s", s.Location(), s.Period, s.BudgetPeriod())
	}
}

func TestTierMerge(t *testing.T) {
	doc := `
global:
  alert_tiers:
    - {name: fast, severity: critical}
    - {name: weekly, budget_fraction: 0.5, long_window: 7d, short_window: 12h, severity: ticket}
slos:
  - name: a
    service: s
    objective: 0.999
    sli: {ratio: {good: g, valid: v}}
    alerting:
      tiers: [{name: medium, enabled: false}, {name: fast, for: 0s}]
  - name: b
    service: s
    objective: 0.999
    sli: {ratio: {good: g, valid: v}}
`
	cfg, err := Parse("t.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	names := func(ts []AlertTier) string {
		var out []string
		for _, t := range ts {
			out = append(out, t.Name+"/"+t.Severity+"/"+model.Duration(t.For).String())
		}
		return strings.Join(out, " ")
	}
	if got, want := names(cfg.Global.AlertTiers), "fast/critical/2m medium/page/5m slow/ticket/15m long/ticket/15m weekly/ticket/0s"; got != want {
		t.Errorf("global tiers %s, want %s", got, want)
	}
	if got, want := names(cfg.SLOs[0].EnabledTiers()), "fast/critical/0s slow/ticket/15m long/ticket/15m weekly/ticket/0s"; got != want {
		t.Errorf("slo a tiers %s, want %s", got, want)
	}
	if got, want := names(cfg.SLOs[1].EnabledTiers()), names(cfg.Global.AlertTiers); got != want {
		t.Errorf("slo b tiers %s, want the global ones %s", got, want)
	}
	if th := cfg.SLOs[0].EnabledTiers()[3].Threshold(30 * day); slo.RoundNoise(th) != slo.RoundNoise(0.5*30.0/7) {
		t.Errorf("weekly threshold %v", th)
	}
}

func TestLayers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   []string
		env     []string
		flags   map[string]any
		check   func(*Config) string
		wantErr string
	}{
		{
			name:  "later files win for global, SLOs are concatenated",
			files: []string{"testdata/dup-a.yaml", "testdata/valid-b.yaml"},
			check: func(c *Config) string {
				if len(c.SLOs) != 2 || c.SLOs[0].Name != "api" || c.SLOs[1].Name != "web" {
					return "slos"
				}
				if c.Global.QueryRetries != 1 || c.Global.QueryTimeout != model.Duration(time.Minute) || c.Prometheus.URL != "http://prometheus-b:9090" {
					return "global"
				}
				return ""
			},
		},
		{
			name:  "environment overrides files, flags override the environment",
			files: []string{"testdata/dup-a.yaml"},
			env: []string{"SLO_EXPORTER_PROMETHEUS_URL=http://env:9090", "SLO_EXPORTER_GLOBAL_EVALUATION_INTERVAL=15s",
				"SLO_EXPORTER_GLOBAL_QUERY_RETRIES=4", "SLO_EXPORTER_GLOBAL_BACKFILL=false",
				"SLO_EXPORTER_PROMETHEUS_BASIC_AUTH_USERNAME=alice", "SLO_EXPORTER_PROMETHEUS_BASIC_AUTH_PASSWORD=0123", "SLO_EXPORTER_WEB_LISTEN_ADDRESS=:9099", "PATH=/bin"},
			flags: map[string]any{"global.evaluation_interval": 10 * time.Second, "global.max_concurrent_queries": 3, "prometheus.url": "http://flag:9090"},
			check: func(c *Config) string {
				g := c.Global
				if g.EvaluationInterval != model.Duration(10*time.Second) || g.QueryRetries != 4 || g.Backfill || g.MaxConcurrentQueries != 3 {
					return "global"
				}
				if c.Prometheus.URL != "http://flag:9090" || c.Prometheus.HTTPClientConfig.BasicAuth == nil ||
					c.Prometheus.HTTPClientConfig.BasicAuth.Username != "alice" ||
					c.Prometheus.HTTPClientConfig.BasicAuth.Password != "0123" { // a string field keeps the text as typed
					return "prometheus"
				}
				return ""
			},
		},
		{
			name:    "bad environment value names the variable",
			files:   []string{"testdata/dup-a.yaml"},
			env:     []string{"SLO_EXPORTER_GLOBAL_QUERY_TIMEOUT=soon"},
			wantErr: `environment SLO_EXPORTER_GLOBAL_QUERY_TIMEOUT: global.query_timeout "soon": must be a duration such as 30s, 5m, 1h or 30d`,
		},
		{
			name:    "invalid value set in the environment is attributed to it",
			files:   []string{"testdata/dup-a.yaml"},
			env:     []string{"SLO_EXPORTER_GLOBAL_EVALUATION_INTERVAL=7s"},
			wantErr: `environment SLO_EXPORTER_GLOBAL_EVALUATION_INTERVAL: global.evaluation_interval "7s": must divide 5m evenly (the engine builds its 5m buckets from whole ticks), e.g. 10s, 15s, 30s, 1m or 5m`,
		},
		{
			name:  "unknown and bad flags",
			files: []string{"testdata/dup-a.yaml"},
			flags: map[string]any{"global.evaluation_intervall": "30s", "global.query_retries": "twice", "global.max_points_per_query": 1},
			wantErr: `flags: unknown field "global.evaluation_intervall": not a key flags can set
flags: global.query_retries "twice": must be an integer
flags: global.max_points_per_query "1": must be at least 2`,
		},
		{
			name:    "duplicate SLO names across files",
			files:   []string{"testdata/dup-a.yaml", "testdata/dup-b.yaml"},
			wantErr: `testdata/dup-b.yaml: slos[1] "api": name "api": already defined in testdata/dup-a.yaml slos[0]; SLO names must be unique across all files`,
		},
		{
			name:    "missing file, problems of other files still reported",
			files:   []string{"testdata/nope.yaml", "testdata/invalid-duplicate.yaml"},
			wantErr: "testdata/nope.yaml: cannot read: no such file or directory\n" + `testdata/invalid-duplicate.yaml: slos[2] "api": name "api": already defined in testdata/invalid-duplicate.yaml slos[0]; SLO names must be unique across all files`,
		},
		{
			name:    "no files",
			wantErr: "configuration: no configuration file given",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(tc.files, tc.env, tc.flags)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("got error\n%v\nwant\n%s", err, tc.wantErr)
				}
				for _, e := range List(err) {
					var fe *FieldError
					if !errors.As(e, &fe) {
						t.Errorf("problem %q is %T, want *FieldError", e, e)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if what := tc.check(cfg); what != "" {
				t.Errorf("wrong %s:\n%s", what, cfg.Redacted())
			}
		})
	}
}

func TestEnvVarNames(t *testing.T) {
	keys := SettableKeys()
	for _, want := range []string{"global.evaluation_interval", "global.query_offset", "prometheus.url",
		"prometheus.basic_auth.password", "prometheus.authorization.credentials", "prometheus.tls_config.ca_file", "prometheus.proxy_url"} {
		found := false
		for _, k := range keys {
			found = found || k == want
		}
		if !found {
			t.Errorf("%s is not settable; keys: %v", want, keys)
		}
	}
	if got := EnvVar("global.evaluation_interval"); got != "SLO_EXPORTER_GLOBAL_EVALUATION_INTERVAL" {
		t.Errorf("EnvVar = %s", got)
	}
	// Two keys must never map to one variable name.
	seen := map[string]string{}
	for _, k := range keys {
		if prev, dup := seen[EnvVar(k)]; dup {
			t.Errorf("%s and %s share %s", prev, k, EnvVar(k))
		}
		seen[EnvVar(k)] = k
	}
}

func TestRedacted(t *testing.T) {
	// The URL's user info and basic_auth cannot be set together (a
	// conflict is an error), so each is shown by its own configuration.
	for _, tc := range []struct{ auth, user, secret string }{
		{"  url: https://user:urlpass@mimir.example.com/prometheus\n", "user", "urlpass"},
		{"  url: https://mimir.example.com/prometheus\n  basic_auth: {username: alice, password: basicpass}\n", "alice", "basicpass"},
	} {
		doc := "prometheus:\n" + tc.auth + `  http_headers:
    X-Scope-OrgID: {values: [tenant-1]}
    X-Api-Key: {secrets: [headersecret]}
` + oneSLO
		cfg, err := Parse("t.yaml", []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		out := cfg.Redacted()
		for _, secret := range []string{tc.secret, "headersecret"} {
			if strings.Contains(out, secret) {
				t.Errorf("Redacted shows %q:\n%s", secret, out)
			}
		}
		for _, visible := range []string{tc.user, "tenant-1", "mimir.example.com", "<secret>", "objective: 99.9%"} {
			if !strings.Contains(out, visible) {
				t.Errorf("Redacted lacks %q:\n%s", visible, out)
			}
		}
		if !strings.Contains(cfg.Prometheus.URL+fmt.Sprint(cfg.Prometheus.HTTPClientConfig.BasicAuth), tc.secret) {
			t.Error("Redacted changed the configuration itself")
		}
		// The redacted output is itself a configuration that loads (secrets
		// aside), so it can be used to reproduce a setup.
		if _, err := Parse("redacted.yaml", []byte(out)); err != nil {
			t.Errorf("redacted output does not load: %v\n%s", err, out)
		}
	}
}

func TestPrometheusClientValidation(t *testing.T) {
	doc := `
prometheus:
  url: http://localhost:9090
  basic_auth: {username: a, password: b}
  authorization: {credentials: c}
` + oneSLO
	_, err := Parse("t.yaml", []byte(doc))
	want := "t.yaml: prometheus: at most one of basic_auth, oauth2 & authorization must be configured"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// TestLimits checks the defaults of the memory limits, their layering
// (file, environment) and the derived series cap of an SLO.
func TestLimits(t *testing.T) {
	cfg, err := Parse("t.yaml", []byte(oneSLO))
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Global
	if g.MaxSeriesPerSelector != 10000 || g.MaxResponseBytes.Bytes() != 4<<20 || g.MaxIncreaseRate != 1e9 {
		t.Errorf("defaults: %d series, %s, rate %g", g.MaxSeriesPerSelector, g.MaxResponseBytes, g.MaxIncreaseRate)
	}
	if got := cfg.SLOs[0].SeriesLimit(); got != 1000*20 {
		t.Errorf("derived series limit %d, want 20000 (max_groups 1000 x 20)", got)
	}
	doc := `
global: {max_series_per_selector: 500, max_response_bytes: 512KiB, max_increase_rate: 5e4}
slos:
  - {name: grouped, service: s, objective: 0.99, group_by: [route], max_groups: 50, sli: {ratio: {good: 'g', valid: 'v'}}}
  - {name: capped, service: s, objective: 0.99, max_series: 300, sli: {ratio: {good: 'g', valid: 'v'}}}
`
	dir := t.TempDir() + "/limits.yaml"
	if err := os.WriteFile(dir, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load([]string{dir}, []string{"SLO_EXPORTER_GLOBAL_MAX_RESPONSE_BYTES=8MiB"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g = cfg.Global
	if g.MaxSeriesPerSelector != 500 || g.MaxResponseBytes != 8<<20 || g.MaxIncreaseRate != 5e4 {
		t.Errorf("configured: %d series, %s, rate %g", g.MaxSeriesPerSelector, g.MaxResponseBytes, g.MaxIncreaseRate)
	}
	if a, b := cfg.SLOs[0].SeriesLimit(), cfg.SLOs[1].SeriesLimit(); a != 1000 || b != 300 {
		t.Errorf("series limits %d and %d, want 1000 (50 groups x 20) and 300", a, b)
	}
	// One answer may hold the global limit (500), raised to the largest
	// SLO's own limit (1000): an SLO with many groups is not refused.
	if got := cfg.MaxSeriesPerAnswer(); got != 1000 {
		t.Errorf("MaxSeriesPerAnswer = %d, want 1000", got)
	}
	if out := cfg.Redacted(); !strings.Contains(out, "max_response_bytes: 8MiB") {
		t.Errorf("printed configuration lacks the size with its unit:\n%s", out)
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1048576": 1 << 20, "512KiB": 512 << 10, "4MiB": 4 << 20, "1GiB": 1 << 30, "10B": 10, " 2 MiB ": 2 << 20} {
		got, err := ParseByteSize(in)
		if err != nil || got.Bytes() != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "4MB", "4mib", "-1", "1.5MiB", "9999999999GiB", "MiB"} {
		if got, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) = %d, want an error", in, got)
		}
	}
}
