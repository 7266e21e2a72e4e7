package scrape

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/promtest"
)

// vmServer is a VictoriaMetrics single-node process started by a test,
// scraping with its own Prometheus-style scrape configuration.
type vmServer struct {
	url string
}

// startVictoriaMetrics starts VictoriaMetrics on a free 127.0.0.1 port
// with scrapeConfig (none when empty) and extra flags, and stops it when
// the test ends. The newest samples are visible at once
// (-search.latencyOffset=0s) and results are not cached, so that the
// test's queries see what was just scraped.
func startVictoriaMetrics(t *testing.T, scrapeConfig string, extra ...string) *vmServer {
	t.Helper()
	bin := promtest.Binary(t, "victoria-metrics", "VICTORIA_METRICS")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "scrape.yml")
	if err := os.WriteFile(cfg, []byte(scrapeConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logf, err := os.Create(filepath.Join(dir, "vm.log"))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-storageDataPath=" + filepath.Join(dir, "data"), "-httpListenAddr=" + addr,
		"-search.latencyOffset=0s", "-search.disableCache", "-inmemoryDataFlushInterval=1s", "-loggerLevel=WARN"}
	if scrapeConfig != "" {
		args = append(args, "-promscrape.config="+cfg)
	}
	cmd := exec.Command(bin, append(args, extra...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("victoria-metrics log:\n%s", b)
		}
	})
	vm := &vmServer{url: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(vm.url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return vm
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("victoria-metrics not healthy: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// query runs an instant query and decodes its result into out.
func (vm *vmServer) query(ctx context.Context, expr string, ts time.Time, want string, out any) error {
	u := vm.url + "/api/v1/query?" + url.Values{"query": {expr}, "time": {formatTime(ts)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return err
	}
	if body.Status != "success" || body.Data.ResultType != want {
		return fmt.Errorf("query %s: status %s (%s), result type %q, want %q", expr, body.Status, body.Error, body.Data.ResultType, want)
	}
	return json.Unmarshal(body.Data.Result, out)
}

func (vm *vmServer) Query(ctx context.Context, expr string, ts time.Time) (model.Vector, error) {
	var v model.Vector
	return v, vm.query(ctx, expr, ts, "vector", &v)
}

func (vm *vmServer) QueryMatrix(ctx context.Context, expr string, ts time.Time) (model.Matrix, error) {
	var m model.Matrix
	return m, vm.query(ctx, expr, ts, "matrix", &m)
}

// TestRawSampleProofVictoriaMetrics is TestRawSampleProof against
// VictoriaMetrics single-node scraping the same live source: its instant
// queries of sel[span] return raw samples too, so the same numbers come
// out.
//
// It runs when VICTORIA_METRICS names the binary, as the Prometheus 3.x runs
// do with PROMETHEUS, and is not part of make test: under a loaded CI run it
// once found 45 more events in the engine than in its raw-sample truth for
// the late series, just before the scrape gap, which is not explained yet
// (see docs/scrape.md); until it is, it would make CI flaky.
func TestRawSampleProofVictoriaMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts VictoriaMetrics and runs for about a minute")
	}
	if os.Getenv("VICTORIA_METRICS") == "" {
		t.Skip("set VICTORIA_METRICS to a victoria-metrics binary (go install github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@v1.151.0) to run the proof on VictoriaMetrics")
	}
	src := newLiveCounters()
	hs := httptest.NewServer(src)
	defer hs.Close()
	vm := startVictoriaMetrics(t, liveScrapeConfig(hs.URL))
	// VictoriaMetrics makes samples searchable about a second after it
	// ingests them, in batches: ticks wait 5s.
	runRawSampleProof(t, src, vm, newTestClient(t, vm.url), 5*time.Second)
}
