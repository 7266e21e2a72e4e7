package scrape

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// synthReader serves synthetic raw samples through RemoteRead, generated
// on the fly as the backfill benchmark's history: models x pods series of
// bench_requests_total{model, pod, code}, one sample a minute, each
// restarting once a day at an hour of its own. Only RemoteRead works: the
// benchmark drives the streamed part of a backfill alone.
type synthReader struct {
	NoStats
	series  []model.Metric
	fps     []uint64
	restart []int64 // ms into the day
	rate    []float64
	samples int
}

func newSynthReader(models, pods int) *synthReader {
	r := &synthReader{}
	for m := range models {
		for p := range pods {
			for _, code := range []string{"ok", "error"} {
				r.series = append(r.series, model.Metric{"__name__": "bench_requests_total",
					"model": model.LabelValue(fmt.Sprintf("m%03d", m)), "pod": model.LabelValue(fmt.Sprintf("p%d", p)),
					"code": model.LabelValue(code)})
				r.fps = append(r.fps, uint64(r.series[len(r.series)-1].Fingerprint()))
				r.restart = append(r.restart, int64((m*7+p*5)%24)*time.Hour.Milliseconds())
				rate := 10.0
				if code == "error" {
					rate = 0.1
				}
				r.rate = append(r.rate, rate)
			}
		}
	}
	return r
}

var errSynth = errors.New("synthReader serves RemoteRead only")

func (r *synthReader) Query(context.Context, string, time.Time) (model.Vector, error) {
	return nil, errSynth
}

func (r *synthReader) QueryRange(context.Context, string, time.Time, time.Time, time.Duration) (model.Matrix, error) {
	return nil, errSynth
}

func (r *synthReader) RawSamples(context.Context, string, time.Time, time.Time) (model.Matrix, error) {
	return nil, errSynth
}

// RemoteRead implements RemoteReader.
func (r *synthReader) RemoteRead(_ context.Context, sels []string, start, end time.Time, into ReadInto) ([][]ReadSeries, error) {
	const step = 60_000
	day := 24 * time.Hour.Milliseconds()
	out := make([][]ReadSeries, len(sels))
	var err error
	for i, sel := range sels {
		ms, ok := selectorMatchers(sel)
		if !ok {
			return nil, fmt.Errorf("%s: not a selector", sel)
		}
		lms := make([]labelMatcher, len(ms))
		for j, m := range ms {
			if lms[j], err = newLabelMatcher(m); err != nil {
				return nil, err
			}
		}
	series:
		for si, s := range r.series {
			for j := range lms {
				if !lms[j].matches(s) {
					continue series
				}
			}
			t0 := floorTo(start.UnixMilli(), step) + step
			n := 0
			if end.UnixMilli() >= t0 {
				n = int((end.UnixMilli()-t0)/step + 1)
			}
			vals := into.Alloc(n)
			for k := range vals {
				t := t0 + int64(k)*step
				since := floorTo(t-r.restart[si], day) + r.restart[si]
				vals[k] = model.SamplePair{Timestamp: model.Time(t), Value: model.SampleValue(float64(t-since) / 1000 * r.rate[si])}
			}
			r.samples += len(vals)
			out[i] = append(out[i], ReadSeries{Metric: s, FP: r.fps[si], Values: vals})
		}
	}
	return out, nil
}

// synthPuller returns a puller, on an engine of its own, with one SLO per
// model of a synthReader's history (good: its ok series, valid: all of
// them).
func synthPuller(tb testing.TB, r *synthReader, models int) *Puller {
	tb.Helper()
	specs := make([]evaluator.Spec, models)
	targets := make([]Target, models)
	for i := range specs {
		specs[i] = proofSpec(fmt.Sprintf("m%03d", i), 0.999)
		targets[i] = Target{SLO: i,
			Good:  Selector{Expr: fmt.Sprintf(`bench_requests_total{model="m%03d",code="ok"}`, i)},
			Valid: Selector{Expr: fmt.Sprintf(`bench_requests_total{model="m%03d"}`, i)}}
	}
	return newTestPuller(tb, r, interval, specs, targets)
}

// synthStarts returns where p's coarse backfill of every source over the
// span up to to starts.
func synthStarts(p *Puller, to int64, span time.Duration) map[int]int64 {
	srcs := make([]int, len(p.sources))
	starts := make([]int64, len(p.sources))
	for si := range p.sources {
		srcs[si], starts[si] = si, to-span.Milliseconds()
	}
	startOf, _ := p.backfillStarts(srcs, starts, to)
	return startOf
}

// BenchmarkStreamBackfill measures the exporter's side of a streamed
// backfill (everything but decoding the chunks, which remoteread's own
// benchmark measures): 30 days of 200 SLOs, 4 series each, one sample a
// minute, every series restarting once a day, read through unions,
// thinned and stepped, at the collector setting serve uses during a
// backfill (25%). It reports the peak of the live Go heap (sampled every
// millisecond) against the heap left when it is done. Run it with
// -cpuprofile to see where the time goes.
func BenchmarkStreamBackfill(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	const models = 200
	r := newSynthReader(models, 2)
	end := time.Date(2024, 3, 1, 0, 7, 30, 0, time.UTC)
	to := floorTo(end.UnixMilli(), interval.Milliseconds())
	for b.Loop() {
		p := synthPuller(b, r, models)
		startOf := synthStarts(p, to, 30*24*time.Hour)
		r.samples = 0
		var prog BackfillProgress
		var steps int
		var err error
		peak := peakHeap(func() { steps, err = p.coarseBackfill(b.Context(), startOf, to, &prog) })
		if err != nil || steps == 0 {
			b.Fatalf("%d steps: %v", steps, err)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "after-heap-MiB")
		b.ReportMetric(float64(r.samples), "samples")
		b.ReportMetric(float64(prog.Queries), "requests")
		b.ReportMetric(float64(p.c.bfSlots[0]), "thinned-slots")
		b.ReportMetric(float64(p.c.bfSlots[2]), "full-slots")
		b.ReportMetric(prog.ReadWait.Seconds(), "read-wait-s")
	}
}

// peakHeap runs f and returns the peak of the live Go heap meanwhile,
// sampled every millisecond. With PEAK_PROFILE set, it writes a heap
// profile there at each new peak a MiB above the last.
func peakHeap(f func()) uint64 {
	done := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var hi, profiled uint64
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			hi = max(hi, s[0].Value.Uint64())
			if path := os.Getenv("PEAK_PROFILE"); path != "" && hi > profiled+(1<<20) {
				profiled = hi
				if f, err := os.Create(path); err == nil {
					_ = pprof.WriteHeapProfile(f)
					f.Close()
				}
			}
			select {
			case <-done:
				peak <- hi
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	return <-peak
}
