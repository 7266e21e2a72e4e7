package scrape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"go.uber.org/zap"

	"github.com/slo-exporter/slo-exporter/internal/remoteread"
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
	// Stats returns what the querier has counted so far (queries,
	// attempts, errors, bytes read). A querier that counts nothing
	// returns the zero ClientStats: it may embed NoStats.
	Stats() ClientStats
}

// NoStats gives a Querier that counts nothing (a test double, a querier
// over files) the Stats method of the interface: embed it.
type NoStats struct{}

// Stats returns the zero ClientStats.
func (NoStats) Stats() ClientStats { return ClientStats{} }

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
	// MaxResponseBytes caps the body of an answer read whole (instant
	// queries: global.max_response_bytes); a larger one is refused as
	// bad_response without being decoded. Raw-sample and range answers are
	// decoded as they arrive, bounded by the series cap and the backfill's
	// chunk size instead, and only by the 1 GiB hard cap. Zero means that
	// cap.
	MaxResponseBytes int64
	// MaxSeries caps the series of one answer
	// (global.max_series_per_selector); a larger answer is refused as
	// bad_response and none of its series is tracked. Zero means no cap.
	MaxSeries int
	// Metrics receives the client's counts as self-metrics; nil means
	// unregistered ones of its own. Pass the same one to the clients of
	// successive configurations so that the counters only grow.
	Metrics *ClientMetrics
}

// ClientStats counts what a Client did. Fields only grow.
type ClientStats struct {
	// Queries counts queries (one per call, whatever the attempts).
	Queries uint64
	// Attempts counts attempts (one HTTP exchange each, plus its
	// redirects and the v1 API's GET fallback after a 405); Retries the
	// attempts after the first.
	Attempts, Retries uint64
	// Errors counts failed queries by reason; every Reason is present.
	Errors map[Reason]uint64
	// Warnings counts warnings and infos in successful responses.
	Warnings uint64
	// BytesRead counts response body bytes.
	BytesRead uint64
}

// Client queries a Prometheus-compatible HTTP API. It is a thin layer over
// client_golang's api and api/prometheus/v1 packages, which encode the
// requests and decode the answers and their errors, with
// prometheus/common's HTTP client below them (TLS, auth, headers, proxy).
// The layer adds what the exporter needs of every query: retries with
// backoff, a timeout per attempt, a cap on requests in flight, the
// response-size and series limits, and counts (Stats). Raw-sample reads,
// the bulk of a backfill, are decoded as they arrive by the streaming
// decoder of rawjson.go, behind the same layer. It is safe for concurrent
// use.
type Client struct {
	api                 v1.API
	http                *http.Client // the raw-sample stream's
	queryURL, rangeURL  string       // the query endpoints, for the stream
	remote              *remoteread.Client
	timeout             time.Duration
	retries             int
	backoff, maxBackoff time.Duration
	inFlight            chan struct{} // one token per request in flight
	log                 *zap.Logger
	sleep               func(context.Context, time.Duration) error // tests shorten it
	jitter              func() float64
	maxBody             int64    // bytes of an answer read whole
	maxSeries           int      // series of one answer; 0: no cap
	secrets             []string // redacted from error messages
	metrics             *ClientMetrics

	mu    sync.Mutex
	stats ClientStats
}

// NewClient validates cfg and returns a client.
func NewClient(cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("query url %q: must be an absolute http(s) URL", shownURL(cfg.URL, u, err))
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	hc, err := newHTTPClient(cfg.HTTP)
	if err != nil {
		return nil, fmt.Errorf("query url %q: http client config: %w", u.Redacted(), err)
	}
	ac, err := api.NewClient(api.Config{Address: u.String(), Client: hc})
	if err != nil {
		return nil, fmt.Errorf("query url %q: %w", u.Redacted(), err)
	}
	c := &Client{
		api: v1.NewAPI(ac), http: hc, queryURL: ac.URL("/api/v1/query", nil).String(),
		rangeURL: ac.URL("/api/v1/query_range", nil).String(),
		remote:   remoteread.NewClient(hc, ac.URL("/api/v1/read", nil).String()),
		timeout:  cfg.Timeout, retries: cfg.Retries,
		backoff: cfg.RetryBackoff, maxBackoff: cfg.MaxBackoff, log: cfg.Logger,
		sleep: sleepCtx, jitter: rand.Float64,
		maxBody: maxBodyBytes, maxSeries: max(cfg.MaxSeries, 0),
	}
	c.applyDefaults(cfg)
	pw, _ := u.User.Password()
	c.secrets = secretValues(cfg.HTTP, pw)
	return c, nil
}

// newHTTPClient builds prometheus/common's client from hc, following
// redirects within the first request's origin only, with a transport
// that meters every exchange for the layer above.
func newHTTPClient(hc config.HTTPClientConfig) (*http.Client, error) {
	if err := hc.Validate(); err != nil {
		return nil, err
	}
	c, err := config.NewClientFromConfig(hc, "slo-exporter", config.WithUserAgent("slo-exporter"),
		config.WithDialContextFunc(dialBuffered))
	if err != nil {
		return nil, err
	}
	if hc.FollowRedirects {
		c.CheckRedirect = sameOriginRedirects
	}
	c.Transport = meteredTransport{next: c.Transport}
	return c, nil
}

// applyDefaults fills the settings cfg leaves at zero.
func (c *Client) applyDefaults(cfg ClientConfig) {
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
	c.inFlight = make(chan struct{}, n)
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

// Stats implements Querier: a copy of the client's counts.
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
	var vec model.Vector
	err := c.run(ctx, "query", expr, c.wholeLimit(), func(ctx context.Context) error {
		val, warnings, infos, err := c.api.Query(ctx, expr, ts, v1.WithTimeout(c.timeout))
		if err == nil {
			c.noteWarnings("query", expr, warnings, infos)
		}
		vec, err = accept[model.Vector](c, val, err)
		return err
	})
	return vec, err
}

// QueryRange implements Querier. Its answer, a matrix like a raw-sample
// read's, is decoded as it arrives (streamMatrix): a backfill reads a
// million bucket-boundary points this way.
func (c *Client) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	var mat model.Matrix
	form := url.Values{"query": {expr}, "start": {formatTime(start)}, "end": {formatTime(end)},
		"step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}, "timeout": {c.timeout.String()}}
	// Decoded as it arrives, like a raw-sample read: bounded by the series
	// cap and the hard cap, not by max_response_bytes (answers read whole).
	err := c.run(ctx, "query_range", expr, wholeReadLimit{maxBodyBytes, ""}, func(ctx context.Context) error {
		m, err := c.streamMatrix(ctx, c.rangeURL, "query_range", form)
		mat = m
		return err
	})
	return mat, err
}

// accept returns the v1 API's answer as the result type T, refusing
// another type or more series than the limit.
func accept[T model.Vector | model.Matrix](c *Client, val model.Value, err error) (T, error) {
	if err != nil {
		return nil, err
	}
	v, ok := val.(T)
	if !ok {
		var want T
		return nil, refuse("result type %s, want %s", valueType(val), model.Value(want).Type())
	}
	if err := c.checkSeries(len(v)); err != nil {
		return nil, err
	}
	return v, nil
}

// valueType names the type of a decoded result; "none" when the answer
// had no result.
func valueType(v model.Value) string {
	if v == nil {
		return "none"
	}
	return v.Type().String()
}

// RawSamples implements Querier with one instant query of the range
// selector sel[end-start] at end, whose answer is a matrix of raw samples
// on Prometheus and VictoriaMetrics alike. Prometheus 2.x includes a
// sample exactly at start (closed ranges) and 3.x does not (left-open):
// samples at or before start are dropped here, so every server gives
// (start, end]. The answer is decoded as it arrives (streamMatrix).
func (c *Client) RawSamples(ctx context.Context, sel string, start, end time.Time) (model.Matrix, error) {
	span := end.UnixMilli() - start.UnixMilli()
	if span <= 0 {
		return nil, fmt.Errorf("raw samples of %s: empty span (%s, %s]", sel, formatTime(start), formatTime(end))
	}
	expr := RangeSelector(sel, span)
	var mat model.Matrix
	limit := wholeReadLimit{maxBodyBytes, ""}
	err := c.run(ctx, "query", expr, limit, func(ctx context.Context) error {
		form := url.Values{"query": {expr}, "time": {formatTime(end)}, "timeout": {c.timeout.String()}}
		m, err := c.streamMatrix(ctx, c.queryURL, "query", form)
		mat = m
		return err
	})
	if err != nil {
		return nil, err
	}
	return TrimMatrix(mat, start.UnixMilli()), nil
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

// formatTime renders ts as Unix seconds with millisecond precision and
// no trailing zeros, as the v1 API spells its parameters.
func formatTime(ts time.Time) string {
	ms := ts.UnixMilli()
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	if ms%1000 == 0 {
		return fmt.Sprintf("%s%d", sign, ms/1000)
	}
	return strings.TrimRight(fmt.Sprintf("%s%d.%03d", sign, ms/1000, ms%1000), "0")
}

// wholeReadLimit caps the body of one answer: bytes, and the setting
// behind the cap for the error message.
type wholeReadLimit struct {
	bytes int64
	note  string
}

// wholeLimit is the cap of answers the v1 API reads whole.
func (c *Client) wholeLimit() wholeReadLimit {
	return wholeReadLimit{c.maxBody, " (max_response_bytes)"}
}

// run makes one query: attempts of call, with retries and backoff, and
// records its stats. call makes one attempt under ctx, which carries the
// attempt's timeout and exchange.
func (c *Client) run(ctx context.Context, endpoint, expr string, limit wholeReadLimit, call func(ctx context.Context) error) error {
	start := time.Now()
	var qe *QueryError
	attempts := 0
	for {
		attempts++
		var retryAfter time.Duration
		qe, retryAfter = c.attempt(ctx, endpoint, expr, limit, call)
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
	c.mu.Lock()
	c.stats.Queries++
	c.stats.Attempts += uint64(attempts)
	c.stats.Retries += uint64(attempts - 1)
	var failed Reason
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

// attempt makes one attempt under the concurrency limit and the attempt
// timeout, and classifies its failure. It returns the server's
// Retry-After, if any.
func (c *Client) attempt(ctx context.Context, endpoint, expr string, limit wholeReadLimit, call func(ctx context.Context) error) (*QueryError, time.Duration) {
	select {
	case c.inFlight <- struct{}{}:
	case <-ctx.Done():
		return &QueryError{Reason: ReasonCanceled, Endpoint: endpoint, Expr: expr, Err: ctx.Err()}, 0
	}
	defer func() { <-c.inFlight }()
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	xctx, ex := newExchange(actx, limit.bytes, limit.note)
	err := call(xctx)
	res := ex.result()
	c.mu.Lock()
	c.stats.BytesRead += uint64(res.bytes)
	c.metrics.bytes.Add(float64(res.bytes))
	c.mu.Unlock()
	if err == nil {
		return nil, 0
	}
	reason, err := classify(ctx, actx, err, res)
	err = c.redact(err)
	return &QueryError{Reason: reason, Endpoint: endpoint, Expr: expr, Status: res.status, Err: err}, res.retryAfter
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

// selectorsKey carries, in a request's context, how many selectors the
// request reads through one union (see "Union reads").
type selectorsKey struct{}

// withSelectors marks ctx's request as the read of n selectors at once:
// its answer may hold MaxSeries series for each.
func withSelectors(ctx context.Context, n int) context.Context {
	if n <= 1 {
		return ctx
	}
	return context.WithValue(ctx, selectorsKey{}, n)
}

// seriesCap returns the series cap of the answer of ctx's request (0: no
// cap) and how many selectors it reads.
func (c *Client) seriesCap(ctx context.Context) (limit, selectors int) {
	n, _ := ctx.Value(selectorsKey{}).(int)
	n = max(n, 1)
	if c.maxSeries <= 0 {
		return 0, n
	}
	if c.maxSeries > math.MaxInt/n {
		return math.MaxInt, n
	}
	return c.maxSeries * n, n
}

// checkSeries refuses an answer with more series than MaxSeries: the
// caller then tracks none of them, instead of memory growing with the
// worst answer.
func (c *Client) checkSeries(n int) error {
	if c.maxSeries > 0 && n > c.maxSeries {
		return refuse("%d series in one answer, more than max_series_per_selector (%d): narrow the selector or raise the limit", n, c.maxSeries)
	}
	return nil
}

// noteWarnings counts and logs the warnings and infos of an answer.
func (c *Client) noteWarnings(endpoint, expr string, lists ...[]string) {
	n := 0
	for _, l := range lists {
		n += len(l)
		for _, w := range l {
			c.log.Debug("query warning", zap.String("endpoint", endpoint), zap.String("expr", expr), zap.String("warning", w))
		}
	}
	if n > 0 {
		c.mu.Lock()
		c.stats.Warnings += uint64(n)
		c.metrics.warnings.Add(float64(n))
		c.mu.Unlock()
	}
}

// streamMatrix posts form to an endpoint (query or query_range), as the v1
// API sends it, and decodes its matrix answer as it arrives (decodeMatrixEnvelope). The
// v1 API reads a body whole before decoding it; a backfill reads millions
// of raw samples, for which the stream is 3 to 4.6 times faster and holds
// only the samples (rawjson.go). Failures are reported as the v1 API
// reports them, so that both paths are classified alike.
func (c *Client) streamMatrix(ctx context.Context, endpointURL, endpoint string, form url.Values) (model.Matrix, error) {
	resp, err := c.send(ctx, endpointURL, form)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		errorType := v1.ErrServer
		if resp.StatusCode < 500 {
			errorType = v1.ErrClient
		}
		return nil, &v1.Error{Type: errorType, Msg: fmt.Sprintf("HTTP status %d", resp.StatusCode), Detail: string(body)}
	}
	var m model.Matrix
	limit, selectors := c.seriesCap(ctx)
	env, err := decodeMatrixLimited(resp.Body, &m, limit)
	var tooMany errTooManySeries
	if errors.As(err, &tooMany) {
		if selectors > 1 {
			return nil, refuse("more than %d series in one answer of a union of %d selectors (max_series_per_selector each)", limit, selectors)
		}
		return nil, refuse("more than %d series in one answer (max_series_per_selector): narrow the selector or raise the limit", limit)
	}
	if err != nil {
		if ex, ok := ctx.Value(exchangeKey{}).(*exchange); ok {
			if rerr := ex.result().readErr; rerr != nil {
				return nil, rerr // a transport failure, not a bad body
			}
		}
		return nil, &v1.Error{Type: v1.ErrBadResponse, Msg: "undecodable body: " + err.Error()}
	}
	switch {
	case env.status == "":
		return nil, &v1.Error{Type: v1.ErrBadResponse, Msg: `undecodable body: no "status" field`}
	case env.status != "success":
		return nil, &v1.Error{Type: v1.ErrorType(env.errorType), Msg: env.errMsg}
	case !env.hasResult:
		return nil, refuse(`decoding data: no "data.result" field`)
	case env.resultType != model.ValMatrix.String():
		return nil, refuse("result type %q, want %q", env.resultType, model.ValMatrix)
	}
	c.noteWarnings(endpoint, form.Get("query"), env.warnings)
	return m, nil
}

// send posts form to the instant-query endpoint and, on a 403, 405 or
// 501, sends it again as a GET, as the v1 API does.
func (c *Client) send(ctx context.Context, endpointURL string, form url.Values) (*http.Response, error) {
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpointURL, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusForbidden, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		resp.Body.Close()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpointURL+"?"+body, nil)
		if err != nil {
			return nil, err
		}
		return c.http.Do(req)
	}
	return resp, nil
}
