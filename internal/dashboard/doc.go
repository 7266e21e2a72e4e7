// Package dashboard builds the Grafana dashboards of slo-exporter from an
// SLO configuration: an overview of every SLO, a per-SLO detail view and an
// exporter-health view of the slo_exporter_* self-metrics.
//
// The dashboards read only the exported slo_* and slo_exporter_* series
// (docs/metrics.md), so they work with any Prometheus-compatible source that
// scrapes the exporter, and need no recording rules. What the configuration
// adds is what PromQL cannot know: the grouping labels of all SLOs (one
// template variable each) and each SLO's budget period, whose window label
// ("30d", "7d", "month") selects the SLI and events over the period.
//
// The JSON is built with the Grafana Foundation SDK
// (github.com/grafana/grafana-foundation-sdk/go) rather than written by
// hand: its builders are generated from Grafana's own schema, so field
// names, enumerations and defaults follow the Grafana versions it targets,
// and the dashboards stay code that reviews and tests can read. Generate
// returns the files as deterministic, indented JSON; `slo-exporter
// dashboard` writes them, and deploy/dashboards holds them for the
// reference configuration (a golden test keeps both equal; `go generate
// ./internal/dashboard` rewrites them).
//
// The SDK marks its classic dashboard builder deprecated in favour of the
// v2 schema (dashboardv2). The classic JSON model is kept on purpose: it is
// what Grafana's import, file provisioning and the kube-prometheus-stack
// sidecar load in every Grafana version in use, while v2 resources need
// Grafana 12's new API.
package dashboard

// Regenerate the committed dashboards of the reference configuration (the
// golden test fails until they match):
//go:generate go run ../../cmd/slo-exporter dashboard --config.file=../../config/examples/ml-platform.yaml --output.dir=../../deploy/dashboards
//go:generate go run ../../cmd/slo-exporter dashboard --config.file=../../config/examples/ml-platform.yaml --output.dir=../../deploy/helm/slo-exporter/dashboards
