// Command ml-platform-sim serves the raw Prometheus metrics of the
// reference ML platform (model-api, batch-inference, feature-store and the
// inference journey), computed exactly from the time since its start and an
// incident schedule, for demos and end-to-end tests. See docs/simulator.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/model"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/slo-exporter/slo-exporter/internal/simulator"
)

const description = `A deterministic simulator of the reference ML platform.

It serves the raw metrics the platform's SLOs read, one path per service so
that each gets its own Prometheus scrape job:

  /metrics/model-api          http_requests_total{model,code}
                              http_request_duration_seconds{model} (le 0.05 .. 2.5)
                              model_predictions_with_ground_truth_total{model}
                              model_correct_predictions_total{model}
                              models: resnet50 25/s, bert-base 15/s, llama-7b 10/s
  /metrics/batch-inference    batch_jobs_total{status="success"|"failure"}
                              batch_job_duration_seconds (le 300 .. 28800)
  /metrics/feature-store      feature_lookups_total{code="ok"|"error"}
                              feature_lookup_duration_seconds (le 0.001 .. 0.1)
  /metrics/inference-journey  inference_journey_total{result="success"|"failure"}
  /metrics                    the simulator's own Go and process metrics

Every counter is floor(integral of its rate) since the service's last
restart, so a test that knows the schedule can compute every value exactly.

Incidents (--incident, repeatable; or a YAML list under "incidents:" in
--incidents.file; or POST /-/incident with the same fields at run time;
GET /-/schedule shows the schedule):

  service=model-api,model=resnet50,start=10m,duration=5m,error_ratio=0.5,code=503
  service=model-api,kind=latency,start=20m,duration=15m,slow_ratio=0.3
  service=model-api,model=llama-7b,start=25m,duration=30m,accuracy=0.85
  service=feature-store,start=40m,duration=2m,error_ratio=0.01
  service=feature-store,kind=restart,start=42m

  service   model-api | batch-inference | feature-store | inference-journey
  model     model-api only; omitted = every model
  kind      errors | latency | quality (model-api) | restart; inferred from the magnitude
  start     offset from the simulation's start (10m, 1h30m, 2d)
  duration  how long (not for restart, which resets the counters to zero)
  error_ratio / slow_ratio / accuracy   exact decimal in [0, 1]
  code      status code of model-api errors (default 500)`

// options are the parsed flags.
type options struct {
	listen      string
	file        string
	specs       []string
	startOffset string
	startTime   string
	logLevel    string
}

// newApp defines the command line into o.
func newApp(o *options) *kingpin.Application {
	app := kingpin.New("ml-platform-sim", description)
	app.HelpFlag.Short('h')
	app.Flag("web.listen-address", "Address to serve the metrics and API on.").Default(":8099").StringVar(&o.listen)
	app.Flag("incidents.file", "YAML file with the incident schedule (a list under incidents:).").StringVar(&o.file)
	app.Flag("incident", "An incident as comma-separated key=value fields (repeatable); see above.").StringsVar(&o.specs)
	app.Flag("start.offset", "Pretend the platform started this long before now, so counters begin with history (e.g. 1h, 2d).").Default("0s").StringVar(&o.startOffset)
	app.Flag("start.time", "The simulation's start as RFC 3339 (e.g. 2025-03-01T00:00:00Z), for reproducible runs; excludes --start.offset.").StringVar(&o.startTime)
	app.Flag("log.level", "Log level: debug, info, warn or error.").Default("info").EnumVar(&o.logLevel, "debug", "info", "warn", "error")
	return app
}

// config turns the options into a simulator configuration.
func (o options) config(now func() time.Time) (simulator.Config, error) {
	cfg := simulator.Config{Now: now}
	if o.startTime != "" {
		if o.startOffset != "0s" {
			return cfg, fmt.Errorf("--start.time and --start.offset=%s exclude each other", o.startOffset)
		}
		t, err := time.Parse(time.RFC3339, o.startTime)
		if err != nil {
			return cfg, fmt.Errorf("--start.time=%s: not RFC 3339: %v", o.startTime, err)
		}
		cfg.Start = t
	} else {
		d, err := model.ParseDuration(o.startOffset)
		if err != nil {
			return cfg, fmt.Errorf("--start.offset=%s: %v", o.startOffset, err)
		}
		cfg.Start = now().Add(-time.Duration(d))
	}
	if o.file != "" {
		incs, err := simulator.LoadFile(o.file)
		if err != nil {
			return cfg, fmt.Errorf("--incidents.file: %w", err)
		}
		cfg.Incidents = incs
	}
	for _, spec := range o.specs {
		in, err := simulator.ParseSpec(spec)
		if err != nil {
			return cfg, fmt.Errorf("--incident=%s: %w", spec, err)
		}
		cfg.Incidents = append(cfg.Incidents, in)
	}
	return cfg, nil
}

func newLogger(level string, w io.Writer) *zap.Logger {
	var l zapcore.Level
	_ = l.UnmarshalText([]byte(level)) // the flag is an enum of valid levels
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(w), l))
}

// serve runs the simulator on ln until ctx is done, logging incidents as
// they start and end.
func serve(ctx context.Context, sim *simulator.Sim, ln net.Listener, log *zap.Logger) error {
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving", zap.String("address", ln.Addr().String()), zap.Time("start", sim.Start()),
		zap.Int("incidents", len(sim.Schedule())))
	for _, in := range sim.Schedule() {
		log.Info("scheduled incident", zap.Stringer("incident", in), zap.Time("at", sim.Start().Add(in.Start)))
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	seen := map[string]bool{}
	logTransitions(sim, seen, zap.NewNop()) // what happened before now is not news
	for {
		select {
		case <-ctx.Done():
			shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(shut)
		case err := <-errc:
			return err
		case <-tick.C:
			logTransitions(sim, seen, log)
		}
	}
}

// logTransitions logs each incident once when it starts and once when it
// ends, by comparing the schedule with the clock.
func logTransitions(sim *simulator.Sim, seen map[string]bool, log *zap.Logger) {
	el := sim.Now().Sub(sim.Start())
	for _, in := range sim.Schedule() {
		id := in.String() // identical incidents are logged once
		if el >= in.Start && !seen[id+"start"] {
			seen[id+"start"] = true
			log.Info("incident started", zap.Stringer("incident", in))
		}
		if in.Kind != simulator.KindRestart && el >= in.End() && !seen[id+"end"] {
			seen[id+"end"] = true
			log.Info("incident ended", zap.Stringer("incident", in))
		}
	}
}

func run(args []string, stderr io.Writer) error {
	var o options
	app := newApp(&o)
	if _, err := app.Parse(args); err != nil {
		return fmt.Errorf("%v (see ml-platform-sim --help)", err)
	}
	cfg, err := o.config(time.Now)
	if err != nil {
		return err
	}
	sim, err := simulator.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("--web.listen-address=%s: %w", o.listen, err)
	}
	log := newLogger(o.logLevel, stderr)
	defer func() { _ = log.Sync() }()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, sim, ln, log); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ml-platform-sim:", err)
		os.Exit(1)
	}
}
