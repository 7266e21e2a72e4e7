package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slo-exporter/slo-exporter/config"
)

func init() { commands = append(commands, convertCommand) }

func convertCommand(app *kingpin.Application) (string, func() error) {
	cmd := app.Command("convert", `Convert OpenSLO v1 or Sloth prometheus/v1 files into slo-exporter configuration and print it.

The format of each file is detected: apiVersion: openslo/v1 documents (SLO, SLI, DataSource, AlertPolicy, AlertCondition; several per file) or a Sloth spec (version: prometheus/v1). The output is one configuration with the SLOs of all files in order, each under a comment naming where it came from; it is deterministic, so it can be checked in and diffed.

Queries must reduce to counter selectors (a selector, or rate/increase of one, optionally inside sum or sum by): the daemon reads the raw counters. What cannot be converted (RatioTimeslices budgeting, raw ratios, non-counter queries, ...) is reported with the reason, one problem per line, and nothing is printed. The result is also validated as "check" would validate it. See docs/inputs.md.`)
	files := cmd.Arg("file", "OpenSLO or Sloth YAML file.").Required().ExistingFiles()
	return cmd.FullCommand(), func() error {
		var out bytes.Buffer
		err := config.ConvertFiles(*files, &out)
		if err == nil {
			// Validate what was converted, naming the original files.
			_, err = config.LoadAny(*files, nil, nil)
		}
		if err == nil {
			_, err = os.Stdout.Write(out.Bytes())
			return err
		}
		var errs config.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				fmt.Fprintln(os.Stderr, e)
			}
			return fmt.Errorf("%d problem(s) found", len(errs))
		}
		return err
	}
}
