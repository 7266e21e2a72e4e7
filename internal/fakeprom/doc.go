// Package fakeprom is a scriptable stand-in for a Prometheus query API, for
// fault-injection tests: it answers /api/v1/query and /api/v1/query_range
// from counter series computed in memory, so a test knows every raw sample
// (the truth), and it can be switched at any moment into a hostile mode
// (hang, slow, 5xx, garbage, truncated or huge answers, redirects,
// connection resets...) or have some of its stored samples corrupted (NaN,
// infinities, negative values, absurd spikes, a second replica's copy
// interleaved, series churn).
//
// It is test support: import it only from _test.go files. Start takes the
// test's testing.TB and registers its own cleanup.
//
// # Why not a real Prometheus
//
// The suites that use it also run a real Prometheus for the faults a real
// one can show (a stopped or killed server). A real server cannot be made
// to hang, lie about a result type or send half a body on request, and its
// samples cannot be corrupted after ingestion; this package exists for
// those answers only. In proxy mode (Options.Upstream) it forwards queries
// to a real server and injects the transport faults in front of it.
//
// # What it understands
//
// Only the queries slo-exporter sends: an instant query of a plain
// selector (a vector: the last sample within 5m), of a range selector
// sel[d] (a matrix of raw samples in (t-d, t]), of
// label_replace(sum(count_over_time(sel[d])), "l", "v", "", "") joined with
// "or" (the backfill's probe), and range queries of a plain selector (the
// last sample at each step). Anything else is answered as Prometheus
// answers a query it rejects: 400 with errorType bad_data.
//
// It listens on 127.0.0.1 only.
package fakeprom
