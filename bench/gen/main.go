// Command gen is the data and configuration generator of
// scripts/bench-daemon.sh. It produces, for N values of a `model` label, the
// counters bench_requests_total{model,code="ok"|"error"} that grow at fixed
// per-model rates from a fixed origin time, so that history written as
// OpenMetrics (for promtool) and the live /metrics it serves are one
// continuous series. With -pods N > 1 every model's counters exist once per
// `pod` label value (p0 .. pN-1), each pod a counter pair of its own that
// restarts at a phase of its own; -pods 1 (the default) writes no pod label,
// byte for byte the output of the versions before the flag.
//
//	gen serve   -addr 127.0.0.1:9101 -models 1000 -origin 1700000000 [-pods 2] [-reset-every 24h]
//	gen history -models 1000 -origin T -from T -to T -step 30s [-pods 2] [-reset-every 24h] -out DIR
//	gen config  -models 1000 [-slos 5] -target ADDR -exporter ADDR -prometheus URL -interval 10s -out DIR
//	gen slos    -models 200 -prometheus URL -period 6d -interval 30s > slos.yaml
//	gen sloth   -models 200 -out DIR
//	gen proxy   -addr 127.0.0.1:9102 -target http://127.0.0.1:9190
//	gen static  -addr 127.0.0.1:9198 -file metrics.gz
//
// slos writes the configuration of scripts/bench-backfill.sh: one SLO per
// model (good: its "ok" counters, valid: all of its counters), so that the
// SLOs share no query. sloth writes the same SLOs as a Sloth spec, and the
// recording rule that backfills Sloth's 5m SLI (see slothSpec). proxy forwards to a Prometheus and counts the
// response bytes it passes, served at /-/bytes, so that the backfill cost
// of any slo-exporter build can be measured the same way. static serves a
// saved gzipped /metrics answer, byte for byte, as the floor of what the
// scraping Prometheus spends on the same exposition (see staticHandler).
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gen serve|history|config|slos|sloth|proxy|static [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "history":
		err = history(os.Args[2:])
	case "config":
		err = configs(os.Args[2:])
	case "slos":
		err = slos(os.Args[2:])
	case "sloth":
		err = sloth(os.Args[2:])
	case "proxy":
		err = proxy(os.Args[2:])
	case "static":
		err = static(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q (want serve, history, config, slos, sloth, proxy or static)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// okRate and errRate are model i's events per second (of each of its
// pods): 5 to 11 good
// requests per second and an error ratio of 0.05% to 0.2%, so the groups
// differ but every one stays inside a 99.9% objective's budget.
func okRate(i int) float64  { return float64(5 + i%7) }
func errRate(i int) float64 { return okRate(i) * 0.0005 * float64(1+i%4) }

// resetEvery, when positive, restarts the counters of model i's pod p from
// zero every resetEvery seconds, at a phase of its own (a deploy a day, at a
// different hour per model and pod): the backfill must then read raw
// samples around each restart.
var resetEvery float64

// counters returns the ok and error counter values of model i's pod p at
// unix second t for counters that started at zero at origin (and again at
// each restart, see resetEvery). Pod 0 is the model's only pair when there
// are no pods.
func counters(i, p int, origin, t float64) (ok, bad float64) {
	start := origin
	if resetEvery > 0 {
		phase := math.Mod(float64(i)*7919+float64(p)*3637, resetEvery)
		if k := math.Floor((t - origin - phase) / resetEvery); k >= 0 {
			start = origin + phase + k*resetEvery
		}
	}
	d := math.Max(0, t-start)
	return math.Floor(okRate(i) * d), math.Floor(errRate(i) * d)
}

// model is the label value of model i.
func model(i int) string { return fmt.Sprintf("m%05d", i) }

// seriesLabels is the label pairs, without braces, of model i's pod p
// before the code label: the model alone when pods <= 1, so that the
// default output does not change.
func seriesLabels(i, p, pods int) string {
	if pods <= 1 {
		return fmt.Sprintf("model=%q", model(i))
	}
	return fmt.Sprintf("model=%q,pod=\"p%d\"", model(i), p)
}

// serve exposes the counters at the time of each request.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:9101", "listen address")
	models := fs.Int("models", 1000, "number of model label values")
	origin := fs.Float64("origin", 0, "unix time at which every counter was zero")
	pods := fs.Int("pods", 1, "pod label values per model, each a counter pair of its own (1: no pod label)")
	resets := fs.Duration("reset-every", 0, "restart each pod's counters this often, at a phase of its own (0: never); the same as history's for one continuous series")
	_ = fs.Parse(args)
	if *pods < 1 {
		return fmt.Errorf("serve: -pods %d: want at least 1", *pods)
	}
	resetEvery = resets.Seconds()
	http.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		bw := bufio.NewWriterSize(w, 1<<16)
		writeText(bw, *models, *pods, *origin, float64(time.Now().UnixNano())/1e9)
		_ = bw.Flush()
	})
	return http.ListenAndServe(*addr, nil)
}

// writeText writes the exposition of all counters at time t.
func writeText(w io.Writer, models, pods int, origin, t float64) {
	fmt.Fprintln(w, "# HELP bench_requests_total Synthetic requests by model and outcome.")
	fmt.Fprintln(w, "# TYPE bench_requests_total counter")
	for i := 0; i < models; i++ {
		for p := 0; p < max(pods, 1); p++ {
			ok, bad := counters(i, p, origin, t)
			lbl := seriesLabels(i, p, pods)
			fmt.Fprintf(w, "bench_requests_total{%s,code=\"ok\"} %.0f\n", lbl, ok)
			fmt.Fprintf(w, "bench_requests_total{%s,code=\"error\"} %.0f\n", lbl, bad)
		}
	}
}

// history writes the counters from `from` to `to` (inclusive) every step as
// OpenMetrics, one file per UTC-aligned 2h block: promtool 2.42 reads its
// whole input once per 2h block it cuts, so small files keep it linear.
// The series carry job and instance labels equal to what the live scrape
// job attaches, so history and live data are the same series.
func history(args []string) error {
	fs := flag.NewFlagSet("history", flag.ExitOnError)
	models := fs.Int("models", 1000, "number of model label values")
	origin := fs.Int64("origin", 0, "unix time at which every counter was zero")
	from := fs.Int64("from", 0, "first sample, unix seconds")
	to := fs.Int64("to", 0, "last sample, unix seconds")
	step := fs.Duration("step", 30*time.Second, "sample interval")
	resets := fs.Duration("reset-every", 0, "restart each pod's counters this often, at a phase of its own (0: never)")
	pods := fs.Int("pods", 1, "pod label values per model, each a counter pair of its own (1: no pod label)")
	phase := fs.Duration("phase", 0, "offset of every timestamp from the -from grid, below -step: Prometheus stamps a target's scrapes at an offset of its own, to the millisecond")
	out := fs.String("out", "", "directory for the .om files")
	_ = fs.Parse(args)
	resetEvery = resets.Seconds()
	if *phase < 0 || *phase >= *step {
		return fmt.Errorf("history: -phase %s must be in [0, -step %s)", *phase, *step)
	}
	if *out == "" || *to <= *from || *step < time.Second || *pods < 1 {
		return fmt.Errorf("history: need -out, -from < -to, -step >= 1s and -pods >= 1 (got out=%q from=%d to=%d step=%s pods=%d)", *out, *from, *to, *step, *pods)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	st := int64(step.Seconds())
	const block = 7200
	var samples int64
	for b := *from - *from%block; b <= *to; b += block {
		first := max(b, *from)
		first += (st - (first-*from)%st) % st // stay on the -from grid
		last := min(b+block-1, *to)
		if first > last {
			continue
		}
		name := filepath.Join(*out, fmt.Sprintf("hist-%d.om", b))
		f, err := os.Create(name)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		fmt.Fprintln(w, "# HELP bench_requests Synthetic requests by model and outcome.")
		fmt.Fprintln(w, "# TYPE bench_requests counter")
		for i := 0; i < *models; i++ {
			for p := 0; p < *pods; p++ {
				lbl := `instance="bench",job="bench",` + seriesLabels(i, p, *pods)
				for t := first; t <= last; t += st {
					ok, bad := counters(i, p, float64(*origin), float64(t)+phase.Seconds())
					ts := strconv.FormatInt(t, 10)
					if *phase > 0 {
						ts = strconv.FormatFloat(float64(t)+phase.Seconds(), 'f', 3, 64)
					}
					fmt.Fprintf(w, "bench_requests_total{%s,code=\"ok\"} %.0f %s\n", lbl, ok, ts)
					fmt.Fprintf(w, "bench_requests_total{%s,code=\"error\"} %.0f %s\n", lbl, bad, ts)
					samples += 2
				}
			}
		}
		fmt.Fprintln(w, "# EOF")
		if err := w.Flush(); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	fmt.Println(samples)
	return nil
}

// windows are the eight windows of the default tiers (5m/1h, 30m/6h,
// 2h/1d, 6h/3d) plus the 30d period: the ones a rule generator records.
var windows = []string{"5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"}

// configs writes the Prometheus configurations of the phases, the
// equivalent recording rules and the slo-exporter configuration.
func configs(args []string) error {
	fs := flag.NewFlagSet("config", flag.ExitOnError)
	models := fs.Int("models", 1000, "number of model label values (the SLO's max_groups)")
	nSLOs := fs.Int("slos", 1, "split the models between this many SLOs by the last two digits of their number (a divisor of 100)")
	target := fs.String("target", "127.0.0.1:9101", "address of `gen serve`")
	exporter := fs.String("exporter", "127.0.0.1:9199", "address of slo-exporter")
	floor := fs.String("static", "127.0.0.1:9198", "address of `gen static` (the scrape floor)")
	promURL := fs.String("prometheus", "http://127.0.0.1:9190", "Prometheus URL for slo-exporter")
	interval := fs.String("interval", "10s", "slo-exporter evaluation_interval")
	scrape := fs.String("scrape-interval", "30s", "Prometheus scrape interval")
	ruleInterval := fs.String("rule-interval", "30s", "recording rule evaluation interval")
	out := fs.String("out", "", "output directory")
	_ = fs.Parse(args)
	if *out == "" {
		return fmt.Errorf("config: -out is required")
	}
	sloText, err := benchSLOs(*models, *nSLOs)
	if err != nil {
		return err
	}
	genJob := fmt.Sprintf(`  - job_name: bench
    scrape_interval: %s
    static_configs: [{targets: [%q]}]
    relabel_configs: [{target_label: instance, replacement: bench}]
`, *scrape, *target)
	head := fmt.Sprintf("global:\n  scrape_interval: %s\n  evaluation_interval: %s\n", *scrape, *ruleInterval)
	exporterJob := fmt.Sprintf(`  - job_name: slo-exporter
    scrape_interval: 30s
    scrape_timeout: 25s
    static_configs: [{targets: [%q]}]
`, *exporter)
	files := map[string]string{
		"prometheus-base.yml":    head + "scrape_configs:\n" + genJob,
		"prometheus-scraped.yml": head + "scrape_configs:\n" + genJob + exporterJob,
		// The exporter and, in the same Prometheus, a static copy of its
		// answer: the floor of its scrape.
		"prometheus-floor.yml": head + "scrape_configs:\n" + genJob + exporterJob + fmt.Sprintf(`  - job_name: static
    scrape_interval: 30s
    scrape_timeout: 25s
    static_configs: [{targets: [%q]}]
`, *floor),
		"prometheus-rules.yml": head + "rule_files: [rules.yml]\nscrape_configs:\n" + genJob,
		"rules.yml":            rules(*ruleInterval),
		"slo.yaml": fmt.Sprintf(`# %d grouped ratio SLO(s) with %d groups in all (generated by bench/gen).
global:
  evaluation_interval: %s
  backfill: true
prometheus:
  url: %s
slos:
%s`, *nSLOs, *models, *interval, *promURL, sloText),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(*out, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// benchSLOs is the slos: list of the bench configuration: n SLOs grouped
// by model, SLO j holding the models whose number ends in one of the
// two-digit suffixes j*100/n .. (j+1)*100/n-1, so that they split the
// models evenly. One SLO keeps its historical name, bench-availability, and
// selectors.
func benchSLOs(models, n int) (string, error) {
	if n <= 0 || 100%n != 0 {
		return "", fmt.Errorf("config: -slos %d: want a divisor of 100", n)
	}
	var b strings.Builder
	per := 100 / n
	for j := 0; j < n; j++ {
		name, match := "bench-availability", ""
		maxGroups := models
		if n > 1 {
			name = fmt.Sprintf("bench-availability-%d", j)
			suffixes := make([]string, per)
			for k := range suffixes {
				suffixes[k] = fmt.Sprintf("%02d", j*per+k)
			}
			match = fmt.Sprintf(`,model=~"m[0-9]*(%s)"`, strings.Join(suffixes, "|"))
			maxGroups = (models + n - 1) / n
		}
		fmt.Fprintf(&b, `  - name: %s
    service: bench
    objective: 99.9%%
    period: 30d
    group_by: [model]
    max_groups: %d
    sli:
      ratio:
        good: 'bench_requests_total{job="bench",code="ok"%[3]s}'
        valid: 'bench_requests_total{job="bench"%[3]s}'
`, name, maxGroups, match)
	}
	return b.String(), nil
}

// rules is the rule group a rule generator writes for the SLO: per window
// the SLI (good/valid) and the error ratio (bad/valid), by model.
func rules(interval string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "groups:\n  - name: bench-availability\n    interval: %s\n    rules:\n", interval)
	for _, w := range windows {
		fmt.Fprintf(&b, `      - record: slo:sli_ratio:rate%[1]s
        expr: sum by (model) (rate(bench_requests_total{job="bench",code="ok"}[%[1]s])) / sum by (model) (rate(bench_requests_total{job="bench"}[%[1]s]))
      - record: slo:error_ratio:rate%[1]s
        expr: sum by (model) (rate(bench_requests_total{job="bench",code="error"}[%[1]s])) / sum by (model) (rate(bench_requests_total{job="bench"}[%[1]s]))
`, w)
	}
	return b.String()
}

// slos prints a configuration with one SLO per model: good is the model's
// code="ok" series (one per pod), valid all of its series.
func slos(args []string) error {
	fs := flag.NewFlagSet("slos", flag.ExitOnError)
	models := fs.Int("models", 200, "number of SLOs, one per model")
	promURL := fs.String("prometheus", "http://127.0.0.1:9190", "Prometheus URL for slo-exporter")
	period := fs.String("period", "30d", "budget period of every SLO")
	interval := fs.String("interval", "30s", "slo-exporter evaluation_interval")
	_ = fs.Parse(args)
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(w, "global:\n  evaluation_interval: %s\n  backfill: true\nprometheus:\n  url: %s\nslos:\n", *interval, *promURL)
	for i := 0; i < *models; i++ {
		fmt.Fprintf(w, `  - name: bench-%[1]s
    service: bench
    objective: 99.9%%
    period: %[2]s
    sli:
      ratio:
        good: 'bench_requests_total{job="bench",model="%[1]s",code="ok"}'
        valid: 'bench_requests_total{job="bench",model="%[1]s"}'
`, model(i), *period)
	}
	return w.Flush()
}

// slothSpec is a Sloth prometheus/v1 spec of the SLOs that slos writes:
// service bench, one SLO per model named after it (so Sloth's sloth_id is
// bench-<model>), 99.9% over Sloth's default 30d period, errors the
// model's code="error" series and total all of its series, with Sloth's
// page and ticket alerts, as a Sloth user would write them.
func slothSpec(models int) string {
	var b strings.Builder
	b.WriteString("version: prometheus/v1\nservice: bench\nslos:\n")
	for i := 0; i < models; i++ {
		fmt.Fprintf(&b, `  - name: %[1]s
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(bench_requests_total{job="bench",model="%[1]s",code="error"}[{{.window}}]))
        total_query: sum(rate(bench_requests_total{job="bench",model="%[1]s"}[{{.window}}]))
    alerting:
      name: BenchErrorBudgetBurn
      page_alert: {labels: {severity: page}}
      ticket_alert: {labels: {severity: ticket}}
`, model(i))
	}
	return b.String()
}

// slothBackfill is one recording rule that computes, for every model at
// once, the series Sloth's 5m SLI rule of each SLO of slothSpec records:
// slo:sli_error:ratio_rate5m with Sloth's labels sloth_id, sloth_service,
// sloth_slo and sloth_window. promtool tsdb create-blocks-from rules runs it
// over the history, so that the 30d SLI of Sloth's optimized rules (an
// average of the recorded 5m SLI over 30d) reads as many samples as it
// would after 30 days of running, not the few minutes since it was loaded.
// One rule instead of Sloth's 200 keeps the backfill to one range query
// per block.
func slothBackfill(interval string) string {
	return fmt.Sprintf(`groups:
  - name: sloth-sli-5m-backfill
    interval: %s
    rules:
      - record: slo:sli_error:ratio_rate5m
        expr: |
          sum without (model) (label_replace(label_replace(
            sum by (model) (rate(bench_requests_total{job="bench",code="error"}[5m]))
            / sum by (model) (rate(bench_requests_total{job="bench"}[5m])),
            "sloth_slo", "$1", "model", "(.*)"), "sloth_id", "bench-$1", "model", "(.*)"))
        labels:
          sloth_service: bench
          sloth_window: 5m
`, interval)
}

// sloth writes sloth-spec.yaml (slothSpec) and sloth-backfill.yml
// (slothBackfill) into -out.
func sloth(args []string) error {
	fs := flag.NewFlagSet("sloth", flag.ExitOnError)
	models := fs.Int("models", 200, "number of SLOs, one per model")
	interval := fs.String("interval", "30s", "evaluation interval of the Sloth rules, the step of the 5m SLI backfill")
	out := fs.String("out", "", "output directory")
	_ = fs.Parse(args)
	if *out == "" {
		return fmt.Errorf("sloth: -out is required")
	}
	for name, text := range map[string]string{
		"sloth-spec.yaml":    slothSpec(*models),
		"sloth-backfill.yml": slothBackfill(*interval),
	} {
		if err := os.WriteFile(filepath.Join(*out, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// proxy forwards every request to -target and counts the response bytes.
func proxy(args []string) error {
	fs := flag.NewFlagSet("proxy", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:9102", "listen address")
	target := fs.String("target", "http://127.0.0.1:9190", "Prometheus base URL")
	_ = fs.Parse(args)
	var mu sync.Mutex
	var bytes, requests int64
	client := &http.Client{}
	mux := http.NewServeMux()
	mux.HandleFunc("/-/bytes", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%d %d\n", bytes, requests)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), r.Method, *target+r.URL.RequestURI(), r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		n, _ := io.Copy(w, resp.Body)
		mu.Lock()
		bytes += n
		requests++
		mu.Unlock()
	})
	return http.ListenAndServe(*addr, mux)
}

// static serves -file, a gzipped /metrics answer saved from slo-exporter,
// at /metrics (see staticHandler).
func static(args []string) error {
	fs := flag.NewFlagSet("static", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:9198", "listen address")
	file := fs.String("file", "", "a gzipped text exposition, as saved by curl -H 'Accept-Encoding: gzip'")
	_ = fs.Parse(args)
	if *file == "" {
		return fmt.Errorf("static: -file is required")
	}
	h, err := staticHandler(*file)
	if err != nil {
		return err
	}
	return http.ListenAndServe(*addr, h)
}

// staticHandler answers every request with the gzipped exposition in file:
// the saved bytes as they are (Content-Encoding: gzip) to a client that
// accepts gzip, as Prometheus does, and decompressed to one that does
// not. It is the floor of a scrape: what the scraping Prometheus spends
// fetching, decompressing, parsing and appending the same samples when the
// target does no work at all.
func staticHandler(file string) (http.Handler, error) {
	zipped, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		return nil, fmt.Errorf("static: %s: not gzip: %w", file, err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("static: %s: %w", file, err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Vary", "Accept-Encoding")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(zipped)
			return
		}
		_, _ = w.Write(plain)
	}), nil
}
