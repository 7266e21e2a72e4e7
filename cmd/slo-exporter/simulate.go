package main

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/simulate"
)

func init() { commands = append(commands, simulateCommand) }

func simulateCommand(app *kingpin.Application) (string, action) {
	cmd := app.Command("simulate", `Feed scripted incidents through the evaluator: which alert tiers fire, when, and how much budget is spent.

Example: slo-exporter simulate --objective 99.9 --incident start=0s,duration=30m,error_ratio=0.05`)
	objective := cmd.Flag("objective", `Objective as a ratio (0.999) or percent ("99.9%" or 99.9).`).Required().String()
	period := cmd.Flag("period", "Budget period.").Default("30d").String()
	incidents := cmd.Flag("incident", "An incident: start=DUR,duration=DUR,error_ratio=R (start after the clean lead-in). Repeatable.").Required().Strings()
	baseline := cmd.Flag("baseline-error-ratio", "Error ratio outside incidents.").Default("0").Float64()
	interval := cmd.Flag("interval", "Evaluation interval.").Default("30s").String()
	asJSON := cmd.Flag("json", "Print JSON instead of a table.").Bool()
	return cmd.FullCommand(), func(ctx context.Context, stdout, stderr io.Writer) error {
		obj, err := parseObjective(*objective)
		if err != nil {
			return err
		}
		p, err := parseDuration("--period", *period)
		if err != nil {
			return err
		}
		step, err := parseDuration("--interval", *interval)
		if err != nil {
			return err
		}
		sc := simulate.Scenario{Step: step, BaselineErrorRatio: *baseline,
			Spec: evaluator.Spec{Name: "simulated", Objective: obj, Period: p, Tiers: tiersWithin(p)}}
		for _, s := range *incidents {
			in, err := simulate.ParseIncident(s)
			if err != nil {
				return err
			}
			sc.Incidents = append(sc.Incidents, in)
		}
		rep, err := simulate.Run(sc)
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

// tiersWithin returns the default tiers whose long window fits the period.
func tiersWithin(period time.Duration) []evaluator.Tier {
	var out []evaluator.Tier
	for _, t := range slo.DefaultTiers() {
		if t.LongWindow <= period {
			out = append(out, t)
		}
	}
	return out
}
