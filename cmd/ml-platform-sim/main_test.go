package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/slo-exporter/slo-exporter/internal/simulator"
)

var fixed = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func parse(t *testing.T, args ...string) (simulator.Config, error) {
	t.Helper()
	var o options
	if _, err := newApp(&o).Parse(args); err != nil {
		return simulator.Config{}, err
	}
	return o.config(func() time.Time { return fixed })
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantStart time.Time
		wantIncs  []string
		wantErr   string
	}{
		{name: "defaults", wantStart: fixed},
		{name: "offset", args: []string{"--start.offset=1d"}, wantStart: fixed.Add(-24 * time.Hour)},
		{name: "start time", args: []string{"--start.time=2025-03-01T00:00:00Z"}, wantStart: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)},
		{
			name: "file and flags", wantStart: fixed,
			args: []string{"--incidents.file=../../internal/simulator/testdata/incidents.yaml", "--incident=service=batch-inference,start=1h,duration=1h,slow_ratio=1"},
			wantIncs: []string{
				"service=model-api,model=resnet50,kind=errors,start=10m,duration=5m,error_ratio=0.5,code=503",
				"service=model-api,kind=latency,start=20m,duration=15m,slow_ratio=0.3",
				"service=model-api,model=llama-7b,kind=quality,start=25m,duration=30m,accuracy=0.85",
				"service=feature-store,kind=errors,start=40m,duration=2m,error_ratio=0.01",
				"service=feature-store,kind=restart,start=42m",
				"service=batch-inference,kind=latency,start=1h,duration=1h,slow_ratio=1",
			},
		},
		{name: "bad incident", args: []string{"--incident=service=model-api,start=1m,duration=1m,error_ratio=2"},
			wantErr: `--incident=service=model-api,start=1m,duration=1m,error_ratio=2: field error_ratio: "2" is out of range (0, 1]`},
		{name: "missing file", args: []string{"--incidents.file=/nonexistent/x.yaml"},
			wantErr: `--incidents.file: open /nonexistent/x.yaml: no such file or directory`},
		{name: "bad offset", args: []string{"--start.offset=soon"}, wantErr: `--start.offset=soon: not a valid duration string: "soon"`},
		{name: "bad time", args: []string{"--start.time=yesterday"},
			wantErr: `--start.time=yesterday: not RFC 3339: parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"`},
		{name: "both starts", args: []string{"--start.time=2025-03-01T00:00:00Z", "--start.offset=1h"},
			wantErr: `--start.time and --start.offset=1h exclude each other`},
		{name: "bad level", args: []string{"--log.level=loud"}, wantErr: `enum value must be one of debug,info,warn,error, got 'loud'`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parse(t, tc.args...)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !cfg.Start.Equal(tc.wantStart) {
				t.Errorf("start = %v, want %v", cfg.Start, tc.wantStart)
			}
			var got []string
			for _, in := range cfg.Incidents {
				got = append(got, in.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.wantIncs, "\n") {
				t.Errorf("incidents:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.wantIncs, "\n"))
			}
		})
	}
}

func TestHelpExplainsMetricsAndIncidents(t *testing.T) {
	var o options
	app := newApp(&o)
	var buf bytes.Buffer
	app.UsageWriter(&buf)
	app.Terminate(nil)
	if _, err := app.Parse([]string{"--help"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/metrics/model-api", "/metrics/batch-inference", "/metrics/feature-store", "/metrics/inference-journey",
		"http_requests_total", "batch_job_duration_seconds", "feature_lookup_duration_seconds", "inference_journey_total",
		"error_ratio", "slow_ratio", "accuracy", "kind=restart", "POST /-/incident", "--incidents.file", "--web.listen-address"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
}

func TestServe(t *testing.T) {
	cfg, err := parse(t, "--start.offset=1h", "--incident=service=feature-store,kind=restart,start=59m")
	if err != nil {
		t.Fatal(err)
	}
	sim, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, sim, ln, zap.NewNop()) }()

	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics/feature-store")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// One minute since the restart at 59m: 120/s x 0.99998 x 60 s.
	if !strings.Contains(string(body), "\nfeature_lookups_total{code=\"ok\"} 7199\n") {
		t.Errorf("feature store scrape lacks the expected count:\n%s", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}
