//lint:file-ignore SA1019 the classic dashboard model is deliberate: see the package doc.

package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"go.yaml.in/yaml/v3"
)

// The dashboards' UIDs: stable, so links between them and bookmarks
// survive regeneration.
const (
	OverviewUID = "slo-overview"
	DetailUID   = "slo-detail"
	HealthUID   = "slo-exporter-health"
)

// File is one generated dashboard.
type File struct {
	// Name is the file name, e.g. "slo-overview.json".
	Name string
	// JSON is the dashboard model, indented, ending in a newline.
	JSON []byte
}

// Generate builds the three dashboards for slos: overview, detail and
// exporter health, in that order. It fails on an empty SLO list, which
// would give dashboards without a single query to run.
func Generate(slos []SLO) ([]File, error) {
	if len(slos) == 0 {
		return nil, errors.New("no SLOs: the dashboards need at least one")
	}
	builders := []struct {
		name string
		b    *dashboard.DashboardBuilder
	}{
		{OverviewUID + ".json", Overview(slos)},
		{DetailUID + ".json", Detail(slos)},
		{HealthUID + ".json", Health()},
	}
	out := make([]File, 0, len(builders))
	for _, x := range builders {
		d, err := x.b.Build()
		if err != nil {
			return nil, fmt.Errorf("building %s: %w", x.name, err)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(d); err != nil {
			return nil, fmt.Errorf("encoding %s: %w", x.name, err)
		}
		out = append(out, File{Name: x.name, JSON: buf.Bytes()})
	}
	return out, nil
}

// base is what every dashboard shares: tags (for the links between them),
// a datasource variable, refresh and the links to its siblings.
func base(uid, title, desc, from string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).Uid(uid).Description(desc).
		Tags([]string{"slo-exporter"}).Editable().Refresh("1m").Time(from, "now").
		Timezone(common.TimeZoneBrowser).Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboard.NewDashboardLinkBuilder("slo-exporter").Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"slo-exporter"}).AsDropdown(false).IncludeVars(false).KeepTime(true)).
		WithVariable(datasourceVariable())
}

// Overview is one row per SLO group: objective, SLI over the period, budget
// remaining, zone, firing tiers and data state, sortable by any column, with
// variables for service, SLO and every grouping label.
func Overview(slos []SLO) *dashboard.DashboardBuilder {
	groups := groupLabels(slos)
	sloSel := matchers(varMatch("service"), varMatch("slo"))
	groupSel := matchers(sloSel, groupMatchers(groups))
	by := byLabels(groups)

	d := base(OverviewUID, "SLO overview", "Every SLO of slo-exporter: objective, SLI over its budget period, error budget remaining, policy zone, firing burn-rate tiers and whether its data is up.", "now-24h").
		WithVariable(labelVariable("service", "service", "slo_info", true)).
		WithVariable(labelVariable("slo", "slo", `slo_info{service=~"$service"}`, true))
	for _, g := range groups {
		d = d.WithVariable(labelVariable(g, g, `slo_error_budget_remaining_ratio{`+sloSel+`}`, true))
	}
	d = d.Annotation(firingAnnotation(groupSel))

	// The group identity every row of the table is built on: slo_burn_alert
	// exists for every group and tier, whether or not it has data.
	groupsOf := "group by (" + by + ") (slo_burn_alert{" + groupSel + "})"
	perGroup := func(metric string) string {
		return metric + "{" + sloSel + "} * on (slo) group_right () " + groupsOf
	}
	tbl := tablePanel("SLOs", "One row per SLO group. Click a column header to sort; the SLO name opens its detail dashboard. Zone is the error budget policy's zone by budget remaining (green >= 75%, yellow >= 25%, orange >= 0, red: exhausted).").
		Height(12).Span(24).
		WithTarget(instantQuery(perGroup("slo_objective_ratio"), "", true).RefId("objective")).
		WithTarget(instantQuery(overPeriod("slo_sli_ratio", slos, groupSel), "", true).RefId("sli")).
		WithTarget(instantQuery("slo_error_budget_remaining_ratio{"+groupSel+"}", "", true).RefId("budget")).
		WithTarget(instantQuery("slo_budget_zone{"+groupSel+"} == 1", "", true).RefId("zone")).
		WithTarget(instantQuery("sum by ("+by+") (slo_burn_alert{"+groupSel+"})", "", true).RefId("firing")).
		WithTarget(instantQuery(perGroup("slo_data_up"), "", true).RefId("data_up")).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true, "Value #zone": true, "__name__": true},
			"renameByName": map[string]any{
				"Value #objective": "objective", "Value #sli": "SLI (period)", "Value #budget": "budget remaining",
				"Value #firing": "firing tiers", "Value #data_up": "data",
			},
		}}).
		SortBy([]cog.Builder[common.TableSortByFieldState]{common.NewTableSortByFieldStateBuilder().DisplayName("budget remaining")}).
		OverrideByName("objective", []dashboard.DynamicConfigValue{{Id: "unit", Value: "percentunit"}, {Id: "decimals", Value: 3}}).
		OverrideByName("SLI (period)", []dashboard.DynamicConfigValue{{Id: "unit", Value: "percentunit"}, {Id: "decimals", Value: 3}}).
		OverrideByName("budget remaining", []dashboard.DynamicConfigValue{{Id: "unit", Value: "percentunit"}, {Id: "decimals", Value: 1},
			{Id: "thresholds", Value: mustBuild(budgetSteps())}, {Id: "color", Value: map[string]any{"mode": "thresholds"}}, colourCell()}).
		OverrideByName("zone", []dashboard.DynamicConfigValue{{Id: "mappings", Value: zoneMappings()}, colourCell()}).
		OverrideByName("firing tiers", []dashboard.DynamicConfigValue{{Id: "thresholds", Value: mustBuild(steps("transparent", 1.0, "red"))},
			{Id: "color", Value: map[string]any{"mode": "thresholds"}}, colourCell()}).
		OverrideByName("data", []dashboard.DynamicConfigValue{{Id: "mappings", Value: []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
			Type: dashboard.MappingTypeValueToText, Options: map[string]dashboard.ValueMappingResult{
				"0": {Text: cog.ToPtr("down"), Color: cog.ToPtr("red"), Index: cog.ToPtr(int32(0))},
				"1": {Text: cog.ToPtr("up"), Color: cog.ToPtr("green"), Index: cog.ToPtr(int32(1))},
			}}}}}, colourCell()}).
		OverrideByName("slo", []dashboard.DynamicConfigValue{{Id: "links", Value: []map[string]any{{
			"title": "SLO detail", "url": "/d/" + DetailUID + "/" + DetailUID + "?var-slo=${__value.raw}&${datasource:queryparam}&${__url_time_range}",
		}}}})

	firing := tablePanel("Firing burn-rate tiers", "Tiers whose long and short windows both burn above the threshold now (slo_burn_alert == 1).").
		Height(6).Span(12).
		WithTarget(instantQuery("slo_burn_alert{"+groupSel+"} == 1", "", true)).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true, "Value": true, "__name__": true}}})
	zones := graph("SLO groups per zone", "How many SLO groups are in each policy zone over time.", "short").
		Span(12).Height(6).
		WithTarget(timeSeriesQuery("count by (zone) (slo_budget_zone{"+groupSel+"} == 1)", "{{zone}}"))
	for _, z := range zoneColors {
		zones = zones.OverrideByName(z.zone, []dashboard.DynamicConfigValue{{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": z.color}}})
	}
	budget := graph("Error budget remaining", "Budget remaining over each SLO's period; below 0 the budget is exhausted.", "percentunit").
		Span(24).
		WithTarget(timeSeriesQuery("slo_error_budget_remaining_ratio{"+groupSel+"}", legend(groups))).
		Thresholds(budgetSteps()).ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))
	return d.WithPanel(tbl).WithPanel(firing).WithPanel(zones).WithPanel(budget)
}

// legend is the legend of per-group series: the SLO and its group labels.
func legend(groups []string) string {
	var b strings.Builder
	b.WriteString("{{slo}}")
	for _, g := range groups {
		b.WriteString(" {{" + g + "}}")
	}
	return b.String()
}

// firingAnnotation marks where a burn-rate tier fired.
func firingAnnotation(sel string) *dashboard.AnnotationQueryBuilder {
	return dashboard.NewAnnotationQueryBuilder().Name("Burn-rate tiers firing").Datasource(datasource).
		Enable(true).IconColor("red").Expr("slo_burn_alert{" + sel + "} == 1").Step("60s").
		TitleFormat("{{slo}}: {{alert_tier}} tier firing").TagKeys("slo,alert_tier,severity").
		TextFormat("{{severity}}: both {{long_window}} and {{short_window}} burn above the tier's threshold")
}

// Detail is one SLO (chosen in the slo variable): SLI and burn rate per
// window with each tier's threshold on the burn-rate panel, the budget over
// the dashboard's range against the sustainable line, events, exhaustion
// forecast, coverage, and annotations where a tier fired.
func Detail(slos []SLO) *dashboard.DashboardBuilder {
	groups := groupLabels(slos)
	one := `slo="$slo"`
	groupSel := matchers(one, groupMatchers(groups))
	lg := legend(groups)

	d := base(DetailUID, "SLO detail", "One SLO of slo-exporter: SLI and burn rate per window against the alert tiers' thresholds, error budget over time, events, exhaustion forecast and coverage.", "now-7d").
		WithVariable(labelVariable("slo", "slo", "slo_info", false))
	for _, g := range groups {
		d = d.WithVariable(labelVariable(g, g, `slo_error_budget_remaining_ratio{slo="$slo"}`, true))
	}
	d = d.Annotation(firingAnnotation(groupSel))

	d = d.WithRow(dashboard.NewRowBuilder("Now")).
		WithPanel(statPanel("Objective", "The SLO's target.", "percentunit").Decimals(3).Span(4).
			WithTarget(instantQuery("slo_objective_ratio{"+one+"}", "objective", false))).
		WithPanel(statPanel("SLI over the period", "Good over valid events over the budget period.", "percentunit").Decimals(3).Span(5).
			WithTarget(instantQuery(overPeriod("slo_sli_ratio", slos, groupSel), lg, false))).
		WithPanel(statPanel("Budget remaining", "1 - spent / allowed over the period; negative once exhausted.", "percentunit").Decimals(1).Span(5).
			Thresholds(budgetSteps()).ColorMode(common.BigValueColorModeBackground).
			WithTarget(instantQuery("slo_error_budget_remaining_ratio{"+groupSel+"}", lg, false))).
		WithPanel(statPanel("Zone", "The error budget policy's zone now.", "").Span(5).
			Mappings(zoneMappings()).ColorMode(common.BigValueColorModeBackground).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Fields("/^zone$/")).
			WithTarget(instantQuery("slo_budget_zone{"+groupSel+"} == 1", lg, true))).
		WithPanel(statPanel("Exhaustion forecast", "Time until the budget is gone at the exhaustion window's burn rate; no value while the budget is not burning, 0 once exhausted.", "s").Span(5).
			NoValue("not burning").Thresholds(steps("red", 86400.0, "orange", 7*86400.0, "green")).
			WithTarget(instantQuery("slo_error_budget_exhaustion_seconds{"+groupSel+"}", lg, false)))

	d = d.WithRow(dashboard.NewRowBuilder("Windows")).
		WithPanel(graph("SLI per window", "Good over valid events in each window, against the objective (dashed): 1 - burn rate x (1 - objective), exact, since the default metrics profile exports the SLI over the budget period only.", "percentunit").Span(12).
			WithTarget(timeSeriesQuery(sliFromBurn(groupSel, one), lg+" {{window}}")).
			WithTarget(timeSeriesQuery("slo_objective_ratio{"+one+"}", "objective")).
			WithOverride(dashedOverride("^objective$"))).
		WithPanel(graph("Burn rate per window", "Error ratio over allowed error ratio per window; a tier fires when both its long and short window burn above its threshold (dashed, one per tier).", "short").Span(12).
			WithTarget(timeSeriesQuery("slo_burn_rate{"+groupSel+"}", lg+" {{window}}")).
			WithTarget(timeSeriesQuery("slo_burn_rate_threshold{"+one+"}", "threshold {{alert_tier}} ({{long_window}}/{{short_window}})")).
			WithOverride(dashedOverride("^threshold .*")))

	d = d.WithRow(dashboard.NewRowBuilder("Error budget")).
		WithPanel(graph("Budget burn-down", "Budget remaining over the dashboard's range (set it to the SLO's period) against the ideal line: the budget left had it been spent at exactly the sustainable rate (burn rate 1) since the start of the range.", "percentunit").Span(12).
			WithTarget(timeSeriesQuery("slo_error_budget_remaining_ratio{"+groupSel+"}", lg)).
			WithTarget(timeSeriesQuery("1 - (time() - ${__from:date:seconds}) / slo_period_seconds{"+one+"}", "ideal (burn rate 1)")).
			WithOverride(dashedOverride("^ideal")).
			Thresholds(budgetSteps()).ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))).
		WithPanel(graph("Exhaustion forecast", "Time until the budget is gone at the current burn rate; gaps while it is not burning.", "s").Span(12).
			WithTarget(timeSeriesQuery("slo_error_budget_exhaustion_seconds{"+groupSel+"}", lg)))

	d = d.WithRow(dashboard.NewRowBuilder("Alerts and data")).
		WithPanel(graph("Burn-rate tiers firing", "1 while a tier fires (both windows above its threshold).", "short").Span(12).Max(1).
			WithTarget(timeSeriesQuery("slo_burn_alert{"+groupSel+"}", lg+" {{alert_tier}}"))).
		WithPanel(graph("Data up", "1 when the last pull of the SLO's data succeeded.", "short").Span(12).Max(1).Min(0).
			WithTarget(timeSeriesQuery("slo_data_up{"+one+"}", "data up")))

	// Event counts and coverage are not in the default metrics profile
	// (docs/metrics.md): they sit in a collapsed row of their own, which
	// shows data when the exporter runs with --web.metrics-profile=full.
	full := dashboard.NewRowBuilder(FullProfileRow).Collapsed(true)
	if events := withEvents(slos); len(events) > 0 {
		full = full.WithPanel(graph("Good and valid events over the period", "Event counts (or slices, for time-slice SLOs) over the budget period. A composite SLO has no events of its own.", "short").Span(12).
			WithTarget(timeSeriesQuery(overPeriod("slo_valid_events", events, groupSel), "valid "+lg)).
			WithTarget(timeSeriesQuery(overPeriod("slo_good_events", events, groupSel), "good "+lg)))
	}
	full = full.WithPanel(graph("Window coverage", "Share of each window for which data was seen: below 1 after a cold start or a source outage.", "percentunit").Span(12).Max(1).
		WithTarget(timeSeriesQuery("slo_window_coverage_ratio{"+groupSel+"}", lg+" {{window}}")))
	d = d.WithRow(full)
	return d
}

// FullProfileRow is the title of the SLO detail dashboard's collapsed row
// whose panels read series of the full metrics profile only.
const FullProfileRow = "Events and coverage (needs serve --web.metrics-profile=full)"

// Health is the exporter's own state from the slo_exporter_* series and the
// process collectors: readiness inputs (backfill, reloads, evaluation age),
// queries to Prometheus, evaluation cost and the engine's and counter
// trackers' refusals.
func Health() *dashboard.DashboardBuilder {
	sel := matchers(varMatch("job"), varMatch("instance"))
	rate := func(m string) string { return "sum by (instance) (rate(" + m + "{" + sel + "}[$__rate_interval]))" }
	d := base(HealthUID, "slo-exporter health", "The exporter's own metrics: build, backfill, configuration reloads, queries to Prometheus, evaluation, engine and source counters, process.", "now-6h").
		WithVariable(labelVariable("job", "job", "slo_exporter_build_info", true)).
		WithVariable(labelVariable("instance", "instance", `slo_exporter_build_info{job=~"$job"}`, true))

	d = d.WithRow(dashboard.NewRowBuilder("State")).
		WithPanel(tablePanel("Build", "slo_exporter_build_info of each instance.").Height(4).Span(24).
			WithTarget(instantQuery("slo_exporter_build_info{"+sel+"}", "", true)).
			WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
				"excludeByName": map[string]any{"Time": true, "Value": true, "__name__": true}}})).
		WithPanel(statPanel("Backfill", "Start-up backfill progress; the exporter is ready at 100% after its first evaluation.", "percentunit").Span(6).
			Thresholds(steps("orange", 1.0, "green")).
			WithTarget(instantQuery("slo_exporter_backfill_progress_ratio{"+sel+"}", "{{instance}}", false))).
		WithPanel(statPanel("Last configuration load", "1 when the last configuration load succeeded; a rejected reload keeps the running configuration.", "").Span(6).
			Thresholds(steps("red", 1.0, "green")).
			Mappings([]dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: map[string]dashboard.ValueMappingResult{
				"0": {Text: cog.ToPtr("failed"), Index: cog.ToPtr(int32(0))}, "1": {Text: cog.ToPtr("ok"), Index: cog.ToPtr(int32(1))}}}}}).
			WithTarget(instantQuery("slo_exporter_config_last_reload_successful{"+sel+"}", "{{instance}}", false))).
		WithPanel(statPanel("Evaluation age", "Time since the newest evaluation of each instance; it should stay near the evaluation interval.", "s").Span(6).
			Thresholds(steps("green", 300.0, "red")).
			WithTarget(instantQuery("time() - max by (instance) (slo_last_evaluation_timestamp_seconds{"+sel+"})", "{{instance}}", false))).
		WithPanel(statPanel("SLOs with data down", "SLOs whose last pull failed (slo_data_up 0).", "short").Span(6).
			Thresholds(steps("green", 1.0, "red")).
			WithTarget(instantQuery("sum by (instance) (1 - slo_data_up{"+sel+"})", "{{instance}}", false)))

	d = d.WithRow(dashboard.NewRowBuilder("Queries to Prometheus")).
		WithPanel(graph("Queries", "Queries issued per second, and failed queries by reason.", "reqps").Span(8).
			WithTarget(timeSeriesQuery(rate("slo_exporter_queries_total"), "queries {{instance}}")).
			WithTarget(timeSeriesQuery("sum by (instance, reason) (rate(slo_exporter_query_errors_total{"+sel+"}[$__rate_interval]))", "errors {{reason}} {{instance}}"))).
		WithPanel(graph("Query duration", "Quantiles of the wall time of queries, retries included.", "s").Span(8).
			WithTarget(timeSeriesQuery("histogram_quantile(0.5, sum by (instance, le) (rate(slo_exporter_query_duration_seconds_bucket{"+sel+"}[$__rate_interval])))", "p50 {{instance}}")).
			WithTarget(timeSeriesQuery("histogram_quantile(0.99, sum by (instance, le) (rate(slo_exporter_query_duration_seconds_bucket{"+sel+"}[$__rate_interval])))", "p99 {{instance}}"))).
		WithPanel(graph("Samples fetched", "Samples per second the queries returned.", "short").Span(8).
			WithTarget(timeSeriesQuery(rate("slo_exporter_query_points_total"), "{{instance}}")))

	d = d.WithRow(dashboard.NewRowBuilder("Evaluation")).
		WithPanel(graph("Evaluation duration", "Wall time of the last evaluation.", "s").Span(8).
			WithTarget(timeSeriesQuery("slo_exporter_evaluation_duration_seconds{"+sel+"}", "{{instance}}"))).
		WithPanel(graph("Tracked series and groups", "Source series whose counters are followed, and groups per SLO.", "short").Span(8).
			WithTarget(timeSeriesQuery("slo_exporter_tracked_series{"+sel+"}", "series {{instance}}")).
			WithTarget(timeSeriesQuery("slo_exporter_groups{"+sel+"}", "groups {{slo}}"))).
		WithPanel(graph("Configuration reloads", "Time since the last successful configuration load.", "s").Span(8).
			WithTarget(timeSeriesQuery("time() - slo_exporter_config_last_reload_success_timestamp_seconds{"+sel+"}", "{{instance}}")))

	engine := graph("Engine refusals", "Records clamped (good > valid), refused (out of order, invalid), and groups refused at the cap or expired, per second.", "short").Span(12)
	for _, m := range []struct{ metric, name string }{
		{"slo_exporter_engine_clamped_records_total", "clamped"},
		{"slo_exporter_engine_out_of_order_records_total", "out of order"},
		{"slo_exporter_engine_invalid_records_total", "invalid"},
		{"slo_exporter_engine_groups_refused_total", "groups refused"},
		{"slo_exporter_engine_groups_expired_total", "groups expired"},
	} {
		engine = engine.WithTarget(timeSeriesQuery(rate(m.metric), m.name+" {{instance}}"))
	}
	source := graph("Source counters", "Counter resets, samples skipped (invalid, wrong kind), pulls refused, and selector pulls refused by reason, per second.", "short").Span(12)
	for _, m := range []struct{ metric, name string }{
		{"slo_exporter_source_resets_total", "resets"},
		{"slo_exporter_source_invalid_samples_total", "invalid samples"},
		{"slo_exporter_source_skipped_samples_total", "skipped samples"},
		{"slo_exporter_source_refused_pulls_total", "refused pulls"},
	} {
		source = source.WithTarget(timeSeriesQuery(rate(m.metric), m.name+" {{instance}}"))
	}
	source = source.WithTarget(timeSeriesQuery("sum by (instance, reason) (rate(slo_exporter_source_pull_errors_total{"+sel+"}[$__rate_interval]))", "pull errors {{reason}} {{instance}}"))
	d = d.WithRow(dashboard.NewRowBuilder("Engine and source")).WithPanel(engine).WithPanel(source)

	d = d.WithRow(dashboard.NewRowBuilder("Process")).
		WithPanel(graph("Memory", "Resident memory and Go heap in use.", "bytes").Span(8).
			WithTarget(timeSeriesQuery("process_resident_memory_bytes{"+sel+"}", "resident {{instance}}")).
			WithTarget(timeSeriesQuery("go_memstats_heap_inuse_bytes{"+sel+"}", "heap in use {{instance}}"))).
		WithPanel(graph("CPU", "CPU seconds used per second.", "short").Span(8).
			WithTarget(timeSeriesQuery(rate("process_cpu_seconds_total"), "{{instance}}"))).
		WithPanel(graph("Goroutines", "Goroutines of the process.", "short").Span(8).
			WithTarget(timeSeriesQuery("go_goroutines{"+sel+"}", "{{instance}}")))
	return d
}

// mustBuild builds a builder whose input is a constant of this package; an
// error is a programming error.
func mustBuild[T any](b cog.Builder[T]) T {
	v, err := b.Build()
	if err != nil {
		panic(err)
	}
	return v
}

// HelmValues returns a values file for the Helm chart that turns on its
// dashboard ConfigMaps with files instead of the chart's own (those of the
// reference configuration): dashboards.enabled and dashboards.files.
func HelmValues(files []File) ([]byte, error) {
	m := make(map[string]string, len(files))
	for _, f := range files {
		m[f.Name] = string(f.JSON)
	}
	var buf bytes.Buffer
	buf.WriteString("# Generated by slo-exporter dashboard --format helm-values; pass to helm with -f.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(map[string]any{"dashboards": map[string]any{"enabled": true, "files": m}}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
