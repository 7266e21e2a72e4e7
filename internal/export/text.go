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
//
// With w set, the buffer is handed to w whenever it holds flushSize bytes,
// so that an exposition of any size streams through one small buffer
// instead of being held whole (26 MB at 10,000 groups of the full profile);
// without, everything stays in b.
type textEmitter struct {
	b *bytes.Buffer
	f *family
	w io.Writer
	// err is w's first error; later output is dropped.
	err error
}

// flushSize is the buffered text at which a streaming textEmitter writes
// to its writer.
const flushSize = 32 << 10

// spill writes the buffer to w once it holds flushSize bytes.
func (e *textEmitter) spill() {
	if e.w != nil && e.b.Len() >= flushSize {
		e.flush()
	}
}

// flush writes the buffer to w (if set) and returns w's first error.
func (e *textEmitter) flush() error {
	if e.w == nil {
		return nil
	}
	if e.err == nil && e.b.Len() > 0 {
		_, e.err = e.w.Write(e.b.Bytes())
	}
	e.b.Reset()
	return e.err
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
	e.spill()
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
	e.spill()
}

func (e *textEmitter) sample(base, extra *labelSet, v float64) {
	e.line(e.f.name, base, extra, "", v)
}

// writeText writes the slo_* series of p in the text format to w, through
// a buffer of about flushSize bytes, and returns w's first error.
func writeText(w io.Writer, p *published) error {
	if p == nil || p.snap == nil {
		return nil
	}
	var b bytes.Buffer
	b.Grow(flushSize + 4<<10)
	e := &textEmitter{b: &b, w: w}
	writeSLOs(e, p.snap, prepare(p.snap, p.info), p.profile)
	writePolicy(e, p.snap, p.info, p.policy)
	return e.flush()
}

// sloText returns the text of p's slo_* series, rendered anew: /metrics
// streams it (writeText) or serves the compressed copy (sloGzip) instead
// of holding it.
func (p *published) sloText() []byte {
	var b bytes.Buffer
	_ = writeText(&b, p)
	return b.Bytes()
}

// sloGzip returns p's slo_* text as one gzip member, rendered straight into
// the compressor once per snapshot (by Store.warm, off the scrape path, or
// by the first gzipped scrape that comes before it) and shared by every
// gzipped scrape of the same snapshot. It is the only copy of the
// exposition the store holds: about 1/25 of the text.
func (p *published) sloGzip() []byte {
	p.gzOnce.Do(func() {
		var b bytes.Buffer
		hint := int(p.sizeHint.Load())
		b.Grow(hint + hint/8 + 512)
		gz := gzipWriters.Get().(*gzip.Writer)
		gz.Reset(&b)
		_ = writeText(gz, p)
		_ = gz.Close()
		gzipWriters.Put(gz)
		p.gz = b.Bytes()
		p.sizeHint.Store(int64(len(p.gz)))
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

// gzipLevel: on the default profile's exposition of 10,000 groups (19 MB
// of text), klauspost's BestSpeed compresses 4.7x faster than its default
// level (29 ms against 139 ms) for 26% more bytes (0.99 MB against 0.79 MB;
// BenchmarkGzipSnapshot). Compression runs once per snapshot, so at the
// default level it was half of the exporter's CPU per tick; the extra bytes
// cost a scrape nothing that matters, and Prometheus decompresses either
// as fast.
const gzipLevel = gzip.BestSpeed
