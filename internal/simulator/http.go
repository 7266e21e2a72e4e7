package simulator

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"
)

// help is each family's HELP text.
var help = map[string]string{
	"http_requests_total":                       "Inference requests served, by model and HTTP status code.",
	"http_request_duration_seconds":             "Inference request latency, by model.",
	"model_predictions_with_ground_truth_total": "Successful predictions whose ground truth has arrived, by model.",
	"model_correct_predictions_total":           "Predictions with ground truth that were correct, by model.",
	"batch_jobs_total":                          "Finished batch inference jobs, by status.",
	"batch_job_duration_seconds":                "Batch inference job duration from start to finish.",
	"feature_lookups_total":                     "Online feature lookups, by outcome code.",
	"feature_lookup_duration_seconds":           "Online feature lookup latency.",
	"inference_journey_total":                   "Inference journeys (a feature lookup and a model call), by result.",
}

// collector exposes one service's series, computed from the clock at each
// scrape. It is unchecked (Describe sends nothing) because an incident
// added at run time may add a code series.
type collector struct {
	sim     *Sim
	service Service
}

// Collector returns a prometheus.Collector for one service's series; each
// Collect computes the values at the simulation clock's now.
func (s *Sim) Collector(svc Service) prometheus.Collector {
	return collector{sim: s, service: svc}
}

// Describe sends nothing: the collector is unchecked.
func (collector) Describe(chan<- *prometheus.Desc) {}

// Collect computes and sends the service's series.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.sim
	s.mu.RLock()
	vals := s.integrals(s.elapsedMillis(s.now()))
	type hist struct {
		labels  [][2]string
		buckets map[float64]uint64
		count   uint64
		sum     float64
	}
	hists := map[string]*hist{}
	var order []string
	for j, sr := range s.series {
		if sr.service != c.service {
			continue
		}
		v := value(sr, vals[j])
		if sr.kind == kindCounter {
			names, values := splitLabels(sr.labels)
			ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(sr.family, help[sr.family], names, nil),
				prometheus.CounterValue, v, values...)
			continue
		}
		id := sr.family + "\xff" + SeriesKey("", labelMap(sr.labels))
		h := hists[id]
		if h == nil {
			h = &hist{labels: sr.labels, buckets: map[float64]uint64{}}
			hists[id] = h
			order = append(order, id)
		}
		switch sr.kind {
		case kindBucket:
			if sr.le != inf {
				h.buckets[sr.le] = uint64(v)
			}
		case kindCount:
			h.count = uint64(v)
		case kindSum:
			h.sum = v
		}
	}
	s.mu.RUnlock()
	for _, id := range order {
		h := hists[id]
		fam := id[:strings.IndexByte(id, '\xff')]
		names, values := splitLabels(h.labels)
		ch <- prometheus.MustNewConstHistogram(prometheus.NewDesc(fam, help[fam], names, nil),
			h.count, h.sum, h.buckets, values...)
	}
}

func splitLabels(ls [][2]string) (names, values []string) {
	for _, l := range ls {
		names = append(names, l[0])
		values = append(values, l[1])
	}
	return names, values
}

func labelMap(ls [][2]string) map[string]string {
	m := map[string]string{}
	for _, l := range ls {
		m[l[0]] = l[1]
	}
	return m
}

// Handler serves the simulator's endpoints:
//
//	/metrics/<service>  the service's series (one path per Service)
//	/metrics            the simulator's own Go and process metrics
//	GET  /-/schedule    the schedule as JSON (see ScheduleJSON)
//	POST /-/incident    add an incident: form or query fields, or a JSON object, as ParseFields takes; no start means now
//	GET  /-/healthy     200 OK
//	/                   a landing page with links
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, svc := range Services() {
		reg := prometheus.NewRegistry()
		reg.MustRegister(s.Collector(svc))
		mux.Handle("/metrics/"+string(svc), promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	}
	own := prometheus.NewRegistry()
	own.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux.Handle("/metrics", promhttp.HandlerFor(own, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /-/schedule", func(w http.ResponseWriter, _ *http.Request) {
		b, err := s.ScheduleJSON()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(append(b, '\n'))
	})
	mux.HandleFunc("POST /-/incident", s.handleIncident)
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "OK\n")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		var b strings.Builder
		b.WriteString("<!DOCTYPE html><html><head><title>ML platform simulator</title></head><body><h1>ML platform simulator</h1><ul>")
		for _, svc := range Services() {
			p := html.EscapeString("/metrics/" + string(svc))
			fmt.Fprintf(&b, `<li><a href="%s">%s</a></li>`, p, p)
		}
		b.WriteString(`<li><a href="/metrics">/metrics</a> (the simulator itself)</li><li><a href="/-/schedule">/-/schedule</a></li></ul></body></html>`)
		_, _ = io.WriteString(w, b.String())
	})
	return mux
}

// maxIncidentBody bounds a POST /-/incident body.
const maxIncidentBody = 64 << 10

// handleIncident serves POST /-/incident.
func (s *Sim) handleIncident(w http.ResponseWriter, r *http.Request) {
	fields := map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var raw map[string]any
		dec := json.NewDecoder(io.LimitReader(r.Body, maxIncidentBody))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			http.Error(w, "invalid JSON body: "+err.Error(), http.StatusBadRequest)
			return
		}
		for k, v := range raw {
			switch v := v.(type) {
			case string:
				fields[k] = v
			case json.Number:
				fields[k] = v.String()
			default:
				http.Error(w, fmt.Sprintf("field %s: must be a string or number", k), http.StatusBadRequest)
				return
			}
		}
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, maxIncidentBody)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "invalid form: "+err.Error(), http.StatusBadRequest)
			return
		}
		for k, vs := range r.Form {
			if len(vs) != 1 {
				http.Error(w, fmt.Sprintf("field %s given %d times", k, len(vs)), http.StatusBadRequest)
				return
			}
			fields[k] = vs[0]
		}
	}
	if _, ok := fields["start"]; !ok {
		// Now, rounded up to the next millisecond so it is not in the past.
		el := s.now().Sub(s.start)
		fields["start"] = model.Duration(max(0, (el+999_999)/1_000_000*1_000_000)).String()
	}
	in, err := ParseFields(fields)
	if err == nil {
		err = s.AddIncident(in)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(in)
	_, _ = w.Write(append(b, '\n'))
}
