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
// test's queries see what was just scraped: neither query results
// (-search.disableCache) nor the series a selector matched
// (-storage.cacheSizeIndexDBTagFilters=1 byte holds no entry). That cache
// is keyed by the selector and the days queried, and reset only every
// 10s or so after new series are indexed: a selector queried before a
// series appeared misses it for seconds after the series is searchable
// (7.3s in one measurement, after /internal/force_flush).
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
		"-search.latencyOffset=0s", "-search.disableCache", "-storage.cacheSizeIndexDBTagFilters=1", "-inmemoryDataFlushInterval=1s", "-loggerLevel=WARN"}
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

// get sends a GET request for path (with its query string) to
// VictoriaMetrics.
func (vm *vmServer) get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, vm.url+path, nil)
	if err != nil {
		return nil, err
	}
	return http.DefaultClient.Do(req)
}

// query runs an instant query and decodes its result into out.
func (vm *vmServer) query(ctx context.Context, expr string, ts time.Time, want string, out any) error {
	resp, err := vm.get(ctx, "/api/v1/query?"+url.Values{"query": {expr}, "time": {formatTime(ts)}}.Encode())
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

// forceFlush asks VictoriaMetrics to make every sample it has ingested so
// far searchable at once (/internal/force_flush), instead of within the
// few seconds its background flushes take.
func (vm *vmServer) forceFlush(ctx context.Context) error {
	resp, err := vm.get(ctx, "/internal/force_flush")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("force_flush: %s", resp.Status)
	}
	return nil
}

// lastScrape returns when VictoriaMetrics started the last scrape of job
// that it has finished writing (/api/v1/targets' lastScrape: it records
// it after the scrape's samples, its up sample and any staleness markers
// are written), or the zero time before the first.
func (vm *vmServer) lastScrape(ctx context.Context, job string) (time.Time, error) {
	resp, err := vm.get(ctx, "/api/v1/targets")
	if err != nil {
		return time.Time{}, err
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			ActiveTargets []struct {
				Labels     map[string]string `json:"labels"`
				LastScrape time.Time         `json:"lastScrape"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return time.Time{}, fmt.Errorf("targets: %w", err)
	}
	var last time.Time
	for _, tg := range body.Data.ActiveTargets {
		if tg.Labels["job"] == job && tg.LastScrape.After(last) {
			last = tg.LastScrape
		}
	}
	return last, nil
}

// waitSearchable returns once every sample VictoriaMetrics scraped from
// the live source with a timestamp at or before at is searchable.
//
// VictoriaMetrics holds ingested rows (and the index entries of new
// series) in buffers that a background flusher makes searchable only once
// a buffer is about two seconds old, checking every two seconds: a row can
// stay hidden for about four seconds after its scrape, longer on a loaded
// machine. Its scraper scrapes a target in order, one scrape at a time,
// and stamps a scrape's samples with a time within 10% of the interval of
// when the scrape started (or exactly that time). So once a scrape that
// started more than 10% of the interval after at is written, every
// scrape stamped at or before at is written too; a flush
// (/internal/force_flush) then makes them all searchable. Waiting more
// than 30s fails the test (a hang detector, not a timing assertion).
func (vm *vmServer) waitSearchable(t *testing.T, at time.Time) {
	t.Helper()
	ctx := context.Background()
	// The live source is scraped every second: its stamps are within
	// 100ms of a scrape's start.
	after := at.Add(150 * time.Millisecond)
	deadline := time.Now().Add(30 * time.Second)
	for {
		last, err := vm.lastScrape(ctx, "app")
		if err != nil {
			t.Fatal(err)
		}
		if last.After(after) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("victoria-metrics: no scrape started after %s written by %s (last %s)",
				after.Format("15:04:05.000"), time.Now().Format("15:04:05.000"), last.Format("15:04:05.000"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := vm.forceFlush(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRawSampleProofVictoriaMetrics is TestRawSampleProof against
// VictoriaMetrics single-node scraping the same live source: its instant
// queries of sel[span] return raw samples too, so the same numbers come
// out. Each tick waits until VictoriaMetrics has made every sample up to
// the tick's time searchable (waitSearchable): without that wait a tick on
// a loaded machine could miss samples VictoriaMetrics had scraped but not
// yet made searchable, and count them a tick later.
//
// The binary comes from VICTORIA_METRICS, PATH or ~/go/bin (see
// promtest.Binary): the test skips without it, and fails with CI=true.
func TestRawSampleProofVictoriaMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts VictoriaMetrics and runs for about a minute")
	}
	src := newLiveCounters()
	hs := httptest.NewServer(src)
	defer hs.Close()
	vm := startVictoriaMetrics(t, liveScrapeConfig(hs.URL))
	runRawSampleProof(t, src, vm, newTestClient(t, vm.url), 1500*time.Millisecond)
}
