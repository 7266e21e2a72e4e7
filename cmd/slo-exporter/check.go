package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/plan"
)

func init() { commands = append(commands, checkCommand) }

func checkCommand(app *kingpin.Application) (string, func() error) {
	cmd := app.Command("check", "Validate configuration files and print every problem found (exit status 1 if any).")
	cf := addConfigFlags(cmd)
	return cmd.FullCommand(), func() error {
		cfg, err := cf.load()
		if err == nil {
			// Also build what the daemon builds, so check fails exactly
			// when serve would.
			var p *plan.Plan
			if p, err = plan.Build(cfg); err == nil {
				_, err = evaluator.New(p.Interval, p.Specs)
			}
		}
		if err != nil {
			var errs config.Errors
			if errors.As(err, &errs) {
				for _, e := range errs {
					fmt.Fprintln(os.Stderr, e)
				}
				return fmt.Errorf("%d problem(s) found", len(errs))
			}
			return err
		}
		for _, s := range cfg.SLOs {
			for _, w := range s.Warnings() {
				fmt.Fprintf(os.Stderr, "warning: %s\n", w)
			}
		}
		fmt.Printf("%d SLO(s) in %d file(s): OK\n", len(cfg.SLOs), len(*cf.files))
		return nil
	}
}
