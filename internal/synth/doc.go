// Package synth generates deterministic synthetic counter history for
// tests of the engine and of end-to-end paths through a real Prometheus.
//
// Generate turns a Config into good/total style counters, by default
// synth_requests_total{model, code="200"|"500"}, one pair per group, with
// seeded Poisson-like integer increments. The same Config always gives the
// same series, byte for byte, and each group draws from its own seeded
// stream, so adding a group does not change the others.
//
// # What a Config produces
//
// Samples sit on the grid Start + k*Step (k = 0, 1, ...) up to and including
// End, shifted later by a seeded jitter in [0, Jitter) milliseconds (the same
// shift for both series of a group: one scrape). Per group and grid point:
//
//   - events: n ~ Poisson(BaseRate * Step seconds * burst factor), errors
//     e ~ Poisson(n * error ratio) clamped to n; the "200" counter grows by
//     n-e and the "500" counter by e. Burst and Incident windows apply to a
//     grid point t when Start <= t < Start+Duration.
//   - first sample: a group's series start at the first grid point at or
//     after its From; the first value is one step's increments (the process
//     started one step before), so it is a non-zero baseline that Increase
//     (like PromQL) does not count.
//   - churn: a group with From after Config.Start appears mid-range; one
//     with Until before Config.End has no samples at or after Until.
//   - restarts: at the first grid point at or after Restart.At the counter
//     drops to that step's increments (the restart happened just after the
//     previous scrape, so no events are lost). Increase sees every restart
//     as a drop, except when the new value is not below the previous one
//     (e.g. a "500" counter that was still 0), where it is invisible and
//     also loses nothing.
//   - gaps: grid points with Gap.Start <= t < Gap.Start+Duration have no
//     samples for any series, but counters keep counting, so the first
//     sample after a gap carries the gap's events.
//
// Standard returns a Config with one instance of every feature at fixed,
// documented offsets; tests should read the offsets from the returned
// Config rather than recompute them.
//
// # Reference arithmetic
//
// Increase is the exact, non-extrapolated count the engine should see
// between two times; ExtrapolationBounds bounds what PromQL increase()
// returns for the same window. WriteOpenMetrics writes series in the text
// format promtool tsdb create-blocks-from openmetrics reads.
package synth
