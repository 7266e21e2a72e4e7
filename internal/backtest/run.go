package backtest

import (
	"context"
	"slices"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
)

// Job is one backtest: the SLOs to replay, the span to judge, and what
// counts as a significant event.
type Job struct {
	// Interval is the engine's evaluation interval, the replay's step.
	Interval time.Duration
	// Specs and Targets are the SLOs and how their events are pulled
	// (internal/plan builds them from the configuration).
	Specs   []evaluator.Spec
	Targets []scrape.Target
	// From and To bound the judged span: steps after From up to To.
	From, To time.Time
	// LeadIn is the history replayed before From without judging, so that
	// every window is full when judging begins; LongestTierWindow(Specs)
	// is the usual choice.
	LeadIn time.Duration
	// MaxPoints caps the points per series of one range query; zero means
	// the puller's default.
	MaxPoints int
	// Options tunes what counts as a significant event.
	Options Options
	// Progress, when set, is told about every chunk of the replay.
	Progress func(scrape.BackfillProgress)
}

// FromPrometheus replays the job's history from q through a fresh engine, the
// recorder judging every step after From, and returns the report: the
// `backtest` command without its flags and output.
func FromPrometheus(ctx context.Context, q scrape.Querier, job Job) (*Report, error) {
	eng, err := evaluator.New(job.Interval, withStepWindow(job.Specs, job.Interval))
	if err != nil {
		return nil, err
	}
	rec, err := NewRecorder(eng, job.Interval, job.Options)
	if err != nil {
		return nil, err
	}
	err = Replay(ctx, q, eng, job.Targets, job.From.Add(-job.LeadIn), job.To, ReplayOptions{
		Interval: job.Interval, MaxPoints: job.MaxPoints, Progress: job.Progress,
		AfterStep: func(t time.Time) {
			if t.After(job.From) {
				rec.Observe(t)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return rec.Report(), nil
}

// LongestTierWindow returns the longest long window of the specs' tiers:
// the lead-in after which every tier judges full windows.
func LongestTierWindow(specs []evaluator.Spec) time.Duration {
	var longest time.Duration
	for _, s := range specs {
		for _, t := range s.Tiers {
			longest = max(longest, t.LongWindow)
		}
	}
	return longest
}

// withStepWindow returns copies of specs that also evaluate the step as a
// window, which the recorder reads at every step.
func withStepWindow(specs []evaluator.Spec, step time.Duration) []evaluator.Spec {
	out := slices.Clone(specs)
	for i := range out {
		out[i].Windows = append(slices.Clone(out[i].Windows), step)
	}
	return out
}
