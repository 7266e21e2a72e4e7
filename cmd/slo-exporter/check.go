package main

import (
	"context"
	"fmt"
	"io"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/plan"
)

func init() { commands = append(commands, checkCommand) }

func checkCommand(app *kingpin.Application) (string, action) {
	cmd := app.Command("check", "Validate configuration files (slo-exporter, Sloth, Pyrra or OpenSLO) and print every problem found (exit status 1 if any).")
	cf := addConfigFlags(cmd)
	return cmd.FullCommand(), func(ctx context.Context, stdout, stderr io.Writer) error {
		cfg, err := cf.load(stderr)
		if err == nil {
			// Also build what the daemon builds, so check fails exactly
			// when serve would.
			var p *plan.Plan
			if p, err = plan.Build(cfg); err == nil {
				_, err = evaluator.New(p.Interval, p.Specs)
			}
		}
		if err != nil {
			return printProblems(stderr, err)
		}
		for _, s := range cfg.SLOs {
			for _, w := range s.Warnings() {
				fmt.Fprintf(stderr, "warning: %s\n", w)
			}
		}
		fmt.Fprintf(stdout, "%d SLO(s) in %d file(s): OK\n", len(cfg.SLOs), len(*cf.files))
		return nil
	}
}

// printProblems prints a configuration error's problems to w, one per
// line, and returns an error that counts them.
func printProblems(w io.Writer, err error) error {
	list := config.List(err)
	for _, e := range list {
		fmt.Fprintln(w, e)
	}
	return fmt.Errorf("%d problem(s) found", len(list))
}
