package export

import (
	"bytes"
	stdgzip "compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	kgzip "github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// The benchmark's shape: 10 SLOs x 1000 groups (10,000 groups), 8 windows,
// 4 tiers, every value present.
const benchSLOs, benchGroups, benchWindows, benchTiers = 10, 1000, 8, 4

// BenchmarkExposition measures one scrape's rendering of the slo_* and
// slo_exporter_* series of a fresh snapshot, by both implementations, and
// the text implementation's scrape of a snapshot already rendered. Output
// size is reported as bytes/scrape.
func BenchmarkExposition(b *testing.B) {
	store := bigStore(benchSLOs, benchGroups, benchWindows, benchTiers)
	snap, info := store.Snapshot()
	var out bytes.Buffer
	out.Grow(64 << 20) // every variant writes into the same grown buffer

	b.Run("text", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out.Reset()
			p := &published{snap: snap, info: info} // a new snapshot: nothing cached
			_ = writeText(&out, p)
		}
		b.ReportMetric(float64(out.Len()), "bytes/scrape")
	})
	b.Run("vm-writers", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out.Reset()
			e := &vmEmitter{textEmitter: textEmitter{b: &out}}
			writeSLOs(e, snap, prepare(snap, info), ProfileFull)
		}
		b.ReportMetric(float64(out.Len()), "bytes/scrape")
	})
	b.Run("client_golang", func(b *testing.B) {
		b.ReportAllocs()
		reg := prometheus.NewRegistry()
		reg.MustRegister(NewCollector(store))
		for b.Loop() {
			out.Reset()
			mfs, err := reg.Gather()
			if err != nil {
				b.Fatal(err)
			}
			enc := expfmt.NewEncoder(&out, expfmt.NewFormat(expfmt.TypeTextPlain))
			for _, mf := range mfs {
				if err := enc.Encode(mf); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(out.Len()), "bytes/scrape")
	})
}

// BenchmarkPrepare measures the label sets built per snapshot, part of
// both implementations' cost.
func BenchmarkPrepare(b *testing.B) {
	snap, info := bigSnapshot(benchSLOs, benchGroups, benchWindows, benchTiers)
	b.ReportAllocs()
	for b.Loop() {
		prepare(snap, info)
	}
}

// BenchmarkScrapeHandler measures a whole /metrics request of the default
// implementation on a compressed snapshot: with gzip it serves the
// compressed bytes, without it renders the text into the response.
func BenchmarkScrapeHandler(b *testing.B) {
	s, err := NewServer(bigStore(benchSLOs, benchGroups, benchWindows, benchTiers), Options{})
	if err != nil {
		b.Fatal(err)
	}
	s.store.cur.Load().sloGzip() // compress once, as Store.warm does
	for _, enc := range []string{"identity", "gzip"} {
		b.Run(enc, func(b *testing.B) {
			b.ReportAllocs()
			w := &discardResponse{h: map[string][]string{}}
			req := newRequest("/metrics", enc)
			for b.Loop() {
				w.n = 0
				s.Handler().ServeHTTP(w, req)
			}
			b.ReportMetric(float64(w.n), "bytes/scrape")
		})
	}
}

// discardResponse is an http.ResponseWriter that counts and drops the body.
type discardResponse struct {
	h map[string][]string
	n int
}

func (d *discardResponse) Header() http.Header { return d.h }
func (d *discardResponse) WriteHeader(int)     {}
func (d *discardResponse) Write(p []byte) (int, error) {
	d.n += len(p)
	return io.Discard.Write(p)
}

func newRequest(target, encoding string) *http.Request {
	req := httptest.NewRequest("GET", target, nil)
	req.Header.Set("Accept-Encoding", encoding)
	return req
}

// vmEmitter is the text writer calling VictoriaMetrics/metrics'
// WriteGaugeFloat64 / WriteCounterFloat64 per series, kept to measure the
// choice documented in docs/metrics.md.
type vmEmitter struct {
	textEmitter
	name []byte
}

func (e *vmEmitter) sample(base, extra *labelSet, v float64) {
	e.name = appendName(e.name[:0], e.f.name, base, extra, "")
	if e.f.typ == counterType {
		metrics.WriteCounterFloat64(e.b, string(e.name), v)
	} else {
		metrics.WriteGaugeFloat64(e.b, string(e.name), v)
	}
}

// TestVMWritersAgree checks that the measured VictoriaMetrics variant
// writes the same text as the default writer, so the figures compare like
// with like.
func TestVMWritersAgree(t *testing.T) {
	snap, info := bigSnapshot(2, 5, 8, 4)
	var a, b bytes.Buffer
	writeSLOs(&textEmitter{b: &a}, snap, prepare(snap, info), ProfileFull)
	writeSLOs(&vmEmitter{textEmitter: textEmitter{b: &b}}, snap, prepare(snap, info), ProfileFull)
	if a.String() != b.String() {
		t.Errorf("VictoriaMetrics writers differ from the text writer:\n%s\n---\n%s", a.String(), b.String())
	}
}

// BenchmarkGzipSnapshot measures the once-per-snapshot compression of the
// slo_* text for gzipped scrapes.
func BenchmarkGzipSnapshot(b *testing.B) {
	snap, info := bigSnapshot(benchSLOs, benchGroups, benchWindows, benchTiers)
	text := (&published{snap: snap, info: info}).sloText()
	b.Run("exporter", func(b *testing.B) { // rendering into klauspost at gzipLevel, as served
		b.ReportAllocs()
		var n int
		for b.Loop() {
			p := &published{snap: snap, info: info}
			n = len(p.sloGzip())
		}
		b.ReportMetric(float64(n), "bytes/scrape")
	})
	compressors := []struct {
		name string
		new  func(io.Writer) io.WriteCloser
	}{
		{"stdlib-default", func(w io.Writer) io.WriteCloser { return stdgzip.NewWriter(w) }},
		{"stdlib-bestspeed", func(w io.Writer) io.WriteCloser {
			gz, _ := stdgzip.NewWriterLevel(w, stdgzip.BestSpeed)
			return gz
		}},
		{"klauspost-default", func(w io.Writer) io.WriteCloser { return kgzip.NewWriter(w) }},
		{"klauspost-bestspeed", func(w io.Writer) io.WriteCloser {
			gz, _ := kgzip.NewWriterLevel(w, kgzip.BestSpeed)
			return gz
		}},
	}
	for _, c := range compressors {
		b.Run(c.name, func(b *testing.B) {
			var out bytes.Buffer
			for b.Loop() {
				out.Reset()
				gz := c.new(&out)
				_, _ = gz.Write(text)
				_ = gz.Close()
			}
			b.ReportMetric(float64(out.Len()), "bytes/scrape")
		})
	}
}
