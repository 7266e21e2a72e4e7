package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/exporter-toolkit/web"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"
	"go.uber.org/zap/zapcore"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/daemon"
	"github.com/slo-exporter/slo-exporter/internal/export"
	"github.com/slo-exporter/slo-exporter/internal/plan"
	"github.com/slo-exporter/slo-exporter/internal/shard"
	"github.com/slo-exporter/slo-exporter/internal/version"
)

func init() { commands = append(commands, serveCommand) }

func serveCommand(app *kingpin.Application) (string, action) {
	cmd := app.Command("serve", `Run the exporter: backfill, then pull, evaluate and serve the slo_* metrics.

Endpoints: / (status page), /metrics, /api/v1/slos, /api/v1/policy (the deploy gate, ?change=feature), /-/healthy, /-/ready (after the start-up backfill and first evaluation), POST /-/reload (with --web.enable-lifecycle; SIGHUP always reloads).`)
	f := addServeFlags(cmd)
	return cmd.FullCommand(), func(ctx context.Context, stdout, stderr io.Writer) error {
		return runServe(ctx, f, stderr)
	}
}

// serveFlags are the flags of serve, read once kingpin has parsed them.
type serveFlags struct {
	config                        configFlags
	listen, pushHeaders           *[]string
	webConfig, level, format      *string
	pushURL, shard, profile, expo *string
	lifecycle, systemd            *bool
	pushInterval, tickTimeout     *time.Duration
	memRatio                      *float64
	gcPercent                     *int
	backfillGCPercent             *int
}

// addServeFlags declares serve's flags on cmd.
func addServeFlags(cmd *kingpin.CmdClause) *serveFlags {
	f := &serveFlags{config: addConfigFlags(cmd)}
	f.listen = cmd.Flag("web.listen-address", "Addresses to listen on (repeatable).").Default(":9099").Strings()
	f.webConfig = cmd.Flag("web.config.file", "Path to a web configuration file enabling TLS and/or basic authentication (the exporter-toolkit format).").Default("").String()
	f.lifecycle = cmd.Flag("web.enable-lifecycle", "Enable reloading the configuration with POST /-/reload. Off by default, as in Prometheus: anyone who reaches the port could trigger reloads; SIGHUP reloads either way.").Bool()
	f.systemd = cmd.Flag("web.systemd-socket", "Use systemd socket activation listeners instead of port listeners (Linux only).").Bool()
	f.level = cmd.Flag("log.level", "Log level: debug, info, warn, error.").Default("info").Enum("debug", "info", "warn", "error")
	f.format = cmd.Flag("log.format", "Log format: logfmt (console), json.").Default("logfmt").Enum("logfmt", "console", "json")
	f.pushURL = cmd.Flag("push.url", "Also push the /metrics text to this URL (VictoriaMetrics /api/v1/import/prometheus, vmagent, Pushgateway job URL), for where nothing can scrape the exporter.").String()
	f.pushInterval = cmd.Flag("push.interval", "How often to push.").Default("30s").Duration()
	f.pushHeaders = cmd.Flag("push.header", "Extra header for pushes, as 'Name: value' (repeatable).").Strings()
	f.shard = cmd.Flag("shard", "Evaluate only shard i of n (i/n, counted from 0): SLOs are assigned by a stable hash of their names, a composite with its components; run one replica set per shard. Empty: every SLO.").Envar("SLO_EXPORTER_SHARD").Default("").String()
	f.memRatio = cmd.Flag("runtime.memory-limit-ratio", "Set the Go memory limit (GOMEMLIMIT) to this share of the container's cgroup memory limit, so the heap is collected before the kernel kills the pod; 0 leaves it alone. Ignored when GOMEMLIMIT is set or no cgroup limit exists.").Default("0.9").Float64()
	f.gcPercent = cmd.Flag("runtime.gc-percent", "Once the start-up backfill is done, let the Go heap grow this many percent above the live heap between collections (GOGC); Go's own default is 100, which lets the process take twice its live memory. The window buckets, most of the heap, are long-lived and hold no pointers, so collecting more often costs little CPU (docs/operations.md). Ignored when the GOGC environment variable is set.").Default("25").Int()
	f.backfillGCPercent = cmd.Flag("runtime.backfill-gc-percent", "The same as --runtime.gc-percent, until the start-up backfill is done. 25 keeps the backfill's peak memory within about 1.5x the steady memory, for 1.2x (200 SLOs) to 1.7x (10,000 groups) the backfill's CPU of Go's default, 100 (docs/operations.md): raise it where a pod's memory limit has room and a faster start matters. Ignored when the GOGC environment variable is set.").Default("25").Int()
	f.profile = cmd.Flag("web.metrics-profile", "Which slo_* series /metrics carries: default (burn rate per window, SLI over the budget period, budget remaining, exhaustion, tier alerts, zone: what rules, dashboards and the policy read; 19 series per group with the default windows) or full (adds the SLI of every window, good/valid events and coverage per window and remaining events). See docs/metrics.md.").
		Default(string(export.ProfileDefault)).Enum(string(export.ProfileDefault), string(export.ProfileFull))
	f.tickTimeout = cmd.Flag("evaluation.tick-timeout", "How long one tick (its queries and any outage gap it backfills) may take; a tick that misses it is abandoned, counted, and its SLOs get slo_data_up 0 until a tick succeeds. 0 means three quarters of global.evaluation_interval; at most the interval.").
		Default("0s").Duration()
	f.expo = cmd.Flag("web.exposition", "The /metrics implementation: text (fast, default) or client_golang (negotiates protobuf).").
		Default(string(export.ExpositionText)).Enum(string(export.ExpositionText), string(export.ExpositionClientGolang))
	return f
}

// runServe wires the exporter from the flags: loggers, the web server and
// its store, the daemon, SIGHUP reloads and pushes; then serves and runs
// the daemon until ctx ends, a signal stops them or one of them fails.
func runServe(ctx context.Context, f *serveFlags, stderr io.Writer) error {
	log, slogger, err := newLoggers(*f.level, *f.format)
	if err != nil {
		return err
	}
	spec, err := shard.Parse(*f.shard)
	if err != nil {
		return fmt.Errorf("--shard: %w", err)
	}
	defer func() { _ = log.Sync() }()
	log.Info("starting slo-exporter", zap.String("version", version.Version), zap.String("revision", version.Revision))
	setMemoryLimit(*f.memRatio, log)
	setGCPercent(*f.backfillGCPercent, log)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	store := export.NewStoreProfile(export.Profile(*f.profile))
	var d *daemon.Daemon
	srv, err := export.NewServer(store, export.Options{Exposition: export.Exposition(*f.expo), Logger: slogger,
		Reload: func(ctx context.Context) error { return d.Reload(ctx) }, EnableLifecycle: *f.lifecycle,
		FirstReady: func() {
			setGCPercent(*f.gcPercent, log)
			debug.FreeOSMemory()
		}})
	if err != nil {
		return err
	}
	d, err = daemon.New(daemon.Options{Load: shardedLoader(f.config, spec, store, log, stderr), Sink: daemon.ExportSink(store, srv),
		Logger: log, Registerer: srv.Registerer(), TickTimeout: *f.tickTimeout})
	if err != nil {
		return fmt.Errorf("loading the configuration: %w", err)
	}
	reloadOnSIGHUP(ctx, d, log)

	serveErr := make(chan error, 1)
	go func() {
		serveErr <- srv.ListenAndServe(ctx, &web.FlagConfig{WebListenAddresses: f.listen, WebSystemdSocket: f.systemd, WebConfigFile: f.webConfig})
	}()
	if *f.pushURL != "" {
		go func() {
			if err := srv.Push(ctx, *f.pushURL, *f.pushInterval, *f.pushHeaders); err != nil {
				log.Error("push stopped", zap.Error(err))
			}
		}()
	}
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(ctx) }()
	if err := waitServeAndRun(stop, serveErr, runErr); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// shardedLoader returns the daemon's configuration loader: it reads the
// configuration of the flags cf, hands its budget policy to the store (the
// deploy gate, /api/v1/policy and slo_policy_*, decides with the
// configuration loaded last), and keeps only this shard's SLOs.
func shardedLoader(cf configFlags, spec shard.Spec, store *export.Store, log *zap.Logger, stderr io.Writer) func() (*config.Config, error) {
	return func() (*config.Config, error) {
		cfg, err := cf.load(stderr)
		if err != nil {
			return cfg, err
		}
		store.SetPolicy(plan.Policy(cfg))
		if spec.Count <= 1 {
			return cfg, nil
		}
		mine := spec.Filter(cfg)
		log.Info("sharded", zap.String("shard", spec.String()), zap.Int("slos", len(mine.SLOs)), zap.Int("of", len(cfg.SLOs)))
		if len(mine.SLOs) == 0 {
			log.Warn("no SLO is assigned to this shard", zap.String("shard", spec.String()))
		}
		return mine, nil
	}
}

// reloadOnSIGHUP catches SIGHUP from now on and, in a goroutine, reloads
// d's configuration on every one until ctx ends; a failed reload is logged
// and the running configuration kept.
func reloadOnSIGHUP(ctx context.Context, d *daemon.Daemon, log *zap.Logger) {
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
}

// waitServeAndRun waits until the web server (serveErr) or the daemon
// (runErr) ends, stops the other one and waits for it, and returns the
// error of the one that ended first.
func waitServeAndRun(stop func(), serveErr, runErr <-chan error) error {
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
		return err
	}
	return nil
}

// setMemoryLimit sets GOMEMLIMIT to ratio of the cgroup's memory limit
// (github.com/KimMachineGun/automemlimit reads cgroup v1 and v2), unless the
// operator set GOMEMLIMIT or the ratio is 0. Without it the Go heap may grow
// to twice the live heap and a pod sized for the live heap is OOM-killed.
func setMemoryLimit(ratio float64, log *zap.Logger) {
	if ratio <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit, err := memlimit.Set(memlimit.WithProvider(memlimit.FromCgroup), memlimit.WithRatio(min(ratio, 1)))
	switch {
	case errors.Is(err, memlimit.ErrNoLimit) || errors.Is(err, memlimit.ErrNoCgroup) || limit <= 0 || limit >= 1<<62:
		// cgroup v1 reports "no limit" as a number near 2^63.
		log.Debug("no cgroup memory limit: GOMEMLIMIT left unset")
	case err != nil:
		log.Warn("reading the cgroup memory limit", zap.Error(err))
	default:
		log.Info("GOMEMLIMIT set from the cgroup memory limit", zap.Int64("bytes", limit), zap.Float64("ratio", ratio))
	}
}

// setGCPercent sets the GC target percentage (what GOGC sets) unless the
// GOGC environment variable is set. serve calls it at start with
// --runtime.backfill-gc-percent and once the start-up backfill is done with
// --runtime.gc-percent. The default of 25 keeps the heap within 1.25x the
// live heap where no cgroup limit gives GOMEMLIMIT: at 10,000 groups Go's
// default of 100 held 593 MiB of RSS against 443 MiB, for 1.2x the CPU per
// tick. During the 31-day backfill of 200 SLOs, 25 held the peak RSS to 52
// MiB against 66 MiB at 100 (1.4x against 1.8x the steady 36 MiB), for 1.2x
// the exporter's CPU; at 10,000 groups it took 1.4 to 1.7x the CPU.
func setGCPercent(percent int, log *zap.Logger) {
	if os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(percent)
	log.Debug("GC percentage set", zap.Int("percent", percent))
}

// newLoggers builds the one logger of a run: zap, with one encoder (logfmt
// selects zap's console encoder, json its JSON encoder), and a log/slog view
// of the same core for the web server (exporter-toolkit logs through slog),
// so both write the same format into one stream.
func newLoggers(level, format string) (*zap.Logger, *slog.Logger, error) {
	var zl zapcore.Level
	if err := zl.Set(level); err != nil {
		return nil, nil, fmt.Errorf("--log.level %q: %v", level, err)
	}
	zc := zap.NewProductionConfig()
	zc.Level = zap.NewAtomicLevelAt(zl)
	zc.Sampling = nil
	zc.DisableStacktrace = true
	if format != "json" {
		zc.Encoding = "console"
		zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	}
	l, err := zc.Build()
	if err != nil {
		return nil, nil, err
	}
	return l, slog.New(zapslog.NewHandler(l.Core())), nil
}
