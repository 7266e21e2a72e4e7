package scrape

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slo-exporter/slo-exporter/internal/counters"
)

// ClientMetrics are the query client's self-metrics: the client observes
// them as it counts, so they are exported without a copy. One ClientMetrics
// outlives the clients of successive configurations (serve creates it once
// and every reload's client gets it), so its counters only grow.
// docs/metrics.md describes each series.
type ClientMetrics struct {
	duration prometheus.Histogram
	errors   *prometheus.CounterVec
	attempts prometheus.Counter
	retries  prometheus.Counter
	warnings prometheus.Counter
	bytes    prometheus.Counter
}

// NewClientMetrics creates the client's self-metrics and registers them
// on reg; a nil reg leaves them unregistered (tests, one-shot commands).
// Every Reason of slo_exporter_query_errors_total starts at 0.
func NewClientMetrics(reg prometheus.Registerer) (*ClientMetrics, error) {
	m := &ClientMetrics{
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "slo_exporter_query_duration_seconds",
			Help:    "Wall time of queries to Prometheus, retries included.",
			Buckets: DurationBuckets,
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slo_exporter_query_errors_total",
			Help: "Failed queries to Prometheus by reason.",
		}, []string{"reason"}),
		attempts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "slo_exporter_query_attempts_total",
			Help: "HTTP requests sent to Prometheus: one per query plus its retries.",
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "slo_exporter_query_retries_total",
			Help: "Query attempts after the first (retries of timeouts, network errors, 5xx and 429).",
		}),
		warnings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "slo_exporter_query_warnings_total",
			Help: "Warnings and infos in successful answers from Prometheus.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "slo_exporter_query_response_bytes_total",
			Help: "Response body bytes read from Prometheus.",
		}),
	}
	for _, r := range Reasons() {
		m.errors.WithLabelValues(string(r))
	}
	return m, register(reg, m.duration, m.errors, m.attempts, m.retries, m.warnings, m.bytes)
}

// DurationBuckets are the upper bounds, in seconds, of
// slo_exporter_query_duration_seconds.
var DurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// observe records one query: its attempts, wall time and failure reason
// ("" when it succeeded).
func (m *ClientMetrics) observe(attempts int, seconds float64, failed Reason) {
	m.attempts.Add(float64(attempts))
	m.retries.Add(float64(attempts - 1))
	m.duration.Observe(seconds)
	if failed != "" {
		m.errors.WithLabelValues(string(failed)).Inc()
	}
}

// PullerMetrics are the puller's self-metrics. A puller counts into plain
// fields owned by the goroutine that runs it (the hot loop takes no atomic
// per series or group) and adds what it counted since its previous
// publication to these counters at the end of every tick and backfill
// chunk, the moments its Stats are published too. One PullerMetrics
// outlives the pullers of successive configurations: serve creates it once,
// every reload's puller adds its own counts, so the counters only grow and
// a reload neither resets them nor registers them twice.
// docs/metrics.md describes each series.
type PullerMetrics struct {
	queries, points                                        prometheus.Counter
	bfQueries, bfSamples, bfBytes, bfSeconds               prometheus.Counter
	ticks, steps, gapBackfills, gapErrors                  prometheus.Counter
	negativeGood, recordErrors, merged, droppedValid       prometheus.Counter
	skipped                                                prometheus.Counter
	pullErrors                                             *prometheus.CounterVec
	resets, invalid, implausible, refused, newSeries, gone prometheus.Counter
	seriesRefused                                          *prometheus.CounterVec
	dupSeries                                              prometheus.Gauge
	dupSamples, dupEvents                                  prometheus.Counter
}

// Pull error reasons of slo_exporter_source_pull_errors_total.
const (
	pullErrLE      = "le_boundary"
	pullErrNative  = "native_boundary"
	pullErrMissing = "missing_valid"
)

// NewPullerMetrics creates the puller's self-metrics and registers them on
// reg; a nil reg leaves them unregistered (tests, backtests). Every reason
// of slo_exporter_source_pull_errors_total starts at 0.
func NewPullerMetrics(reg prometheus.Registerer) (*PullerMetrics, error) {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &PullerMetrics{
		queries:   c("slo_exporter_queries_total", "Queries issued to Prometheus."),
		points:    c("slo_exporter_query_points_total", "Samples returned by queries to Prometheus."),
		bfQueries: c("slo_exporter_backfill_queries_total", "Queries issued by backfills (start-up, reload and outage gaps), included in slo_exporter_queries_total."),
		bfSamples: c("slo_exporter_backfill_samples_total", "Samples returned to backfills, included in slo_exporter_query_points_total."),
		bfBytes:   c("slo_exporter_backfill_response_bytes_total", "Response bytes read by backfills."),
		bfSeconds: c("slo_exporter_backfill_duration_seconds_total", "Wall time spent in backfills."),
		ticks:     c("slo_exporter_ticks_total", "Ticks pulled: one per evaluation interval, plus the catch-up tick after a backfill."),
		steps:     c("slo_exporter_pull_steps_total", "Pulls recorded: ticks and backfill steps."),
		gapBackfills: c("slo_exporter_gap_backfills_total",
			"Outage gaps backfilled by a tick before recording it."),
		gapErrors: c("slo_exporter_gap_backfill_errors_total",
			"Outage gap backfills whose queries failed; the gap's events were counted at the tick that ended the outage."),
		negativeGood: c("slo_exporter_source_negative_good_total",
			"Group pulls where bad events exceeded valid ones; good (valid - bad) was floored at 0."),
		recordErrors: c("slo_exporter_records_refused_total",
			"Increments the engine refused; slo_exporter_engine_out_of_order_records_total and slo_exporter_engine_invalid_records_total give the reason."),
		merged: c("slo_exporter_pending_pulls_merged_total",
			"Pending pulls of a partly failing SLO merged into the next one over the pending cap: their events land one interval later."),
		droppedValid: c("slo_exporter_dropped_valid_events_total",
			"Valid events of groups refused at the SLO's group cap, lost."),
		skipped: c("slo_exporter_source_skipped_samples_total",
			"Samples skipped because their kind (float or native histogram) does not fit the selector that received them."),
		pullErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slo_exporter_source_pull_errors_total",
			Help: "Pulls of a selector refused because the data cannot give exact events, by reason: le_boundary (no classic bucket at the latency threshold), native_boundary (a native histogram bucket spans it), missing_valid (good or bad series without valid ones).",
		}, []string{"reason"}),
		resets: c("slo_exporter_source_resets_total", "Source counter resets (value drops) seen."),
		invalid: c("slo_exporter_source_invalid_samples_total",
			"Source samples skipped for NaN, infinite or negative values, or an increase above max_increase_rate."),
		implausible: c("slo_exporter_source_implausible_samples_total",
			"The part of slo_exporter_source_invalid_samples_total refused for an increase above max_increase_rate."),
		refused: c("slo_exporter_source_refused_pulls_total", "Pulls refused because their time was not after the previous one."),
		newSeries: c("slo_exporter_source_new_series_total",
			"Source series seen for the first time, or again after being forgotten."),
		gone: c("slo_exporter_source_forgotten_series_total",
			"Source series whose counter state was dropped after they were missing for the forget period."),
		seriesRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slo_exporter_source_series_refused_total",
			Help: "Source series not tracked at all, by reason: max_groups (their group was refused at the SLO's group cap), max_series (the SLO's series cap).",
		}, []string{"reason"}),
		dupSeries: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "slo_exporter_source_duplicate_series",
			Help: "Source series flagged now as two replicas of one counter (resets on half their latest samples); their increments are not counted.",
		}),
		dupSamples: c("slo_exporter_source_duplicate_samples_total", "Samples of flagged duplicate series whose increments were dropped."),
		dupEvents:  c("slo_exporter_source_duplicate_dropped_events_total", "Events not counted because their series was flagged as a duplicate."),
	}
	for _, r := range []string{refusedReasonGroups, refusedReasonSeries} {
		m.seriesRefused.WithLabelValues(r)
	}
	for _, r := range []string{pullErrLE, pullErrNative, pullErrMissing} {
		m.pullErrors.WithLabelValues(r)
	}
	return m, register(reg, m.queries, m.points, m.bfQueries, m.bfSamples, m.bfBytes, m.bfSeconds,
		m.ticks, m.steps, m.gapBackfills, m.gapErrors, m.negativeGood, m.recordErrors, m.merged,
		m.droppedValid, m.skipped, m.pullErrors, m.resets, m.invalid, m.implausible, m.refused,
		m.newSeries, m.gone, m.seriesRefused, m.dupSeries, m.dupSamples, m.dupEvents)
}

// Reasons of slo_exporter_source_series_refused_total.
const (
	refusedReasonGroups = "max_groups"
	refusedReasonSeries = "max_series"
)

// add adds what a puller counted between before and now, its counts at
// its previous and current publication.
func (m *PullerMetrics) add(before, now *internalStats, csBefore, csNow *counters.Stats) {
	inc := func(c prometheus.Counter, b, n uint64) {
		if n > b {
			c.Add(float64(n - b))
		}
	}
	incF := func(c prometheus.Counter, b, n float64) {
		if n > b {
			c.Add(n - b)
		}
	}
	inc(m.queries, before.queries, now.queries)
	inc(m.points, before.points, now.points)
	inc(m.bfQueries, before.bfQueries, now.bfQueries)
	inc(m.bfSamples, before.bfSamples, now.bfSamples)
	inc(m.bfBytes, before.bfBytes, now.bfBytes)
	incF(m.bfSeconds, before.bfSeconds, now.bfSeconds)
	inc(m.ticks, before.ticks, now.ticks)
	inc(m.steps, before.steps, now.steps)
	inc(m.gapBackfills, before.gapBackfills, now.gapBackfills)
	inc(m.gapErrors, before.gapErrors, now.gapErrors)
	inc(m.negativeGood, before.negativeGood, now.negativeGood)
	inc(m.recordErrors, before.recordErrors, now.recordErrors)
	inc(m.merged, before.merged, now.merged)
	incF(m.droppedValid, before.droppedValid, now.droppedValid)
	inc(m.skipped, before.skipped, now.skipped)
	inc(m.pullErrors.WithLabelValues(pullErrLE), before.leErrors, now.leErrors)
	inc(m.pullErrors.WithLabelValues(pullErrNative), before.nativeErrors, now.nativeErrors)
	inc(m.pullErrors.WithLabelValues(pullErrMissing), before.missingValid, now.missingValid)
	inc(m.resets, csBefore.Resets, csNow.Resets)
	inc(m.invalid, csBefore.InvalidSamples, csNow.InvalidSamples)
	inc(m.implausible, csBefore.ImplausibleSamples, csNow.ImplausibleSamples)
	inc(m.refused, csBefore.RefusedPulls, csNow.RefusedPulls)
	inc(m.newSeries, csBefore.NewSeries, csNow.NewSeries)
	inc(m.gone, csBefore.ForgottenSeries, csNow.ForgottenSeries)
	inc(m.seriesRefused.WithLabelValues(refusedReasonGroups), before.seriesRefused[refusedGroupCap], now.seriesRefused[refusedGroupCap])
	inc(m.seriesRefused.WithLabelValues(refusedReasonSeries), before.seriesRefused[refusedSeriesCap], now.seriesRefused[refusedSeriesCap])
	inc(m.dupSamples, csBefore.DuplicateSamples, csNow.DuplicateSamples)
	incF(m.dupEvents, csBefore.DroppedEvents, csNow.DroppedEvents)
}

// register registers cs on reg (none when reg is nil).
func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	var errs []error
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
