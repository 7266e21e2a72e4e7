// Package promtest runs a real Prometheus server for tests.
//
// It is test support: import it only from _test.go files. Every function
// takes the test's testing.TB, registers its own cleanup and fails (or
// skips) the test itself, so a caller writes no error handling for the
// harness:
//
//	srv := promtest.Start(t, promtest.Options{ConfigYAML: cfg})
//	vec, err := srv.Query(ctx, `up`, time.Now())
//
// # Binaries
//
// Binary finds a program by an environment variable first (PROMETHEUS,
// PROMTOOL, HELM), then PATH, then ~/go/bin. When it is missing the test is
// skipped, unless CI=true, where it fails with a hint on how to install it.
// Start uses Binary(t, "prometheus", "PROMETHEUS") unless Options.Binary is
// set, so the same tests run against Debian's Prometheus 2.42
// (/usr/bin/prometheus) or a 3.x build given by PROMETHEUS=/path.
//
// # History
//
// CreateBlocks turns an OpenMetrics text (see internal/synth) into TSDB
// blocks with promtool; Start with Options.DataDir set to the same directory
// serves that history. Prometheus (2.42 at least) measures time retention
// from the newest block rather than the wall clock, so a backfill made only
// of old blocks survives anyway; the large default retention (400d) is the
// safety margin for histories that mix old and recent data.
//
// # Thanos
//
// StartThanos runs a Thanos sidecar next to a Server (whose configuration
// must set external labels) and a Thanos querier over it, for tests that
// query through Thanos; its binary comes from Binary(t, "thanos", "THANOS")
// (scripts/install-thanos.sh builds one).
//
// # PromQL versions differ
//
// Range selectors are closed on both ends in Prometheus 2.x: v[1h] at time
// t holds samples with timestamps in [t-1h, t]. Prometheus 3.x made them
// left-open, (t-1h, t]. With samples aligned to the evaluation grid the
// two give different results for the same query, so a test that compares
// with PromQL must ask Server.Major and choose its expectation from it.
package promtest
