// Package export exposes the evaluator's snapshots: the slo_* series of the
// metrics contract and the slo_exporter_* self-metrics on /metrics, a JSON
// API under /api/v1/slos, a status page at / and the exporter's health,
// readiness and reload endpoints.
//
// It computes nothing. The daemon (or any other driver) publishes each new
// snapshot with Store.SetSnapshot; handlers read the latest one without
// locks, because snapshots are immutable. The self-metrics are registered
// by the components that count them on the registry /metrics gathers
// (Server.Registerer); export adds only slo_exporter_build_info and
// slo_exporter_groups.
//
// The series follow docs/metrics.md exactly. Values that do not exist are
// left out, never exported as NaN: an SLI and burn rate without valid
// events in the window, a budget without valid events in the period, an
// exhaustion time while the budget is not burning.
package export
