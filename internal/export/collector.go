package export

import (
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector is the client_golang implementation of the exposition: a
// prometheus.Collector that turns the store's latest snapshot into const
// metrics at every collection. It is the
// alternative to the default text writer (see docs/metrics.md for why it
// is not the default) and produces the same series.
type Collector struct {
	store *Store
}

// NewCollector returns a collector of store's series. It is unchecked
// (Describe sends nothing): the label names of a family vary with the
// SLOs' grouping labels.
func NewCollector(store *Store) *Collector { return &Collector{store: store} }

// Describe implements prometheus.Collector; it sends nothing.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	e := &promEmitter{ch: ch, descs: map[string]*prometheus.Desc{}}
	p := c.store.cur.Load()
	if p != nil && p.snap != nil {
		writeSLOs(e, p.snap, prepare(p.snap, p.info), p.profile)
		writePolicy(e, p.snap, p.info, p.policy)
	}
}

// promEmitter turns series into const metrics, with one Desc per family
// and label-name set.
type promEmitter struct {
	ch    chan<- prometheus.Metric
	f     *family
	descs map[string]*prometheus.Desc
	key   []byte
}

func (e *promEmitter) family(f *family) { e.f = f }

// desc returns the Desc of the current family with base's and extra's
// label names.
func (e *promEmitter) desc(base, extra *labelSet) *prometheus.Desc {
	k := append(e.key[:0], e.f.name...)
	var names []string
	for _, ls := range [2]*labelSet{base, extra} {
		if ls == nil {
			continue
		}
		for _, n := range ls.names {
			k = append(k, ',')
			k = append(k, n...)
		}
	}
	e.key = k
	if d, ok := e.descs[string(k)]; ok {
		return d
	}
	for _, ls := range [2]*labelSet{base, extra} {
		if ls != nil {
			names = append(names, ls.names...)
		}
	}
	d := prometheus.NewDesc(e.f.name, e.f.help, names, nil)
	e.descs[string(k)] = d
	return d
}

func values(base, extra *labelSet) []string {
	var n int
	for _, ls := range [2]*labelSet{base, extra} {
		if ls != nil {
			n += len(ls.values)
		}
	}
	out := make([]string, 0, n)
	for _, ls := range [2]*labelSet{base, extra} {
		if ls != nil {
			out = append(out, ls.values...)
		}
	}
	return out
}

func (e *promEmitter) sample(base, extra *labelSet, v float64) {
	d := e.desc(base, extra)
	vt := prometheus.GaugeValue
	if e.f.typ == counterType {
		vt = prometheus.CounterValue
	}
	m, err := prometheus.NewConstMetric(d, vt, v, values(base, extra)...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, fmt.Errorf("%s{%s}: %w", e.f.name, strings.Join(values(base, extra), ","), err))
	}
	e.ch <- m
}
