package export

import (
	"bytes"
	"io"
	"strconv"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// textEmitter writes the Prometheus text format (version 0.0.4) into a
// buffer: one HELP and TYPE pair per family, then one line per series,
// values formatted as VictoriaMetrics/metrics' writers do (%g, the
// shortest exact form). It appends directly instead of calling those
// writers: they take the series name as a string and go through
// fmt.Fprintf, which costs a string and boxing per line (3x slower on the
// benchmark, see docs/metrics.md).
type textEmitter struct {
	b *bytes.Buffer
	f *family
}

func (e *textEmitter) family(f *family) {
	e.f = f
	typ := "gauge"
	switch f.typ {
	case counterType:
		typ = "counter"
	}
	buf := e.b.AvailableBuffer()
	buf = append(buf, "# HELP "...)
	buf = append(buf, f.name...)
	buf = append(buf, ' ')
	buf = append(buf, f.help...)
	buf = append(buf, "\n# TYPE "...)
	buf = append(buf, f.name...)
	buf = append(buf, ' ')
	buf = append(buf, typ...)
	buf = append(buf, '\n')
	e.b.Write(buf)
}

// appendName appends name{base,extra,le="le"}; le is left out when empty,
// the braces when there are no labels.
func appendName(n []byte, name string, base, extra *labelSet, le string) []byte {
	n = append(n, name...)
	sep := byte('{')
	for _, ls := range [2]*labelSet{base, extra} {
		if ls != nil && ls.text != "" {
			n = append(n, sep)
			n = append(n, ls.text...)
			sep = ','
		}
	}
	if le != "" {
		n = append(n, sep)
		n = append(n, `le="`...)
		n = append(n, le...)
		n = append(n, '"')
		sep = ','
	}
	if sep == ',' {
		n = append(n, '}')
	}
	return n
}

// line writes one series line.
func (e *textEmitter) line(name string, base, extra *labelSet, le string, v float64) {
	buf := appendName(e.b.AvailableBuffer(), name, base, extra, le)
	buf = append(buf, ' ')
	buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
	buf = append(buf, '\n')
	e.b.Write(buf)
}

func (e *textEmitter) sample(base, extra *labelSet, v float64) {
	e.line(e.f.name, base, extra, "", v)
}

// writeText writes the slo_* series of p in the text format.
func writeText(b *bytes.Buffer, p *published) {
	if p == nil || p.snap == nil {
		return
	}
	e := &textEmitter{b: b}
	writeSLOs(e, p.snap, prepare(p.snap, p.info), p.profile)
	writePolicy(e, p.snap, p.info, p.policy)
}

// sloText returns the text of p's slo_* series, rendered on first use and
// shared by every scrape of the same snapshot.
func (p *published) sloText() []byte {
	p.once.Do(func() {
		var b bytes.Buffer
		hint := int(p.sizeHint.Load())
		b.Grow(hint + hint/8)
		writeText(&b, p)
		p.body = b.Bytes()
		p.sizeHint.Store(int64(len(p.body)))
	})
	return p.body
}

// sloGzip returns sloText as one gzip member, compressed once per snapshot
// (by Store.warm, off the scrape path, or by the first gzipped scrape that
// comes before it) and shared by every gzipped scrape of the same snapshot.
func (p *published) sloGzip() []byte {
	p.gzOnce.Do(func() {
		text := p.sloText()
		var b bytes.Buffer
		b.Grow(len(text)/8 + 512)
		gz := gzipWriters.Get().(*gzip.Writer)
		gz.Reset(&b)
		_, _ = gz.Write(text)
		_ = gz.Close()
		gzipWriters.Put(gz)
		p.gz = b.Bytes()
	})
	return p.gz
}

// gzipWriters reuses compressors: a gzip.Writer holds about 1 MB of state.
// The compressor is klauspost/compress's gzip, which BenchmarkGzipSnapshot
// measures against the standard library's on the same snapshot.
var gzipWriters = sync.Pool{New: func() any {
	gz, _ := gzip.NewWriterLevel(io.Discard, gzipLevel)
	return gz
}}

// gzipLevel: on the exposition of 10,000 groups (47.7 MB of text),
// klauspost's default level compresses 9x faster than the standard
// library's default for 6% more bytes, and its BestSpeed another 2-3x faster
// for 25% more (BenchmarkGzipSnapshot). Compression runs once per snapshot
// and off the scrape path, so the default level's ratio is worth its time.
const gzipLevel = gzip.DefaultCompression
