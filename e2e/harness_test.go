// Package e2e runs the product as an operator does: the ML-platform
// simulator, a real Prometheus scraping it, slo-exporter processes built
// from this tree pulling from that Prometheus, and Prometheus scraping the
// exporters back and evaluating the generated alert rules.
package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds slo-exporter and ml-platform-sim once per test run.
func binaries(t *testing.T) (exporter, sim string) {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "slo-e2e-bin")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+"/", "../cmd/slo-exporter", "../cmd/ml-platform-sim")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "slo-exporter"), filepath.Join(binDir, "ml-platform-sim")
}

// proc is a child process whose output goes to a log file shown on failure.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func start(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			lines := strings.Split(string(b), "\n")
			if len(lines) > 40 {
				lines = lines[len(lines)-40:]
			}
			t.Logf("%s log (tail):\n%s", name, strings.Join(lines, "\n"))
		}
	})
	return p
}

// stop sends SIGTERM and waits, killing after 10 s.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// exited reports whether the process ended, and its exit code.
func (p *proc) exited() (bool, int) {
	select {
	case <-p.done:
		return true, p.cmd.ProcessState.ExitCode()
	default:
		return false, 0
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitFor polls f every 500 ms until it returns nil or the timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("waiting %s for %s: %v", timeout, what, err)
}

func httpGet(url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func ready(url string) func() error {
	return func() error {
		code, body, err := httpGet(url + "/-/ready")
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("%d %s", code, strings.TrimSpace(body))
		}
		return nil
	}
}

// sample is one series of an exposition.
type sample struct {
	labels model.LabelSet
	value  float64
}

// scrape reads an exporter's /metrics and returns the samples of name.
func scrape(t *testing.T, url, name string) []sample {
	t.Helper()
	code, body, err := httpGet(url + "/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("scraping %s: %d %v", url, code, err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing %s/metrics: %v", url, err)
	}
	var out []sample
	if fam := fams[name]; fam != nil {
		for _, m := range fam.Metric {
			ls := model.LabelSet{}
			for _, l := range m.Label {
				ls[model.LabelName(l.GetName())] = model.LabelValue(l.GetValue())
			}
			v := m.GetGauge().GetValue()
			if m.Gauge == nil {
				v = m.GetUntyped().GetValue()
			}
			out = append(out, sample{ls, v})
		}
	}
	return out
}

// find returns the value of the sample whose labels include want.
func find(samples []sample, want map[string]string) (float64, bool) {
	for _, s := range samples {
		ok := true
		for k, v := range want {
			if string(s.labels[model.LabelName(k)]) != v {
				ok = false
				break
			}
		}
		if ok {
			return s.value, true
		}
	}
	return 0, false
}

func execCommand(bin string, args ...string) *exec.Cmd { return exec.Command(bin, args...) }
