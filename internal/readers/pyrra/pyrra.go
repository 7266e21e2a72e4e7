// Package pyrra reads Pyrra ServiceLevelObjective objects (apiVersion
// pyrra.dev/v1alpha1) into slo-exporter's configuration model, one or
// more YAML documents per file.
//
// Indicators map onto SLI kinds: ratio (errors and total counters) onto
// ratio, latency (a histogram's bucket and _count) onto latency, or onto
// ratio when the two metrics are not one histogram's, latencyNative onto
// a native latency SLI, and bool_gauge (a 0/1 gauge such as probe_success)
// onto a threshold SLI counting samples equal to 1. grouping becomes
// group_by. Pyrra's four burn-rate alerts become four tiers with Pyrra's
// windows and factors for the SLO's window (see Windows), named as Pyrra
// names its alerts.
package pyrra

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metricsql"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/readers/promql"
)

// APIVersion and Kind name Pyrra's SLO object.
const (
	APIVersion = "pyrra.dev/v1alpha1"
	Kind       = "ServiceLevelObjective"
)

// Format names the format in problems and origins.
const Format = "Pyrra " + APIVersion

// DefaultAlertName is the name of Pyrra's burn-rate alerts when
// alerting.name is not set.
const DefaultAlertName = "ErrorBudgetBurn"

type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec struct {
		Description string `yaml:"description"`
		Target      string `yaml:"target"`
		Window      string `yaml:"window"`
		Indicator   struct {
			Ratio *struct {
				Errors   query    `yaml:"errors"`
				Total    query    `yaml:"total"`
				Grouping []string `yaml:"grouping"`
			} `yaml:"ratio"`
			Latency *struct {
				Success  query    `yaml:"success"`
				Total    query    `yaml:"total"`
				Grouping []string `yaml:"grouping"`
			} `yaml:"latency"`
			LatencyNative *struct {
				Total    query    `yaml:"total"`
				Latency  string   `yaml:"latency"`
				Grouping []string `yaml:"grouping"`
			} `yaml:"latencyNative"`
			BoolGauge *struct {
				Metric   string   `yaml:"metric"`
				Grouping []string `yaml:"grouping"`
			} `yaml:"bool_gauge"`
		} `yaml:"indicator"`
		Alerting struct {
			Disabled   *bool  `yaml:"disabled"`
			Burnrates  *bool  `yaml:"burnrates"`
			Absent     *bool  `yaml:"absent"`
			Name       string `yaml:"name"`
			AbsentName string `yaml:"absentName"`
			Severities *struct {
				Absent       string `yaml:"absent"`
				FastBurn     string `yaml:"fastBurn"`
				MediumBurn   string `yaml:"mediumBurn"`
				SlowBurn     string `yaml:"slowBurn"`
				LongTermBurn string `yaml:"longTermBurn"`
			} `yaml:"severities"`
		} `yaml:"alerting"`
		PartialResponseStrategy string    `yaml:"partial_response_strategy"`
		PerformanceOverAccuracy bool      `yaml:"performanceOverAccuracy"`
		RuleOutput              *struct{} `yaml:"ruleOutput"`
	} `yaml:"spec"`
}

type query struct {
	Metric string `yaml:"metric"`
}

// Window is one of Pyrra's burn-rate alerts: it fires when the burn rate
// over Long and Short exceeds Factor.
type Window struct {
	// Tier is the slo-exporter tier it becomes; Severity Pyrra's default
	// severity label.
	Tier, Severity string
	// Long and Short are the windows, Factor the burn-rate threshold,
	// For the alert's for clause.
	Long, Short time.Duration
	Factor      float64
	For         time.Duration
}

// Windows returns Pyrra's burn-rate alerts for an SLO window: the windows
// are fixed shares of the SLO window, made for 28d (1h/5m, 6h/30m, 1d/2h,
// 4d/6h) and rounded to the minute, with the factors 14, 7, 2 and 1, and
// for clauses of half the short window (2m, 15m, 1h, 3h for 28d).
func Windows(sloWindow time.Duration) []Window {
	r := func(d time.Duration) time.Duration { return d.Round(time.Minute) }
	return []Window{
		{Tier: "fast", Severity: "critical", Long: r(sloWindow / (28 * 24)), Short: r(sloWindow / (28 * 24 * 12)), Factor: 14, For: r(sloWindow / (28 * 24 * 30))},
		{Tier: "medium", Severity: "critical", Long: r(sloWindow / (28 * 4)), Short: r(sloWindow / (28 * 24 * 2)), Factor: 7, For: r(sloWindow / (28 * 24 * 4))},
		{Tier: "slow", Severity: "warning", Long: r(sloWindow / 28), Short: r(sloWindow / (28 * 12)), Factor: 2, For: r(sloWindow / (28 * 24))},
		{Tier: "long", Severity: "warning", Long: r(sloWindow / 7), Short: r(sloWindow / (28 * 4)), Factor: 1, For: r(sloWindow / (28 * 8))},
	}
}

// reader holds the state of one Read.
type reader struct {
	file     string
	doc      int
	name     string
	errs     []error
	warnings []error
}

func (r *reader) problem(field, value, msg string) *config.FieldError {
	return &config.FieldError{Source: r.file, Format: Format, Doc: r.doc, Kind: Kind, Object: r.name, Index: -1, Field: field, Value: value, Msg: msg}
}

func (r *reader) add(field, value, msg string) { r.errs = append(r.errs, r.problem(field, value, msg)) }

func (r *reader) warn(field, value, msg string) {
	r.warnings = append(r.warnings, r.problem(field, value, msg))
}

// Read reads the ServiceLevelObjectives of one file into SLOs of the
// configuration model. The source holds every SLO that read; the error,
// when not nil, joins every problem (each a *config.FieldError); warnings
// say what was read but has no effect or changed on the way.
func Read(file string, data []byte) (src config.Source, warnings []error, err error) {
	r := &reader{file: file}
	src = config.Source{Name: file, Format: Format}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			break
		}
		r.doc++
		if err != nil {
			r.add("", "", "not valid YAML: "+strings.TrimPrefix(err.Error(), "yaml: "))
			break
		}
		if len(root.Content) == 0 || root.Content[0].Tag == "!!null" {
			r.doc--
			continue
		}
		var o object
		r.name = ""
		if err := root.Content[0].Decode(&o); err != nil {
			r.add("", "", "not a Pyrra ServiceLevelObjective: "+strings.TrimPrefix(err.Error(), "yaml: "))
			continue
		}
		r.name = o.Metadata.Name
		if o.APIVersion != APIVersion || o.Kind != Kind {
			r.add("", "", fmt.Sprintf("apiVersion %q kind %q is not a Pyrra SLO: want apiVersion %s kind %s", o.APIVersion, o.Kind, APIVersion, Kind))
			continue
		}
		if s, ok := r.slo(o); ok {
			src.SLOs = append(src.SLOs, s)
		}
	}
	if r.doc == 1 {
		// One document: no need to number it.
		for _, l := range [][]error{r.errs, r.warnings} {
			for _, e := range l {
				if fe, ok := e.(*config.FieldError); ok {
					fe.Doc = 0
				}
			}
		}
	}
	return src, r.warnings, errors.Join(r.errs...)
}

// slo reads one ServiceLevelObjective.
func (r *reader) slo(o object) (*config.SLO, bool) {
	before := len(r.errs)
	if o.Metadata.Name == "" {
		r.add("metadata.name", "", "missing")
	}
	service := o.Metadata.Labels["pyrra.dev/service"]
	if service == "" {
		service = o.Metadata.Labels["service"]
	}
	if service == "" {
		service = o.Metadata.Namespace
	}
	if service == "" {
		service = o.Metadata.Name
	}
	out := &config.SLO{
		Origin:      fmt.Sprintf("%s: Pyrra %s %q", r.file, Kind, o.Metadata.Name),
		Name:        o.Metadata.Name,
		Service:     service,
		Description: o.Spec.Description,
	}
	if o.Metadata.Namespace != "" {
		out.Origin += " in namespace " + o.Metadata.Namespace
	}
	if r.doc > 1 {
		out.Origin += fmt.Sprintf(" (document %d)", r.doc)
	}
	labels := map[string]string{}
	for k, v := range o.Metadata.Labels {
		k = strings.TrimPrefix(k, "pyrra.dev/")
		if k == "service" || k == "app.kubernetes.io/managed-by" {
			continue
		}
		labels[labelName(k)] = v
	}
	if len(labels) > 0 {
		out.Labels = labels
	}
	if t := strings.TrimSpace(o.Spec.Target); t != "" {
		out.RawObjective = config.ParseObjective(strings.TrimSuffix(t, "%") + "%")
	} else {
		r.add("spec.target", "", "missing; Pyrra's target is a percent such as \"99.5\"")
	}
	period, err := model.ParseDuration(o.Spec.Window)
	if err != nil || period <= 0 {
		r.add("spec.window", o.Spec.Window, "must be a duration such as 28d or 4w")
	} else {
		out.Period = period
	}
	r.indicator(o, out)
	if o.Spec.PartialResponseStrategy != "" {
		r.warn("spec.partial_response_strategy", o.Spec.PartialResponseStrategy, "ignored: a Thanos setting of Pyrra's generated rules; slo-exporter queries one server")
	}
	if o.Spec.PerformanceOverAccuracy {
		r.warn("spec.performanceOverAccuracy", "true", "ignored: slo-exporter keeps exact event counts in memory, with no recording rules to trade accuracy for")
	}
	if o.Spec.RuleOutput != nil {
		r.warn("spec.ruleOutput", "", "ignored: labels of Pyrra's recording rules; slo-exporter writes no recording rules (put alert labels on alerting.tiers)")
	}
	if len(r.errs) == before {
		out.Alerting.Tiers = r.tiers(o, time.Duration(period))
	}
	return out, len(r.errs) == before
}

// indicator maps the indicator onto an SLI kind.
func (r *reader) indicator(o object, out *config.SLO) {
	ind := o.Spec.Indicator
	n := 0
	for _, set := range []bool{ind.Ratio != nil, ind.Latency != nil, ind.LatencyNative != nil, ind.BoolGauge != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		r.add("spec.indicator", "", "needs exactly one of ratio, latency, latencyNative and bool_gauge")
		return
	}
	switch {
	case ind.Ratio != nil:
		bad, ok1 := r.selector("spec.indicator.ratio.errors.metric", ind.Ratio.Errors.Metric)
		total, ok2 := r.selector("spec.indicator.ratio.total.metric", ind.Ratio.Total.Metric)
		if ok1 && ok2 {
			out.SLI.Ratio = &config.RatioSLI{Bad: bad, Valid: total}
		}
		out.GroupBy = ind.Ratio.Grouping
	case ind.Latency != nil:
		good, ok1 := r.selector("spec.indicator.latency.success.metric", ind.Latency.Success.Metric)
		total, ok2 := r.selector("spec.indicator.latency.total.metric", ind.Latency.Total.Metric)
		if ok1 && ok2 {
			if l := histogram(good, total); l != nil {
				out.SLI.Latency = l
			} else {
				out.SLI.Ratio = &config.RatioSLI{Good: good, Valid: total}
			}
		}
		out.GroupBy = ind.Latency.Grouping
	case ind.LatencyNative != nil:
		total, ok := r.selector("spec.indicator.latencyNative.total.metric", ind.LatencyNative.Total.Metric)
		d, err := model.ParseDuration(ind.LatencyNative.Latency)
		if err != nil || d <= 0 {
			r.add("spec.indicator.latencyNative.latency", ind.LatencyNative.Latency, "must be a duration such as 100ms")
			return
		}
		if ok {
			out.SLI.Latency = &config.LatencySLI{Histogram: total, Threshold: time.Duration(d).Seconds(), Native: true}
		}
		out.GroupBy = ind.LatencyNative.Grouping
	case ind.BoolGauge != nil:
		g, ok := r.selector("spec.indicator.bool_gauge.metric", ind.BoolGauge.Metric)
		if ok {
			one := 1.0
			out.SLI.Threshold = &config.ThresholdSLI{Gauge: g, Op: "==", Value: &one}
			r.warn("spec.indicator.bool_gauge", "", "read as a threshold SLI (a sample == 1 is good): slo-exporter counts one event per series and evaluation interval, "+
				"Pyrra one per raw sample; the SLIs agree when the gauge is scraped at the evaluation interval")
		}
		out.GroupBy = ind.BoolGauge.Grouping
	}
}

// selector checks that a metric is a plain series selector and returns it
// in canonical form.
func (r *reader) selector(field, metric string) (string, bool) {
	if strings.TrimSpace(metric) == "" {
		r.add(field, "", "missing")
		return "", false
	}
	e, err := metricsql.Parse(metric)
	me, ok := e.(*metricsql.MetricExpr)
	if err != nil || !ok || len(me.LabelFilterss) != 1 {
		r.add(field, metric, "must be a series selector, as Pyrra requires (e.g. http_requests_total{job=\"api\",code=~\"5..\"})")
		return "", false
	}
	return string(me.AppendString(nil)), true
}

// histogram returns a latency SLI when good is the bucket le=T of the
// histogram whose _count total is (see promql.Histogram).
func histogram(good, total string) *config.LatencySLI {
	sel, le, ok := promql.Histogram(good, total)
	if !ok {
		return nil
	}
	return &config.LatencySLI{Histogram: sel, Threshold: le}
}

// tiers maps Pyrra's four burn-rate alerts onto the four tiers with
// Pyrra's windows and factors. A window that the engine's buckets cannot
// hold (over 6h and not a multiple of 5m, over 3d and not of 1h; Pyrra's
// windows are exact for 28d) is rounded to the nearest one that fits,
// with the factor kept, and a warning says so.
func (r *reader) tiers(o object, period time.Duration) []config.AlertTier {
	al := o.Spec.Alerting
	off := (al.Disabled != nil && *al.Disabled) || (al.Burnrates != nil && !*al.Burnrates)
	name := al.Name
	if name == "" {
		name = DefaultAlertName
	}
	if al.Absent != nil || al.AbsentName != "" || (al.Severities != nil && al.Severities.Absent != "") {
		r.warn("spec.alerting.absent", "", "Pyrra's absent alert has no setting here: `slo-exporter rules` always writes SLOMetricsAbsent and SLONoData")
	}
	sev := map[string]string{}
	if s := al.Severities; s != nil {
		sev = map[string]string{"fast": s.FastBurn, "medium": s.MediumBurn, "slow": s.SlowBurn, "long": s.LongTermBurn}
	}
	var out []config.AlertTier
	for _, w := range Windows(period) {
		if off {
			out = append(out, config.AlertTier{Name: w.Tier})
			continue
		}
		long, short := fit(w.Long), fit(w.Short)
		if long != w.Long || short != w.Short {
			r.warn("spec.window", o.Spec.Window, fmt.Sprintf("Pyrra's %s alert uses %s/%s windows for this SLO window; slo-exporter's buckets hold %s/%s, so the tier uses those, with Pyrra's factor %s",
				w.Tier, fmtDur(w.Long), fmtDur(w.Short), fmtDur(long), fmtDur(short), strconv.FormatFloat(w.Factor, 'g', -1, 64)))
		}
		t := config.AlertTier{Name: w.Tier, Enabled: true, AlertName: name, Severity: w.Severity,
			// Not rounded: the threshold must come back as the factor.
			BudgetFraction: w.Factor * float64(long) / float64(period),
			LongWindow:     model.Duration(long), ShortWindow: model.Duration(short), For: model.Duration(w.For),
			Labels: map[string]string{"long": fmtDur(long), "short": fmtDur(short)}}
		if s := sev[w.Tier]; s != "" {
			t.Severity = s
		}
		out = append(out, t)
	}
	return out
}

// fit rounds a window to the engine's bucket resolution: 5m over 6h, 1h
// over 3d (shorter windows are multiples of the minute already).
func fit(d time.Duration) time.Duration {
	switch {
	case d > 72*time.Hour:
		return d.Round(time.Hour)
	case d > 6*time.Hour:
		return d.Round(5 * time.Minute)
	}
	return d
}

// fmtDur prints a duration as Prometheus does (1h4m, 1d).
func fmtDur(d time.Duration) string { return model.Duration(d).String() }

// labelName turns a Kubernetes label key into a Prometheus label name.
func labelName(k string) string {
	b := []byte(k)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	if len(b) > 0 && b[0] >= '0' && b[0] <= '9' {
		return "_" + string(b)
	}
	return string(b)
}
