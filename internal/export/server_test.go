package export

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"golang.org/x/crypto/bcrypt"
)

func newServer(t *testing.T, store *Store, opt Options) *Server {
	t.Helper()
	s, err := NewServer(store, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// do serves one request and returns the response's code and body.
func do(t *testing.T, h http.Handler, method, target string, header http.Header) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func TestHealthyReady(t *testing.T) {
	s := newServer(t, NewStore(), Options{})
	h := s.Handler()
	if res, body := do(t, h, "GET", "/-/healthy", nil); res.StatusCode != 200 {
		t.Errorf("/-/healthy: %d %s", res.StatusCode, body)
	}
	tests := []struct {
		ready    bool
		reason   string
		code     int
		contains string
	}{
		{false, "", 503, "starting"}, // before any SetReady
		{false, "backfill 42%", 503, "backfill 42%"},
		{true, "", 200, "Ready"},
		{false, "reloading", 503, "reloading"},
	}
	for i, tt := range tests {
		if i > 0 {
			s.SetReady(tt.ready, tt.reason)
		}
		res, body := do(t, h, "GET", "/-/ready", nil)
		if res.StatusCode != tt.code || !strings.Contains(body, tt.contains) {
			t.Errorf("step %d: /-/ready = %d %q, want %d containing %q", i, res.StatusCode, body, tt.code, tt.contains)
		}
	}
}

func TestReload(t *testing.T) {
	var calls int
	var fail error
	reload := func(context.Context) error { calls++; return fail }
	s := newServer(t, NewStore(), Options{Reload: reload, EnableLifecycle: true})
	h := s.Handler()
	tests := []struct {
		method   string
		fail     error
		code     int
		contains string
		calls    int
	}{
		{"GET", nil, 405, "Only POST", 0},
		{"PUT", nil, 405, "Only POST", 0},
		{"POST", nil, 200, "Reloaded", 1},
		{"POST", errors.New(`config.yaml: slos[0].objective 1.5: must be below 100`), 500, "slos[0].objective 1.5", 2},
	}
	for _, tt := range tests {
		fail = tt.fail
		res, body := do(t, h, tt.method, "/-/reload", nil)
		if res.StatusCode != tt.code || !strings.Contains(body, tt.contains) || calls != tt.calls {
			t.Errorf("%s /-/reload = %d %q (calls %d), want %d containing %q (calls %d)",
				tt.method, res.StatusCode, body, calls, tt.code, tt.contains, tt.calls)
		}
	}
	none := newServer(t, NewStore(), Options{EnableLifecycle: true})
	if res, _ := do(t, none.Handler(), "POST", "/-/reload", nil); res.StatusCode != http.StatusNotImplemented {
		t.Errorf("reload without a func: %d, want 501", res.StatusCode)
	}
}

// TestReloadNeedsLifecycle checks that POST /-/reload answers 403 naming
// the flag, without reloading, unless the lifecycle API is enabled, and
// 200 (after one reload) with it.
func TestReloadNeedsLifecycle(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		calls := 0
		s := newServer(t, NewStore(), Options{EnableLifecycle: enabled, Reload: func(context.Context) error { calls++; return nil }})
		res, body := do(t, s.Handler(), "POST", "/-/reload", nil)
		switch {
		case !enabled && (res.StatusCode != http.StatusForbidden || body != LifecycleDisabled+"\n" || calls != 0):
			t.Errorf("lifecycle off: %d %q, %d reloads; want 403 %q and none", res.StatusCode, body, calls, LifecycleDisabled)
		case enabled && (res.StatusCode != http.StatusOK || body != "Reloaded.\n" || calls != 1):
			t.Errorf("lifecycle on: %d %q, %d reloads; want 200 and one", res.StatusCode, body, calls)
		}
	}
	if !strings.Contains(LifecycleDisabled, "--web.enable-lifecycle") || !strings.Contains(LifecycleDisabled, "SIGHUP") {
		t.Errorf("the message does not name the flag and SIGHUP: %q", LifecycleDisabled)
	}
}

func TestUnknownExposition(t *testing.T) {
	if _, err := NewServer(NewStore(), Options{Exposition: "protobuf"}); err == nil || !strings.Contains(err.Error(), `"protobuf"`) {
		t.Errorf("NewServer(protobuf) = %v, want an error naming the value", err)
	}
}

// TestMetricsEndpoint checks /metrics of both implementations: the slo_*
// series, Go and process collectors, promtool check metrics clean, and the
// content negotiation (gzip, Prometheus' Accept header).
func TestMetricsEndpoint(t *testing.T) {
	promAccept := "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
	for _, exp := range []Exposition{ExpositionText, ExpositionClientGolang} {
		t.Run(string(exp), func(t *testing.T) {
			h := newServer(t, fixtureStore(), Options{Exposition: exp}).Handler()
			res, body := do(t, h, "GET", "/metrics", nil)
			if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
				t.Fatalf("/metrics: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
			}
			for _, want := range []string{"slo_sli_ratio{", "slo_exporter_build_info{", "go_goroutines ", "process_cpu_seconds_total "} {
				if !strings.Contains(body, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
			parse(t, body)
			promtoolCheck(t, []byte(body))

			res, gz := do(t, h, "GET", "/metrics", http.Header{"Accept-Encoding": {"gzip"}, "Accept": {promAccept}})
			if res.Header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("gzip not negotiated: %v", res.Header)
			}
			zr, err := gzip.NewReader(strings.NewReader(gz))
			if err != nil {
				t.Fatal(err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(plain, []byte(`slo_burn_alert{slo="model-api-availability"`)) &&
				!bytes.Contains(plain, []byte(`slo_burn_alert{alert_tier="fast"`)) {
				t.Errorf("gzipped body lacks slo_burn_alert")
			}
			if exp == ExpositionText {
				gunzipTool(t, []byte(gz), plain)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") && !strings.HasPrefix(ct, "application/openmetrics-text") {
				t.Errorf("Content-Type %q for Prometheus' Accept header", ct)
			}
		})
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := map[string]bool{"": false, "gzip": true, "br, gzip;q=0.5": true, "gzip;q=0": false, "GZIP": true, "identity": false, "x-gzip": false}
	for h, want := range tests {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}

// TestPromtoolBig runs promtool on the benchmark's shape (grouped, every
// value present) at a size that keeps the test quick.
func TestPromtoolBig(t *testing.T) {
	var b bytes.Buffer
	s := newServer(t, bigStore(3, 50, 8, 4), Options{})
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	promtoolCheck(t, b.Bytes())
}

func TestAPI(t *testing.T) {
	h := newServer(t, fixtureStore(), Options{}).Handler()
	res, body := do(t, h, "GET", "/api/v1/slos", nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("/api/v1/slos: %d %s", res.StatusCode, body)
	}
	if strings.Contains(body, "NaN") || strings.Contains(body, "Inf") {
		t.Errorf("NaN or Inf in %s", body)
	}
	var all struct {
		Status string
		Data   []SLO
	}
	if err := json.Unmarshal([]byte(body), &all); err != nil {
		t.Fatal(err)
	}
	if all.Status != "success" || len(all.Data) != 3 {
		t.Fatalf("status %q, %d SLOs, want success and 3", all.Status, len(all.Data))
	}
	avail := all.Data[0]
	bert, resnet := avail.Groups[0], avail.Groups[1]
	if bert.Labels["model"] != "bert" || bert.Windows[0].Window != "5m" || bert.Windows[0].SLI != nil || bert.Windows[0].BurnRate != nil {
		t.Errorf("bert 5m: %+v, want no SLI nor burn rate", bert.Windows[0])
	}
	if bert.Budget == nil || bert.Budget.ExhaustionSeconds != nil || bert.Zone != "green" {
		t.Errorf("bert budget %+v zone %q, want a budget without exhaustion, green", bert.Budget, bert.Zone)
	}
	if len(resnet.Firing) != 1 || resnet.Firing[0] != "fast" || resnet.Zone != "yellow" || *resnet.Windows[0].BurnRate < 49.9 {
		t.Errorf("resnet50: firing %v zone %q burn %v, want [fast] yellow 50", resnet.Firing, resnet.Zone, *resnet.Windows[0].BurnRate)
	}
	if avail.Metadata["team"] != "inference" || avail.Kind != "ratio" || avail.Period != "30d" || len(avail.Tiers) != 2 {
		t.Errorf("model-api-availability: %+v", avail)
	}
	fs := all.Data[1]
	if fs.DataUp || fs.Groups[0].Budget != nil || fs.Groups[0].Zone != "" || fs.Groups[0].PeriodSLI != nil {
		t.Errorf("feature-store without data: %+v", fs.Groups[0])
	}
	if batch := all.Data[2]; batch.Period != "month" || batch.Groups[0].Windows[2].Window != "month" {
		t.Errorf("calendar SLO: period %q windows %+v", batch.Period, batch.Groups[0].Windows)
	}

	res, body = do(t, h, "GET", "/api/v1/slos/batch-success", nil)
	var one struct{ Data SLO }
	if err := json.Unmarshal([]byte(body), &one); err != nil || res.StatusCode != 200 || one.Data.Name != "batch-success" {
		t.Errorf("/api/v1/slos/batch-success: %d %s (%v)", res.StatusCode, body, err)
	}
	res, body = do(t, h, "GET", "/api/v1/slos/nope", nil)
	if res.StatusCode != 404 || !strings.Contains(body, `slo \"nope\" not found`) {
		t.Errorf("/api/v1/slos/nope: %d %s", res.StatusCode, body)
	}
	empty := newServer(t, NewStore(), Options{}).Handler()
	if _, body := do(t, empty, "GET", "/api/v1/slos", nil); strings.TrimSpace(body) != `{"status":"success","data":[]}` {
		t.Errorf("empty store: %s", body)
	}
}

func TestStatusPageHTML(t *testing.T) {
	s := newServer(t, fixtureStore(), Options{})
	s.SetReady(false, "backfill 42%")
	res, body := do(t, s.Handler(), "GET", "/", nil)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, want := range []string{`data-slo="model-api-availability" data-zone="yellow"`, "{model=resnet50}", "Not ready: backfill 42%",
		`href="metrics"`, `href="api/v1/slos"`, `href="-/ready"`, "65.3%", "fast"} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if res, _ := do(t, s.Handler(), "GET", "/nope", nil); res.StatusCode != 404 {
		t.Errorf("/nope: %d, want 404", res.StatusCode)
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "slo-exporter test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeFile(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// serve runs s on a loopback port with the web config file until the test
// ends and returns its address.
func serve(t *testing.T, s *Server, webConfig string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l, webConfig) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String()
}

// TestTLSBasicAuth serves with an exporter-toolkit web config (TLS and a
// bcrypt basic-auth user) and checks what clients get.
func TestTLSBasicAuth(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := selfSigned(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "web.yml")
	writeFile(t, cfg, []byte("tls_server_config:\n  cert_file: "+cert+"\n  key_file: "+key+
		"\nbasic_auth_users:\n  prometheus: "+string(hash)+"\n"))
	s := newServer(t, fixtureStore(), Options{})
	addr := serve(t, s, cfg)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	get := func(url, user, pass string) (int, string, error) {
		req, _ := http.NewRequest("GET", url, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), nil
	}
	base := "https://" + addr
	tests := []struct {
		name, url, user, pass string
		code                  int
	}{
		{"no credentials", base + "/metrics", "", "", 401},
		{"wrong password", base + "/metrics", "prometheus", "nope", 401},
		{"unknown user", base + "/metrics", "admin", "s3cret", 401},
		{"valid", base + "/metrics", "prometheus", "s3cret", 200},
		{"valid health", base + "/-/healthy", "prometheus", "s3cret", 200},
	}
	for _, tt := range tests {
		code, body, err := get(tt.url, tt.user, tt.pass)
		if err != nil || code != tt.code {
			t.Errorf("%s: %d %v, want %d", tt.name, code, err, tt.code)
		}
		if code == 200 && strings.HasSuffix(tt.url, "/metrics") && !strings.Contains(body, "slo_burn_rate{") {
			t.Errorf("%s: body lacks slo_burn_rate", tt.name)
		}
	}
	if code, _, err := get("http://"+addr+"/metrics", "prometheus", "s3cret"); err == nil && code == 200 {
		t.Errorf("plain HTTP to the TLS port served the metrics")
	}
}

func TestServePlainHTTP(t *testing.T) {
	addr := serve(t, newServer(t, fixtureStore(), Options{}), "")
	res, err := http.Get("http://" + addr + "/-/healthy")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("/-/healthy over plain HTTP: %d", res.StatusCode)
	}
}

// gunzipTool decompresses body with the gzip program (which reads
// concatenated members as RFC 1952 says) and compares with want.
func gunzipTool(t *testing.T, body, want []byte) {
	t.Helper()
	bin := promtest.Binary(t, "gzip", "")
	cmd := exec.Command(bin, "-dc")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.Output()
	if err != nil || !bytes.Equal(out, want) {
		t.Errorf("gzip -dc: %v; %d bytes, Go's reader %d", err, len(out), len(want))
	}
}

// TestSnapshotCompressedOffScrapePath: SetSnapshot renders and compresses
// the slo_* series in the background, and a gzipped scrape then serves those
// very bytes (its body ends with them) instead of compressing again.
func TestSnapshotCompressedOffScrapePath(t *testing.T) {
	store := NewStore()
	src := fixtureStore()
	snap, info := src.Snapshot()
	store.SetSnapshot(snap, info)
	p := store.cur.Load()
	select {
	case <-p.warmed:
	case <-time.After(30 * time.Second):
		t.Fatal("the snapshot was not compressed in the background")
	}
	if p.gz == nil {
		t.Fatal("warm finished without compressing the current snapshot")
	}
	s := newServer(t, store, Options{})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	if !bytes.HasSuffix(body, p.gz) {
		t.Fatalf("the gzipped scrape does not end with the snapshot's precompressed member (%d bytes)", len(p.gz))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(text, p.sloText()) {
		t.Error("the decompressed scrape does not end with the snapshot's text")
	}
}

// TestStreamedExposition: the slo_* text that /metrics streams through a
// small buffer (identity) and the one it compresses once per snapshot
// (gzip) are both byte for byte the text rendered whole in memory, for an
// exposition many times the buffer's size; a writer that fails stops the
// stream with its error.
func TestStreamedExposition(t *testing.T) {
	snap, info := bigSnapshot(3, 200, 8, 4)
	store := NewStoreProfile(ProfileFull)
	store.SetSnapshot(snap, info)
	p := store.cur.Load()
	var whole bytes.Buffer
	e := &textEmitter{b: &whole}
	writeSLOs(e, snap, prepare(snap, info), ProfileFull)
	writePolicy(e, snap, info, p.policy)
	if whole.Len() < 8*flushSize {
		t.Fatalf("the exposition holds %d bytes, too few to stream through several %d-byte flushes", whole.Len(), flushSize)
	}
	if n := strings.Count(whole.String(), "\nslo_sli_ratio{"); n != 3*200*8 {
		t.Fatalf("%d slo_sli_ratio series, want %d", n, 3*200*8)
	}
	s := newServer(t, store, Options{})
	for _, enc := range []string{"identity", "gzip"} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept-Encoding", enc)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		body := rec.Body.Bytes()
		if enc == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.HasSuffix(body, whole.Bytes()) {
			t.Errorf("%s scrape: the body (%d bytes) does not end with the slo_* text rendered whole (%d bytes)", enc, len(body), whole.Len())
		}
	}
	fail := errors.New("connection reset")
	w := &failingWriter{after: 2, err: fail}
	if err := writeText(w, p); !errors.Is(err, fail) {
		t.Errorf("writeText on a failing writer: %v, want %v", err, fail)
	}
	if w.calls != 3 {
		t.Errorf("writeText wrote %d times to a writer that failed on the 3rd, want 3 (no write after the error)", w.calls)
	}
}

// failingWriter accepts after writes, then fails every write with err.
type failingWriter struct {
	after, calls int
	err          error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	w.calls++
	if w.calls > w.after {
		return 0, w.err
	}
	return len(p), nil
}

// TestFirstReadyFreesMemory: Options.FirstReady (by default returning the
// start-up backfill's memory to the OS) runs once, when the server first
// becomes ready, not on every later publish nor after a later not-ready
// spell.
func TestFirstReadyFreesMemory(t *testing.T) {
	calls := make(chan struct{}, 10)
	s := newServer(t, NewStore(), Options{FirstReady: func() { calls <- struct{}{} }})
	for _, ready := range []bool{false, false, true, true, false, true} {
		s.SetReady(ready, "")
	}
	select {
	case <-calls:
	case <-time.After(10 * time.Second):
		t.Fatal("memory was not freed when the server became ready")
	}
	s.SetReady(true, "")
	time.Sleep(50 * time.Millisecond) // a second call, if any, runs in its own goroutine too
	if n := len(calls); n != 0 {
		t.Errorf("memory freed %d more times after the first ready", n)
	}
}
