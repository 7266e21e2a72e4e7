package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slo-exporter/slo-exporter/internal/backtest"
	"github.com/slo-exporter/slo-exporter/internal/plan"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
)

func init() { commands = append(commands, backtestCommand) }

func backtestCommand(app *kingpin.Application) (string, action) {
	cmd := app.Command("backtest", `Replay history from Prometheus through the evaluator and judge the alert tiers.

For each SLO group and tier: when alerts would have fired and resolved, the budget each spent, detection and reset times, and precision and recall against significant events (incidents that spent --significant-fraction of the budget within --within). History starts --lead-in before --from so that every window is full when judging begins.`)
	cf := addConfigFlags(cmd)
	from := cmd.Flag("from", "Start: RFC 3339 time or a duration before now (7d).").Default("7d").String()
	to := cmd.Flag("to", "End: RFC 3339 time, or now.").Default("now").String()
	leadIn := cmd.Flag("lead-in", "History replayed before --from without judging (default: the longest tier window).").String()
	sloName := cmd.Flag("slo", "Only this SLO (repeatable).").Strings()
	frac := cmd.Flag("significant-fraction", "Budget share an incident must spend within --within to be significant.").Default("0.02").Float64()
	within := cmd.Flag("within", "Span for --significant-fraction.").Default("1h").String()
	asJSON := cmd.Flag("json", "Print JSON instead of a table.").Bool()
	return cmd.FullCommand(), func(ctx context.Context, stdout, stderr io.Writer) error {
		cfg, err := cf.load(stderr)
		if err != nil {
			return err
		}
		if err := cfg.KeepSLOs(*sloName); err != nil {
			return fmt.Errorf("--slo: %w", err)
		}
		p, err := plan.Build(cfg)
		if err != nil {
			return err
		}
		job := backtest.Job{Interval: p.Interval, Specs: p.Specs, Targets: p.Targets,
			LeadIn: backtest.LongestTierWindow(p.Specs), MaxPoints: cfg.Global.MaxPointsPerQuery,
			Options: backtest.Options{SignificantFraction: *frac},
			Progress: func(bp scrape.BackfillProgress) {
				fmt.Fprintf(stderr, "\rbacktest: %d/%d steps, %d queries, %d points", bp.StepsDone, bp.StepsTotal, bp.Queries, bp.Points)
			}}
		now := time.Now().Truncate(p.Interval)
		if job.From, err = parseTimeOrAgo("--from", *from, now); err != nil {
			return err
		}
		if job.To, err = parseTimeOrAgo("--to", *to, now); err != nil {
			return err
		}
		if job.Options.Within, err = parseDuration("--within", *within); err != nil {
			return err
		}
		if *leadIn != "" {
			if job.LeadIn, err = parseDuration("--lead-in", *leadIn); err != nil {
				return err
			}
		}
		client, err := prometheusClient(cfg)
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
		rep, err := backtest.FromPrometheus(ctx, client, job)
		fmt.Fprintln(stderr)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}
		return rep.WriteTable(stdout)
	}
}

// parseTimeOrAgo reads an RFC 3339 time, "now", or a duration before now.
func parseTimeOrAgo(flag, s string, now time.Time) (time.Time, error) {
	if s == "now" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := parseDuration(flag, strings.TrimPrefix(s, "-"))
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: neither an RFC 3339 time, now, nor a duration", flag, s)
	}
	return now.Add(-d), nil
}
