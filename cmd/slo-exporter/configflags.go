package main

import (
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slo-exporter/slo-exporter/config"
)

// configFlags are the flags every configuration-reading subcommand takes.
type configFlags struct {
	files         *[]string
	prometheusURL *string
	interval      *string
}

func addConfigFlags(cmd *kingpin.CmdClause) configFlags {
	return configFlags{
		files: cmd.Flag("config.file", "SLO configuration file (YAML). Repeatable; SLO names must be unique across files.").
			Default("slo-exporter.yaml").Strings(),
		prometheusURL: cmd.Flag("prometheus.url", "Overrides prometheus.url of the configuration.").String(),
		interval:      cmd.Flag("evaluation-interval", "Overrides global.evaluation_interval of the configuration.").String(),
	}
}

// load reads the files with the environment and flag overrides.
func (f configFlags) load() (*config.Config, error) {
	overrides := map[string]any{}
	if *f.prometheusURL != "" {
		overrides["prometheus.url"] = *f.prometheusURL
	}
	if *f.interval != "" {
		overrides["global.evaluation_interval"] = *f.interval
	}
	return config.LoadAny(*f.files, os.Environ(), overrides)
}
