package scrape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The v1 API returns a decoded answer or an error, and neither the HTTP
// status, nor the Retry-After header, nor the bytes read. The client's
// transport records them per attempt in an exchange carried by the
// request's context, and caps the body there, before the v1 API reads it
// whole.

// exchangeKey is the context key of an attempt's *exchange.
type exchangeKey struct{}

// errBodyTooLarge ends the read of a body over its limit.
var errBodyTooLarge = errors.New("response body over the limit")

// exchange is what the transport saw of one attempt. The v1 API may
// still read a body after it gave up on a canceled context, hence the
// lock.
type exchange struct {
	mu sync.Mutex
	exchangeResult
}

// exchangeResult is a copy of an exchange's record.
type exchangeResult struct {
	// limit caps the body's bytes; limitNote names the setting behind
	// it, for the error message.
	limit     int64
	limitNote string
	// status and retryAfter come from the last response (redirects and
	// a GET fallback make more than one).
	status     int
	retryAfter time.Duration
	// bytes counts the body bytes read; tooLarge is set once they pass
	// the limit; readErr is the body reader's error other than EOF.
	bytes    int64
	tooLarge bool
	readErr  error
}

func newExchange(ctx context.Context, limit int64, note string) (context.Context, *exchange) {
	ex := &exchange{exchangeResult: exchangeResult{limit: limit, limitNote: note}}
	return context.WithValue(ctx, exchangeKey{}, ex), ex
}

func (ex *exchange) result() exchangeResult {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.exchangeResult
}

// meteredTransport records each response in the request's exchange and
// meters its body.
type meteredTransport struct{ next http.RoundTripper }

// CloseIdleConnections passes the call on: http.Client.CloseIdleConnections
// reaches a transport only through this method, so without it a retired
// client's keep-alive connections would stay open.
func (t meteredTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// RoundTrip implements http.RoundTripper.
func (t meteredTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	ex, ok := req.Context().Value(exchangeKey{}).(*exchange)
	if err != nil || !ok {
		return resp, err
	}
	ex.mu.Lock()
	ex.status = resp.StatusCode
	ex.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
	ex.mu.Unlock()
	resp.Body = &meteredBody{rc: resp.Body, ex: ex}
	return resp, nil
}

// meteredBody counts a body's bytes into its exchange and fails the read
// once they pass the exchange's limit.
type meteredBody struct {
	rc io.ReadCloser
	ex *exchange
}

func (b *meteredBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	ex := b.ex
	ex.mu.Lock()
	defer ex.mu.Unlock()
	ex.bytes += int64(n)
	switch {
	case ex.bytes > ex.limit:
		ex.tooLarge = true
		return n, errBodyTooLarge
	case err != nil && err != io.EOF && ex.readErr == nil:
		ex.readErr = err
	}
	return n, err
}

func (b *meteredBody) Close() error { return b.rc.Close() }

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
