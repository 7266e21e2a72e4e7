// Command slo-exporter computes SLIs, error budgets and burn rates from
// Prometheus counters and exports them as slo_* metrics, and gives the tools
// around an SLO practice: budget calculator, alert rules, incident
// simulation and alert backtesting.
package main

import (
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"
)

// command is one subcommand: it registers its flags and returns the action
// to run once they are parsed.
type command func(app *kingpin.Application) (name string, run func() error)

var commands []command

func main() {
	app := kingpin.New("slo-exporter", `Exact SLOs for Prometheus.

slo-exporter pulls good/valid event counters from Prometheus (or Thanos,
Mimir, VictoriaMetrics) every evaluation interval, keeps exact per-SLO event
counts in memory (backfilled from Prometheus on start), and exports SLIs,
error budgets and multi-window burn rates as slo_* metrics, so alert rules
stay one-liners and Prometheus never re-scans 30 days of raw data.

Start with "slo-exporter serve --config.file=slo.yaml"; validate a
configuration with "slo-exporter check --config.file=slo.yaml".`)
	app.HelpFlag.Short('h')
	app.Version(versionString())
	runs := map[string]func() error{}
	for _, c := range commands {
		name, run := c(app)
		runs[name] = run
	}
	cmd, err := app.Parse(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "slo-exporter: %v (see slo-exporter --help)\n", err)
		os.Exit(2)
	}
	if err := runs[cmd](); err != nil {
		fmt.Fprintf(os.Stderr, "slo-exporter %s: %v\n", cmd, err)
		os.Exit(1)
	}
}
