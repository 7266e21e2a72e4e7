package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/exporter-toolkit/web"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/daemon"
	"github.com/slo-exporter/slo-exporter/internal/export"
	"github.com/slo-exporter/slo-exporter/internal/plan"
	"github.com/slo-exporter/slo-exporter/internal/version"
)

func init() { commands = append(commands, serveCommand) }

func serveCommand(app *kingpin.Application) (string, func() error) {
	cmd := app.Command("serve", `Run the exporter: backfill, then pull, evaluate and serve the slo_* metrics.

Endpoints: / (status page), /metrics, /api/v1/slos, /api/v1/policy (the deploy gate, ?change=feature), /-/healthy, /-/ready (after the start-up backfill and first evaluation), POST /-/reload (also SIGHUP).`)
	cf := addConfigFlags(cmd)
	listen := cmd.Flag("web.listen-address", "Addresses to listen on (repeatable).").Default(":9099").Strings()
	webConfig := cmd.Flag("web.config.file", "Path to a web configuration file enabling TLS and/or basic authentication (the exporter-toolkit format).").Default("").String()
	systemd := cmd.Flag("web.systemd-socket", "Use systemd socket activation listeners instead of port listeners (Linux only).").Bool()
	level := cmd.Flag("log.level", "Log level: debug, info, warn, error.").Default("info").Enum("debug", "info", "warn", "error")
	format := cmd.Flag("log.format", "Log format: logfmt (console), json.").Default("logfmt").Enum("logfmt", "console", "json")
	pushURL := cmd.Flag("push.url", "Also push the /metrics text to this URL (VictoriaMetrics /api/v1/import/prometheus, vmagent, Pushgateway job URL), for where nothing can scrape the exporter.").String()
	pushInterval := cmd.Flag("push.interval", "How often to push.").Default("30s").Duration()
	pushHeaders := cmd.Flag("push.header", "Extra header for pushes, as 'Name: value' (repeatable).").Strings()
	exposition := cmd.Flag("web.exposition", "The /metrics implementation: text (fast, default) or client_golang (negotiates protobuf).").
		Default(string(export.ExpositionText)).Enum(string(export.ExpositionText), string(export.ExpositionClientGolang))
	return cmd.FullCommand(), func() error {
		log, slogger, err := newLoggers(*level, *format)
		if err != nil {
			return err
		}
		defer func() { _ = log.Sync() }()
		log.Info("starting slo-exporter", zap.String("version", version.Version), zap.String("revision", version.Revision))

		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()

		store := export.NewStore()
		var d *daemon.Daemon
		srv, err := export.NewServer(store, export.Options{Exposition: export.Exposition(*exposition), Logger: slogger,
			Reload: func(ctx context.Context) error { return d.Reload(ctx) }})
		if err != nil {
			return err
		}
		// The deploy gate (/api/v1/policy, slo_policy_*) decides with the
		// budget policy of the configuration loaded last.
		load := func() (*config.Config, error) {
			cfg, err := cf.load()
			if err == nil {
				store.SetPolicy(plan.Policy(cfg))
			}
			return cfg, err
		}
		d, err = daemon.New(daemon.Options{Load: load, Sink: daemon.ExportSink(store, srv), Logger: log})
		if err != nil {
			return fmt.Errorf("loading the configuration: %w", err)
		}
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					if err := d.Reload(ctx); err != nil {
						log.Error("reload on SIGHUP failed", zap.Error(err))
					}
				}
			}
		}()

		serveErr := make(chan error, 1)
		go func() {
			serveErr <- srv.ListenAndServe(ctx, &web.FlagConfig{WebListenAddresses: listen, WebSystemdSocket: systemd, WebConfigFile: webConfig})
		}()
		if *pushURL != "" {
			go func() {
				if err := srv.Push(ctx, *pushURL, *pushInterval, *pushHeaders); err != nil {
					log.Error("push stopped", zap.Error(err))
				}
			}()
		}
		runErr := make(chan error, 1)
		go func() { runErr <- d.Run(ctx) }()
		select {
		case err := <-serveErr:
			stop()
			<-runErr
			if err != nil {
				return fmt.Errorf("web server: %w", err)
			}
		case err := <-runErr:
			stop()
			<-serveErr
			if err != nil {
				return err
			}
		}
		log.Info("stopped")
		return nil
	}
}

// newLoggers builds the zap logger of the daemon and a slog logger for the
// web server (exporter-toolkit logs through slog), at the same level.
func newLoggers(level, format string) (*zap.Logger, *slog.Logger, error) {
	var zl zapcore.Level
	if err := zl.Set(level); err != nil {
		return nil, nil, fmt.Errorf("--log.level %q: %v", level, err)
	}
	zc := zap.NewProductionConfig()
	zc.Level = zap.NewAtomicLevelAt(zl)
	zc.Sampling = nil
	zc.DisableStacktrace = true
	var sh slog.Handler
	sl := &slog.HandlerOptions{Level: map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo,
		"warn": slog.LevelWarn, "error": slog.LevelError}[level]}
	if format == "json" {
		sh = slog.NewJSONHandler(os.Stderr, sl)
	} else {
		zc.Encoding = "console"
		zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
		sh = slog.NewTextHandler(os.Stderr, sl)
	}
	l, err := zc.Build()
	if err != nil {
		return nil, nil, err
	}
	return l, slog.New(sh), nil
}
