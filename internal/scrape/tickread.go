package scrape

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/common/model"
	"go.uber.org/zap"

	"github.com/slo-exporter/slo-exporter/internal/remoteread"
)

// Ticks through remote read
//
// A tick reads every raw sample of its selectors since the previous pull.
// Through PromQL that is an instant query of sel[span], whose answer
// Prometheus encodes as JSON: at 100,000 groups, encoding that answer and
// collecting its garbage took over 40% of the read's CPU in Prometheus
// (docs/benchmarks.md). With PullerConfig.TickRemoteRead
// (global.tick_remote_read) the read goes through remote read instead, as
// the streamed backfill's do: the same samples, (start, end], in time
// order, without staleness markers. Prometheus then sends whole chunks
// (the head's open chunk holds up to 120 samples), which the exporter
// decodes to keep the few the tick needs: that is why it is an option,
// off by default, and not the rule.
//
// Where remote read cannot serve a read, the tick reads through PromQL:
// for the rest of the puller's life when the server does not serve it
// (404, 405, 501, an answer that is not remote read), and for that
// selector alone when its series are native histograms or it is not a
// plain selector.

// tickRead returns the raw samples of selector sel in (from, t] for a
// tick: through remote read where configured and served, else
// RawSamples.
func (p *Puller) tickRead(ctx context.Context, sel string, from, t time.Time) (model.Matrix, error) {
	rr, ok := p.q.(RemoteReader)
	if !ok || !p.cfg.TickRemoteRead || p.tickNoRemote.Load() {
		return p.q.RawSamples(ctx, sel, from, t)
	}
	if _, promql := p.tickPromQL.Load(sel); promql {
		return p.q.RawSamples(ctx, sel, from, t)
	}
	mats, err := rr.RemoteRead(ctx, []string{sel}, from, t, nil)
	switch {
	case err == nil:
		return mats[0], nil
	case !errors.Is(err, errNoRemoteRead):
		return nil, err
	case serverRefusesRemoteRead(err):
		if p.tickNoRemote.CompareAndSwap(false, true) {
			p.log.Info("ticks: remote read not available, reading through PromQL", zap.Error(err))
		}
	default:
		// This selector's series (native histograms), or the selector
		// itself, cannot go through remote read.
		if _, seen := p.tickPromQL.LoadOrStore(sel, true); !seen {
			p.log.Debug("ticks: reading a selector through PromQL", zap.String("selector", sel), zap.Error(err))
		}
	}
	return p.q.RawSamples(ctx, sel, from, t)
}

// serverRefusesRemoteRead reports whether err says the server does not
// serve remote read at all, as opposed to one selector it cannot read
// that way.
func serverRefusesRemoteRead(err error) bool {
	var se *remoteread.StatusError
	var ce *remoteread.ContentTypeError
	return errors.As(err, &se) || errors.As(err, &ce)
}
