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
	"github.com/slo-exporter/slo-exporter/internal/evaluator"
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
		if len(*sloName) > 0 {
			kept := cfg.SLOs[:0]
			for _, s := range cfg.SLOs {
				for _, n := range *sloName {
					if s.Name == n {
						kept = append(kept, s)
					}
				}
			}
			if len(kept) == 0 {
				return fmt.Errorf("--slo %s: no such SLO in the configuration", strings.Join(*sloName, ","))
			}
			cfg.SLOs = kept
		}
		p, err := plan.Build(cfg)
		if err != nil {
			return err
		}
		now := time.Now().Truncate(p.Interval)
		start, err := parseTimeOrAgo("--from", *from, now)
		if err != nil {
			return err
		}
		end, err := parseTimeOrAgo("--to", *to, now)
		if err != nil {
			return err
		}
		w, err := parseDuration("--within", *within)
		if err != nil {
			return err
		}
		lead := time.Duration(0)
		for _, s := range p.Specs {
			for _, t := range s.Tiers {
				lead = max(lead, t.LongWindow)
			}
		}
		if *leadIn != "" {
			if lead, err = parseDuration("--lead-in", *leadIn); err != nil {
				return err
			}
		}
		for i := range p.Specs {
			p.Specs[i].Windows = append(p.Specs[i].Windows, p.Interval)
		}
		eng, err := evaluator.New(p.Interval, p.Specs)
		if err != nil {
			return err
		}
		rec, err := backtest.NewRecorder(eng, p.Interval, backtest.Options{SignificantFraction: *frac, Within: w})
		if err != nil {
			return err
		}
		client, err := prometheusClient(cfg)
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
		err = backtest.Replay(ctx, client, eng, p.Targets, start.Add(-lead), end, backtest.ReplayOptions{
			Interval: p.Interval, MaxPoints: cfg.Global.MaxPointsPerQuery,
			AfterStep: func(t time.Time) {
				if t.After(start) {
					rec.Observe(t)
				}
			},
			Progress: func(bp scrape.BackfillProgress) {
				fmt.Fprintf(stderr, "\rbacktest: %d/%d steps, %d queries, %d points", bp.StepsDone, bp.StepsTotal, bp.Queries, bp.Points)
			}})
		fmt.Fprintln(stderr)
		if err != nil {
			return err
		}
		rep := rec.Report()
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
