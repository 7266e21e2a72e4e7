// Package rules generates Prometheus alerting rules, as a rule file or a
// prometheus-operator PrometheusRule, and an Alertmanager inhibition
// snippet for the SLOs that slo-exporter evaluates.
//
// Per SLO it writes one rule group with:
//
//   - SLOBurnRate per enabled tier: in ModeDaemon on the daemon's
//     slo_burn_alert series, in ModePromQL on slo_burn_rate of the tier's
//     long and short window against the threshold
//     budget_fraction x period / long_window;
//   - SLOErrorBudgetExhausted: slo_error_budget_remaining_ratio < 0;
//   - SLONoData: slo_data_up == 0 for a while;
//   - SLOEvaluationStale: slo_last_evaluation_timestamp_seconds too old;
//   - SLOMetricsAbsent: absent(slo_data_up) for a while;
//   - SLOErrorBudgetZone per policy zone that notifies someone:
//     slo_budget_zone{zone=...} == 1, with the zone and notify labels.
//
// Output is deterministic: groups sorted by SLO name, tiers by long
// window, map keys sorted, numbers without float noise. docs/alerting.md
// describes the alerts for users.
package rules
