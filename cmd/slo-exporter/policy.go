package main

import (
	"context"
	"io"
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/gate"
	"github.com/slo-exporter/slo-exporter/internal/plan"
	"github.com/slo-exporter/slo-exporter/internal/policy"
	"github.com/slo-exporter/slo-exporter/internal/readers"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
)

func init() { commands = append(commands, policyCommand) }

func policyCommand(app *kingpin.Application) (string, action) {
	pc := app.Command("policy", "The error-budget policy: the deploy gate.")
	cmd := pc.Command("check", `Ask the error-budget policy whether a change may ship now (a deploy gate for CI/CD).

Reads the live state of the SLOs from a running exporter (--url, its /api/v1/slos) or from the slo_* series in Prometheus (--prometheus.url), takes each SLO group's budget zone, and decides with the policy: the exporter's own (from its /api/v1/policy) with --url, the one of --config.file when given, else the reference policy (docs/policy.md).

Exit codes:
  0  allow: the change may ship
  1  deny: the budget policy freezes this kind of change
  2  needs approval: allowed once the named approvers agree
  3  cannot decide: the source is unreachable, the data is down (slo_data_up 0), stale (--max-age) or missing; never read as allow`)
	change := cmd.Flag("change", "Kind of change: feature, bugfix, refactor, security, dataloss (or any kind the configured policy names).").Required().String()
	slo := cmd.Flag("slo", "Only this SLO (all its groups).").String()
	service := cmd.Flag("service", "Only the SLOs of this service.").String()
	url := cmd.Flag("url", "A running exporter's URL, e.g. http://localhost:9099 (a trailing /metrics is accepted).").String()
	promURL := cmd.Flag("prometheus.url", "Read the slo_* series from this Prometheus instead.").String()
	files := cmd.Flag("config.file", "Take the policy (and Prometheus client settings) from this configuration (repeatable).").Strings()
	output := cmd.Flag("output", "Output format: text or json.").Short('o').Default("text").Enum("text", "json")
	maxAge := cmd.Flag("max-age", "States evaluated longer ago than this are stale (exit 3); 0 disables.").Default(policy.DefaultMaxAge.String()).Duration()
	timeout := cmd.Flag("timeout", "Timeout of the whole check.").Default("30s").Duration()
	return cmd.FullCommand(), func(ctx context.Context, stdout, stderr io.Writer) error {
		opt := gate.Options{
			Request:     policy.Request{Change: *change, SLO: *slo, Service: *service, MaxAge: *maxAge},
			ExporterURL: *url,
			Output:      *output,
		}
		var cfg *config.Config
		if len(*files) > 0 {
			res, err := readers.Load(*files, os.Environ(), nil, "")
			if err != nil {
				return err
			}
			cfg = res.Config
			p := plan.Policy(cfg)
			opt.Policy = &p
		}
		if *promURL != "" {
			cc := scrape.ClientConfig{URL: *promURL, Timeout: *timeout, Retries: 1}
			if cfg != nil {
				cc.HTTP = cfg.Prometheus.HTTPClientConfig
			}
			client, err := scrape.NewClient(cc)
			if err != nil {
				return err
			}
			opt.Prometheus = client
		}
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		code := gate.Run(ctx, opt, stdout, stderr)
		cancel()
		if code != 0 {
			return exitStatus(code)
		}
		return nil
	}
}
