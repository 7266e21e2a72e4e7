// Package simulator is a small, deterministic stand-in for the ML platform
// of the reference scenario (docs/simulator.md): a real-time inference API
// (model-api, three models), nightly batch inference, an online feature
// store and the inference journey through both. It exposes the raw
// Prometheus counters and classic histograms the scenario's SLOs read, one
// scrape path per service, and takes a schedule of incidents (error bursts,
// latency, prediction quality, process restarts).
//
// # Closed form
//
// Every exposed value is a function of the elapsed time since the
// simulation's start and the schedule, nothing else: no randomness, no
// state that depends on when it was scraped. Each series has an
// instantaneous rate that is constant between schedule boundaries
// (incident starts and ends), and its value at elapsed time T is
//
//	floor( integral of rate(t) dt over [R, T] )
//
// where R is the last restart of the series' service at or before T (0 when
// there was none). Histogram _sum series are the same integral without the
// floor. Rates and ratios are exact decimals and the arithmetic is exact
// (math/big), so a test that knows the schedule computes the same integers
// by hand, and Sim.CountersAt gives them for any time.
//
// Each series is floored on its own, so sums of series may differ by less
// than one per series from the floor of the summed rate: for example the
// sum of http_requests_total over codes and http_request_duration_seconds_count
// of the same model may differ by up to two.
package simulator
