package export

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slo-exporter/slo-exporter/internal/version"
)

// buildLabels are the labels of slo_exporter_build_info, in the order of
// buildInfoDesc's label names.
var buildLabels = labels("version", version.Version, "revision", version.Revision,
	"build_date", version.BuildDate, "goversion", runtime.Version())

var (
	buildInfoDesc = prometheus.NewDesc("slo_exporter_build_info", "Build of the running slo-exporter; always 1.",
		[]string{"version", "revision", "build_date", "goversion"}, nil)
	groupsDesc = prometheus.NewDesc("slo_exporter_groups", "Groups tracked per SLO.", []string{"slo", "service"}, nil)
)

// selfCollector exports the two self-metrics that export itself knows:
// the build, and the groups of each SLO of the latest snapshot. The other
// slo_exporter_* series are registered by the components that count them
// (the query client, the puller, the daemon) on the same registry
// (Server.Registerer).
type selfCollector struct{ store *Store }

// Describe implements prometheus.Collector.
func (c selfCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- buildInfoDesc
	ch <- groupsDesc
}

// Collect implements prometheus.Collector.
func (c selfCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(buildInfoDesc, prometheus.GaugeValue, 1, buildLabels.values...)
	snap, _ := c.store.Snapshot()
	if snap == nil {
		return
	}
	for i := range snap.SLOs {
		r := &snap.SLOs[i]
		ch <- prometheus.MustNewConstMetric(groupsDesc, prometheus.GaugeValue, float64(len(r.Groups)), r.Spec.Name, r.Spec.Service)
	}
}
