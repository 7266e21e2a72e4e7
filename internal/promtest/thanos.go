package promtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ThanosOptions configure StartThanos.
type ThanosOptions struct {
	// Binary is the thanos executable; empty means
	// Binary(t, "thanos", "THANOS").
	Binary string
	// QueryArgs are appended to the querier's command line, e.g. its
	// tenancy flags.
	QueryArgs []string
}

// Thanos is a Thanos sidecar next to a Prometheus started by Start, and a
// Thanos querier whose only store is that sidecar.
type Thanos struct {
	// URL is the querier's HTTP base URL, e.g. "http://127.0.0.1:41234",
	// the one a client queries.
	URL string
	// SidecarURL is the sidecar's HTTP base URL (its metrics and probes).
	SidecarURL string
}

// StartThanos starts `thanos sidecar` over prom (its API and its TSDB
// directory) and `thanos query` over the sidecar, each on free 127.0.0.1
// ports, and waits until the querier lists the sidecar as a healthy store
// (up to 60s). Cleanups stop both by their process, before prom stops.
//
// The sidecar refuses a Prometheus without external labels: prom's
// configuration must set global.external_labels, and the querier adds them
// to every series it returns.
func StartThanos(t testing.TB, prom *Server, opt ThanosOptions) *Thanos {
	t.Helper()
	bin := opt.Binary
	if bin == "" {
		bin = Binary(t, "thanos", "THANOS")
	}
	dir := t.TempDir()
	sideGRPC, sideHTTP := freeAddr(t), freeAddr(t)
	startProcess(t, bin, filepath.Join(dir, "sidecar.log"), "http://"+sideHTTP, "sidecar",
		"--prometheus.url="+prom.URL, "--tsdb.path="+prom.DataDir,
		"--grpc-address="+sideGRPC, "--http-address="+sideHTTP, "--log.level=warn")
	queryGRPC, queryHTTP := freeAddr(t), freeAddr(t)
	th := &Thanos{URL: "http://" + queryHTTP, SidecarURL: "http://" + sideHTTP}
	queryArgs := append([]string{"query", "--endpoint=" + sideGRPC, "--grpc-address=" + queryGRPC,
		"--http-address=" + queryHTTP, "--log.level=warn"}, opt.QueryArgs...)
	startProcess(t, bin, filepath.Join(dir, "query.log"), th.URL, queryArgs...)
	deadline := time.Now().Add(readyTimeout)
	for {
		err := th.sidecarHealthy()
		if err == nil {
			return th
		}
		if time.Now().After(deadline) {
			t.Fatalf("promtest: thanos query at %s: sidecar %s not a healthy store after %s: %v", th.URL, sideGRPC, readyTimeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sidecarHealthy asks the querier's /api/v1/stores whether it lists a
// sidecar store without error.
func (th *Thanos) sidecarHealthy() error {
	resp, err := http.Get(th.URL + "/api/v1/stores")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Data map[string][]struct {
			Name      string  `json:"name"`
			LastError *string `json:"lastError"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("/api/v1/stores: %w", err)
	}
	stores := body.Data["sidecar"]
	if len(stores) == 0 {
		return errors.New("no sidecar store listed yet")
	}
	for _, s := range stores {
		if s.LastError != nil {
			return fmt.Errorf("store %s: %s", s.Name, *s.LastError)
		}
	}
	return nil
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("promtest: finding a free port: %v", err)
	}
	return "127.0.0.1:" + strconv.Itoa(port)
}

// startProcess runs bin with args, its output in logFile, waits until
// readyURL/-/ready answers 200 (up to 60s) and registers a cleanup that
// stops the process (SIGTERM, SIGKILL after 15s) and, when the test
// failed, logs the tail of its output.
func startProcess(t testing.TB, bin, logFile, readyURL string, args ...string) {
	t.Helper()
	logf, err := os.Create(logFile)
	if err != nil {
		t.Fatalf("promtest: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("promtest: starting %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	name := filepath.Base(bin) + " " + args[0]
	t.Cleanup(func() {
		stopProcess(cmd, done)
		logf.Close()
		if t.Failed() {
			t.Logf("promtest: %s (%s), log tail:\n%s", name, logFile, fileTail(logFile, 40))
		}
	})
	deadline := time.Now().Add(readyTimeout)
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := c.Get(readyURL + "/-/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			t.Fatalf("promtest: %s %s exited before it was ready:\n%s", bin, strings.Join(args, " "), fileTail(logFile, 40))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("promtest: %s/-/ready not 200 after %s:\n%s", readyURL, readyTimeout, fileTail(logFile, 40))
		}
	}
}

// fileTail returns the last n lines of a file, or the error reading it.
func fileTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
