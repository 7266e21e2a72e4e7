package main

import (
	"context"
	"io"
	"os"
	"os/signal"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slo-exporter/slo-exporter/internal/report"
)

func init() { commands = append(commands, reportCommand, postmortemCommand) }

// rangeFlags are the range flags of report and postmortem.
type rangeFlags struct{ from, to, tz *string }

func addRangeFlags(cmd *kingpin.CmdClause, what string) rangeFlags {
	return rangeFlags{
		from: cmd.Flag("from", "Start of the "+what+": RFC 3339 time or date (2026-10-01, midnight in --time-zone). With --to; both left out: the last calendar month.").String(),
		to:   cmd.Flag("to", "End of the "+what+": RFC 3339 time, date or now.").String(),
		tz:   cmd.Flag("time-zone", "IANA time zone of dates, of the default month and of the times shown (default: the first calendar SLO's time_zone, else UTC).").String(),
	}
}

// runReport loads the configuration, builds the Prometheus client and runs
// report.Command.
func runReport(ctx context.Context, stdout, stderr io.Writer, cf configFlags, opt report.CommandOptions) error {
	cfg, err := cf.load(stderr)
	if err != nil {
		return err
	}
	client, err := prometheusClient(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	return report.Command(ctx, cfg, client, opt, stdout, stderr)
}

func reportCommand(app *kingpin.Application) (string, action) {
	cmd := app.Command("report", `Write the SLO report of a time range (default: the last calendar month) from Prometheus history.

Per SLO group: objective and achieved SLI, error budget spent (events and minutes), worst windows, incidents, alert tier firings, time in each policy zone, met or violated, and the policy's recommendations. The history is replayed through the same puller and engine as the daemon and backtest, so the zones and budgets are those the daemon exported. See docs/policy.md.`)
	cf := addConfigFlags(cmd)
	rf := addRangeFlags(cmd, "report")
	format := cmd.Flag("format", "Output: markdown, html (one self-contained page with SVG charts) or json.").Default(report.FormatMarkdown).
		Enum(report.FormatMarkdown, report.FormatHTML, report.FormatJSON)
	slos := cmd.Flag("slo", "Only this SLO (repeatable).").Strings()
	costs := cmd.Flag("cost-per-event", "Cost of one bad event of an SLO, as slo=cost (repeatable); the report shows the cost of the budget spent.").Strings()
	currency := cmd.Flag("currency", "Unit of --cost-per-event, e.g. EUR.").String()
	return cmd.FullCommand(), func(ctx context.Context, stdout, stderr io.Writer) error {
		return runReport(ctx, stdout, stderr, cf, report.CommandOptions{From: *rf.from, To: *rf.to, TimeZone: *rf.tz, SLOs: *slos, Format: *format,
			Costs: *costs, Currency: *currency})
	}
}

func postmortemCommand(app *kingpin.Application) (string, action) {
	cmd := app.Command("postmortem", `Draft a postmortem (Markdown) for an SLO from Prometheus history.

Filled from the data: impact (groups affected, budget spent, worst SLI, budget left), detection and reset times of the alerts, and a timeline of incidents, tier firings and zone changes. Summary, root cause, trigger, resolution, lessons and action items are left as headed blanks for people.`)
	cf := addConfigFlags(cmd)
	rf := addRangeFlags(cmd, "incident range")
	slo := cmd.Flag("slo", "The SLO.").Required().String()
	return cmd.FullCommand(), func(ctx context.Context, stdout, stderr io.Writer) error {
		return runReport(ctx, stdout, stderr, cf, report.CommandOptions{From: *rf.from, To: *rf.to, TimeZone: *rf.tz, Postmortem: *slo})
	}
}
