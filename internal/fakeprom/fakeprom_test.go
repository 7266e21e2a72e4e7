package fakeprom

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/scrape"
)

// The fake runs in-process (no external program), so these tests are part
// of the -short tier. They decode its answers with the exporter's own
// client: what the fake serves is what the exporter reads.

var origin = time.Date(2026, 11, 29, 10, 0, 0, 370e6, time.UTC)

func counters() []Counter {
	return []Counter{
		{Labels: model.LabelSet{"__name__": "req_total", "code": "200"}, Value: func(k int64) float64 { return float64(10 * k) }},
		{Labels: model.LabelSet{"__name__": "req_total", "code": "500"}, Value: func(k int64) float64 { return float64(k % 7) }},
		{Labels: model.LabelSet{"__name__": "other_total"}, Value: func(k int64) float64 { return 1 }},
	}
}

// fixed returns a fake whose clock stands 100 steps after origin.
func fixed(t *testing.T, headers map[string]string) (*Server, time.Time) {
	now := origin.Add(100 * time.Second)
	s := Start(t, Options{Origin: origin, Step: time.Second, Counters: counters(), Now: func() time.Time { return now }, Headers: headers})
	return s, now
}

func client(t *testing.T, url string, h config.HTTPClientConfig) *scrape.Client {
	c, err := scrape.NewClient(scrape.ClientConfig{URL: url, HTTP: h, Retries: -1, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRawSamplesAndCleanTruth(t *testing.T) {
	s, now := fixed(t, nil)
	c := client(t, s.URL, config.DefaultHTTPClientConfig)
	ctx := context.Background()
	// (now-10s, now+5s]: samples 91..100 only; later ones do not exist yet.
	m, err := c.RawSamples(ctx, `req_total{code=~"2.."}`, now.Add(-10*time.Second), now.Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || len(m[0].Values) != 10 {
		t.Fatalf("got %v", m)
	}
	want := s.CleanSamples(0, now.Add(-10*time.Second), now.Add(5*time.Second))
	for i, p := range m[0].Values {
		if p != want[i] || p.Value != model.SampleValue(10*(91+i)) || p.Timestamp != model.TimeFromUnixNano(origin.Add(time.Duration(91+i)*time.Second).UnixNano()) {
			t.Errorf("sample %d: %v, clean %v", i, p, want[i])
		}
	}

	// Corruptions change what is served, not the clean samples.
	s.Corrupt(Corruption{Kind: NaN, From: origin.Add(95 * time.Second), To: origin.Add(95 * time.Second), Counters: []int{0}})
	s.Corrupt(Corruption{Kind: Spike, Value: 1e300, From: origin.Add(96 * time.Second), To: origin.Add(96 * time.Second)})
	s.Corrupt(Corruption{Kind: Replica, From: origin.Add(98 * time.Second), To: origin.Add(99 * time.Second), Counters: []int{0}})
	s.Corrupt(Corruption{Kind: Churn, Series: 3, From: origin.Add(100 * time.Second), To: origin.Add(100 * time.Second), Counters: []int{0}})
	m, err = c.RawSamples(ctx, `req_total{code="200"}`, now.Add(-10*time.Second), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 4 {
		t.Fatalf("want the counter and 3 churn series, got %d: %v", len(m), m)
	}
	vals := m[0].Values
	if len(vals) != 12 || !math.IsNaN(float64(vals[4].Value)) || vals[5].Value != 1e300 ||
		vals[8].Value != 3*980+1000 || vals[8].Timestamp != model.Time(origin.Add(98500*time.Millisecond).UnixMilli()) {
		t.Errorf("corrupted samples: %v", vals)
	}
	if got := s.CleanSamples(0, now.Add(-10*time.Second), now); len(got) != 10 || got[4].Value != 950 {
		t.Errorf("clean samples changed: %v", got)
	}
	s.Clear()
	if m, _ = c.RawSamples(ctx, `req_total{code="200"}`, now.Add(-10*time.Second), now); len(m) != 1 || len(m[0].Values) != 10 {
		t.Errorf("after Clear: %v", m)
	}
}

func TestProbeVectorAndRange(t *testing.T) {
	s, now := fixed(t, nil)
	c := client(t, s.URL, config.DefaultHTTPClientConfig)
	ctx := context.Background()
	// The backfill's probe, as the puller writes it.
	v, err := c.Query(ctx, `label_replace(sum(count_over_time(req_total[20000ms])), "p", "0", "", "") or label_replace(sum(count_over_time(nothing_total[20000ms])), "p", "1", "", "") or label_replace(sum(count_over_time(other_total[5000ms])), "p", "2", "", "")`, now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, smp := range v {
		got[string(smp.Metric["p"])] = float64(smp.Value)
	}
	if len(got) != 2 || got["0"] != 40 || got["2"] != 5 {
		t.Errorf("probe: %v", v)
	}
	v, err = c.Query(ctx, `req_total{code="500"}`, now.Add(-500*time.Millisecond))
	if err != nil || len(v) != 1 || v[0].Value != model.SampleValue(99%7) {
		t.Errorf("vector: %v %v", v, err)
	}
	mx, err := c.QueryRange(ctx, `req_total{code="200"}`, now.Add(-4*time.Second), now, 2*time.Second)
	if err != nil || len(mx) != 1 || len(mx[0].Values) != 3 || mx[0].Values[0].Value != 10*96 || mx[0].Values[2].Value != 10*100 {
		t.Errorf("range: %v %v", mx, err)
	}
	if st := s.Stats(); st.Probes != 1 || st.RangeQueries != 1 || st.Requests != 3 {
		t.Errorf("stats %+v", st)
	}
	if _, err := c.Query(ctx, `rate(req_total[1m])`, now); scrape.ReasonOf(err) != scrape.ReasonBadData {
		t.Errorf("an unsupported query: %v, want bad_data", err)
	}
}

// TestFaults: every mode makes the client fail with the reason the
// exporter reports for it, and Healthy answers again afterwards.
func TestFaults(t *testing.T) {
	s, now := fixed(t, map[string]string{"X-Token": "s3cret"})
	h := config.DefaultHTTPClientConfig
	h.HTTPHeaders = &config.Headers{Headers: map[string]config.Header{"X-Token": {Secrets: []config.Secret{"s3cret"}}}}
	c := client(t, s.URL, h)
	ctx := context.Background()
	query := func() error {
		_, err := c.RawSamples(ctx, `req_total`, now.Add(-10*time.Second), now)
		return err
	}
	for _, tc := range []struct {
		f    Fault
		want scrape.Reason
	}{
		{Fault{Mode: Hang}, scrape.ReasonTimeout},
		{Fault{Mode: Slow, Delay: 3 * time.Second}, scrape.ReasonTimeout},
		{Fault{Mode: HTTP500}, scrape.ReasonHTTP5xx},
		{Fault{Mode: HTTP503, RetryAfter: 1}, scrape.ReasonHTTP5xx},
		{Fault{Mode: Garbage}, scrape.ReasonBadResponse},
		{Fault{Mode: Truncated}, scrape.ReasonUnreachable},
		{Fault{Mode: HTML}, scrape.ReasonBadResponse},
		{Fault{Mode: WrongType}, scrape.ReasonBadResponse},
		{Fault{Mode: APIError}, scrape.ReasonBadData},
		{Fault{Mode: Redirect}, scrape.ReasonUnreachable},
		{Fault{Mode: Reset}, scrape.ReasonUnreachable},
		{Fault{Mode: EchoHeaders}, scrape.ReasonHTTP5xx},
	} {
		t.Run(tc.f.Mode.String(), func(t *testing.T) {
			s.SetFault(tc.f)
			err := query()
			if got := scrape.ReasonOf(err); err == nil || got != tc.want {
				t.Errorf("%v: reason %q (%v), want %q", tc.f.Mode, got, err, tc.want)
			}
			s.SetFault(Fault{})
			if err := query(); err != nil {
				t.Errorf("healthy again: %v", err)
			}
		})
	}
	// The redirect target was never asked (the client stays on one origin).
	if hs := s.OtherHeaders(); len(hs) != 0 {
		t.Errorf("the redirect target received %d requests", len(hs))
	}
	// A request without the required header is refused.
	bare := client(t, s.URL, config.DefaultHTTPClientConfig)
	if _, err := bare.RawSamples(ctx, `req_total`, now.Add(-time.Second), now); scrape.ReasonOf(err) != scrape.ReasonHTTP4xx || s.Stats().Unauthorized != 1 {
		t.Errorf("without the header: %v, stats %+v", err, s.Stats())
	}
}

func TestHuge(t *testing.T) {
	s, now := fixed(t, nil)
	c := client(t, s.URL, config.DefaultHTTPClientConfig)
	s.SetFault(Fault{Mode: HugeBytes, Series: 50, LabelBytes: 1000})
	m, err := c.RawSamples(context.Background(), `req_total{code="200"}`, now.Add(-3*time.Second), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 51 || len(m[50].Metric["fake_blob"]) != 1000 || m[50].Metric["fake_replica"] != "49" || m[50].Metric["code"] != "200" {
		t.Errorf("got %d series, last %v", len(m), m[len(m)-1].Metric)
	}
	s.SetFault(Fault{Mode: HugeSeries, Series: 2, Label: "model", Prefix: `<b>"x"</b>`})
	m, err = c.RawSamples(context.Background(), `req_total{code="200"}`, now.Add(-3*time.Second), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 3 || m[2].Metric["model"] != `<b>"x"</b>1` || m[2].Metric["fake_replica"] != "" {
		t.Errorf("got %v", m)
	}
}

func TestHangReleasedBySetFault(t *testing.T) {
	s, now := fixed(t, nil)
	s.SetFault(Fault{Mode: Hang})
	c, err := scrape.NewClient(scrape.ClientConfig{URL: s.URL, Retries: -1, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.RawSamples(context.Background(), `req_total`, now.Add(-time.Second), now)
		done <- err
	}()
	for s.Stats().InFlight == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("answered while hung: %v", err)
	default:
	}
	s.SetFault(Fault{})
	if err := <-done; err != nil {
		t.Fatalf("after release: %v", err)
	}
}
