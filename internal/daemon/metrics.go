package daemon

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
)

// metrics are the daemon's self-metrics, created once by New and kept
// across reloads: the client's and puller's (handed to every runtime's
// client and puller, which count into them), and the daemon's own gauges
// and engine counters. docs/metrics.md describes each series.
type metrics struct {
	client *scrape.ClientMetrics
	puller *scrape.PullerMetrics

	evalDuration, backfillProgress, trackedSeries prometheus.Gauge
	reloadOK, reloadTime                          prometheus.Gauge

	clamped, outOfOrder, invalid, groupsRefused, groupsExpired prometheus.Counter
	ticksMissed                                                prometheus.Counter
}

// newMetrics creates the self-metrics and registers them on reg; nil
// leaves them unregistered.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	var m metrics
	var errs []error
	var err error
	m.client, err = scrape.NewClientMetrics(reg)
	errs = append(errs, err)
	m.puller, err = scrape.NewPullerMetrics(reg)
	errs = append(errs, err)
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		if reg != nil {
			errs = append(errs, reg.Register(g))
		}
		return g
	}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		if reg != nil {
			errs = append(errs, reg.Register(c))
		}
		return c
	}
	m.evalDuration = gauge("slo_exporter_evaluation_duration_seconds", "Wall time of the last evaluation.")
	m.backfillProgress = gauge("slo_exporter_backfill_progress_ratio", "Progress of the start-up backfill, 0 to 1.")
	m.trackedSeries = gauge("slo_exporter_tracked_series", "Source series whose counters are followed.")
	m.reloadOK = gauge("slo_exporter_config_last_reload_successful", "1 when the last configuration load succeeded, else 0.")
	m.reloadTime = gauge("slo_exporter_config_last_reload_success_timestamp_seconds", "Unix time of the last successful configuration load.")
	m.clamped = counter("slo_exporter_engine_clamped_records_total", "Records whose good events exceeded valid ones and were clamped to valid.")
	m.outOfOrder = counter("slo_exporter_engine_out_of_order_records_total", "Records refused because they ended at or before the group's last one.")
	m.invalid = counter("slo_exporter_engine_invalid_records_total", "Records refused for NaN, infinite or negative values.")
	m.groupsRefused = counter("slo_exporter_engine_groups_refused_total", "Groups refused because the SLO reached its group cap.")
	m.ticksMissed = counter("slo_exporter_ticks_missed_total", "Ticks abandoned at their deadline (--evaluation.tick-timeout); their SLOs got slo_data_up 0.")
	m.groupsExpired = counter("slo_exporter_engine_groups_expired_total", "Groups dropped after a period without data.")
	return &m, errors.Join(errs...)
}

// addEngine adds what an engine counted between two of its snapshots'
// Stats. The engine is the evaluator's pure arithmetic and knows no
// exposition; its counts reach /metrics here, at every evaluation, from
// the runtime that owns it.
func (m *metrics) addEngine(before, now evaluator.Stats) {
	inc := func(c prometheus.Counter, b, n uint64) {
		if n > b {
			c.Add(float64(n - b))
		}
	}
	inc(m.clamped, before.Clamped, now.Clamped)
	inc(m.outOfOrder, before.OutOfOrder, now.OutOfOrder)
	inc(m.invalid, before.Invalid, now.Invalid)
	inc(m.groupsRefused, before.GroupsRefused, now.GroupsRefused)
	inc(m.groupsExpired, before.GroupsExpired, now.GroupsExpired)
}
