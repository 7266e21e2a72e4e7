package promtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// DefaultConfigYAML is the Prometheus configuration used when
// Options.ConfigYAML is empty: global settings only, no scrape jobs.
const DefaultConfigYAML = "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\n"

// readyTimeout bounds how long Start waits for /-/ready.
const readyTimeout = 60 * time.Second

// stopTimeout bounds how long Stop waits after SIGTERM before it kills.
const stopTimeout = 15 * time.Second

// Options configure Start. The zero value runs an empty Prometheus.
type Options struct {
	// Binary is the prometheus executable; empty means
	// Binary(t, "prometheus", "PROMETHEUS").
	Binary string
	// ConfigYAML is the content of prometheus.yml (scrape configs, rule
	// files...); empty means DefaultConfigYAML.
	ConfigYAML string
	// DataDir is the TSDB directory; empty means a fresh t.TempDir(). Set it
	// to a directory filled by CreateBlocks to serve backfilled history.
	DataDir string
	// RetentionTime is passed as --storage.tsdb.retention.time; empty means
	// "400d", so backfilled blocks of the last year are kept.
	RetentionTime string
	// LookbackDelta is passed as --query.lookback-delta when not zero
	// (Prometheus' default is 5m).
	LookbackDelta time.Duration
	// ExtraArgs are appended to the command line.
	ExtraArgs []string
}

// Server is a running Prometheus started by Start. Its methods are safe for
// concurrent use.
type Server struct {
	// URL is the base URL, e.g. "http://127.0.0.1:41234", without a
	// trailing slash.
	URL string
	// DataDir is the TSDB directory in use.
	DataDir string
	// ConfigFile is the path of prometheus.yml; UpdateConfig rewrites it.
	ConfigFile string
	// LogFile is where Prometheus' output goes; its tail is logged when the
	// test fails.
	LogFile string

	binary string
	args   []string
	client *http.Client

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	log  *os.File

	versionOnce sync.Once
	version     string
	versionErr  error
}

// Start runs Prometheus on a free 127.0.0.1 port with the lifecycle and
// admin APIs enabled, waits until /-/ready answers 200 (up to 60s) and
// registers a cleanup that stops it. It fails the test when the server
// does not come up, with the tail of its log.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	bin := opt.Binary
	if bin == "" {
		bin = Binary(t, "prometheus", "PROMETHEUS")
	}
	work := t.TempDir()
	s := &Server{
		DataDir:    opt.DataDir,
		ConfigFile: filepath.Join(work, "prometheus.yml"),
		LogFile:    filepath.Join(work, "prometheus.log"),
		binary:     bin,
		client:     &http.Client{Timeout: 30 * time.Second},
	}
	if s.DataDir == "" {
		s.DataDir = filepath.Join(work, "data")
	}
	cfg := opt.ConfigYAML
	if cfg == "" {
		cfg = DefaultConfigYAML
	}
	if err := os.WriteFile(s.ConfigFile, []byte(cfg), 0o644); err != nil {
		t.Fatalf("promtest: writing %s: %v", s.ConfigFile, err)
	}
	retention := opt.RetentionTime
	if retention == "" {
		retention = "400d"
	}
	base := []string{
		"--config.file=" + s.ConfigFile,
		"--storage.tsdb.path=" + s.DataDir,
		"--storage.tsdb.retention.time=" + retention,
		"--web.enable-lifecycle",
		"--web.enable-admin-api",
	}
	if opt.LookbackDelta > 0 {
		base = append(base, "--query.lookback-delta="+model.Duration(opt.LookbackDelta).String())
	}
	base = append(base, opt.ExtraArgs...)

	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("promtest: %s (%s), log tail:\n%s", s.URL, s.LogFile, s.logTail(60))
		}
	})

	// A free port is found by listening on :0 and closing; another process
	// may grab it before Prometheus binds, so a bind failure is retried.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("promtest: finding a free port: %v", err)
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		s.URL = "http://" + addr
		s.args = append([]string{"--web.listen-address=" + addr}, base...)
		if lastErr = s.start(); lastErr == nil {
			return s
		}
		if !strings.Contains(s.logTail(20), "address already in use") {
			break
		}
	}
	t.Fatalf("promtest: %s %s: %v\nlog tail (%s):\n%s", s.binary, strings.Join(s.args, " "), lastErr, s.LogFile, s.logTail(60))
	return nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start launches the process with s.args and waits for readiness.
func (s *Server) start() error {
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return errors.New("already running")
	}
	logf, err := os.OpenFile(s.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("opening log %s: %w", s.LogFile, err)
	}
	fmt.Fprintf(logf, "=== promtest: starting %s %s\n", s.binary, strings.Join(s.args, " "))
	cmd := exec.Command(s.binary, s.args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Dir = filepath.Dir(s.ConfigFile)
	if err := cmd.Start(); err != nil {
		logf.Close()
		s.mu.Unlock()
		return fmt.Errorf("starting %s: %w", s.binary, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done, s.log = cmd, done, logf
	s.mu.Unlock()

	if err := s.waitReady(done); err != nil {
		s.Stop()
		return err
	}
	return nil
}

// waitReady polls /-/ready until it answers 200, the process exits, or
// readyTimeout passes.
func (s *Server) waitReady(done <-chan struct{}) error {
	deadline := time.Now().Add(readyTimeout)
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := c.Get(s.URL + "/-/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-done:
			return errors.New("prometheus exited before it was ready")
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/-/ready not 200 after %s", s.URL, readyTimeout)
		}
	}
}

// Stop ends the server: SIGTERM, then SIGKILL after 15s. It is idempotent
// and is called by the cleanup Start registers; data in DataDir stays.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done, logf := s.cmd, s.done, s.log
	s.cmd, s.done, s.log = nil, nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	stopProcess(cmd, done)
	logf.Close()
}

// stopProcess ends a process the package started: SIGTERM, then SIGKILL
// after stopTimeout; done is closed when its Wait returns.
func stopProcess(cmd *exec.Cmd, done <-chan struct{}) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Kill ends the server with SIGKILL, as a crash or the OOM killer would:
// no shutdown, so the next start recovers the TSDB from its write-ahead
// log. Restart starts it again. It is a no-op when the server is not
// running.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done, logf := s.cmd, s.done, s.log
	s.cmd, s.done, s.log = nil, nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
	logf.Close()
}

// PID returns the process id of the running server, or 0.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Restart stops the server and starts it again on the same port, data
// directory and configuration, for tests of source outages. It fails the
// test when the server does not come back.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		t.Fatalf("promtest: restarting %s: %v\nlog tail (%s):\n%s", s.URL, err, s.LogFile, s.logTail(60))
	}
}

// Reload asks the server to re-read its configuration (POST /-/reload).
func (s *Server) Reload() error {
	resp, err := s.client.Post(s.URL+"/-/reload", "", nil)
	if err != nil {
		return fmt.Errorf("promtest: reload %s: %w", s.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("promtest: reload %s: status %d: %s", s.URL, resp.StatusCode, bytes.TrimSpace(body))
	}
	return nil
}

// UpdateConfig rewrites ConfigFile with configYAML and reloads the server.
func (s *Server) UpdateConfig(configYAML string) error {
	if err := os.WriteFile(s.ConfigFile, []byte(configYAML), 0o644); err != nil {
		return fmt.Errorf("promtest: writing %s: %w", s.ConfigFile, err)
	}
	return s.Reload()
}

// Version returns the server's version string from
// /api/v1/status/buildinfo, e.g. "2.42.0+ds" or "3.5.0". It is fetched once.
func (s *Server) Version() (string, error) {
	s.versionOnce.Do(func() {
		var data struct {
			Version string `json:"version"`
		}
		s.versionErr = s.apiGet(context.Background(), "/api/v1/status/buildinfo", nil, &data)
		if s.versionErr == nil && data.Version == "" {
			s.versionErr = fmt.Errorf("promtest: %s/api/v1/status/buildinfo: empty version", s.URL)
		}
		s.version = data.Version
	})
	return s.version, s.versionErr
}

// Major returns the server's major version (2 or 3), or 0 when the version
// cannot be read or parsed. Range selectors are left-closed, [t-w, t], in
// 2 and left-open, (t-w, t], in 3.
func (s *Server) Major() int {
	v, err := s.Version()
	if err != nil {
		return 0
	}
	return majorOf(v)
}

// majorOf parses the leading integer of a version such as "2.42.0+ds" or
// "v3.1.0"; 0 when there is none.
func majorOf(v string) int {
	v = strings.TrimPrefix(v, "v")
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(v[:end])
	if err != nil {
		return 0
	}
	return n
}

// Query runs an instant query at ts and returns its vector. A result of
// another type (scalar, matrix, string) is an error.
func (s *Server) Query(ctx context.Context, expr string, ts time.Time) (model.Vector, error) {
	var v model.Vector
	return v, s.instant(ctx, expr, ts, "vector", &v)
}

// QueryMatrix runs an instant query whose result is a matrix, such as a
// range selector x[5m] (its raw samples), at ts.
func (s *Server) QueryMatrix(ctx context.Context, expr string, ts time.Time) (model.Matrix, error) {
	var m model.Matrix
	return m, s.instant(ctx, expr, ts, "matrix", &m)
}

// instant runs an instant query at ts and decodes its result, of type
// want, into out.
func (s *Server) instant(ctx context.Context, expr string, ts time.Time, want string, out any) error {
	params := url.Values{"query": {expr}, "time": {formatTime(ts)}}
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := s.apiGet(ctx, "/api/v1/query", params, &data); err != nil {
		return err
	}
	if data.ResultType != want {
		return fmt.Errorf("promtest: query %q: result type %q, want %s", expr, data.ResultType, want)
	}
	if err := json.Unmarshal(data.Result, out); err != nil {
		return fmt.Errorf("promtest: query %q: decoding result: %w", expr, err)
	}
	return nil
}

// QueryRange runs a range query over [start, end] at step and returns its
// matrix.
func (s *Server) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	params := url.Values{
		"query": {expr},
		"start": {formatTime(start)},
		"end":   {formatTime(end)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := s.apiGet(ctx, "/api/v1/query_range", params, &data); err != nil {
		return nil, err
	}
	if data.ResultType != "matrix" {
		return nil, fmt.Errorf("promtest: query_range %q: result type %q, want matrix", expr, data.ResultType)
	}
	var m model.Matrix
	if err := json.Unmarshal(data.Result, &m); err != nil {
		return nil, fmt.Errorf("promtest: query_range %q: decoding result: %w", expr, err)
	}
	return m, nil
}

// formatTime renders ts as Unix seconds with millisecond precision, the
// resolution of Prometheus timestamps.
func formatTime(ts time.Time) string {
	ms := ts.UnixMilli()
	return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)
}

// apiGet calls an /api/v1 endpoint with GET and decodes the "data" field of
// a success response into out.
func (s *Server) apiGet(ctx context.Context, path string, params url.Values, out any) error {
	u := s.URL + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("promtest: %s: %w", path, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("promtest: %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("promtest: %s: reading body: %w", path, err)
	}
	var env struct {
		Status    string          `json:"status"`
		Data      json.RawMessage `json:"data"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("promtest: %s: status %d, undecodable body %q: %w", path, resp.StatusCode, truncate(body, 200), err)
	}
	if env.Status != "success" {
		return fmt.Errorf("promtest: %s: status %d: %s: %s", path, resp.StatusCode, env.ErrorType, env.Error)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("promtest: %s: decoding data: %w", path, err)
	}
	return nil
}

// truncate shortens b to at most n bytes for error messages.
func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// logTail returns the last n lines of the log file.
func (s *Server) logTail(n int) string {
	return fileTail(s.LogFile, n)
}
