package rules

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Output formats of Generate.
const (
	// FormatRules is a Prometheus rule file (rule_files:), the default.
	FormatRules = "rules"
	// FormatPrometheusRule is a prometheus-operator PrometheusRule object.
	FormatPrometheusRule = "prometheusrule"
	// FormatHelmValues is a values file for the Helm chart that turns on
	// its PrometheusRule with these groups.
	FormatHelmValues = "helm-values"
)

// Modes of the burn-rate tier alerts.
const (
	// ModeDaemon alerts on slo_burn_alert, which the daemon computes from
	// its exact window counts. The default.
	ModeDaemon = "daemon"
	// ModePromQL alerts on slo_burn_rate of both windows against the tier's
	// threshold in PromQL, for rule authors who want the logic visible.
	ModePromQL = "promql"
)

// Defaults of the Options durations and names.
const (
	DefaultName           = "slo-exporter"
	DefaultStaleAfter     = 5 * time.Minute
	DefaultNoDataFor      = 10 * time.Minute
	DefaultExhaustedFor   = 5 * time.Minute
	DefaultTicketSeverity = "ticket"
)

// Alert names of the generated rules. Every burn-rate tier uses the one
// name AlertBurnRate (unless the tier names its alert, as an SLO read
// from Sloth does) and tells itself apart by the alert_tier and severity
// labels, so routes and inhibitions match tiers by label.
const (
	AlertBurnRate        = "SLOBurnRate"
	AlertBudgetExhausted = "SLOErrorBudgetExhausted"
	AlertNoData          = "SLONoData"
	AlertStale           = "SLOEvaluationStale"
	AlertAbsent          = "SLOMetricsAbsent"
)

// Kubernetes label keys ([DNS subdomain prefix/]name) and values, as the API
// server checks them; a PrometheusRule with others is refused on apply.
var (
	k8sLabelKeyRE   = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)
	k8sLabelValueRE = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`)
)

// Options control the output of Generate.
type Options struct {
	// Format is FormatRules (also when empty) or FormatPrometheusRule.
	Format string
	// Mode is ModeDaemon (also when empty) or ModePromQL.
	Mode string
	// Name and Namespace are the PrometheusRule's metadata; Name defaults to
	// DefaultName and an empty Namespace is left out.
	Name, Namespace string
	// ResourceLabels are the PrometheusRule's metadata labels, e.g. the
	// release label an operator's ruleSelector looks for.
	ResourceLabels map[string]string
	// ExtraLabels are added to every generated alert (e.g. team).
	ExtraLabels map[string]string
	// StaleAfter is the age of slo_last_evaluation_timestamp_seconds that
	// fires AlertStale; zero means DefaultStaleAfter.
	StaleAfter time.Duration
	// NoDataFor is the for clause of AlertNoData and AlertAbsent; zero means
	// DefaultNoDataFor.
	NoDataFor time.Duration
	// ExhaustedFor is the for clause of AlertBudgetExhausted; zero means
	// DefaultExhaustedFor.
	ExhaustedFor time.Duration
	// TicketSeverity is the severity of the alerts that are not burn-rate
	// tiers; empty means DefaultTicketSeverity.
	TicketSeverity string
	// ZoneFor is the for clause of AlertBudgetZone; zero means
	// DefaultZoneFor.
	ZoneFor time.Duration
}

// withDefaults fills zero values and checks the rest.
func (o Options) withDefaults() (Options, error) {
	switch o.Format {
	case "":
		o.Format = FormatRules
	case FormatRules, FormatPrometheusRule, FormatHelmValues:
	default:
		return o, fmt.Errorf("format %q: must be %q, %q or %q", o.Format, FormatRules, FormatPrometheusRule, FormatHelmValues)
	}
	switch o.Mode {
	case "":
		o.Mode = ModeDaemon
	case ModeDaemon, ModePromQL:
	default:
		return o, fmt.Errorf("mode %q: must be %q or %q", o.Mode, ModeDaemon, ModePromQL)
	}
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.StaleAfter == 0 {
		o.StaleAfter = DefaultStaleAfter
	}
	if o.NoDataFor == 0 {
		o.NoDataFor = DefaultNoDataFor
	}
	if o.ExhaustedFor == 0 {
		o.ExhaustedFor = DefaultExhaustedFor
	}
	if o.ZoneFor == 0 {
		o.ZoneFor = DefaultZoneFor
	}
	if o.TicketSeverity == "" {
		o.TicketSeverity = DefaultTicketSeverity
	}
	for name, d := range map[string]time.Duration{"stale_after": o.StaleAfter, "no_data_for": o.NoDataFor, "exhausted_for": o.ExhaustedFor} {
		if d < 0 {
			return o, fmt.Errorf("%s %s: must not be negative", name, d)
		}
	}
	for k, v := range o.ResourceLabels {
		if !k8sLabelKeyRE.MatchString(k) || len(k) > 253+1+63 {
			return o, fmt.Errorf("resource label %q: not a valid Kubernetes label key ([prefix/]name)", k)
		}
		if !k8sLabelValueRE.MatchString(v) {
			return o, fmt.Errorf("resource label %s=%q: not a valid Kubernetes label value (at most 63 characters: alphanumerics, '-', '_', '.')", k, v)
		}
	}
	for k := range o.ExtraLabels {
		if !labelNameRE.MatchString(k) || reservedLabels[k] || strings.HasPrefix(k, "__") {
			return o, fmt.Errorf("extra label %q: not a valid label name, or one the generated alerts set themselves", k)
		}
	}
	return o, nil
}

// Generate renders alert rules for slos: per SLO one rule group with an
// AlertBurnRate alert per enabled tier, AlertBudgetExhausted, AlertNoData,
// AlertStale and AlertAbsent. Groups come sorted by SLO name and tiers by
// long window, so the output depends only on the input, not its order.
func Generate(slos []SLO, opt Options) ([]byte, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	sorted, err := validated(slos)
	if err != nil {
		return nil, err
	}
	var groups []ruleGroup
	for _, s := range sorted {
		groups = append(groups, group(s, opt))
	}
	var doc any = ruleFile{Groups: groups}
	switch opt.Format {
	case FormatPrometheusRule:
		doc = prometheusRule{
			APIVersion: "monitoring.coreos.com/v1",
			Kind:       "PrometheusRule",
			Metadata:   metadata{Name: opt.Name, Namespace: opt.Namespace, Labels: opt.ResourceLabels},
			Spec:       ruleFile{Groups: groups},
		}
	case FormatHelmValues:
		doc = helmValues{PrometheusRule: helmPrometheusRule{Enabled: true, Labels: opt.ResourceLabels, Groups: groups}}
	}
	return encode(doc)
}

// helmValues is the chart's values file that enables its PrometheusRule.
type helmValues struct {
	PrometheusRule helmPrometheusRule `yaml:"prometheusRule"`
}

type helmPrometheusRule struct {
	Enabled bool              `yaml:"enabled"`
	Labels  map[string]string `yaml:"labels,omitempty"`
	Groups  []ruleGroup       `yaml:"groups"`
}

// validated checks every SLO and that names are unique, and returns them
// sorted by name.
func validated(slos []SLO) ([]SLO, error) {
	if len(slos) == 0 {
		return nil, fmt.Errorf("no SLOs to generate rules for")
	}
	seen := map[string]bool{}
	for _, s := range slos {
		if err := s.validate(); err != nil {
			return nil, err
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("slo %q: defined twice", s.Name)
		}
		seen[s.Name] = true
	}
	sorted := slices.Clone(slos)
	slices.SortFunc(sorted, func(a, b SLO) int { return strings.Compare(a.Name, b.Name) })
	return sorted, nil
}

const header = "# Generated by slo-exporter rules from the SLO configuration; edit the configuration, not this file.\n"

// encode writes doc as YAML with two-space indentation.
func encode(doc any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(header)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encoding rules: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding rules: %w", err)
	}
	return buf.Bytes(), nil
}

// The YAML shapes of a rule file and a PrometheusRule.
type (
	ruleFile struct {
		Groups []ruleGroup `yaml:"groups"`
	}
	ruleGroup struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	}
	rule struct {
		Alert       string            `yaml:"alert"`
		Expr        string            `yaml:"expr"`
		For         string            `yaml:"for,omitempty"`
		Labels      map[string]string `yaml:"labels,omitempty"`
		Annotations map[string]string `yaml:"annotations,omitempty"`
	}
	prometheusRule struct {
		APIVersion string   `yaml:"apiVersion"`
		Kind       string   `yaml:"kind"`
		Metadata   metadata `yaml:"metadata"`
		Spec       ruleFile `yaml:"spec"`
	}
	metadata struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace,omitempty"`
		Labels    map[string]string `yaml:"labels,omitempty"`
	}
)

// group builds the rule group of one SLO.
func group(s SLO, opt Options) ruleGroup {
	g := ruleGroup{Name: "slo-exporter-" + s.Name}
	for _, t := range s.enabledTiers() {
		g.Rules = append(g.Rules, tierRule(s, t, opt))
	}
	g.Rules = append(g.Rules, exhaustedRule(s, opt), noDataRule(s, opt), staleRule(s, opt), absentRule(s, opt))
	g.Rules = append(g.Rules, escalationRules(s, opt)...)
	return g
}

// burnFormat prints burn rates in alert text with four significant digits:
// 14.41, 0.9334, 1000 (humanize would print 933.4m).
const burnFormat = `printf "%.4g"`

// tierRule is the AlertBurnRate alert of one tier.
func tierRule(s SLO, t Tier, opt Options) rule {
	long, short := promDuration(t.LongWindow), promDuration(t.ShortWindow)
	var expr string
	if opt.Mode == ModePromQL {
		expr = burnAbove(s, t, long) + "\nand\n" + burnAbove(s, t, short)
	} else {
		expr = fmt.Sprintf("slo_burn_alert{slo=%q,alert_tier=%q} == 1", s.Name, t.Name)
	}
	threshold := formatFloat(t.Threshold(s.Period))
	if s.Calendar != "" {
		// The threshold is the same for every group; the selector leaves
		// the group labels out so that it matches with or without them.
		perSLO := s
		perSLO.GroupBy = nil
		threshold = "the tier threshold " + queryValue(perSLO, "slo_burn_rate_threshold", "alert_tier", t.Name, burnFormat)
	}
	spend := fmt.Sprintf("%s of %s within %s", formatPercent(t.BudgetFraction), s.budgetName(), long)
	own := map[string]string{"alert_tier": t.Name, "long_window": long, "short_window": short}
	extra := map[string]string{}
	for k, v := range t.Labels {
		extra[k] = v
	}
	for k, v := range own {
		extra[k] = v
	}
	r := rule{
		Alert:  t.alertName(),
		Expr:   expr,
		For:    forClause(t.For),
		Labels: alertLabels(s, opt, t.Severity, extra),
		Annotations: annotations(s,
			fmt.Sprintf("%s: %s burn, %s", subject(s, true), t.Name, spend),
			fmt.Sprintf("Burn rate is %s over the last %s and %s over the last %s, both above %s, the rate that spends %s. Error budget remaining: %s.",
				queryValue(s, "slo_burn_rate", "window", long, burnFormat), long,
				queryValue(s, "slo_burn_rate", "window", short, burnFormat), short,
				threshold, spend,
				queryValue(s, "slo_error_budget_remaining_ratio", "", "", "humanizePercentage"))),
	}
	for k, v := range t.Annotations {
		r.Annotations[k] = v
	}
	return r
}

// burnAbove is the PromQL condition "the burn rate of window is above the
// tier's threshold" per group. Rolling periods compare with the threshold
// from the formula; calendar periods, whose length (and so threshold)
// changes each period, with the threshold series the daemon exports.
func burnAbove(s SLO, t Tier, window string) string {
	by := strings.Join(append([]string{"slo", "service"}, s.GroupBy...), ", ")
	burn := fmt.Sprintf("max by (%s) (slo_burn_rate{slo=%q,service=%q,window=%q})", by, s.Name, s.Service, window)
	if s.Calendar == "" {
		return burn + " > " + formatFloat(t.Threshold(s.Period))
	}
	return fmt.Sprintf("%s\n  > on (slo, service) group_left ()\n  max by (slo, service) (slo_burn_rate_threshold{slo=%q,service=%q,alert_tier=%q})",
		burn, s.Name, s.Service, t.Name)
}

// exhaustedRule fires when the period's error budget is spent.
func exhaustedRule(s SLO, opt Options) rule {
	return rule{
		Alert:  AlertBudgetExhausted,
		Expr:   fmt.Sprintf("slo_error_budget_remaining_ratio{slo=%q} < 0", s.Name),
		For:    forClause(opt.ExhaustedFor),
		Labels: alertLabels(s, opt, opt.TicketSeverity, nil),
		Annotations: annotations(s,
			fmt.Sprintf("%s: %s is exhausted", subject(s, true), s.budgetName()),
			fmt.Sprintf("Error budget remaining is {{ $value | humanizePercentage }}: the objective of %s over %s is not met. The error budget policy's red zone applies.",
				formatPercent(s.Objective), s.overPeriod())),
	}
}

// noDataRule fires when the daemon cannot pull the SLO's counters.
func noDataRule(s SLO, opt Options) rule {
	nd := promDuration(opt.NoDataFor)
	return rule{
		Alert:  AlertNoData,
		Expr:   fmt.Sprintf("slo_data_up{slo=%q} == 0", s.Name),
		For:    forClause(opt.NoDataFor),
		Labels: alertLabels(s, opt, opt.TicketSeverity, nil),
		Annotations: annotations(s,
			fmt.Sprintf("%s: no data for %s", subject(s, false), nd),
			fmt.Sprintf("slo-exporter has failed to pull the SLI counters for %s. Its burn-rate alerts cannot fire meanwhile; check the exporter's logs and the Prometheus it queries.", nd)),
	}
}

// staleRule fires when the SLO has not been evaluated for StaleAfter.
func staleRule(s SLO, opt Options) rule {
	sa := promDuration(opt.StaleAfter)
	return rule{
		Alert:  AlertStale,
		Expr:   fmt.Sprintf("time() - slo_last_evaluation_timestamp_seconds{slo=%q} > %s", s.Name, formatFloat(opt.StaleAfter.Seconds())),
		Labels: alertLabels(s, opt, opt.TicketSeverity, nil),
		Annotations: annotations(s,
			fmt.Sprintf("%s: evaluation stale", subject(s, false)),
			fmt.Sprintf("The last evaluation was {{ $value | humanizeDuration }} ago (limit %s). Its burn-rate alerts cannot fire meanwhile; the exporter is stuck or its metrics are scraped from a stale instance.", sa)),
	}
}

// absentRule fires when the SLO's series are gone altogether.
func absentRule(s SLO, opt Options) rule {
	nd := promDuration(opt.NoDataFor)
	return rule{
		Alert:  AlertAbsent,
		Expr:   fmt.Sprintf("absent(slo_data_up{slo=%q,service=%q})", s.Name, s.Service),
		For:    forClause(opt.NoDataFor),
		Labels: alertLabels(s, opt, opt.TicketSeverity, nil),
		Annotations: annotations(s,
			fmt.Sprintf("%s: slo_* series absent for %s", subject(s, false), nd),
			"No slo_data_up series for this SLO: slo-exporter is down, not scraped, or no longer configured with the SLO. Its burn-rate alerts cannot fire meanwhile."),
	}
}

// alertLabels are the labels of an alert: slo, service, severity, the given
// extra ones and Options.ExtraLabels.
func alertLabels(s SLO, opt Options, severity string, extra map[string]string) map[string]string {
	l := map[string]string{"slo": s.Name, "service": s.Service, "severity": severity}
	for k, v := range opt.ExtraLabels {
		l[k] = v
	}
	for k, v := range extra {
		l[k] = v
	}
	return l
}

// annotations are summary, description and the configured links.
func annotations(s SLO, summary, description string) map[string]string {
	a := map[string]string{"summary": summary, "description": description}
	if s.RunbookURL != "" {
		a["runbook_url"] = s.RunbookURL
	}
	if s.DashboardURL != "" {
		a["dashboard_url"] = s.DashboardURL
	}
	return a
}

// subject names the SLO in alert text; withGroups adds the alert's group
// label values (for alerts on per-group series).
func subject(s SLO, withGroups bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SLO %s (service %s", s.Name, s.Service)
	if withGroups {
		for _, g := range s.GroupBy {
			fmt.Fprintf(&b, ", %s={{ $labels.%s }}", g, g)
		}
	}
	b.WriteString(")")
	return b.String()
}

// queryValue is an alert template that shows the live value of metric for
// the alert's SLO and group (and label=value when label is set), formatted
// with the template function format, or "unknown" when there is none.
func queryValue(s SLO, metric, label, value, format string) string {
	sel := fmt.Sprintf("slo=%q,service=%q", s.Name, s.Service)
	if label != "" {
		sel += fmt.Sprintf(",%s=%q", label, value)
	}
	q := "`" + metric + "{" + sel + "}`"
	if len(s.GroupBy) > 0 {
		// printf fills in the alert's group label values; the static part
		// has its % escaped first.
		format := strings.ReplaceAll(sel, "%", "%%")
		var args []string
		for _, g := range s.GroupBy {
			format += "," + g + "=%q"
			args = append(args, "$labels."+g)
		}
		q = "(printf `" + metric + "{" + format + "}` " + strings.Join(args, " ") + ")"
	}
	return "{{ with query " + q + " }}{{ . | first | value | " + format + " }}{{ else }}unknown{{ end }}"
}

// forClause prints a for duration, or nothing for zero.
func forClause(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return promDuration(d)
}
