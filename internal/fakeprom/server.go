package fakeprom

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// Mode is a transport fault: how the fake answers every query while it is
// set.
type Mode int

// The modes.
const (
	// Healthy answers normally.
	Healthy Mode = iota
	// Hang accepts the request and never answers until the mode changes
	// (the request then gets the new mode's answer) or the client gives
	// up.
	Hang
	// Slow answers normally after Fault.Delay.
	Slow
	// HTTP500 answers 500 with a plain-text body.
	HTTP500
	// HTTP503 answers 503 with Retry-After: Fault.RetryAfter (seconds).
	HTTP503
	// Garbage answers 200 with a body that starts like the API's JSON and
	// turns into binary junk.
	Garbage
	// Truncated announces the whole answer's Content-Length, sends half of
	// it and closes the connection.
	Truncated
	// HTML answers 200 with a proxy's sign-in page.
	HTML
	// WrongType answers a success whose result type is "scalar".
	WrongType
	// APIError answers 422 {"status":"error","errorType":"execution"}, as
	// Prometheus does when a query would load too many samples.
	APIError
	// Redirect answers 307 to the same path on another host (Server.Other),
	// which answers normally and records the headers it receives.
	Redirect
	// Reset closes the connection with a TCP reset before answering.
	Reset
	// EchoHeaders answers 502 with a body that starts with the request's
	// headers, as some debugging proxies do.
	EchoHeaders
	// HugeSeries adds Fault.Series series to every raw-sample (matrix)
	// answer, each with one sample and the labels of the first series of
	// the answer, where Fault.Label (default fake_replica) is set to
	// Fault.Prefix followed by the series' number.
	HugeSeries
	// HugeBytes is HugeSeries whose extra series also carry a label
	// fake_blob of Fault.LabelBytes bytes.
	HugeBytes
)

var modeNames = map[Mode]string{
	Healthy: "healthy", Hang: "hang", Slow: "slow", HTTP500: "http 500", HTTP503: "http 503",
	Garbage: "garbage JSON", Truncated: "truncated body", HTML: "HTML body", WrongType: "wrong result type",
	APIError: "status error", Redirect: "redirect", Reset: "connection reset", EchoHeaders: "headers echoed",
	HugeSeries: "huge series", HugeBytes: "huge bytes",
}

func (m Mode) String() string {
	if n, ok := modeNames[m]; ok {
		return n
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

// Fault is the fake's transport behaviour.
type Fault struct {
	Mode Mode
	// Delay of Slow.
	Delay time.Duration
	// RetryAfter of HTTP503, in seconds (0: no header).
	RetryAfter int
	// Series of HugeSeries and HugeBytes.
	Series int
	// LabelBytes of HugeBytes.
	LabelBytes int
	// Label and Prefix of HugeSeries and HugeBytes: the label that tells
	// the extra series apart (default fake_replica; "model" makes each a
	// group of a grouped SLO) and the text its values start with (HTML,
	// to test escaping).
	Label, Prefix string
}

// Options configure Start.
type Options struct {
	// Origin is the timestamp of every counter's sample 0, Step the time
	// between samples. Samples later than the current time do not exist
	// yet.
	Origin time.Time
	Step   time.Duration
	// Counters are the stored series.
	Counters []Counter
	// Upstream, when set, is the base URL of a real server: healthy
	// queries are forwarded to it and Counters are not used (proxy mode).
	// WrongType, HugeSeries and HugeBytes are not available then.
	Upstream string
	// Headers every /api/v1 request must carry (name to value), e.g. the
	// Authorization header of the exporter's credentials; a request
	// without them is answered 401.
	Headers map[string]string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Stats counts the requests the fake received.
type Stats struct {
	// Requests to /api/v1/query and /api/v1/query_range.
	Requests int64
	// Probes are instant queries holding count_over_time.
	Probes int64
	// RangeQueries are /api/v1/query_range requests.
	RangeQueries int64
	// InFlight are the requests not answered yet.
	InFlight int64
	// Unauthorized requests lacked a required header.
	Unauthorized int64
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string
	// Other is the base URL of the host Redirect sends clients to.
	Other string

	opt      Options
	srv      *http.Server
	other    *http.Server
	proxy    *httputil.ReverseProxy
	closing  chan struct{}
	requests atomic.Int64
	probes   atomic.Int64
	ranges   atomic.Int64
	inflight atomic.Int64
	unauth   atomic.Int64

	mu        sync.Mutex
	fault     Fault
	changed   chan struct{} // closed and replaced at every SetFault
	corrupt   []Corruption
	otherHdrs []http.Header
}

// Start runs a fake on a free 127.0.0.1 port (and a second one for
// Redirect) and registers a cleanup that stops both. It fails the test
// when it cannot listen or the options are invalid.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	s, err := New(opt)
	if err != nil {
		t.Fatalf("fakeprom: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// New is Start without a test: the caller must Close the server.
func New(opt Options) (*Server, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Upstream == "" && opt.Step <= 0 {
		return nil, errors.New("Options.Step must be positive")
	}
	s := &Server{opt: opt, closing: make(chan struct{}), changed: make(chan struct{})}
	if opt.Upstream != "" {
		u, err := url.Parse(opt.Upstream)
		if err != nil {
			return nil, fmt.Errorf("Options.Upstream: %w", err)
		}
		s.proxy = httputil.NewSingleHostReverseProxy(u)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	lo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l.Close()
		return nil, err
	}
	s.URL = "http://" + l.Addr().String()
	s.Other = "http://" + lo.Addr().String()
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	s.other = &http.Server{Handler: http.HandlerFunc(s.serveOther), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(l) }()
	go func() { _ = s.other.Serve(lo) }()
	return s, nil
}

// Close releases hung requests and stops both listeners.
func (s *Server) Close() {
	select {
	case <-s.closing:
		return
	default:
	}
	close(s.closing)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	_ = s.other.Shutdown(ctx)
	_ = s.srv.Close()
	_ = s.other.Close()
}

func (s *Server) now() time.Time { return s.opt.Now() }

// SetFault switches the transport behaviour; requests hung by Hang are
// released when the mode changes.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
	close(s.changed)
	s.changed = make(chan struct{})
}

// Fault returns the current transport behaviour.
func (s *Server) Fault() Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault
}

// Corrupt adds a corruption of the stored samples.
func (s *Server) Corrupt(c Corruption) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corrupt = append(s.corrupt, c)
}

// Clear removes every corruption: the store serves its clean samples again
// (as a query layer that deduplicates replicas would).
func (s *Server) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corrupt = nil
}

func (s *Server) corruptions() []Corruption {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Corruption(nil), s.corrupt...)
}

// Stats returns the request counts.
func (s *Server) Stats() Stats {
	return Stats{Requests: s.requests.Load(), Probes: s.probes.Load(), RangeQueries: s.ranges.Load(),
		InFlight: s.inflight.Load(), Unauthorized: s.unauth.Load()}
}

// OtherHeaders returns the headers of every request the redirect target
// received.
func (s *Server) OtherHeaders() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]http.Header, len(s.otherHdrs))
	for i, h := range s.otherHdrs {
		out[i] = h.Clone()
	}
	return out
}

// serveOther is the redirect target: it records the headers and answers
// normally, as an attacker that mimics the server would.
func (s *Server) serveOther(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.otherHdrs = append(s.otherHdrs, r.Header.Clone())
	s.mu.Unlock()
	s.answer(w, r)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" && r.URL.Path != "/api/v1/query_range" {
		if r.URL.Path == "/-/ready" || r.URL.Path == "/-/healthy" {
			_, _ = io.WriteString(w, "ok\n")
			return
		}
		http.NotFound(w, r)
		return
	}
	s.requests.Add(1)
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "bad_data", err.Error())
		return
	}
	if strings.Contains(r.Form.Get("query"), "count_over_time") {
		s.probes.Add(1)
	}
	if r.URL.Path == "/api/v1/query_range" {
		s.ranges.Add(1)
	}
	for name, want := range s.opt.Headers {
		if r.Header.Get(name) != want {
			s.unauth.Add(1)
			http.Error(w, "401 Unauthorized", http.StatusUnauthorized)
			return
		}
	}
	var f Fault
	for {
		s.mu.Lock()
		f, ch := s.fault, s.changed
		s.mu.Unlock()
		if f.Mode != Hang {
			break
		}
		select {
		case <-ch:
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
	}
	f = s.Fault()
	switch f.Mode {
	case Slow:
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
		s.answer(w, r)
	case HTTP500:
		http.Error(w, "internal server error", http.StatusInternalServerError)
	case HTTP503:
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
	case Garbage:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"__name__\":\x00\xff\xfe}}]]]}}}garbage"))
	case Truncated:
		s.truncated(w, r)
	case HTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Sign in to continue</h1><form method=post action=/login><input name=user><input type=password name=password></form></body></html>\n")
	case WrongType:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"scalar","result":[%s,"1"]}}`, appendTime(nil, s.now().UnixMilli()))
	case APIError:
		writeError(w, http.StatusUnprocessableEntity, "execution", "query processing would load too many samples into memory in query execution")
	case Redirect:
		w.Header().Set("Location", s.Other+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
	case Reset:
		if conn := hijack(w); conn != nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			conn.Close()
		}
	case EchoHeaders:
		var b strings.Builder
		names := make([]string, 0, len(r.Header))
		for n := range r.Header {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "%s: %s\n", n, strings.Join(r.Header[n], ", "))
		}
		b.WriteString("\n502 Bad Gateway: upstream unavailable\n")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, b.String())
	default:
		s.answer(w, r)
	}
}

// hijack takes the connection over, or returns nil.
func hijack(w http.ResponseWriter) net.Conn {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return nil
	}
	return conn
}

// truncated sends half of the normal answer under the whole one's
// Content-Length, then closes the connection.
func (s *Server) truncated(w http.ResponseWriter, r *http.Request) {
	rec := &bufferWriter{header: http.Header{}}
	s.answer(rec, r)
	body := rec.buf.Bytes()
	conn := hijack(w)
	if conn == nil {
		return
	}
	defer conn.Close()
	bw := bufio.NewWriter(conn)
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		rec.code(), http.StatusText(rec.code()), len(body))
	_, _ = bw.Write(body[:len(body)/2])
	_ = bw.Flush()
}

// bufferWriter is a ResponseWriter into memory.
type bufferWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufferWriter) Header() http.Header         { return b.header }
func (b *bufferWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }
func (b *bufferWriter) WriteHeader(code int)        { b.status = code }
func (b *bufferWriter) code() int {
	if b.status == 0 {
		return http.StatusOK
	}
	return b.status
}

func writeError(w http.ResponseWriter, code int, errType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b := []byte(`{"status":"error","errorType":`)
	b = appendJSONString(b, errType)
	b = append(b, `,"error":`...)
	b = appendJSONString(b, msg)
	b = append(b, "}\n"...)
	_, _ = w.Write(b)
}

// answer answers a query normally (plus the extra series of HugeSeries and
// HugeBytes), from the store or the upstream.
func (s *Server) answer(w http.ResponseWriter, r *http.Request) {
	if s.proxy != nil {
		if f := s.Fault(); f.Mode == WrongType || f.Mode == HugeSeries || f.Mode == HugeBytes {
			http.Error(w, "fakeprom: "+f.Mode.String()+" is not available in proxy mode", http.StatusInternalServerError)
			return
		}
		// The form was parsed from the body: send it on re-encoded.
		body := r.PostForm.Encode()
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(strings.NewReader(body))
		r2.ContentLength = int64(len(body))
		r2.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		s.proxy.ServeHTTP(w, r2)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "bad_data", err.Error())
		return
	}
	q := r.Form.Get("query")
	var res result
	var err error
	if r.URL.Path == "/api/v1/query_range" {
		var start, end int64
		var step float64
		start, err = parseTime(r.Form.Get("start"), 0)
		if err == nil {
			end, err = parseTime(r.Form.Get("end"), 0)
		}
		if err == nil {
			step, err = strconv.ParseFloat(r.Form.Get("step"), 64)
		}
		if err == nil {
			res, err = s.evalRange(q, start, end, int64(math.Round(step*1000)))
		}
	} else {
		var t int64
		t, err = parseTime(r.Form.Get("time"), s.now().UnixMilli())
		if err == nil {
			res, err = s.evalInstant(q, t)
		}
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_data", err.Error())
		return
	}
	f := s.Fault()
	w.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	typ := "vector"
	if res.matrix {
		typ = "matrix"
	}
	_, _ = bw.WriteString(`{"status":"success","data":{"resultType":"` + typ + `","result":[`)
	var buf []byte
	for i, sr := range res.series {
		buf = buf[:0]
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendSeries(buf, sr, res.matrix)
		_, _ = bw.Write(buf)
	}
	if res.matrix && len(res.series) > 0 && (f.Mode == HugeSeries || f.Mode == HugeBytes) {
		s.writeHuge(bw, res.series[0], f)
	}
	_, _ = bw.WriteString("]}}\n")
}

// writeHuge streams the extra series of HugeSeries and HugeBytes, each
// with the labels of tmpl plus fake_replica (and fake_blob) and one sample
// at tmpl's last timestamp.
func (s *Server) writeHuge(w *bufio.Writer, tmpl series, f Fault) {
	ls := tmpl.labels.Clone()
	if f.Mode == HugeBytes {
		ls["fake_blob"] = "BLOB"
	}
	label := model.LabelName(f.Label)
	if label == "" {
		label = "fake_replica"
	}
	const mark = "\x00REPLICA\x00"
	ls[label] = mark
	head := string(appendLabels(nil, ls))
	// The mark is written escaped; the prefix goes in escaped too.
	escMark := string(appendJSONString(nil, mark))
	escMark = escMark[1 : len(escMark)-1]
	escPrefix := string(appendJSONString(nil, f.Prefix))
	escPrefix = escPrefix[1 : len(escPrefix)-1]
	blob := strings.Repeat("x", max(0, f.LabelBytes))
	last := tmpl.samples[len(tmpl.samples)-1]
	tail := `,"values":[[` + string(appendTime(nil, int64(last.Timestamp))) + `,"1"]]}`
	var buf []byte
	for i := 0; i < f.Series; i++ {
		buf = append(buf[:0], `,{"metric":`...)
		h := strings.Replace(head, escMark, escPrefix+strconv.Itoa(i), 1)
		if f.Mode == HugeBytes {
			h = strings.Replace(h, "BLOB", blob, 1)
		}
		buf = append(buf, h...)
		buf = append(buf, tail...)
		if _, err := w.Write(buf); err != nil {
			return
		}
	}
}

// parseTime reads an API time in (fractional) unix seconds; empty means
// def.
func parseTime(s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if t, terr := time.Parse(time.RFC3339Nano, s); terr == nil {
			return t.UnixMilli(), nil
		}
		return 0, fmt.Errorf("cannot parse %q to a valid timestamp", s)
	}
	return int64(math.Round(f * 1000)), nil
}
