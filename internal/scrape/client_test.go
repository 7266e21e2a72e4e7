package scrape

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// The tests in this file use an httptest server only to inject faults a
// real Prometheus cannot be made to produce (junk bodies, 5xx, stalls).
// The client's behaviour against real servers is tested in
// prometheus_test.go.

const okVector = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"x","a":"1"},"value":[1700000000,"42"]}]}}`

// okMatrix is the raw-sample answer of the same series.
const okMatrix = `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"x","a":"1"},"values":[[1699999970,"41"],[1700000000,"42"]]}]}}`

// reply is one scripted response.
type reply struct {
	status int
	body   string
	header map[string]string
	stall  time.Duration // wait before answering (or until the request is canceled)
}

// faultServer answers requests with the scripted replies in order, the
// last one repeating, and counts requests.
type faultServer struct {
	*httptest.Server
	mu       sync.Mutex
	replies  []reply
	requests int
	forms    []map[string]string
	headers  []http.Header
}

func newFaultServer(t *testing.T, replies ...reply) *faultServer {
	fs := &faultServer{replies: replies}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		fs.mu.Lock()
		i := min(fs.requests, len(fs.replies)-1)
		fs.requests++
		form := map[string]string{}
		for k := range r.Form {
			form[k] = r.Form.Get(k)
		}
		form["_path"] = r.URL.Path
		form["_method"] = r.Method
		fs.forms = append(fs.forms, form)
		fs.headers = append(fs.headers, r.Header.Clone())
		rep := fs.replies[i]
		fs.mu.Unlock()
		if rep.stall > 0 {
			select {
			case <-time.After(rep.stall):
			case <-r.Context().Done():
				return
			}
		}
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rep.status)
		_, _ = w.Write([]byte(rep.body))
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *faultServer) count() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.requests
}

// testClient returns a client whose backoff sleeps are recorded, not slept.
func testClient(t *testing.T, cfg ClientConfig) (*Client, *[]time.Duration) {
	t.Helper()
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var sleeps []time.Duration
	c.sleep = func(ctx context.Context, d time.Duration) error {
		sleeps = append(sleeps, d)
		return ctx.Err()
	}
	c.jitter = func() float64 { return 1 }
	return c, &sleeps
}

func TestClientFaults(t *testing.T) {
	apiErr := func(typ, msg string) string {
		return fmt.Sprintf(`{"status":"error","errorType":%q,"error":%q}`, typ, msg)
	}
	tests := []struct {
		name     string
		replies  []reply
		timeout  time.Duration
		wantErr  Reason // "" means success
		attempts int
	}{
		{"success", []reply{{status: 200, body: okVector}}, 0, "", 1},
		{"junk json 200", []reply{{status: 200, body: `{"status":"succ`}}, 0, ReasonBadResponse, 1},
		{"html 200", []reply{{status: 200, body: `<html>login</html>`}}, 0, ReasonBadResponse, 1},
		{"no status field", []reply{{status: 200, body: `{"data":{}}`}}, 0, ReasonBadResponse, 1},
		{"success without data", []reply{{status: 200, body: `{"status":"success"}`}}, 0, ReasonBadResponse, 1},
		{"wrong result type", []reply{{status: 200, body: `{"status":"success","data":{"resultType":"matrix","result":[]}}`}}, 0, ReasonBadResponse, 1},
		{"junk result", []reply{{status: 200, body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":1}]}}`}}, 0, ReasonBadResponse, 1},
		{"bad sample value", []reply{{status: 200, body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"abc"]}]}}`}}, 0, ReasonBadResponse, 1},
		{"500 junk, retried to the end", []reply{{status: 500, body: `oops`}}, 0, ReasonHTTP5xx, 3},
		{"502 from a proxy, then success", []reply{{status: 502, body: `<html>bad gateway</html>`}, {status: 200, body: okVector}}, 0, "", 2},
		{"503 query timeout", []reply{{status: 503, body: apiErr("timeout", "query timed out")}}, 0, ReasonTimeout, 3},
		{"504 gateway timeout", []reply{{status: 504, body: ``}}, 0, ReasonTimeout, 3},
		{"400 bad_data not retried", []reply{{status: 400, body: apiErr("bad_data", `parse error at char 3`)}}, 0, ReasonBadData, 1},
		{"422 execution not retried", []reply{{status: 422, body: apiErr("execution", `many-to-many matching`)}}, 0, ReasonBadData, 1},
		{"401 not retried", []reply{{status: 401, body: `Unauthorized`}}, 0, ReasonHTTP4xx, 1},
		{"404 not retried", []reply{{status: 404, body: `404 page not found`}}, 0, ReasonHTTP4xx, 1},
		{"429 retried", []reply{{status: 429, body: `slow down`, header: map[string]string{"Retry-After": "1"}}}, 0, ReasonHTTP4xx, 3},
		{"429 then success", []reply{{status: 429, body: `slow down`}, {status: 200, body: okVector}}, 0, "", 2},
		{"slow response times out", []reply{{status: 200, body: okVector, stall: 5 * time.Second}}, 50 * time.Millisecond, ReasonTimeout, 3},
		{"slow once, then fast", []reply{{status: 200, body: okVector, stall: 5 * time.Second}, {status: 200, body: okVector}}, 50 * time.Millisecond, "", 2},
	}
	// Each case runs through both paths of the client: an instant query
	// (the v1 API) and a raw-sample read (the streaming decoder), whose
	// answers are matrices: the same failure must get the same reason.
	asRaw := strings.NewReplacer(okVector, okMatrix, `"resultType":"matrix"`, `"resultType":"vector"`)
	for _, path := range []string{"query", "raw"} {
		for _, tc := range tests {
			t.Run(path+"/"+tc.name, func(t *testing.T) {
				replies := append([]reply(nil), tc.replies...)
				if path == "raw" {
					for i := range replies {
						replies[i].body = asRaw.Replace(replies[i].body)
					}
				}
				fs := newFaultServer(t, replies...)
				reg := prometheus.NewPedanticRegistry()
				metrics, err := NewClientMetrics(reg)
				if err != nil {
					t.Fatal(err)
				}
				c, _ := testClient(t, ClientConfig{URL: fs.URL, Timeout: tc.timeout, Metrics: metrics})
				at := time.Unix(1700000000, 0)
				var series int
				var value float64
				wantExpr := "x"
				if path == "raw" {
					var m model.Matrix
					m, err = c.RawSamples(context.Background(), `x`, at.Add(-time.Minute), at)
					if series = len(m); series == 1 && m[0].Metric["a"] == "1" {
						value = float64(m[0].Values[len(m[0].Values)-1].Value)
					}
					wantExpr = "x[60000ms]"
				} else {
					var v model.Vector
					v, err = c.Query(context.Background(), `x`, at)
					if series = len(v); series == 1 && v[0].Metric["a"] == "1" {
						value = float64(v[0].Value)
					}
				}
				st := c.Stats()
				if fs.count() != tc.attempts || st.Attempts != uint64(tc.attempts) || st.Retries != uint64(tc.attempts-1) {
					t.Errorf("server saw %d requests, stats %d attempts %d retries; want %d attempts", fs.count(), st.Attempts, st.Retries, tc.attempts)
				}
				if st.Queries != 1 {
					t.Errorf("queries %d, want 1", st.Queries)
				}
				// /metrics counts what the server saw.
				want := map[string]float64{
					"slo_exporter_query_attempts_total":         float64(fs.count()),
					"slo_exporter_query_retries_total":          float64(fs.count() - 1),
					"slo_exporter_query_duration_seconds_count": 1,
				}
				for _, r := range Reasons() {
					want[`slo_exporter_query_errors_total{reason="`+string(r)+`"}`] = 0
				}
				if tc.wantErr != "" {
					want[`slo_exporter_query_errors_total{reason="`+string(tc.wantErr)+`"}`] = 1
				}
				gather(t, reg).check(t, want)
				if tc.wantErr == "" {
					if err != nil {
						t.Fatalf("unexpected error %v", err)
					}
					if series != 1 || value != 42 {
						t.Errorf("%d series, value %v; want 1 series labelled a=1 at 42", series, value)
					}
					return
				}
				var qe *QueryError
				if !errors.As(err, &qe) {
					t.Fatalf("error %v (%T), want a *QueryError", err, err)
				}
				if qe.Reason != tc.wantErr || ReasonOf(err) != tc.wantErr {
					t.Errorf("reason %q, want %q (%v)", qe.Reason, tc.wantErr, err)
				}
				if qe.Attempts != tc.attempts || qe.Expr != wantExpr || qe.Endpoint != "query" {
					t.Errorf("error fields %+v", qe)
				}
				for _, r := range Reasons() {
					want := uint64(0)
					if r == tc.wantErr {
						want = 1
					}
					if got, ok := st.Errors[r]; !ok || got != want {
						t.Errorf("Errors[%s] = %d (present %v), want %d", r, got, ok, want)
					}
				}
			})
		}
	}
}

func TestClientRequest(t *testing.T) {
	fs := newFaultServer(t, reply{status: 200, body: `{"status":"success","warnings":["w1"],"infos":["i1"],"data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[1700000000,"1"],[1700000030,"2"]]}]}}`})
	hc := config.DefaultHTTPClientConfig
	hc.BasicAuth = &config.BasicAuth{Username: "u", Password: "p"}
	hc.HTTPHeaders = &config.Headers{Headers: map[string]config.Header{"X-Scope-OrgID": {Values: []string{"tenant-1"}}}}
	reg := prometheus.NewPedanticRegistry()
	metrics, err := NewClientMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := testClient(t, ClientConfig{URL: fs.URL + "/prometheus/", HTTP: hc, Timeout: 7 * time.Second, Metrics: metrics})
	m, err := c.QueryRange(context.Background(), `sum(x)`, time.UnixMilli(1700000000000), time.UnixMilli(1700000030500), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || len(m[0].Values) != 2 {
		t.Fatalf("matrix %v", m)
	}
	f, h := fs.forms[0], fs.headers[0]
	// The v1 API's encoding: seconds with the fraction they need, and the
	// timeout as a Go duration; Prometheus and VictoriaMetrics read both.
	want := map[string]string{
		"_path": "/prometheus/api/v1/query_range", "_method": "POST", "query": "sum(x)",
		"start": "1700000000", "end": "1700000030.5", "step": "30", "timeout": "7s",
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("request %s = %q, want %q", k, f[k], v)
		}
	}
	if u, p, ok := (&http.Request{Header: h}).BasicAuth(); !ok || u != "u" || p != "p" {
		t.Errorf("basic auth %q %q %v", u, p, ok)
	}
	if got := h.Get("User-Agent"); got != "slo-exporter" {
		t.Errorf("User-Agent = %q", got)
	}
	if got := h.Get("X-Scope-OrgID"); got != "tenant-1" {
		t.Errorf("X-Scope-OrgID = %q", got)
	}
	if st := c.Stats(); st.Warnings != 2 || st.BytesRead == 0 {
		t.Errorf("warnings %d bytes %d", st.Warnings, st.BytesRead)
	}
	// The body the server wrote, byte for byte, and its warning and info.
	gather(t, reg).check(t, map[string]float64{
		"slo_exporter_query_warnings_total":       2,
		"slo_exporter_query_response_bytes_total": float64(len(fs.replies[0].body)),
		"slo_exporter_query_attempts_total":       1,
	})
}

func TestClientUnreachableAndCanceled(t *testing.T) {
	fs := newFaultServer(t, reply{status: 200, body: okVector})
	url := fs.URL
	fs.Close()
	c, sleeps := testClient(t, ClientConfig{URL: url, Retries: 1})
	_, err := c.Query(context.Background(), `x`, time.Now())
	if ReasonOf(err) != ReasonUnreachable {
		t.Errorf("closed server: %v, want unreachable", err)
	}
	if len(*sleeps) != 1 {
		t.Errorf("%d backoff sleeps, want 1", len(*sleeps))
	}

	fs2 := newFaultServer(t, reply{status: 200, body: okVector, stall: 10 * time.Second})
	c2, _ := testClient(t, ClientConfig{URL: fs2.URL})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for fs2.count() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err = c2.Query(ctx, `x`, time.Now())
	if ReasonOf(err) != ReasonCanceled {
		t.Errorf("canceled: %v, want canceled", err)
	}
	if n := fs2.count(); n != 1 {
		t.Errorf("canceled query made %d requests, want 1 (no retry)", n)
	}
}

func TestClientBackoff(t *testing.T) {
	c, _ := testClient(t, ClientConfig{URL: "http://x", RetryBackoff: time.Second, MaxBackoff: 5 * time.Second})
	for _, tc := range []struct {
		n          int
		jitter     float64
		retryAfter time.Duration
		want       time.Duration
	}{
		{1, 1, 0, time.Second},
		{1, 0, 0, 500 * time.Millisecond},
		{2, 1, 0, 2 * time.Second},
		{3, 1, 0, 4 * time.Second},
		{4, 1, 0, 5 * time.Second}, // capped
		{9, 0, 0, 2500 * time.Millisecond},
		{1, 1, 3 * time.Second, 3 * time.Second}, // Retry-After
		{1, 1, time.Minute, 5 * time.Second},     // Retry-After capped
		{2, 0.5, 0, 1500 * time.Millisecond},     // jitter in [d/2, d]
		{1, 1, 100 * time.Millisecond, 100 * time.Millisecond},
	} {
		c.jitter = func() float64 { return tc.jitter }
		if got := c.backoffFor(tc.n, tc.retryAfter); got != tc.want {
			t.Errorf("backoffFor(%d, jitter %v, retry-after %s) = %s, want %s", tc.n, tc.jitter, tc.retryAfter, got, tc.want)
		}
	}
}

func TestClientConcurrencyLimit(t *testing.T) {
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
		_, _ = w.Write([]byte(okVector))
	}))
	defer srv.Close()
	c, _ := testClient(t, ClientConfig{URL: srv.URL, MaxConcurrency: 2})
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Query(context.Background(), `x`, time.Now()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 2 || p < 1 {
		t.Errorf("peak in-flight requests %d, limit 2", p)
	}
}

func TestNewClientErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  ClientConfig
		want string
	}{
		{ClientConfig{URL: ""}, `query url "": must be an absolute http(s) URL`},
		{ClientConfig{URL: "prometheus:9090"}, `query url "prometheus:9090"`},
		{ClientConfig{URL: "ftp://x"}, `query url "ftp://x"`},
		{ClientConfig{URL: "http://x", HTTP: config.HTTPClientConfig{
			BasicAuth:     &config.BasicAuth{Username: "u"},
			Authorization: &config.Authorization{Credentials: "t"},
		}}, `http client config`},
	} {
		_, err := NewClient(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewClient(%+v) = %v, want an error containing %q", tc.cfg.URL, err, tc.want)
		}
	}
}

// TestClientLimits: an answer with more series than MaxSeries, whether read
// whole (instant query) or streamed (raw samples), and a whole-read body
// over MaxResponseBytes are refused as bad_response, once (not retried),
// with a message naming the limit; within the limits the same answers pass.
func TestClientLimits(t *testing.T) {
	series := func(n int, matrix bool) string {
		var b strings.Builder
		kind := "vector"
		if matrix {
			kind = "matrix"
		}
		fmt.Fprintf(&b, `{"status":"success","data":{"resultType":%q,"result":[`, kind)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			if matrix {
				fmt.Fprintf(&b, `{"metric":{"__name__":"x","i":"%d"},"values":[[1700000000,"1"],[1700000001,"2"]]}`, i)
			} else {
				fmt.Fprintf(&b, `{"metric":{"__name__":"x","i":"%d"},"value":[1700000000,"1"]}`, i)
			}
		}
		b.WriteString(`]}}`)
		return b.String()
	}
	at := time.Unix(1700000001, 0)
	for _, tc := range []struct {
		name    string
		body    string
		cfg     ClientConfig
		raw     bool
		wantErr string
	}{
		{"instant within", series(3, false), ClientConfig{MaxSeries: 3}, false, ""},
		{"instant over", series(4, false), ClientConfig{MaxSeries: 3}, false, "4 series in one answer, more than max_series_per_selector (3)"},
		{"raw within", series(3, true), ClientConfig{MaxSeries: 3}, true, ""},
		{"raw over", series(5, true), ClientConfig{MaxSeries: 3}, true, "more than 3 series in one answer (max_series_per_selector)"},
		{"body over", series(50, false), ClientConfig{MaxResponseBytes: 1024}, false, "body larger than 1024 bytes (max_response_bytes)"},
		{"raw body is streamed", series(50, true), ClientConfig{MaxResponseBytes: 1024}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFaultServer(t, reply{status: 200, body: tc.body})
			cfg := tc.cfg
			cfg.URL = fs.URL
			c, _ := testClient(t, cfg)
			var err error
			if tc.raw {
				_, err = c.RawSamples(context.Background(), "x", at.Add(-time.Minute), at)
			} else {
				_, err = c.Query(context.Background(), "x", at)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("within the limits: %v", err)
				}
				return
			}
			var qe *QueryError
			if !errors.As(err, &qe) || qe.Reason != ReasonBadResponse || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want bad_response containing %q", err, tc.wantErr)
			}
			if fs.count() != 1 {
				t.Errorf("%d requests: a refused answer must not be retried", fs.count())
			}
		})
	}
}

// TestClientRetryAfterAndGetFallback: what the v1 API does not report is
// still seen by the layer, on both paths: the Retry-After of a 429 sets
// the backoff (the transport reads it), and a server that refuses POST
// with 405 is asked again with GET within the same attempt.
func TestClientRetryAfterAndGetFallback(t *testing.T) {
	at := time.Unix(1700000000, 0)
	read := func(c *Client, raw bool) error {
		if raw {
			_, err := c.RawSamples(context.Background(), "x", at.Add(-time.Minute), at)
			return err
		}
		_, err := c.Query(context.Background(), "x", at)
		return err
	}
	for _, raw := range []bool{false, true} {
		ok := okVector
		if raw {
			ok = okMatrix
		}
		fs := newFaultServer(t, reply{status: 429, body: "slow down", header: map[string]string{"Retry-After": "3"}}, reply{status: 200, body: ok})
		c, sleeps := testClient(t, ClientConfig{URL: fs.URL, RetryBackoff: time.Second, MaxBackoff: 10 * time.Second})
		if err := read(c, raw); err != nil {
			t.Fatalf("raw %v: %v", raw, err)
		}
		if len(*sleeps) != 1 || (*sleeps)[0] != 3*time.Second {
			t.Errorf("raw %v: backoff sleeps %v, want [3s] from Retry-After", raw, *sleeps)
		}

		var methods []string
		var mu sync.Mutex
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			methods = append(methods, r.Method)
			mu.Unlock()
			if r.Method != http.MethodGet {
				http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
				return
			}
			if r.URL.Query().Get("query") == "" {
				http.Error(w, "no query parameter", http.StatusBadRequest)
				return
			}
			_, _ = w.Write([]byte(ok))
		}))
		c, _ = testClient(t, ClientConfig{URL: srv.URL})
		err := read(c, raw)
		srv.Close()
		if err != nil {
			t.Fatalf("raw %v, GET-only server: %v", raw, err)
		}
		if st := c.Stats(); st.Attempts != 1 || fmt.Sprint(methods) != "[POST GET]" {
			t.Errorf("raw %v: %d attempts, methods %v; want 1 attempt of POST then GET", raw, st.Attempts, methods)
		}
	}
}

// TestClientRedactsEchoedSecrets: a proxy that echoes the request's
// headers into its error page must not put the credentials into the
// error (which is logged), on either read path.
func TestClientRedactsEchoedSecrets(t *testing.T) {
	auth := base64.StdEncoding.EncodeToString([]byte("alice:s3cret-pass"))
	echo := "Authorization: Basic " + auth + "\nX-Api-Key: header-secret-42\n"
	fs := newFaultServer(t, reply{status: 502, body: echo})
	hc := config.DefaultHTTPClientConfig
	hc.BasicAuth = &config.BasicAuth{Username: "alice", Password: "s3cret-pass"}
	hc.HTTPHeaders = &config.Headers{Headers: map[string]config.Header{"X-Api-Key": {Secrets: []config.Secret{"header-secret-42"}}}}
	c, _ := testClient(t, ClientConfig{URL: fs.URL, HTTP: hc, Retries: -1})
	_, errQ := c.Query(context.Background(), `x`, time.Unix(1700000000, 0))
	_, errR := c.RawSamples(context.Background(), `x`, time.Unix(1700000000, 0), time.Unix(1700000060, 0))
	for _, err := range []error{errQ, errR} {
		if err == nil {
			t.Fatal("a 502 answered without an error")
		}
		for _, secret := range []string{auth, "s3cret-pass", "header-secret-42"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error quotes a secret %q: %v", secret, err)
			}
		}
		if !strings.Contains(err.Error(), "<secret>") || ReasonOf(err) != ReasonHTTP5xx {
			t.Errorf("want the echoed body quoted with <secret> and reason http_5xx: %v (%s)", err, ReasonOf(err))
		}
	}
}

// TestStreamStopsAtSeriesCap: a raw-sample answer with more series than
// max_series_per_selector is refused after cap+1 series, not held whole.
func TestStreamStopsAtSeriesCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[`)
	for i := range 1000 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"metric":{"i":"%d"},"values":[[1700000000,"1"]]}`, i)
	}
	b.WriteString(`]}}`)
	var m model.Matrix
	_, err := decodeMatrixLimited(strings.NewReader(b.String()), &m, 10)
	var tooMany errTooManySeries
	if !errors.As(err, &tooMany) || len(m) != 10 {
		t.Fatalf("decode with cap 10: %d series held, error %v; want 10 and errTooManySeries", len(m), err)
	}
	fs := newFaultServer(t, reply{status: 200, body: b.String()})
	c, _ := testClient(t, ClientConfig{URL: fs.URL, MaxSeries: 10, Retries: -1})
	_, err = c.RawSamples(context.Background(), `x`, time.Unix(1699999999, 0), time.Unix(1700000060, 0))
	if ReasonOf(err) != ReasonBadResponse || !strings.Contains(err.Error(), "max_series_per_selector") {
		t.Errorf("want bad_response naming max_series_per_selector, got %v (%s)", err, ReasonOf(err))
	}
}
