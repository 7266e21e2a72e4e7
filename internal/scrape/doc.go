// Package scrape pulls good, valid and bad counters from a
// Prometheus-compatible query API and records their increments into the
// evaluator.
//
// Client is the HTTP side: Prometheus' own client configuration (auth, TLS,
// headers such as Mimir's X-Scope-OrgID, proxy), a timeout per attempt,
// retries with exponential backoff and jitter for transient failures, a
// concurrency limit, and errors classified by Reason for self-metrics.
//
// Puller is the pull side. Each Tick queries every unique expression once at
// one pinned time, turns raw counter samples into per-series increments
// (internal/counters), sums them per target and group and records them for
// the interval since the target's previous successful pull. Backfill
// replays history with chunked range queries through the same code, one
// pull per step. A source that comes back after failed ticks is backfilled
// over the gap before the tick is recorded.
//
// ClientMetrics and PullerMetrics are the self-metrics the client and the
// puller count (slo_exporter_query_*, slo_exporter_backfill_*,
// slo_exporter_source_*, ...), registered on the registry /metrics gathers;
// one set outlives the clients and pullers of successive configurations.
//
// The semantics (pinned time, dedupe, counter rules, chunking, outages,
// offset, backends) are written down in docs/scrape.md.
package scrape
