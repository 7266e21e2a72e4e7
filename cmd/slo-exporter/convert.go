package main

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slo-exporter/slo-exporter/internal/readers"
)

func init() { commands = append(commands, convertCommand) }

func convertCommand(app *kingpin.Application) (string, action) {
	cmd := app.Command("convert", `Convert Sloth, Pyrra or OpenSLO files into slo-exporter configuration and print it.

The format of each file is detected from its apiVersion and kind (Sloth: version prometheus/v1 or sloth.slok.dev/v1 PrometheusServiceLevel; Pyrra: pyrra.dev/v1alpha1 ServiceLevelObjective; OpenSLO: openslo/v1), or given with --from. The output is one configuration with the SLOs of all files in order, each under a comment naming where it came from; it is deterministic, so it can be checked in and diffed, and it is validated as "check" would validate it.

Queries must reduce to counters (a selector, or rate/increase of one, optionally inside sum or sum by; ratios of such): the daemon reads the raw counters. Alert names, labels and annotations are carried onto the alert tiers. What cannot be converted is reported with the reason, one problem per line, and nothing is printed; what is read but has no effect is printed as a warning. --check compares each SLO's alert thresholds and windows with what Sloth or Pyrra would generate. See docs/migrating.md.`)
	from := cmd.Flag("from", "Source format: sloth, pyrra or openslo (default: detect per file).").Enum(string(readers.Sloth), string(readers.Pyrra), string(readers.OpenSLO))
	check := cmd.Flag("check", "Instead of the configuration, print how each SLO's alert tiers compare with the alerts the source tool generates (exit status 1 on any difference).").Bool()
	files := cmd.Arg("file", "Sloth, Pyrra or OpenSLO YAML file.").Required().ExistingFiles()
	return cmd.FullCommand(), func(ctx context.Context, stdout, stderr io.Writer) error {
		res, err := readers.Load(*files, nil, nil, readers.Format(*from))
		for _, w := range res.Warnings {
			fmt.Fprintf(stderr, "warning: %v\n", w)
		}
		if err != nil {
			return printProblems(stderr, err)
		}
		if *check {
			diffs := readers.Check(res)
			for _, d := range diffs {
				fmt.Fprintln(stdout, d)
			}
			if len(diffs) > 0 {
				return fmt.Errorf("%d difference(s) from the source tool's alerts", len(diffs))
			}
			fmt.Fprintf(stdout, "%d SLO(s): alert thresholds and windows match the source tools' (%d alert condition(s) compared)\n",
				len(res.Config.SLOs), len(readers.Expectations(res)))
			return nil
		}
		var out bytes.Buffer
		if err := readers.Print(res, &out); err != nil {
			return printProblems(stderr, err)
		}
		_, err = stdout.Write(out.Bytes())
		return err
	}
}
