package export

import (
	"bytes"
	"io"

	"github.com/VictoriaMetrics/metrics"
)

// textEmitter writes the Prometheus text format (version 0.0.4) with
// VictoriaMetrics/metrics' writers: one HELP and TYPE pair per family,
// then one line per series.
type textEmitter struct {
	w    io.Writer
	f    *family
	name []byte // reused buffer for `family{labels}`
}

func (e *textEmitter) family(f *family) {
	e.f = f
	typ := "gauge"
	switch f.typ {
	case counterType:
		typ = "counter"
	case histogramType:
		typ = "histogram"
	}
	var b bytes.Buffer
	b.Grow(len(f.name)*2 + len(f.help) + 24)
	b.WriteString("# HELP ")
	b.WriteString(f.name)
	b.WriteByte(' ')
	b.WriteString(f.help)
	b.WriteString("\n# TYPE ")
	b.WriteString(f.name)
	b.WriteByte(' ')
	b.WriteString(typ)
	b.WriteByte('\n')
	_, _ = e.w.Write(b.Bytes())
}

// seriesName renders name{base,extra,le="le"}; le is left out when empty.
func (e *textEmitter) seriesName(name string, base, extra *labelSet, le string) string {
	n := append(e.name[:0], name...)
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
	e.name = n
	return string(n)
}

func (e *textEmitter) sample(base, extra *labelSet, v float64) {
	name := e.seriesName(e.f.name, base, extra, "")
	if e.f.typ == counterType {
		metrics.WriteCounterFloat64(e.w, name, v)
	} else {
		metrics.WriteGaugeFloat64(e.w, name, v)
	}
}

func (e *textEmitter) histogram(base *labelSet, h *Histogram) {
	var cum uint64
	for i, b := range h.Bounds {
		if i < len(h.Counts) {
			cum += h.Counts[i]
		}
		metrics.WriteCounterUint64(e.w, e.seriesName(e.f.name+"_bucket", base, nil, formatFloat(b)), cum)
	}
	total := h.total()
	metrics.WriteCounterUint64(e.w, e.seriesName(e.f.name+"_bucket", base, nil, "+Inf"), total)
	metrics.WriteCounterFloat64(e.w, e.seriesName(e.f.name+"_sum", base, nil, ""), h.Sum)
	metrics.WriteCounterUint64(e.w, e.seriesName(e.f.name+"_count", base, nil, ""), total)
}

// writeText writes the slo_* series of p in the text format.
func writeText(w io.Writer, p *published) {
	if p == nil || p.snap == nil {
		return
	}
	writeSLOs(&textEmitter{w: w}, p.snap, prepare(p.snap, p.info))
}

// sloText returns the text of p's slo_* series, rendered on first use and
// shared by every scrape of the same snapshot.
func (p *published) sloText() []byte {
	p.once.Do(func() {
		var b bytes.Buffer
		writeText(&b, p)
		p.body = b.Bytes()
	})
	return p.body
}

// writeSelfText writes the slo_exporter_* series in the text format.
func writeSelfText(w io.Writer, p *published, st *Self) {
	var slos []sloSeries
	if p != nil && p.snap != nil {
		slos = prepareBase(p.snap)
	}
	writeSelf(&textEmitter{w: w}, slos, st)
}
