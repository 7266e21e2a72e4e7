package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/exporter-toolkit/web"
)

// Exposition selects the implementation behind /metrics.
type Exposition string

const (
	// ExpositionText writes the text format directly with
	// VictoriaMetrics/metrics' writers, and renders the slo_* series once
	// per snapshot. It is the default.
	ExpositionText Exposition = "text"
	// ExpositionClientGolang collects const metrics through client_golang
	// at every scrape; it negotiates protobuf and compression as promhttp
	// does, at a much higher cost per scrape.
	ExpositionClientGolang Exposition = "client_golang"
)

// Options configures a Server.
type Options struct {
	// Exposition is the /metrics implementation; empty means
	// ExpositionText.
	Exposition Exposition
	// Reload is called by POST /-/reload when EnableLifecycle is set; its
	// error is returned as a 500 with the error's message. Nil answers 501.
	Reload func(context.Context) error
	// EnableLifecycle allows POST /-/reload (serve's
	// --web.enable-lifecycle). Off, the endpoint answers 403 naming the
	// flag: anyone who reaches the port could otherwise make the exporter
	// reload (and backfill) at will. SIGHUP reloads either way.
	EnableLifecycle bool
	// Logger logs serving errors; nil discards them.
	Logger *slog.Logger
	// FirstReady runs once, in the background, when the server first
	// becomes ready (the start-up backfill is done); nil means
	// debug.FreeOSMemory. serve also lowers the GC percentage there.
	FirstReady func()
}

// Server serves the exporter's HTTP endpoints:
//
//	/metrics          slo_*, slo_exporter_*, go_* and process_* series
//	/api/v1/slos      every SLO as JSON; /api/v1/slos/{name} one of them
//	/api/v1/policy    the error-budget policy; ?change=... its decision
//	/                 the status page
//	/-/healthy        200 while the process serves
//	/-/ready          200 once SetReady(true, ...), else 503 with the reason
//	/-/reload         POST: reload the configuration (with EnableLifecycle)
type Server struct {
	store   *Store
	opt     Options
	reg     *prometheus.Registry
	metrics http.Handler
	ready   atomic.Pointer[readiness]
	mux     *http.ServeMux
	// wasReady is set the first time the server becomes ready;
	// opt.FirstReady runs then.
	wasReady atomic.Bool
}

type readiness struct {
	ok     bool
	reason string
}

// NewServer returns a server of store's data. It is not ready until
// SetReady(true, ...).
func NewServer(store *Store, opt Options) (*Server, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.FirstReady == nil {
		opt.FirstReady = debug.FreeOSMemory
	}
	s := &Server{store: store, opt: opt, reg: prometheus.NewRegistry(), mux: http.NewServeMux()}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		selfCollector{store})
	switch opt.Exposition {
	case "", ExpositionText:
		s.metrics = http.HandlerFunc(s.serveText)
	case ExpositionClientGolang:
		if err := s.reg.Register(NewCollector(store)); err != nil {
			return nil, fmt.Errorf("export: registering the collector: %w", err)
		}
		s.metrics = promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorLog: slogErrorLog{opt.Logger}})
	default:
		return nil, fmt.Errorf("export: exposition %q: must be %q or %q", opt.Exposition, ExpositionText, ExpositionClientGolang)
	}
	s.ready.Store(&readiness{reason: "starting"})
	s.mux.Handle("GET /metrics", s.metrics)
	s.mux.HandleFunc("GET /api/v1/slos", s.serveSLOs)
	s.mux.HandleFunc("GET /api/v1/slos/{name}", s.serveSLO)
	s.mux.HandleFunc("GET /api/v1/policy", s.servePolicy)
	s.mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "Healthy.\n")
	})
	s.mux.HandleFunc("GET /-/ready", s.serveReady)
	s.mux.HandleFunc("/-/reload", s.serveReload)
	s.mux.HandleFunc("GET /{$}", s.serveStatus)
	s.mux.HandleFunc("GET /slo/{name}", s.serveSLOPage)
	return s, nil
}

// Registerer is the registry /metrics gathers at every scrape: the
// components that count self-metrics (slo_exporter_*) register them there.
func (s *Server) Registerer() prometheus.Registerer { return s.reg }

// Handler returns the server's routes, for tests and for callers that
// serve them themselves.
func (s *Server) Handler() http.Handler { return s.mux }

// SetReady sets readiness; reason says what the exporter waits for while
// it is not ready (e.g. "backfill 42%") and is shown by /-/ready.
//
// The first time the server becomes ready, Options.FirstReady runs in the
// background; by default it returns the memory freed since start to the
// operating system at once (debug.FreeOSMemory: one collection). The
// start-up backfill, with its decoded range-query answers, is the
// process's memory peak (670 MB of RSS at 10,000 groups against 440 MB
// steady); the runtime's background scavenger would otherwise return it
// over many minutes, and the RSS that monitoring and the kernel see would
// not be the steady state.
func (s *Server) SetReady(ready bool, reason string) {
	s.ready.Store(&readiness{ok: ready, reason: reason})
	if ready && s.wasReady.CompareAndSwap(false, true) {
		go s.opt.FirstReady()
	}
}

func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	r := s.ready.Load()
	if r.ok {
		_, _ = io.WriteString(w, "Ready.\n")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	reason := r.reason
	if reason == "" {
		reason = "not ready"
	}
	_, _ = fmt.Fprintf(w, "Not ready: %s\n", reason)
}

func (s *Server) serveReload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "Only POST requests allowed.", http.StatusMethodNotAllowed)
		return
	}
	if !s.opt.EnableLifecycle {
		http.Error(w, LifecycleDisabled, http.StatusForbidden)
		return
	}
	if s.opt.Reload == nil {
		http.Error(w, "Reload is not available.", http.StatusNotImplemented)
		return
	}
	if err := s.opt.Reload(r.Context()); err != nil {
		http.Error(w, fmt.Sprintf("Failed to reload config: %s", err), http.StatusInternalServerError)
		return
	}
	_, _ = io.WriteString(w, "Reloaded.\n")
}

// LifecycleDisabled is the answer of POST /-/reload without
// --web.enable-lifecycle.
const LifecycleDisabled = "Lifecycle API is not enabled: start slo-exporter serve with --web.enable-lifecycle to reload with POST /-/reload, or send the process SIGHUP."

// contentTypeText is the text exposition format's content type.
const contentTypeText = "text/plain; version=0.0.4; charset=utf-8"

// serveText writes the registry's families (go_*, process_* and the
// slo_exporter_* self-metrics: client_golang collectors, a fixed small
// cost), then the snapshot's slo_* text. It answers in the text format
// whatever the Accept header asks: every Prometheus-compatible scraper
// accepts it.
//
// With Accept-Encoding gzip (Prometheus always asks for it), the body is
// two gzip members: the small head compressed per scrape, then the slo_*
// text compressed once per snapshot. Without, the slo_* text is rendered
// from the snapshot straight into the response, so the store never holds
// the uncompressed text.
// Concatenated members are one valid gzip stream (RFC 1952), which Go's
// gzip reader (and so Prometheus), zlib and the gzip tool all read.
func (s *Server) serveText(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", contentTypeText)
	p := s.store.cur.Load()
	head := s.head()
	if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		if _, err := w.Write(head); err == nil {
			_ = writeText(w, p)
		}
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	w.Header().Add("Vary", "Accept-Encoding")
	gz := gzipWriters.Get().(*gzip.Writer)
	gz.Reset(w)
	_, _ = gz.Write(head)
	err := gz.Close()
	gzipWriters.Put(gz)
	if err != nil {
		return
	}
	if p != nil {
		_, _ = w.Write(p.sloGzip())
	}
}

// head renders everything but the slo_* series: what is registered on the
// server's registry, that is the Go and process collectors and the
// self-metrics.
func (s *Server) head() []byte {
	var b bytes.Buffer
	mfs, err := s.reg.Gather()
	if err != nil {
		s.opt.Logger.Warn("gathering go and process metrics", "err", err)
	}
	for _, mf := range mfs {
		_, _ = expfmt.MetricFamilyToText(&b, mf)
	}
	return b.Bytes()
}

// WriteText writes the full /metrics exposition of the text
// implementation to w; Push and tests use it.
func (s *Server) WriteText(w io.Writer) error {
	p := s.store.cur.Load()
	if _, err := w.Write(s.head()); err != nil {
		return err
	}
	return writeText(w, p)
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip with
// a non-zero quality.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
				return false
			}
		}
		return true
	}
	return false
}

// Serve serves the endpoints on l until ctx is cancelled, with TLS and
// basic authentication from the exporter-toolkit web configuration file
// (empty: plain HTTP, no authentication).
func (s *Server) Serve(ctx context.Context, l net.Listener, webConfigFile string) error {
	srv := s.httpServer()
	flags := &web.FlagConfig{WebConfigFile: &webConfigFile}
	return s.run(ctx, srv, func() error { return web.Serve(l, srv, flags, s.opt.Logger) })
}

// ListenAndServe listens on flags' addresses (--web.listen-address) and
// serves until ctx is cancelled, as other Prometheus exporters do.
func (s *Server) ListenAndServe(ctx context.Context, flags *web.FlagConfig) error {
	srv := s.httpServer()
	return s.run(ctx, srv, func() error { return web.ListenAndServe(srv, flags, s.opt.Logger) })
}

func (s *Server) httpServer() *http.Server {
	return &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.opt.Logger.Handler(), slog.LevelWarn)}
}

// run calls serve and shuts srv down when ctx is cancelled.
func (s *Server) run(ctx context.Context, srv *http.Server, serve func() error) error {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		case <-done:
		}
	}()
	err := serve()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// slogErrorLog adapts slog to promhttp's error logger.
type slogErrorLog struct{ l *slog.Logger }

func (l slogErrorLog) Println(v ...any) { l.l.Error(fmt.Sprint(v...)) }
