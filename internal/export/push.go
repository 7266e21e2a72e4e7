package export

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Push POSTs the /metrics text (gzipped) to url every interval until ctx
// is cancelled, with VictoriaMetrics/metrics' push client: for
// VictoriaMetrics' /api/v1/import/prometheus, vmagent or a Pushgateway
// job URL, where nothing can scrape the exporter. headers are extra
// request headers such as "Authorization: Bearer ...". Errors of single
// pushes are logged; Push returns once the pusher stopped.
func (s *Server) Push(ctx context.Context, url string, interval time.Duration, headers []string) error {
	var wg sync.WaitGroup
	err := metrics.InitPushExtWithOptions(ctx, url, interval, func(w io.Writer) {
		if err := s.WriteText(w); err != nil {
			s.opt.Logger.Warn("push: writing the exposition", "err", err)
		}
	}, &metrics.PushOptions{
		Method: "POST", Headers: headers, WaitGroup: &wg,
		LogErr: func(format string, a ...any) { s.opt.Logger.Warn(fmt.Sprintf(format, a...)) },
	})
	if err != nil {
		return fmt.Errorf("export: push to %s: %w", url, err)
	}
	wg.Wait()
	return nil
}
