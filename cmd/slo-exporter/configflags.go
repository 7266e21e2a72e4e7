package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/readers"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
)

// configFlags are the flags every configuration-reading subcommand takes.
type configFlags struct {
	files         *[]string
	prometheusURL *string
	interval      *string
}

func addConfigFlags(cmd *kingpin.CmdClause) configFlags {
	return configFlags{
		files: cmd.Flag("config.file", "SLO configuration file (YAML): slo-exporter's own format, or Sloth, Pyrra or OpenSLO, detected by apiVersion/kind. Repeatable; SLO names must be unique across files.").
			Default("slo-exporter.yaml").Strings(),
		prometheusURL: cmd.Flag("prometheus.url", "Overrides prometheus.url of the configuration.").String(),
		interval:      cmd.Flag("evaluation-interval", "Overrides global.evaluation_interval of the configuration.").String(),
	}
}

// load reads the files in any supported format with the environment and
// flag overrides; what the readers read but cannot use is printed to
// stderr as a warning.
func (f configFlags) load(stderr io.Writer) (*config.Config, error) {
	overrides := map[string]any{}
	if *f.prometheusURL != "" {
		overrides["prometheus.url"] = *f.prometheusURL
	}
	if *f.interval != "" {
		overrides["global.evaluation_interval"] = *f.interval
	}
	res, err := readers.Load(*f.files, os.Environ(), overrides, "")
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "warning: %v\n", w)
	}
	return res.Config, err
}

// prometheusClient is the query client of the commands that read history
// (backtest, report, postmortem): the configuration's server, credentials,
// timeout, concurrency and answer limits, as the daemon uses them.
func prometheusClient(cfg *config.Config) (*scrape.Client, error) {
	g := cfg.Global
	return scrape.NewClient(scrape.ClientConfig{URL: cfg.Prometheus.URL, HTTP: cfg.Prometheus.HTTPClientConfig,
		Timeout: time.Duration(g.QueryTimeout), MaxConcurrency: g.MaxConcurrentQueries,
		MaxResponseBytes: g.MaxResponseBytes.Bytes(), MaxSeries: cfg.MaxSeriesPerAnswer()})
}
