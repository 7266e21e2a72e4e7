package backtest

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
)

// ReplayOptions configures Replay.
type ReplayOptions struct {
	// Interval is the engine's evaluation interval, the replay's step.
	Interval time.Duration
	// MaxPoints caps the points per series of one range query; zero means
	// the puller's default.
	MaxPoints int
	// AfterStep is called after every step is recorded, with the step's
	// end; the engine holds the history up to it.
	AfterStep func(t time.Time)
	// Progress, when set, is told about every chunk.
	Progress func(scrape.BackfillProgress)
}

// Replay feeds eng with the history of targets over (from, to] from q,
// through the same puller (range queries of raw samples, reset-aware
// deltas) that the daemon's backfill uses, calling AfterStep after every
// step. It is the driver of `backtest`, `report` and `postmortem`.
//
// A puller's Backfill replays at most the longest period of its targets
// before its end, so a range longer than the shortest period is replayed
// in consecutive chunks of that length; each chunk resumes after the
// previous one's last pull, so no step is recorded twice or skipped.
func Replay(ctx context.Context, q scrape.Querier, eng *evaluator.Engine, targets []scrape.Target, from, to time.Time, opt ReplayOptions) error {
	if !to.After(from) {
		return fmt.Errorf("replay: from %s is not before to %s", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	puller, err := scrape.NewPuller(q, eng, targets, scrape.PullerConfig{Interval: opt.Interval,
		MaxPoints: opt.MaxPoints, Logger: zap.NewNop(), AfterStep: opt.AfterStep})
	if err != nil {
		return err
	}
	chunk := 24 * time.Hour
	for i := range eng.Len() {
		spec := eng.Spec(i)
		if spec.Period > 0 && spec.Period < chunk {
			chunk = spec.Period
		}
	}
	for end := from.Add(chunk); ; end = end.Add(chunk) {
		if end.After(to) {
			end = to
		}
		if err := puller.Backfill(ctx, from, end, opt.Progress); err != nil {
			return err
		}
		if !end.Before(to) {
			return nil
		}
	}
}
