package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slo-exporter/slo-exporter/internal/dashboard"
)

func init() { commands = append(commands, dashboardCommand) }

func dashboardCommand(app *kingpin.Application) (string, action) {
	cmd := app.Command("dashboard", `Write Grafana dashboards for the configured SLOs, built on the exported slo_* series.

Three files: slo-overview.json (every SLO: objective, SLI, budget, zone, firing tiers), slo-detail.json (one SLO: SLI and burn rate per window with the tiers' thresholds, budget burn-down, events, exhaustion, coverage) and slo-exporter-health.json (the exporter's own metrics). Import them in Grafana, or let the Helm chart ship them to the Grafana sidecar (dashboards.enabled=true). See docs/dashboards.md.`)
	cf := addConfigFlags(cmd)
	dir := cmd.Flag("output.dir", "Directory to write the dashboards to (created if missing); json format only.").Default(".").String()
	format := cmd.Flag("format", "json: one file per dashboard in --output.dir; helm-values: a values file on stdout that enables the Helm chart's dashboard ConfigMaps with these dashboards.").
		Default("json").Enum("json", "helm-values")
	return cmd.FullCommand(), func(ctx context.Context, stdout, stderr io.Writer) error {
		cfg, err := cf.load(stderr)
		if err != nil {
			return err
		}
		files, err := dashboard.Generate(dashboard.FromConfig(cfg))
		if err != nil {
			return err
		}
		if *format == "helm-values" {
			out, err := dashboard.HelmValues(files)
			if err != nil {
				return err
			}
			_, err = stdout.Write(out)
			return err
		}
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			return err
		}
		for _, f := range files {
			p := filepath.Join(*dir, f.Name)
			if err := os.WriteFile(p, f.JSON, 0o644); err != nil {
				return err
			}
			fmt.Fprintln(stderr, "wrote", p)
		}
		return nil
	}
}
