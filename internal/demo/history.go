// Package demo gives the local demo a realistic past: the reference
// platform's last month, computed from the simulator's closed form and
// written as Prometheus TSDB blocks before Prometheus starts, so that
// budgets, zones, charts and dashboards show a month of data from the first
// screen, and live traffic continues the same counters from there.
//
// The history is what Prometheus would have scraped from the simulator at
// every step of the month: the same metric names, labels (job as the
// service, instance as the simulator's address) and values, from a
// simulation that started at the beginning of the month and runs the
// month's incidents (PastIncidents). The live simulator must run the same
// simulation (the same start and schedule, see Schedule): its counters are
// integrals from the start, so it then continues each series exactly where
// the history ends.
package demo

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/slo-exporter/slo-exporter/internal/simulator"
	"github.com/slo-exporter/slo-exporter/internal/synth"
)

// Defaults of Options.
const (
	DefaultLength   = 30 * 24 * time.Hour
	DefaultStep     = 15 * time.Minute
	DefaultInstance = "127.0.0.1:8099"
)

// day is an offset of whole days.
func day(n float64) time.Duration { return time.Duration(n * float64(24*time.Hour)) }

// PastIncidents is the month before the demo starts, as offsets from its
// beginning (length before the end). On top of the platform's normal error
// and latency rates, which leave most budgets between a quarter and three
// quarters spent, it holds: a resnet50 outage (5% errors for 2 h) two weeks
// in, a feature-store error burst, a bad night of batch jobs, and a
// llama-7b outage (half of its requests failing for an hour) three days
// before the end, which exhausts its 30-day budget. Incidents that would
// fall before the beginning of a shorter history are left out.
func PastIncidents(length time.Duration) []simulator.Incident {
	specs := []struct {
		before time.Duration // before the end of the history
		spec   string
	}{
		{day(16), "service=model-api,model=resnet50,duration=2h,error_ratio=0.05,code=503"},
		{day(10), "service=feature-store,duration=1h,error_ratio=0.001"},
		{day(6.5), "service=batch-inference,duration=6h,error_ratio=0.1"},
		{day(3), "service=model-api,model=llama-7b,duration=1h,error_ratio=0.5,code=500"},
		{day(1.2), "service=model-api,kind=latency,duration=30m,slow_ratio=0.2"},
	}
	var out []simulator.Incident
	for _, s := range specs {
		if s.before > length {
			continue
		}
		in, err := simulator.ParseSpec(s.spec + ",start=" + model.Duration(length-s.before).String())
		if err != nil {
			panic(fmt.Sprintf("demo: incident %q: %v", s.spec, err)) // a constant of this package
		}
		out = append(out, in)
	}
	return out
}

// Schedule is the whole schedule of the demo's simulation: the month's
// incidents, then live ones (offsets from the end of the history, as the
// demo's incidents file writes them) shifted by length.
func Schedule(length time.Duration, live []simulator.Incident) []simulator.Incident {
	out := PastIncidents(length)
	for _, in := range live {
		in.Start += length
		out = append(out, in)
	}
	return out
}

// WriteSchedule writes a schedule in the format of ml-platform-sim
// --incidents.file (simulator.ParseFile).
func WriteSchedule(w io.Writer, incs []simulator.Incident) error {
	list := make([]map[string]string, len(incs))
	for i, in := range incs {
		list[i] = in.Fields()
	}
	enc := yaml.NewEncoder(w)
	if err := enc.Encode(map[string]any{"incidents": list}); err != nil {
		return err
	}
	return enc.Close()
}

// Options describe a history.
type Options struct {
	// End is the history's last sample (the demo's start); Length how far
	// back it goes (DefaultLength when zero) and Step the interval between
	// samples (DefaultStep when zero).
	End          time.Time
	Length, Step time.Duration
	// Instance is the instance label of the live scrape (the simulator's
	// address); DefaultInstance when empty.
	Instance string
	// Incidents is the simulation's schedule (Schedule's result).
	Incidents []simulator.Incident
}

func (o Options) withDefaults() Options {
	if o.Length <= 0 {
		o.Length = DefaultLength
	}
	if o.Step <= 0 {
		o.Step = DefaultStep
	}
	if o.Instance == "" {
		o.Instance = DefaultInstance
	}
	return o
}

// Start returns the simulation's start: End - Length, in whole seconds.
func (o Options) Start() time.Time {
	o = o.withDefaults()
	return o.End.Add(-o.Length).Truncate(time.Second)
}

// Series computes the history: for every series a simulator service
// exposes, its value at Start, Start + Step, ... up to End, labelled as
// Prometheus labels the live scrape (job = service, instance).
func Series(o Options) ([]synth.Series, error) {
	o = o.withDefaults()
	start := o.Start()
	var now time.Time
	sim, err := simulator.New(simulator.Config{Start: start, Now: func() time.Time { return now }, Incidents: o.Incidents})
	if err != nil {
		return nil, err
	}
	regs := map[simulator.Service]*prometheus.Registry{}
	for _, svc := range simulator.Services() {
		regs[svc] = prometheus.NewRegistry()
		regs[svc].MustRegister(sim.Collector(svc))
	}
	byKey := map[string]*synth.Series{}
	var order []string
	add := func(labels map[string]string, t time.Time, v float64) {
		key := seriesKey(labels)
		s := byKey[key]
		if s == nil {
			s = &synth.Series{Labels: labels}
			byKey[key] = s
			order = append(order, key)
		}
		s.Samples = append(s.Samples, synth.Sample{T: t.UnixMilli(), V: v})
	}
	for now = start; !now.After(o.End); now = now.Add(o.Step) {
		for _, svc := range simulator.Services() {
			mfs, err := regs[svc].Gather()
			if err != nil {
				return nil, fmt.Errorf("demo: gathering %s: %w", svc, err)
			}
			for _, mf := range mfs {
				for _, m := range mf.Metric {
					base := map[string]string{"job": string(svc), "instance": o.Instance}
					for _, lp := range m.Label {
						base[lp.GetName()] = lp.GetValue()
					}
					expand(mf.GetName(), mf.GetType(), m, base, func(labels map[string]string, v float64) { add(labels, now, v) })
				}
			}
		}
	}
	out := make([]synth.Series, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out, nil
}

// expand turns one exposed metric into its Prometheus series, as a scrape
// stores them: a counter as name (client_golang names counters with their
// _total suffix), a histogram as name_bucket{le}, name_count and name_sum.
func expand(name string, typ dto.MetricType, m *dto.Metric, base map[string]string, emit func(map[string]string, float64)) {
	with := func(metric string, extra ...string) map[string]string {
		l := make(map[string]string, len(base)+2)
		for k, v := range base {
			l[k] = v
		}
		l["__name__"] = metric
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return l
	}
	switch typ {
	case dto.MetricType_COUNTER:
		emit(with(name), m.GetCounter().GetValue())
	case dto.MetricType_HISTOGRAM:
		h := m.GetHistogram()
		for _, b := range h.Bucket {
			emit(with(name+"_bucket", "le", simulator.FormatLe(b.GetUpperBound())), float64(b.GetCumulativeCount()))
		}
		emit(with(name+"_bucket", "le", simulator.FormatLe(math.Inf(1))), float64(h.GetSampleCount()))
		emit(with(name+"_count"), float64(h.GetSampleCount()))
		emit(with(name+"_sum"), h.GetSampleSum())
	case dto.MetricType_GAUGE:
		emit(with(name), m.GetGauge().GetValue())
	case dto.MetricType_UNTYPED:
		emit(with(name), m.GetUntyped().GetValue())
	}
}

// seriesKey identifies a label set.
func seriesKey(labels map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(labels) {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(labels[k])
		b.WriteByte(0)
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// CreateBlocks writes the history as OpenMetrics text and runs `promtool
// tsdb create-blocks-from openmetrics` into dataDir, the TSDB directory
// Prometheus will start on (its retention must exceed Length, or it deletes
// the blocks: Prometheus keeps 15 days by default).
func CreateBlocks(series []synth.Series, promtool, dataDir string) error {
	tmp, err := os.MkdirTemp("", "slo-demo-history-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	in := filepath.Join(tmp, "history.om.txt")
	f, err := os.Create(in)
	if err != nil {
		return err
	}
	if err := synth.WriteOpenMetrics(f, series); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	args := []string{"tsdb", "create-blocks-from", "openmetrics", "--quiet"}
	help, _ := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--help").CombinedOutput()
	if bytes.Contains(help, []byte("--max-block-duration")) {
		args = append(args, "--max-block-duration=24h")
	}
	args = append(args, in, dataDir)
	if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", promtool, strings.Join(args, " "), err, out)
	}
	return nil
}
