package scrape

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

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
	// wrong result type, status success without data), or it is over a
	// limit (max_response_bytes, max_series_per_selector).
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
	// Status is the HTTP status of the last response, 0 when there was
	// none.
	Status int
	// Attempts is how many attempts were made.
	Attempts int
	// Err is the underlying error: a *v1.Error for an answer of the API,
	// a transport error, or a refused answer.
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

// refusedAnswer is an answer that arrived whole and was refused: the wrong
// result type, no result, or more series than the limit. It is never
// retried: the next attempt would get the same answer.
type refusedAnswer struct{ err error }

func (r *refusedAnswer) Error() string { return r.err.Error() }
func (r *refusedAnswer) Unwrap() error { return r.err }

func refuse(format string, args ...any) error {
	return &refusedAnswer{fmt.Errorf(format, args...)}
}

// classify gives the reason of one failed attempt, and the error to
// report. parent is the caller's context, attempt the attempt's own (with
// its timeout); ex is what the transport saw of the exchange.
func classify(parent, attempt context.Context, err error, ex exchangeResult) (Reason, error) {
	var refused *refusedAnswer
	var apiErr *v1.Error
	switch {
	case ex.tooLarge:
		return ReasonBadResponse, fmt.Errorf("body larger than %d bytes%s", ex.limit, ex.limitNote)
	case errors.As(err, &refused):
		return ReasonBadResponse, err
	case errors.As(err, &apiErr):
		return apiReason(ex.status, apiErr)
	}
	return transportReason(parent, attempt, err), err
}

// apiReason classifies an error of the v1 API. The v1 API decodes the
// error body of 400 and 422 only; for any other status it reports
// client_error or server_error with the body in Detail. Prometheus answers
// a query timeout with 503 and an error body of type "timeout", so the
// body is read here to tell a timeout from a failing server.
func apiReason(status int, e *v1.Error) (Reason, error) {
	switch e.Type {
	case v1.ErrClient, v1.ErrServer:
		if typ, msg, ok := apiErrorBody(e.Detail); ok {
			return apiErrorReason(status, typ), fmt.Errorf("%s: %s", typ, msg)
		}
		if e.Detail != "" {
			return statusReason(status), fmt.Errorf("%s: body %q", e.Msg, snippet(e.Detail))
		}
		return statusReason(status), e
	case v1.ErrBadResponse:
		if status/100 != 2 {
			return statusReason(status), e
		}
		return ReasonBadResponse, e
	}
	return apiErrorReason(status, string(e.Type)), e
}

// apiErrorBody reads the error type and message of an API error body.
func apiErrorBody(body string) (typ, msg string, ok bool) {
	var env struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}
	if json.Unmarshal([]byte(body), &env) != nil || env.Status != "error" || env.ErrorType == "" {
		return "", "", false
	}
	return env.ErrorType, env.Error, true
}

// transportReason classifies an error without a response body to decode
// (the v1 API returns the errors of net/http as they are): the caller's
// cancellation, a timeout, or an unreachable server.
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
	switch v1.ErrorType(errorType) {
	case v1.ErrTimeout:
		return ReasonTimeout
	case v1.ErrBadData, v1.ErrExec:
		if status < 500 {
			return ReasonBadData
		}
	case v1.ErrCanceled:
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

// snippet returns the start of a body for an error message.
func snippet(b string) string {
	const n = 120
	if len(b) > n {
		return b[:n] + "..."
	}
	return b
}
