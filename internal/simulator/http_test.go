package simulator

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/promtest"
)

// fakeClock is a settable clock for tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	return b
}

// parsedSeries turns a scrape into the same keys CountersAt uses.
func parsedSeries(t *testing.T, body []byte) map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse scrape: %v", err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[SeriesKey(name, labels)] = m.GetCounter().GetValue()
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					bl := map[string]string{"le": FormatLe(b.GetUpperBound())}
					for k, v := range labels {
						bl[k] = v
					}
					out[SeriesKey(name+"_bucket", bl)] = float64(b.GetCumulativeCount())
				}
				if _, ok := out[SeriesKey(name+"_bucket", withLe(labels, "+Inf"))]; !ok {
					out[SeriesKey(name+"_bucket", withLe(labels, "+Inf"))] = float64(h.GetSampleCount())
				}
				out[SeriesKey(name+"_count", labels)] = float64(h.GetSampleCount())
				out[SeriesKey(name+"_sum", labels)] = h.GetSampleSum()
			default:
				t.Errorf("%s: unexpected type %v", name, f.GetType())
			}
		}
	}
	return out
}

func withLe(labels map[string]string, le string) map[string]string {
	out := map[string]string{"le": le}
	for k, v := range labels {
		out[k] = v
	}
	return out
}

func newServer(t *testing.T, clock *fakeClock, specs ...string) (*Sim, *httptest.Server) {
	t.Helper()
	s, err := New(Config{Start: t0, Now: clock.Now, Incidents: mustSpecs(t, specs...)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv
}

// TestScrapeEqualsCountersAt scrapes each service path at fixed times and
// compares every series with CountersAt: same set, same values.
func TestScrapeEqualsCountersAt(t *testing.T) {
	clock := &fakeClock{}
	s, srv := newServer(t, clock, readSpecs(t)...)
	for _, at := range []time.Duration{0, 10*time.Minute + 1234*time.Millisecond, 42 * time.Minute, 2 * time.Hour} {
		clock.Set(t0.Add(at))
		want := s.CountersAt(t0.Add(at))
		got := map[string]float64{}
		for _, svc := range Services() {
			for k, v := range parsedSeries(t, get(t, srv.URL+"/metrics/"+string(svc))) {
				if _, dup := got[k]; dup {
					t.Errorf("%s exposed on two paths", k)
				}
				got[k] = v
			}
		}
		for k, v := range want {
			g, ok := got[k]
			if !ok {
				t.Errorf("at %v: %s missing from the scrape", at, k)
			} else if g != v {
				t.Errorf("at %v: scrape %s = %v, CountersAt %v", at, k, g, v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("at %v: scrape has %s, CountersAt does not", at, k)
			}
		}
		if at == 42*time.Minute && got[`feature_lookups_total{code="ok"}`] != 0 {
			t.Errorf("feature store restarted at 42m but counts %v", got[`feature_lookups_total{code="ok"}`])
		}
	}
}

// readSpecs turns the example schedule into specs.
func readSpecs(t *testing.T) []string {
	incs, err := LoadFile("testdata/incidents.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range incs {
		out = append(out, in.String())
	}
	return out
}

// TestPromtoolCheckMetrics runs the real promtool's linter on every path.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool := promtest.Binary(t, "promtool", "PROMTOOL")
	clock := &fakeClock{t: t0.Add(time.Hour)}
	_, srv := newServer(t, clock, readSpecs(t)...)
	paths := []string{"/metrics"}
	for _, svc := range Services() {
		paths = append(paths, "/metrics/"+string(svc))
	}
	for _, p := range paths {
		body := get(t, srv.URL+p)
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("promtool check metrics %s: %v\n%s", p, err, out)
		}
	}
}

func TestIncidentEndpoint(t *testing.T) {
	clock := &fakeClock{t: t0.Add(10*time.Minute + 500*time.Microsecond)}
	s, srv := newServer(t, clock)

	post := func(contentType, body string) (int, string) {
		resp, err := http.Post(srv.URL+"/-/incident", contentType, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	form := url.Values{"service": {"feature-store"}, "duration": {"1m"}, "error_ratio": {"0.5"}}.Encode()
	tests := []struct {
		name, contentType, body string
		wantCode                int
		wantBody                string
	}{
		{"form without start means now, rounded up to the ms", "application/x-www-form-urlencoded", form, 200,
			`{"duration":"1m","error_ratio":"0.5","kind":"errors","service":"feature-store","start":"10m1ms"}`},
		{"json with a number", "application/json", `{"service":"model-api","model":"llama-7b","start":"11m","duration":"2m","accuracy":0.5}`, 200,
			`{"accuracy":"0.5","duration":"2m","kind":"quality","model":"llama-7b","service":"model-api","start":"11m"}`},
		{"json restart", "application/json", `{"service":"batch-inference","kind":"restart","start":"1h"}`, 200,
			`{"kind":"restart","service":"batch-inference","start":"1h"}`},
		{"past", "application/json", `{"service":"batch-inference","kind":"restart","start":"1m"}`, 400,
			`field start: 1m is before the simulation's current time 10m; only future incidents can be added`},
		{"invalid field", "application/json", `{"service":"batch-inference","start":"1m","duration":"1m","accuracy":"0.5"}`, 400,
			`field kind: batch-inference does not support "quality" (supported: errors, latency, restart)`},
		{"non-scalar", "application/json", `{"service":["model-api"]}`, 400, `field service: must be a string or number`},
		{"bad json", "application/json", `{`, 400, `invalid JSON body: unexpected EOF`},
		{"repeated form field", "application/x-www-form-urlencoded", "service=a&service=b", 400, `field service given 2 times`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(tc.contentType, tc.body)
			if code != tc.wantCode || body != tc.wantBody {
				t.Errorf("POST = %d %s, want %d %s", code, body, tc.wantCode, tc.wantBody)
			}
		})
	}

	var sched struct {
		Start     time.Time           `json:"start"`
		Now       time.Time           `json:"now"`
		Elapsed   string              `json:"elapsed"`
		Incidents []map[string]string `json:"incidents"`
	}
	if err := json.Unmarshal(get(t, srv.URL+"/-/schedule"), &sched); err != nil {
		t.Fatal(err)
	}
	if !sched.Start.Equal(t0) || sched.Elapsed != "10m" || len(sched.Incidents) != 3 {
		t.Errorf("schedule = %+v", sched)
	}
	// The schedule's incidents parse back into the same incidents.
	for i, f := range sched.Incidents {
		in, err := ParseFields(f)
		if err != nil {
			t.Fatalf("incident %d: %v", i, err)
		}
		if got := in.String(); got != s.Schedule()[i].String() {
			t.Errorf("incident %d = %s, want %s", i, got, s.Schedule()[i])
		}
	}
	// The feature store incident took effect from 10m1ms.
	at := t0.Add(11*time.Minute + time.Millisecond)
	want := math.Floor(120*0.00002*661.001 + 120*0.99998*0.5*60)
	if got := s.CountersAt(at)[`feature_lookups_total{code="error"}`]; math.Abs(got-want) > 1e-6 {
		t.Errorf("feature-store errors at 11m1ms = %v, want %v", got, want)
	}
}

func TestMiscEndpoints(t *testing.T) {
	clock := &fakeClock{t: t0}
	_, srv := newServer(t, clock)
	if b := string(get(t, srv.URL+"/-/healthy")); b != "OK\n" {
		t.Errorf("/-/healthy = %q", b)
	}
	page := string(get(t, srv.URL+"/"))
	for _, svc := range Services() {
		if !strings.Contains(page, `href="/metrics/`+string(svc)+`"`) {
			t.Errorf("landing page does not link %s", svc)
		}
	}
	if b := string(get(t, srv.URL+"/metrics")); !strings.Contains(b, "go_goroutines") || strings.Contains(b, "http_requests_total") {
		t.Errorf("/metrics should hold only the simulator's own metrics")
	}
	resp, err := http.Get(srv.URL + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope = %d", resp.StatusCode)
	}
}
