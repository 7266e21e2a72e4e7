package demo

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/simulator"
	"github.com/slo-exporter/slo-exporter/internal/synth"
)

// end is the demo's start in the tests: an unaligned time.
var end = time.Date(2026, 3, 14, 15, 9, 26, 535e6, time.UTC)

// liveIncidents is the demo's live schedule (the scripts' incidents file).
func liveIncidents(t *testing.T) []simulator.Incident {
	t.Helper()
	incs, err := simulator.LoadFile("../simulator/testdata/incidents.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return incs
}

// referenceSLO is a reference SLO (config/examples/ml-platform.yaml) as
// the test counts it: good and valid series chosen by name and labels.
type referenceSLO struct {
	name        string
	objective   float64
	period      time.Duration
	good, valid func(l map[string]string) bool
	grouped     bool // per model
}

func is(name string, kv ...string) func(l map[string]string) bool {
	return func(l map[string]string) bool {
		if l["__name__"] != name {
			return false
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if ok, _ := regexp.MatchString("^(?:"+kv[i+1]+")$", l[kv[i]]); !ok {
				return false
			}
		}
		return true
	}
}

var referenceSLOs = []referenceSLO{
	{"model-api-availability", 0.999, day(30), is("http_requests_total", "code", "2.."), is("http_requests_total"), true},
	{"model-api-latency", 0.95, day(7), is("http_request_duration_seconds_bucket", "le", "0.2"), is("http_request_duration_seconds_count"), true},
	{"model-api-quality", 0.92, day(1), is("model_correct_predictions_total"), is("model_predictions_with_ground_truth_total"), true},
	{"batch-inference-success", 0.95, day(30), is("batch_jobs_total", "status", "success"), is("batch_jobs_total"), false},
	{"batch-inference-completion-time", 0.95, day(30), is("batch_job_duration_seconds_bucket", "le", "14400"), is("batch_job_duration_seconds_count"), false},
	{"feature-store-availability", 0.9999, day(30), is("feature_lookups_total", "code", "ok"), is("feature_lookups_total"), false},
	{"feature-store-latency", 0.99, day(30), is("feature_lookup_duration_seconds_bucket", "le", "0.01"), is("feature_lookup_duration_seconds_count"), false},
	{"inference-journey", 0.999, day(30), is("inference_journey_total", "result", "success"), is("inference_journey_total"), false},
	{"model-api-availability-all-models", 0.999, day(30), is("http_requests_total", "code", "2.."), is("http_requests_total"), false},
}

// at sums, over the series match selects (and of model m when m is not
// empty), the last sample at or before t: brute force over the raw samples.
func at(series []synth.Series, match func(map[string]string) bool, m string, t time.Time) float64 {
	var sum float64
	for _, s := range series {
		if !match(s.Labels) || (m != "" && s.Labels["model"] != m) {
			continue
		}
		i := sort.Search(len(s.Samples), func(i int) bool { return s.Samples[i].T > t.UnixMilli() })
		if i > 0 {
			sum += s.Samples[i-1].V
		}
	}
	return sum
}

// zone is the default policy's zone of a budget remaining.
func zone(rem float64) string {
	switch {
	case rem >= 0.75:
		return "green"
	case rem >= 0.25:
		return "yellow"
	case rem >= 0:
		return "orange"
	}
	return "red"
}

// TestHistoryFirstScreen: the month the demo starts with gives, at its end,
// budgets between 0 and 100% for most SLO groups and at least one group in
// every zone, counted from the generated samples (good and valid over each
// SLO's period, the counters having no reset in the month).
func TestHistoryFirstScreen(t *testing.T) {
	o := Options{End: end, Incidents: Schedule(DefaultLength, liveIncidents(t))}
	if testing.Short() {
		o.Step = time.Hour // the default step takes ~10 s; the budgets hardly differ
	}
	series, err := Series(o)
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]int{}
	inRange, total := 0, 0
	var lines []string
	for _, s := range referenceSLOs {
		groups := []string{""}
		if s.grouped {
			groups = simulator.Models()
		}
		for _, m := range groups {
			from := end.Add(-s.period)
			good := at(series, s.good, m, end) - at(series, s.good, m, from)
			valid := at(series, s.valid, m, end) - at(series, s.valid, m, from)
			if valid <= 0 {
				t.Errorf("%s %s: no valid events over the period", s.name, m)
				continue
			}
			rem := 1 - (valid-good)/((1-s.objective)*valid)
			total++
			if rem >= 0 && rem <= 1 {
				inRange++
			}
			zones[zone(rem)]++
			lines = append(lines, fmt.Sprintf("%-36s %-9s %7.1f%% %s", s.name, m, 100*rem, zone(rem)))
		}
	}
	t.Logf("budget remaining at the demo's start:\n%s", strings.Join(lines, "\n"))
	if inRange*4 < total*3 {
		t.Errorf("%d of %d groups have a budget between 0 and 100%%, want at least three quarters", inRange, total)
	}
	for _, z := range []string{"green", "yellow", "orange", "red"} {
		if zones[z] == 0 {
			t.Errorf("no group in zone %s: %v", z, zones)
		}
	}
}

// TestHistorySeries: the samples are the simulator's values at each step,
// labelled as Prometheus labels the live scrape, from Start to End; the
// live simulator (same start and schedule) continues every series without
// a drop.
func TestHistorySeries(t *testing.T) {
	o := Options{End: end, Length: 2 * time.Hour, Step: time.Minute, Incidents: Schedule(2*time.Hour, liveIncidents(t))}
	series, err := Series(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) < 60 {
		t.Fatalf("%d series, want the simulator's ~68", len(series))
	}
	start := o.Start()
	sim, err := simulator.New(simulator.Config{Start: start, Incidents: o.Incidents})
	if err != nil {
		t.Fatal(err)
	}
	want := sim.CountersAt(end)
	later := sim.CountersAt(end.Add(30 * time.Second))
	for _, s := range series {
		l := s.Labels
		if l["job"] == "" || l["instance"] != DefaultInstance {
			t.Fatalf("series %v: want job and instance labels", l)
		}
		if n := len(s.Samples); n != 121 || s.Samples[0].T != start.UnixMilli() || s.Samples[n-1].T != start.Add(2*time.Hour).UnixMilli() {
			t.Fatalf("series %v: %d samples from %d", l, n, s.Samples[0].T)
		}
		labels := map[string]string{}
		for k, v := range l {
			if k != "__name__" && k != "job" && k != "instance" {
				labels[k] = v
			}
		}
		key := simulator.SeriesKey(l["__name__"], labels)
		last := s.Samples[len(s.Samples)-1].V
		if w, ok := want[key]; !ok || math.Abs(w-last) > 1e-9*math.Max(1, w) {
			// The last sample is at start + 2h, end's second truncated.
			if w2 := sim.CountersAt(start.Add(2 * time.Hour))[key]; math.Abs(w2-last) > 1e-9*math.Max(1, w2) {
				t.Errorf("%s: last sample %v, simulator %v", key, last, w2)
			}
		}
		if later[key] < last {
			t.Errorf("%s: the live simulator drops from %v to %v", key, last, later[key])
		}
	}
}

// TestHistoryBlocks writes a day of history as TSDB blocks with the real
// promtool and reads it back from a real Prometheus started on them: the
// demo's path, shortened.
func TestHistoryBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs promtool and Prometheus")
	}
	promtool := promtest.Binary(t, "promtool", "PROMTOOL")
	o := Options{End: time.Now(), Length: 24 * time.Hour, Incidents: Schedule(24*time.Hour, nil)}
	series, err := Series(o)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := CreateBlocks(series, promtool, dir); err != nil {
		t.Fatal(err)
	}
	prom := promtest.Start(t, promtest.Options{DataDir: dir})
	ts := o.Start().Add(12*time.Hour + 30*time.Second)
	v, err := prom.Query(context.Background(), `http_requests_total{job="model-api",model="resnet50",code="200"}`, ts)
	if err != nil {
		t.Fatal(err)
	}
	want := at(series, is("http_requests_total", "code", "200"), "resnet50", ts)
	if len(v) != 1 || float64(v[0].Value) != want || want == 0 {
		t.Errorf("Prometheus holds %v at %v, the history %v", v, ts, want)
	}
}

// TestScheduleRoundTrip: the schedule file the simulator reads back is the
// schedule the history was computed with, so the live counters continue it.
func TestScheduleRoundTrip(t *testing.T) {
	want := Schedule(DefaultLength, liveIncidents(t))
	var b strings.Builder
	if err := WriteSchedule(&b, want); err != nil {
		t.Fatal(err)
	}
	got, err := simulator.ParseFile("schedule.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(got) != len(want) {
		t.Fatalf("%d incidents read back, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].String() != want[i].String() {
			t.Errorf("incident %d: %s, want %s", i, got[i], want[i])
		}
	}
	if len(PastIncidents(DefaultLength)) != 5 || len(PastIncidents(2*24*time.Hour)) != 1 {
		t.Errorf("a shorter history must leave out the incidents before its start")
	}
}
