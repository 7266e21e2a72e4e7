package main

import (
	"context"
	"io"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slo-exporter/slo-exporter/internal/plan"
	"github.com/slo-exporter/slo-exporter/internal/rules"
)

func init() { commands = append(commands, rulesCommand) }

func rulesCommand(app *kingpin.Application) (string, action) {
	cmd := app.Command("rules", `Generate Prometheus alerting rules for the configured SLOs, built on the exported slo_* series.

Per SLO: one alert per enabled burn-rate tier, budget exhausted, no data, stale evaluation and absent series, and one per error-budget policy zone with a notify list (SLOErrorBudgetZone, labels zone and notify for Alertmanager routing). Load the output with rule_files, or apply it as a PrometheusRule with --format prometheusrule.`)
	cf := addConfigFlags(cmd)
	format := cmd.Flag("format", "Output format: rules (a Prometheus rule file), prometheusrule (monitoring.coreos.com/v1) or helm-values (enables the Helm chart's PrometheusRule).").
		Default(rules.FormatRules).Enum(rules.FormatRules, rules.FormatPrometheusRule, rules.FormatHelmValues)
	mode := cmd.Flag("mode", "daemon: tiers fire on slo_burn_alert; promql: compare slo_burn_rate with the threshold in PromQL.").
		Default(rules.ModeDaemon).Enum(rules.ModeDaemon, rules.ModePromQL)
	name := cmd.Flag("name", "PrometheusRule metadata.name.").Default("slo-exporter").String()
	namespace := cmd.Flag("namespace", "PrometheusRule metadata.namespace.").String()
	resourceLabels := cmd.Flag("resource-label", "A metadata label of the PrometheusRule (prometheusrule and helm-values formats), as name=value; repeatable. Set the labels your Prometheus' ruleSelector matches, e.g. --resource-label=release=kube-prometheus-stack.").
		PlaceHolder("NAME=VALUE").StringMap()
	staleAfter := cmd.Flag("stale-after", "Fire SLOEvaluationStale when the last evaluation is older than this.").Default("5m").Duration()
	inhibit := cmd.Flag("inhibitions", "Print an Alertmanager inhibit_rules snippet (pages silence tickets of the same SLO) instead.").Bool()
	return cmd.FullCommand(), func(ctx context.Context, stdout, stderr io.Writer) error {
		cfg, err := cf.load(stderr)
		if err != nil {
			return err
		}
		slos := plan.Rules(cfg)
		var out []byte
		if *inhibit {
			out, err = rules.Inhibitions(slos)
		} else {
			out, err = rules.Generate(slos, rules.Options{Format: *format, Mode: *mode, Name: *name,
				Namespace: *namespace, ResourceLabels: *resourceLabels, StaleAfter: max(*staleAfter, time.Duration(0))})
		}
		if err != nil {
			return err
		}
		_, err = stdout.Write(out)
		return err
	}
}
