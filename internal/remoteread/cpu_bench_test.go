package remoteread

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/synth"
)

// processCPU returns the user+system CPU time of process pid so far, from
// /proc/<pid>/stat (Linux), in clock ticks of 10 ms.
func processCPU(b *testing.B, pid int) time.Duration {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		b.Skipf("reading process CPU: %v", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %q", pid, stat)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// BenchmarkPrometheusCPU compares the CPU a real Prometheus spends to
// answer the same raw-sample read (40 counters, 3 days at 15 s, about
// 690,000 samples) through remote read and through a PromQL range
// selector with the JSON API. It reports Prometheus' CPU per read
// (prom-cpu-ms/op); the client's own decoding is not counted.
func BenchmarkPrometheusCPU(b *testing.B) {
	promtool := promtest.Binary(b, "promtool", "PROMTOOL")
	const day = 24 * 3600 * 1000
	var hist []synth.Series
	for s := 0; s < 40; s++ {
		ser := synth.Series{Labels: map[string]string{"__name__": "rr_bench_total", "pod": fmt.Sprintf("pod-%02d", s)}}
		v := 0.0
		for t := historyStart + int64(s)*97; t < historyStart+3*day; t += 15000 {
			v += float64((t / 15000 * 7919) % 17)
			ser.Samples = append(ser.Samples, synth.Sample{T: t, V: v})
		}
		hist = append(hist, ser)
	}
	var om bytes.Buffer
	if err := synth.WriteOpenMetrics(&om, hist); err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), "data")
	promtest.CreateBlocks(b, promtool, om.Bytes(), dir)
	srv := promtest.Start(b, promtest.Options{DataDir: dir})
	end := historyStart + 3*day
	window := int64(3 * day)
	q := Query{Start: rangeStart(srv, end, window), End: end, Matchers: []Matcher{{MatchEqual, "__name__", "rr_bench_total"}}}
	c := NewClient(&http.Client{Timeout: 5 * time.Minute}, srv.URL+"/api/v1/read")
	expr := fmt.Sprintf("%s[%dms]", selector(q), window)

	reads := map[string]func() (int, error){
		"remote-read": func() (int, error) {
			n := 0
			err := c.Read(context.Background(), []Query{q}, func(s Series) error { n += len(s.Samples); return nil })
			return n, err
		},
		"promql-json": func() (int, error) {
			m, err := srv.QueryMatrix(context.Background(), expr, time.UnixMilli(end))
			n := 0
			for _, s := range m {
				n += len(s.Values)
			}
			return n, err
		},
	}
	for _, name := range []string{"remote-read", "promql-json"} {
		read := reads[name]
		b.Run(name, func(b *testing.B) {
			if _, err := read(); err != nil { // warm the page cache
				b.Fatal(err)
			}
			before := processCPU(b, srv.PID())
			b.ResetTimer()
			n := 0
			for i := 0; i < b.N; i++ {
				var err error
				if n, err = read(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			cpu := processCPU(b, srv.PID()) - before
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "prom-cpu-ms/op")
			b.ReportMetric(float64(n), "samples/op")
		})
	}
}
