package daemon

import (
	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/export"
)

// ExportSink publishes states to the export package: the snapshot and SLO
// metadata to the store, and readiness to the server. The self-metrics do
// not pass here: they are registered on the server's registry
// (Options.Registerer).
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
