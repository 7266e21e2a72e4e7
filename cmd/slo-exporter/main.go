// Command slo-exporter computes SLIs, error budgets and burn rates from
// Prometheus counters and exports them as slo_* metrics, and gives the tools
// around an SLO practice: budget calculator, alert rules, incident
// simulation and alert backtesting.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/alecthomas/kingpin/v2"
)

// action runs a parsed subcommand: its output goes to stdout, warnings,
// problems and progress to stderr. Commands write nowhere else, so tests
// run them in-process.
type action func(ctx context.Context, stdout, stderr io.Writer) error

// command is one subcommand: it registers its flags and returns the action
// to run once they are parsed.
type command func(app *kingpin.Application) (name string, run action)

var commands []command

// exitStatus is an error that sets the exit status of a command whose
// outcome is its status (policy check's deploy-gate codes); the command
// has printed its result, so nothing more is printed.
type exitStatus int

func (e exitStatus) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// terminated carries kingpin's exit status (after --help or --version) out
// of Parse.
type terminated int

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args, runs the subcommand and returns the exit status: 0 on
// success, 2 on a usage error, the command's status for an exitStatus,
// else 1 with the error printed to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (status int) {
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
	app.UsageWriter(stderr)
	app.ErrorWriter(stderr)
	app.Terminate(func(code int) { panic(terminated(code)) })
	defer func() {
		if r := recover(); r != nil {
			code, ok := r.(terminated)
			if !ok {
				panic(r)
			}
			status = int(code)
		}
	}()
	runs := map[string]action{}
	for _, c := range commands {
		name, run := c(app)
		runs[name] = run
	}
	cmd, err := app.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "slo-exporter: %v (see slo-exporter --help)\n", err)
		return 2
	}
	if err := runs[cmd](ctx, stdout, stderr); err != nil {
		var es exitStatus
		if errors.As(err, &es) {
			return int(es)
		}
		fmt.Fprintf(stderr, "slo-exporter %s: %v\n", cmd, err)
		return 1
	}
	return 0
}
