// Package slo is the SLO vocabulary that every other package shares: alert
// tiers, policy zones and the error-budget policy, the default windows, and
// how windows and computed values are written. Each default is defined here
// once; config (the YAML model), the readers, the planner, the engine, the
// rule generator, the policy gate and the exporter all take it from here,
// so they cannot drift apart. It imports nothing of the project.
package slo
