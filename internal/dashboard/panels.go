package dashboard

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// datasource is the Prometheus the dashboards query: the one chosen in the
// datasource variable, so the files import into any Grafana unchanged.
var datasource = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

// datasourceVariable lets the user pick the Prometheus that scrapes the
// exporter.
func datasourceVariable() *dashboard.DatasourceVariableBuilder {
	return dashboard.NewDatasourceVariableBuilder("datasource").Label("Data source").Type("prometheus")
}

// labelVariable is a query variable over label_values(selector, label):
// multi-valued with an All option matching everything (".*"), so series
// without the label (an SLO not grouped by it) stay in.
func labelVariable(name, label, selector string, multi bool) *dashboard.QueryVariableBuilder {
	q := "label_values(" + selector + ", " + label + ")"
	v := dashboard.NewQueryVariableBuilder(name).Label(label).Datasource(datasource).
		Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).Definition(q).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc)
	if multi {
		v = v.Multi(true).IncludeAll(true).AllValue(".*")
	}
	return v
}

// timeSeriesQuery is a range query drawn as a series per result.
func timeSeriesQuery(expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Datasource(datasource).Expr(expr).LegendFormat(legend).Range()
}

// instantQuery is an instant query; table gives one row per series with its
// labels as columns.
func instantQuery(expr, legend string, asTable bool) *prometheus.DataqueryBuilder {
	q := prometheus.NewDataqueryBuilder().Datasource(datasource).Expr(expr).LegendFormat(legend).Instant()
	if asTable {
		q = q.Format(prometheus.PromQueryFormatTable)
	}
	return q
}

// Zone colours: the policy's zone names, coloured as the status page colours
// them; the text stays in the cell for readers who do not tell colours apart.
var zoneColors = []struct{ zone, color string }{
	{"green", "green"}, {"yellow", "yellow"}, {"orange", "orange"}, {"red", "red"},
}

// zoneMappings maps zone names to their colours.
func zoneMappings() []dashboard.ValueMapping {
	opts := map[string]dashboard.ValueMappingResult{}
	for i, z := range zoneColors {
		opts[z.zone] = dashboard.ValueMappingResult{Text: cog.ToPtr(z.zone), Color: cog.ToPtr(z.color), Index: cog.ToPtr(int32(i))}
	}
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: opts}}}
}

// steps builds absolute thresholds: base colour, then (value, colour) pairs.
func steps(base string, pairs ...any) *dashboard.ThresholdsConfigBuilder {
	out := []dashboard.Threshold{{Color: base}}
	for i := 0; i+1 < len(pairs); i += 2 {
		v := pairs[i].(float64)
		out = append(out, dashboard.Threshold{Value: &v, Color: pairs[i+1].(string)})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(out)
}

// budgetSteps colours a budget-remaining ratio by the default policy zones:
// red below 0, orange to 25%, yellow to 75%, green above.
func budgetSteps() *dashboard.ThresholdsConfigBuilder {
	return steps("red", 0.0, "orange", 0.25, "yellow", 0.75, "green")
}

// statPanel is a single-value panel reducing to the last value.
func statPanel(title, desc, unit string) *stat.PanelBuilder {
	return stat.NewPanelBuilder().Title(title).Description(desc).Datasource(datasource).Unit(unit).
		GraphMode(common.BigValueGraphModeNone).ColorMode(common.BigValueColorModeValue).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).Height(4)
}

// graph is a time-series panel with a table legend.
func graph(title, desc, unit string) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().Title(title).Description(desc).Datasource(datasource).Unit(unit).
		Height(8).LineWidth(1).FillOpacity(0).
		Legend(common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeTable).
			Placement(common.LegendPlacementBottom).ShowLegend(true).Calcs([]string{"lastNotNull", "max"}))
}

// dashedOverride draws the series whose display name matches re as dashed
// lines: thresholds, objectives and ideal lines, as opposed to measurements.
func dashedOverride(re string) (dashboard.MatcherConfig, []dashboard.DynamicConfigValue) {
	return dashboard.MatcherConfig{Id: "byRegexp", Options: re}, []dashboard.DynamicConfigValue{
		{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
		{Id: "custom.lineWidth", Value: 2},
	}
}

// tablePanel is a table of instant queries merged into one row per group.
func tablePanel(title, desc string) *table.PanelBuilder {
	return table.NewPanelBuilder().Title(title).Description(desc).Datasource(datasource).Filterable(true)
}

// colourCell shows a column's cell with its value mapping's or threshold's
// colour as background.
func colourCell() dashboard.DynamicConfigValue {
	return dashboard.DynamicConfigValue{Id: "custom.cellOptions", Value: map[string]any{"type": "color-background", "mode": "basic"}}
}
