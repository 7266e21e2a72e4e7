package daemon

import (
	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/export"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
)

// ExportSink publishes states to the export package: the snapshot and SLO
// metadata to the store, the statistics as self-metrics, and readiness to
// the server.
func ExportSink(store *export.Store, srv *export.Server) Sink { return exportSink{store, srv} }

type exportSink struct {
	store *export.Store
	srv   *export.Server
}

func (s exportSink) Publish(st *State) {
	if st.Snapshot != nil {
		info := make(map[string]export.SLOInfo, len(st.Meta))
		for i, r := range st.Snapshot.SLOs {
			if i < len(st.Meta) {
				info[r.Spec.Name] = export.SLOInfo{Kind: st.Meta[i].Kind, Labels: st.Meta[i].Labels, Cost: costInfo(st.Meta[i].Cost)}
			}
		}
		s.store.SetSnapshot(st.Snapshot, info)
	}
	self := &export.Self{
		QueryDuration: export.Histogram{Bounds: st.Client.Duration.Buckets, Counts: st.Client.Duration.Counts,
			Sum: st.Client.Duration.Sum, Count: st.Client.Duration.Count},
		QueryErrors:   map[string]uint64{},
		Queries:       st.Puller.Queries,
		Points:        st.Puller.PointsFetched,
		EvalDuration:  st.EvalDuration,
		TrackedSeries: st.Puller.SeriesTracked,
		ReloadOK:      st.ReloadOK,
		ReloadTime:    st.ReloadTime,

		CounterResets:  st.Puller.Counters.Resets,
		InvalidSamples: st.Puller.Counters.InvalidSamples,
		RefusedPulls:   st.Puller.Counters.RefusedPulls,
		PullErrors: map[string]uint64{"le_boundary": st.Puller.LEErrors, "native_boundary": st.Puller.NativeErrors,
			"missing_valid": st.Puller.MissingValid},
		SkippedSamples: st.Puller.SkippedSamples,
		TicksMissed:    st.TicksMissed,

		BackfillQueries: st.Backfills.Queries + st.Puller.BackfillQueries,
		BackfillSamples: st.Backfills.Samples + st.Puller.BackfillSamples,
		BackfillBytes:   st.Backfills.Bytes + st.Puller.BackfillBytes,
		BackfillSeconds: st.Backfills.Seconds + st.Puller.BackfillSeconds,
	}
	for _, r := range scrape.Reasons() {
		self.QueryErrors[string(r)] = st.Client.Errors[r]
	}
	switch {
	case st.BackfillDone:
		self.BackfillRatio = 1
	case st.Backfill.StepsTotal > 0:
		self.BackfillRatio = float64(st.Backfill.StepsDone) / float64(st.Backfill.StepsTotal)
	}
	if st.Snapshot != nil {
		es := st.Snapshot.Stats
		self.Clamped, self.OutOfOrder, self.Invalid = es.Clamped, es.OutOfOrder, es.Invalid
		self.GroupsRefused, self.GroupsExpired = es.GroupsRefused, es.GroupsExpired
	}
	s.store.SetSelf(self)
	reason := st.NotReadyReason
	if reason == "" && !st.Ready {
		reason = "starting"
	}
	s.srv.SetReady(st.Ready, reason)
}

// costInfo converts the configuration's cost of a bad event for the JSON
// API; nil when there is none.
func costInfo(c *config.Cost) *export.CostInfo {
	if c == nil {
		return nil
	}
	return &export.CostInfo{PerEvent: c.PerEvent, Currency: c.Currency}
}
