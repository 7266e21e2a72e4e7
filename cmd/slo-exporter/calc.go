package main

import (
	"context"
	"encoding/json"
	"io"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slo-exporter/slo-exporter/internal/calc"
)

func init() { commands = append(commands, calcCommand) }

func calcCommand(app *kingpin.Application) (string, action) {
	cmd := app.Command("calc", "Error-budget calculator: budget, tier thresholds and detection times for an objective and period.")
	objective := cmd.Flag("objective", `Objective as a ratio (0.999) or percent ("99.9%" or 99.9).`).Required().String()
	period := cmd.Flag("period", "Budget period (Prometheus duration).").Default("30d").String()
	rate := cmd.Flag("events-per-second", "Traffic, to express the budget in events.").Float64()
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
		res, err := calc.Compute(obj, p, slo.DefaultTiers(), *rate)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		}
		return res.WriteTable(stdout)
	}
}
