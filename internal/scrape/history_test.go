package scrape

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/synth"
)

// history is a synthetic history served by a real Prometheus.
type history struct {
	cfg    synth.Config
	series []synth.Series // synth_requests_total{job,model,code}
	bucket []synth.Series // synth_latency_seconds_bucket{le}
	srv    *promtest.Server
	end    time.Time // last sample time, the final instant
}

// historyEnd is the last grid point of the histories: 30s-aligned but not
// on an hour or 5m boundary, so the 5m and 1h buckets at the far edges
// of long windows are partial and the documented edge bound is exercised.
var historyEnd = time.Date(2024, 3, 1, 0, 7, 30, 0, time.UTC)

// newHistory generates `days` of synth.Standard history (incidents, resets,
// churn, a gap) plus a small latency histogram over its last two hours,
// builds TSDB blocks with promtool and starts Prometheus on them.
func newHistory(t testing.TB, days int, seed uint64) *history {
	t.Helper()
	promtool := promtest.Binary(t, "promtool", "PROMTOOL")
	bin := promtest.Binary(t, "prometheus", "PROMETHEUS")
	start := historyEnd.Add(-time.Duration(days) * 24 * time.Hour)
	h := &history{cfg: synth.Standard(start, historyEnd, seed), end: historyEnd}
	// More incidents, spread over the range, so windows see errors.
	for i := 1; i <= 6; i++ {
		h.cfg.Incidents = append(h.cfg.Incidents, synth.Incident{
			Start: start.Add(time.Duration(i) * historyEnd.Sub(start) / 7), Duration: time.Duration(10*i) * time.Minute,
			ErrorRatio: 0.05 * float64(i), Groups: []string{[]string{"a", "b"}[i%2]},
		})
	}
	// And one in the last hour, inside the short windows.
	h.cfg.Incidents = append(h.cfg.Incidents, synth.Incident{Start: historyEnd.Add(-40 * time.Minute), Duration: 7 * time.Minute, ErrorRatio: 0.3})
	h.series = synth.Generate(h.cfg)
	h.bucket = latencyBuckets(historyEnd.Add(-2*time.Hour), historyEnd)

	dir := filepath.Join(t.TempDir(), "data")
	began := time.Now()
	size := createBlocksByDay(t, promtool, append(append([]synth.Series{}, h.series...), h.bucket...), dir)
	t.Logf("promtool: %d days, %d bytes of OpenMetrics in %s", days, size, time.Since(began).Round(time.Millisecond))
	h.srv = promtest.Start(t, promtest.Options{Binary: bin, DataDir: dir})
	return h
}

// createBlocksByDay writes the series one UTC day at a time and runs
// promtool on each day: promtool 2.42 re-reads its whole input for every 2h
// block it cuts, so one file of 31 days costs 372 passes over 31 days of
// text (about 90s), while a file per day costs 12 passes over one day.
// It returns the bytes of OpenMetrics written.
func createBlocksByDay(t testing.TB, promtool string, series []synth.Series, dir string) int {
	t.Helper()
	size := 0
	for _, day := range synth.Days(series) {
		var om bytes.Buffer
		if err := synth.WriteOpenMetrics(&om, day); err != nil {
			t.Fatal(err)
		}
		size += om.Len()
		promtest.CreateBlocks(t, promtool, om.Bytes(), dir)
	}
	return size
}

// latencyBuckets returns cumulative bucket counters with deliberately
// unusual le spellings: "0.1", "0.20" and "+Inf".
func latencyBuckets(from, to time.Time) []synth.Series {
	les := []struct {
		le   string
		rate float64
	}{{"0.1", 3}, {"0.20", 5}, {"+Inf", 6}}
	var out []synth.Series
	for _, b := range les {
		s := synth.Series{Labels: map[string]string{"__name__": "synth_latency_seconds_bucket", "job": "synth", "le": b.le}}
		v := 0.0
		for tm := from; !tm.After(to); tm = tm.Add(30 * time.Second) {
			v += b.rate
			s.Samples = append(s.Samples, synth.Sample{T: tm.UnixMilli(), V: v})
		}
		out = append(out, s)
	}
	return out
}

// matches reports whether series s has all the labels in sel.
func matches(s synth.Series, sel map[string]string) bool {
	for k, v := range sel {
		if s.Labels[k] != v {
			return false
		}
	}
	return true
}

// exactIncrease is the brute-force count of events of the series matching
// sel in (from, to], split by the values of label by ("" for no split).
func exactIncrease(series []synth.Series, sel map[string]string, by string, from, to int64) map[string]float64 {
	out := map[string]float64{}
	for _, s := range series {
		if matches(s, sel) {
			out[s.Labels[by]] += synth.Increase(s, from, to)
		}
	}
	return out
}

// promqlBounds sums synth.ExtrapolationBounds over the matching series.
func promqlBounds(series []synth.Series, sel map[string]string, from, to int64, leftClosed bool) (lo, hi float64) {
	for _, s := range series {
		if !matches(s, sel) {
			continue
		}
		l, h, ok := synth.ExtrapolationBounds(s, from, to, leftClosed)
		if ok {
			lo += l
			hi += h
		}
	}
	return lo, hi
}

// scalarOf returns the single value of an instant vector.
func scalarOf(t testing.TB, v model.Vector, expr string) float64 {
	t.Helper()
	if len(v) != 1 {
		t.Fatalf("%s: %d series, want 1: %v", expr, len(v), v)
	}
	return float64(v[0].Value)
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fmtDur(d time.Duration) string { return model.Duration(d).String() }

var _ = fmt.Sprint
