package main

import (
	"context"
	"io"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slo-exporter/slo-exporter/internal/specdoc"
)

func init() { commands = append(commands, docsCommand) }

func docsCommand(app *kingpin.Application) (string, action) {
	cmd := app.Command("docs", `Print the SLO specification and the error-budget policy of the configuration as Markdown.

For people who do not read YAML: per service and SLO, what is measured, the objective, the budget period, the error budget in events and outage minutes, the burn-rate alerts with their thresholds; then the policy's zones with what each allows, who approves and who is told. Commit the output next to the configuration (docs/ml-platform-slos.md is the reference platform's).`)
	cf := addConfigFlags(cmd)
	return cmd.FullCommand(), func(ctx context.Context, stdout, stderr io.Writer) error {
		cfg, err := cf.load(stderr)
		if err != nil {
			return err
		}
		return specdoc.Write(stdout, cfg, strings.Join(*cf.files, ", "))
	}
}
