package scrape

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"go.uber.org/zap"
)

// Querier runs PromQL queries. Prometheus, Thanos, Mimir and
// VictoriaMetrics all serve it through /api/v1/query and
// /api/v1/query_range; tests may use any other implementation.
type Querier interface {
	// Query evaluates expr at ts and returns its instant vector.
	Query(ctx context.Context, expr string, ts time.Time) (model.Vector, error)
	// QueryRange evaluates expr at start, start+step, ... up to end.
	QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (model.Matrix, error)
	// RawSamples returns the raw samples, as stored, of the series that
	// the plain selector sel selects, with timestamps in (start, end]:
	// float samples in Values and native histograms in Histograms,
	// ascending, and no series without samples.
	RawSamples(ctx context.Context, sel string, start, end time.Time) (model.Matrix, error)
}

// Defaults of ClientConfig.
const (
	DefaultTimeout        = 30 * time.Second
	DefaultRetries        = 2
	DefaultRetryBackoff   = 500 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
	DefaultMaxConcurrency = 4
	// maxBodyBytes caps a response body; a larger one is a bad_response.
	maxBodyBytes = 1 << 30
)

// ClientConfig configures NewClient.
type ClientConfig struct {
	// URL is the query API's base URL, without /api/v1: e.g.
	// http://prometheus:9090, http://thanos-query:10902,
	// http://mimir/prometheus, http://victoriametrics:8428.
	URL string
	// HTTP is Prometheus' own client configuration (basic_auth,
	// authorization, oauth2, tls_config, proxy_url, http_headers such as
	// X-Scope-OrgID for Mimir), in the YAML shape Prometheus users know.
	HTTP config.HTTPClientConfig
	// Timeout bounds one attempt of one query (and is sent to the server as
	// its timeout parameter). Zero means DefaultTimeout.
	Timeout time.Duration
	// Retries is the number of extra attempts for retryable failures
	// (network errors, timeouts, 5xx, 429). Zero means DefaultRetries;
	// negative means none.
	Retries int
	// RetryBackoff is the base delay before the first retry; each further
	// retry doubles it, up to MaxBackoff, with random jitter (the delay is
	// drawn from [d/2, d]). A Retry-After header, when given, is honoured
	// up to MaxBackoff. Zero means the defaults.
	RetryBackoff, MaxBackoff time.Duration
	// MaxConcurrency caps the requests in flight from this client. Zero
	// means DefaultMaxConcurrency.
	MaxConcurrency int
	// Logger receives warnings returned by the server (debug level) and
	// retries (debug level). Nil means none.
	Logger *zap.Logger
	// MaxResponseBytes caps the body of an answer read whole (instant and
	// range queries: global.max_response_bytes); a larger one is refused as
	// bad_response without being decoded. Raw-sample answers are decoded as
	// they arrive, bounded by the backfill's chunk size instead, and only
	// by the 1 GiB hard cap. Zero means that cap.
	MaxResponseBytes int64
	// Metrics receives the client's counts as self-metrics; nil means
	// unregistered ones of its own. Pass the same one to the clients of
	// successive configurations so that the counters only grow.
	Metrics *ClientMetrics
	// MaxSeries caps the series of one answer
	// (global.max_series_per_selector); a larger answer is refused as
	// bad_response and none of its series is tracked. Zero means no cap.
	MaxSeries int
}

// Reason classifies a failed query, for the self-metric
// slo_exporter_query_errors_total{reason}.
type Reason string

// The reasons, all exported at 0 from the start.
const (
	// ReasonTimeout: the attempt or the server's query timed out.
	ReasonTimeout Reason = "timeout"
	// ReasonUnreachable: connection refused or reset, DNS, TLS handshake.
	ReasonUnreachable Reason = "unreachable"
	// ReasonHTTP5xx: the server answered 5xx without a query error body.
	ReasonHTTP5xx Reason = "http_5xx"
	// ReasonHTTP4xx: 401, 403, 404, 429 (after retries) and other client
	// errors that are not a rejected query: usually auth or URL mistakes.
	ReasonHTTP4xx Reason = "http_4xx"
	// ReasonBadData: the server rejected the query (bad_data, execution
	// errors, 400 and 422): a configuration mistake, never retried.
	ReasonBadData Reason = "bad_data"
	// ReasonBadResponse: the body is not a valid API response (junk JSON,
	// wrong result type, status success without data).
	ReasonBadResponse Reason = "bad_response"
	// ReasonCanceled: the caller's context was canceled.
	ReasonCanceled Reason = "canceled"
)

// Reasons returns every Reason, in a fixed order.
func Reasons() []Reason {
	return []Reason{ReasonTimeout, ReasonUnreachable, ReasonHTTP5xx, ReasonHTTP4xx, ReasonBadData, ReasonBadResponse, ReasonCanceled}
}

// QueryError is the error of a failed query.
type QueryError struct {
	// Reason classifies the failure.
	Reason Reason
	// Endpoint is "query" or "query_range".
	Endpoint string
	// Expr is the PromQL expression.
	Expr string
	// Status is the HTTP status, 0 when there was no response.
	Status int
	// Attempts is how many attempts were made.
	Attempts int
	// Err is the underlying error.
	Err error
}

func (e *QueryError) Error() string {
	s := fmt.Sprintf("%s %q: %s", e.Endpoint, e.Expr, e.Reason)
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Attempts > 1 {
		s += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	return s + ": " + e.Err.Error()
}

func (e *QueryError) Unwrap() error { return e.Err }

// retryable reports whether another attempt may succeed.
func (e *QueryError) retryable() bool {
	switch e.Reason {
	case ReasonTimeout, ReasonUnreachable, ReasonHTTP5xx:
		return true
	case ReasonHTTP4xx:
		return e.Status == http.StatusTooManyRequests
	}
	return false
}

// ReasonOf returns the reason of err when it is (or wraps) a *QueryError,
// ReasonCanceled for a context error, and ReasonBadResponse otherwise.
func ReasonOf(err error) Reason {
	var qe *QueryError
	switch {
	case errors.As(err, &qe):
		return qe.Reason
	case errors.Is(err, context.Canceled):
		return ReasonCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	}
	return ReasonBadResponse
}

// ClientStats counts what a Client did. Fields only grow.
type ClientStats struct {
	// Queries counts queries (one per call, whatever the attempts).
	Queries uint64
	// Attempts counts HTTP requests; Retries the attempts after the first.
	Attempts, Retries uint64
	// Errors counts failed queries by reason; every Reason is present.
	Errors map[Reason]uint64
	// Warnings counts warnings and infos in successful responses.
	Warnings uint64
	// BytesRead counts response body bytes.
	BytesRead uint64
}

// Client queries a Prometheus-compatible HTTP API. It is safe for
// concurrent use.
type Client struct {
	base                *url.URL
	http                *http.Client
	timeout             time.Duration
	retries             int
	backoff, maxBackoff time.Duration
	sem                 chan struct{}
	log                 *zap.Logger
	mu                  sync.Mutex
	stats               ClientStats
	metrics             *ClientMetrics
	sleep               func(context.Context, time.Duration) error // tests shorten it
	jitter              func() float64
	userAgent           string
	maxBody             int64 // bytes of an answer read whole
	maxSeries           int   // series of one answer; 0: no cap
}

// NewClient validates cfg and returns a client.
func NewClient(cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("query url %q: must be an absolute http(s) URL", shownURL(cfg.URL, u, err))
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if err := cfg.HTTP.Validate(); err != nil {
		return nil, fmt.Errorf("query url %q: http client config: %w", u.Redacted(), err)
	}
	hc, err := config.NewClientFromConfig(cfg.HTTP, "slo-exporter")
	if err != nil {
		return nil, fmt.Errorf("query url %q: http client config: %w", u.Redacted(), err)
	}
	if cfg.HTTP.FollowRedirects {
		hc.CheckRedirect = sameOriginRedirects
	}
	c := &Client{
		base: u, http: hc, timeout: cfg.Timeout, retries: cfg.Retries,
		backoff: cfg.RetryBackoff, maxBackoff: cfg.MaxBackoff, log: cfg.Logger,
		sleep: sleepCtx, jitter: rand.Float64,
		userAgent: "slo-exporter",
		maxBody:   maxBodyBytes, maxSeries: max(cfg.MaxSeries, 0),
	}
	if cfg.MaxResponseBytes > 0 && cfg.MaxResponseBytes < maxBodyBytes {
		c.maxBody = cfg.MaxResponseBytes
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	switch {
	case c.retries == 0:
		c.retries = DefaultRetries
	case c.retries < 0:
		c.retries = 0
	}
	if c.backoff <= 0 {
		c.backoff = DefaultRetryBackoff
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = DefaultMaxBackoff
	}
	n := cfg.MaxConcurrency
	if n <= 0 {
		n = DefaultMaxConcurrency
	}
	c.sem = make(chan struct{}, n)
	if c.log == nil {
		c.log = zap.NewNop()
	}
	c.stats.Errors = map[Reason]uint64{}
	for _, r := range Reasons() {
		c.stats.Errors[r] = 0
	}
	c.metrics = cfg.Metrics
	if c.metrics == nil {
		c.metrics, _ = NewClientMetrics(nil) // unregistered: cannot fail
	}
	return c, nil
}

// maxRedirects is how many redirects one request follows, as Go's
// client does by default.
const maxRedirects = 10

// sameOriginRedirects follows redirects only to the origin (scheme, host
// and port) of the first request. prometheus/common adds basic_auth,
// authorization and http_headers (secrets too) in its round trippers, that
// is on every request, so a redirect to another host would carry them
// there: Go's own stripping of Authorization on a cross-domain redirect
// does not apply to headers set below the client. Such a redirect is an
// error instead (docs/scrape.md).
func sameOriginRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return fmt.Errorf("redirect from %s://%s to %s://%s refused: credentials and secret headers would go to another origin; "+
			"set prometheus.url to the server that answers", first.Scheme, first.Host, req.URL.Scheme, req.URL.Host)
	}
	return nil
}

// shownURL is the query URL as errors quote it: without the password of
// its user info. A string with an @ that url.Parse refused or read without
// user info (user:pass@host parses as scheme "user") may hold a password
// url.Redacted cannot find, so it is not shown.
func shownURL(raw string, u *url.URL, parseErr error) string {
	switch {
	case !strings.Contains(raw, "@"):
		return raw
	case parseErr == nil && u.User != nil:
		return u.Redacted()
	}
	return "<not shown: it has an @ and may hold a password>"
}

// Stats returns a copy of the client's counts.
func (c *Client) Stats() ClientStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Errors = make(map[Reason]uint64, len(c.stats.Errors))
	for k, v := range c.stats.Errors {
		s.Errors[k] = v
	}
	return s
}

// Query implements Querier.
func (c *Client) Query(ctx context.Context, expr string, ts time.Time) (model.Vector, error) {
	params := url.Values{"query": {expr}, "time": {formatTime(ts)}}
	var v model.Vector
	err := c.do(ctx, "query", expr, params, model.ValVector, &v)
	return v, err
}

// QueryRange implements Querier.
func (c *Client) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	params := url.Values{
		"query": {expr},
		"start": {formatTime(start)},
		"end":   {formatTime(end)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}
	var m model.Matrix
	err := c.do(ctx, "query_range", expr, params, model.ValMatrix, &m)
	return m, err
}

// RawSamples implements Querier with one instant query of the range
// selector sel[end-start] at end, whose answer is a matrix of raw samples
// on Prometheus and VictoriaMetrics alike. Prometheus 2.x includes a
// sample exactly at start (closed ranges) and 3.x does not (left-open):
// samples at or before start are dropped here, so every server gives
// (start, end].
func (c *Client) RawSamples(ctx context.Context, sel string, start, end time.Time) (model.Matrix, error) {
	span := end.UnixMilli() - start.UnixMilli()
	if span <= 0 {
		return nil, fmt.Errorf("raw samples of %s: empty span (%s, %s]", sel, formatTime(start), formatTime(end))
	}
	expr := RangeSelector(sel, span)
	params := url.Values{"query": {expr}, "time": {formatTime(end)}}
	var m model.Matrix
	if err := c.do(ctx, "query", expr, params, model.ValMatrix, &matrixStream{&m}); err != nil {
		return nil, err
	}
	return TrimMatrix(m, start.UnixMilli()), nil
}

// RangeSelector appends a range of span milliseconds to a plain selector:
// sel[span ms].
func RangeSelector(sel string, spanMs int64) string {
	return strings.TrimSpace(sel) + "[" + strconv.FormatInt(spanMs, 10) + "ms]"
}

// TrimMatrix drops the samples at or before after (unix ms) and the series
// left without samples, in place.
func TrimMatrix(m model.Matrix, after int64) model.Matrix {
	out := m[:0]
	for _, ss := range m {
		i := 0
		for i < len(ss.Values) && int64(ss.Values[i].Timestamp) <= after {
			i++
		}
		ss.Values = ss.Values[i:]
		j := 0
		for j < len(ss.Histograms) && int64(ss.Histograms[j].Timestamp) <= after {
			j++
		}
		ss.Histograms = ss.Histograms[j:]
		if len(ss.Values)+len(ss.Histograms) > 0 {
			out = append(out, ss)
		}
	}
	clear(m[len(out):])
	return out
}

// formatTime renders ts as Unix seconds with millisecond precision.
func formatTime(ts time.Time) string {
	ms := ts.UnixMilli()
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	return fmt.Sprintf("%s%d.%03d", sign, ms/1000, ms%1000)
}

// do runs one query with retries and records its stats.
func (c *Client) do(ctx context.Context, endpoint, expr string, params url.Values, want model.ValueType, out any) error {
	start := time.Now()
	params.Set("timeout", strconv.FormatFloat(c.timeout.Seconds(), 'f', -1, 64))
	var qe *QueryError
	attempts := 0
	for {
		attempts++
		var retryAfter time.Duration
		qe, retryAfter = c.attempt(ctx, endpoint, expr, params, want, out)
		if qe == nil || !qe.retryable() || attempts > c.retries || ctx.Err() != nil {
			break
		}
		d := c.backoffFor(attempts, retryAfter)
		c.log.Debug("retrying query", zap.String("endpoint", endpoint), zap.String("expr", expr),
			zap.String("reason", string(qe.Reason)), zap.Int("attempt", attempts), zap.Duration("backoff", d))
		if err := c.sleep(ctx, d); err != nil {
			break
		}
	}
	if qe != nil {
		qe.Attempts = attempts
		if ctx.Err() != nil && qe.Reason != ReasonBadData {
			qe.Reason = ReasonCanceled
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				qe.Reason = ReasonTimeout
			}
		}
	}
	var failed Reason
	c.mu.Lock()
	c.stats.Queries++
	c.stats.Attempts += uint64(attempts)
	c.stats.Retries += uint64(attempts - 1)
	if qe != nil {
		c.stats.Errors[qe.Reason]++
		failed = qe.Reason
	}
	c.mu.Unlock()
	c.metrics.observe(attempts, time.Since(start).Seconds(), failed)
	if qe != nil {
		return qe
	}
	return nil
}

// backoffFor returns the delay before attempt n+1: base·2^(n-1) capped at
// the maximum, jittered into [d/2, d], or the server's Retry-After.
func (c *Client) backoffFor(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, c.maxBackoff)
	}
	d := float64(c.backoff) * math.Pow(2, float64(n-1))
	d = math.Min(d, float64(c.maxBackoff))
	return time.Duration(d/2 + c.jitter()*d/2)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// apiResponse is the envelope every /api/v1 endpoint returns.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Infos     []string        `json:"infos"`
}

type queryData struct {
	ResultType model.ValueType `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// attempt makes one HTTP request under the concurrency limit.
func (c *Client) attempt(ctx context.Context, endpoint, expr string, params url.Values, want model.ValueType, out any) (*QueryError, time.Duration) {
	fail := func(r Reason, status int, err error) *QueryError {
		return &QueryError{Reason: r, Endpoint: endpoint, Expr: expr, Status: status, Err: err}
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return fail(ReasonCanceled, 0, ctx.Err()), 0
	}
	defer func() { <-c.sem }()

	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := *c.base
	u.Path += "/api/v1/" + endpoint
	req, err := http.NewRequestWithContext(actx, http.MethodPost, u.String(), strings.NewReader(params.Encode()))
	if err != nil {
		return fail(ReasonBadData, 0, err), 0
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return fail(transportReason(ctx, actx, err), 0, err), 0
	}
	defer resp.Body.Close()
	if ms, ok := out.(*matrixStream); ok {
		if resp.StatusCode/100 == 2 {
			return c.stream(ctx, actx, resp, ms.m, fail)
		}
		out = ms.m
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	c.mu.Lock()
	c.stats.BytesRead += uint64(len(body))
	c.mu.Unlock()
	c.metrics.bytes.Add(float64(len(body)))
	if err != nil {
		return fail(transportReason(ctx, actx, err), resp.StatusCode, fmt.Errorf("reading body: %w", err)), 0
	}
	if int64(len(body)) > c.maxBody {
		return fail(ReasonBadResponse, resp.StatusCode, fmt.Errorf("body larger than %d bytes (max_response_bytes)", c.maxBody)), 0
	}
	retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"))

	var env apiResponse
	jsonErr := json.Unmarshal(body, &env)
	if jsonErr != nil || env.Status == "" {
		// Not an API body: a proxy's page, a load balancer's 502...
		if jsonErr == nil {
			jsonErr = errors.New(`no "status" field`)
		}
		err := fmt.Errorf("undecodable body %q: %w", snippet(body), jsonErr)
		return fail(statusReason(resp.StatusCode), resp.StatusCode, err), retryAfter
	}
	if env.Status != "success" {
		err := fmt.Errorf("%s: %s", env.ErrorType, env.Error)
		return fail(apiErrorReason(resp.StatusCode, env.ErrorType), resp.StatusCode, err), retryAfter
	}
	if resp.StatusCode/100 != 2 {
		return fail(statusReason(resp.StatusCode), resp.StatusCode, errors.New(`status "success" with a non-2xx HTTP status`)), retryAfter
	}
	var data queryData
	if err := json.Unmarshal(env.Data, &data); err != nil || data.Result == nil {
		if err == nil {
			err = errors.New(`no "data.result" field`)
		}
		return fail(ReasonBadResponse, resp.StatusCode, fmt.Errorf("decoding data: %w", err)), 0
	}
	if data.ResultType != want {
		return fail(ReasonBadResponse, resp.StatusCode, fmt.Errorf("result type %q, want %q", data.ResultType, want)), 0
	}
	if err := json.Unmarshal(data.Result, out); err != nil {
		return fail(ReasonBadResponse, resp.StatusCode, fmt.Errorf("decoding %s result: %w", want, err)), 0
	}
	if err := c.checkSeries(out); err != nil {
		return fail(ReasonBadResponse, resp.StatusCode, err), 0
	}
	if n := len(env.Warnings) + len(env.Infos); n > 0 {
		c.mu.Lock()
		c.stats.Warnings += uint64(n)
		c.mu.Unlock()
		c.metrics.warnings.Add(float64(n))
		for _, w := range append(env.Warnings, env.Infos...) {
			c.log.Debug("query warning", zap.String("endpoint", endpoint), zap.String("expr", expr), zap.String("warning", w))
		}
	}
	return nil, 0
}

// checkSeries refuses a decoded answer with more series than MaxSeries:
// the caller then tracks none of them, instead of memory growing with the
// worst answer.
func (c *Client) checkSeries(out any) error {
	if c.maxSeries <= 0 {
		return nil
	}
	n := 0
	switch v := out.(type) {
	case *model.Vector:
		n = len(*v)
	case *model.Matrix:
		n = len(*v)
	}
	if n > c.maxSeries {
		clearResult(out)
		return fmt.Errorf("%d series in one answer, more than max_series_per_selector (%d): narrow the selector or raise the limit", n, c.maxSeries)
	}
	return nil
}

// clearResult empties a refused answer so that its series can be freed.
func clearResult(out any) {
	switch v := out.(type) {
	case *model.Vector:
		*v = nil
	case *model.Matrix:
		*v = nil
	}
}

// matrixStream asks attempt to decode a successful response's matrix as
// it arrives (decodeMatrixEnvelope) instead of reading the body first.
type matrixStream struct{ m *model.Matrix }

// countingReader counts the bytes read and keeps the reader's error.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (cr *countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	cr.n += int64(n)
	if err != nil && err != io.EOF {
		cr.err = err
	}
	return n, err
}

// stream decodes a 2xx response holding a matrix, as attempt would with
// the body read first: the same reasons for the same failures.
func (c *Client) stream(ctx, actx context.Context, resp *http.Response, out *model.Matrix,
	fail func(Reason, int, error) *QueryError) (*QueryError, time.Duration) {
	cr := &countingReader{r: io.LimitReader(resp.Body, maxBodyBytes+1)}
	var m model.Matrix
	env, err := decodeMatrixEnvelope(cr, &m)
	c.mu.Lock()
	c.stats.BytesRead += uint64(cr.n)
	c.mu.Unlock()
	c.metrics.bytes.Add(float64(cr.n))
	switch {
	case cr.err != nil:
		return fail(transportReason(ctx, actx, cr.err), resp.StatusCode, fmt.Errorf("reading body: %w", cr.err)), 0
	case cr.n > maxBodyBytes:
		return fail(ReasonBadResponse, resp.StatusCode, fmt.Errorf("body larger than %d bytes", maxBodyBytes)), 0
	case err == nil && env.status == "":
		err = errors.New(`no "status" field`)
	}
	if err != nil {
		return fail(ReasonBadResponse, resp.StatusCode, fmt.Errorf("undecodable body: %w", err)), 0
	}
	if env.status != "success" {
		return fail(apiErrorReason(resp.StatusCode, env.errorType), resp.StatusCode, fmt.Errorf("%s: %s", env.errorType, env.errMsg)), 0
	}
	if !env.hasResult {
		return fail(ReasonBadResponse, resp.StatusCode, errors.New(`decoding data: no "data.result" field`)), 0
	}
	if env.resultType != model.ValMatrix.String() {
		return fail(ReasonBadResponse, resp.StatusCode, fmt.Errorf("result type %q, want %q", env.resultType, model.ValMatrix)), 0
	}
	if err := c.checkSeries(&m); err != nil {
		return fail(ReasonBadResponse, resp.StatusCode, err), 0
	}
	*out = m
	if n := len(env.warnings); n > 0 {
		c.mu.Lock()
		c.stats.Warnings += uint64(n)
		c.mu.Unlock()
		c.metrics.warnings.Add(float64(n))
		for _, w := range env.warnings {
			c.log.Debug("query warning", zap.String("endpoint", "query"), zap.String("warning", w))
		}
	}
	return nil, 0
}

// transportReason classifies an error without a response.
func transportReason(parent, attempt context.Context, err error) Reason {
	switch {
	case parent.Err() != nil:
		if errors.Is(parent.Err(), context.DeadlineExceeded) {
			return ReasonTimeout
		}
		return ReasonCanceled
	case attempt.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ReasonTimeout
	}
	return ReasonUnreachable
}

// statusReason classifies a response that is not an API error body.
func statusReason(status int) Reason {
	switch {
	case status == http.StatusGatewayTimeout:
		return ReasonTimeout
	case status >= 500:
		return ReasonHTTP5xx
	case status >= 400:
		return ReasonHTTP4xx
	}
	return ReasonBadResponse
}

// apiErrorReason classifies an API error body ("status": "error").
func apiErrorReason(status int, errorType string) Reason {
	switch errorType {
	case "timeout":
		return ReasonTimeout
	case "bad_data", "execution":
		if status < 500 {
			return ReasonBadData
		}
	case "canceled":
		return ReasonTimeout // the server gave up; from our side it is transient
	}
	switch {
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return ReasonBadData
	case status >= 500:
		return ReasonHTTP5xx
	case status >= 400:
		return ReasonHTTP4xx
	}
	return ReasonBadResponse
}

// parseRetryAfter reads a Retry-After header given in seconds.
func parseRetryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

// snippet returns the start of a body for an error message.
func snippet(b []byte) string {
	const n = 120
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
