package promtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMajorOf(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"2.42.0+ds", 2},
		{"3.5.0", 3},
		{"v3.0.0-rc.1", 3},
		{"10.1", 10},
		{"", 0},
		{"unknown", 0},
	} {
		if got := majorOf(tc.in); got != tc.want {
			t.Errorf("majorOf(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestLookBinary(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "fakeprom")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	gobin := filepath.Join(home, "go", "bin")
	if err := os.MkdirAll(gobin, 0o755); err != nil {
		t.Fatal(err)
	}
	inGoBin := filepath.Join(gobin, "onlyingobin")
	if err := os.WriteFile(inGoBin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("PATH", dir)

	for _, tc := range []struct {
		name, envVar, envVal string
		wantPath             string
		wantErr              string
	}{
		{name: "env wins", envVar: "PROMTEST_X", envVal: exe, wantPath: exe},
		{name: "env names missing file", envVar: "PROMTEST_X", envVal: filepath.Join(dir, "nope"), wantErr: "PROMTEST_X=" + filepath.Join(dir, "nope")},
		{name: "env names a directory", envVar: "PROMTEST_X", envVal: dir, wantErr: "not an executable file"},
		{name: "PATH", envVar: "PROMTEST_X", wantPath: exe},
		{name: "go bin", envVar: "", wantPath: inGoBin},
		{name: "nowhere", envVar: "PROMTEST_X"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PROMTEST_X", tc.envVal)
			prog := "fakeprom"
			switch tc.name {
			case "go bin":
				prog = "onlyingobin"
			case "nowhere":
				prog = "definitely-not-installed"
			}
			got, msg := lookBinary(prog, tc.envVar)
			if got != tc.wantPath {
				t.Errorf("path = %q, want %q", got, tc.wantPath)
			}
			if (tc.wantErr == "") != (msg == "") || !strings.Contains(msg, tc.wantErr) {
				t.Errorf("error message = %q, want one containing %q", msg, tc.wantErr)
			}
		})
	}
}

// TestServer runs the real Prometheus: start, version, query, reload,
// restart on the same port and data.
func TestServer(t *testing.T) {
	srv := Start(t, Options{LookbackDelta: 10 * time.Minute})
	ctx := context.Background()

	v, err := srv.Version()
	if err != nil {
		t.Fatal(err)
	}
	if m := srv.Major(); m != 2 && m != 3 {
		t.Fatalf("Major() = %d for version %q, want 2 or 3", m, v)
	}
	t.Logf("prometheus %s at %s", v, srv.URL)

	ts := time.Unix(1700000000, 0)
	vec, err := srv.Query(ctx, `vector(time())`, ts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vec) != 1 || float64(vec[0].Value) != 1700000000 || !vec[0].Timestamp.Time().Equal(ts) {
		t.Fatalf("vector(time()) at %v = %v, want one sample 1700000000", ts, vec)
	}
	if _, err := srv.Query(ctx, `scalar(vector(1))`, ts); err == nil || !strings.Contains(err.Error(), "scalar") {
		t.Errorf("scalar query: err = %v, want a result type error", err)
	}
	if _, err := srv.Query(ctx, `sum(`, ts); err == nil || !strings.Contains(err.Error(), "bad_data") {
		t.Errorf("bad query: err = %v, want bad_data", err)
	}
	m, err := srv.QueryRange(ctx, `vector(1)`, ts, ts.Add(time.Minute), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || len(m[0].Values) != 3 {
		t.Fatalf("range query: %v, want one series of 3 points", m)
	}

	if err := srv.UpdateConfig(DefaultConfigYAML + "rule_files: []\n"); err != nil {
		t.Fatal(err)
	}
	if err := srv.UpdateConfig("global: {scrape_interval: nonsense}\n"); err == nil {
		t.Error("reload with an invalid config succeeded")
	}
	if err := srv.UpdateConfig(DefaultConfigYAML); err != nil {
		t.Fatal(err)
	}

	url := srv.URL
	srv.Restart(t)
	if srv.URL != url {
		t.Errorf("URL after restart = %s, want %s", srv.URL, url)
	}
	if _, err := srv.Query(ctx, `vector(1)`, ts); err != nil {
		t.Fatalf("query after restart: %v", err)
	}
	pid := srv.PID()
	srv.Kill()
	if srv.PID() != 0 || syscall.Kill(pid, 0) == nil {
		t.Errorf("process %d still there after Kill", pid)
	}
	srv.Restart(t)
	if _, err := srv.Query(ctx, `vector(1)`, ts); err != nil {
		t.Fatalf("query after a kill and a restart: %v", err)
	}
	srv.Stop()
	if _, err := srv.Query(ctx, `vector(1)`, ts); err == nil {
		t.Error("query after Stop succeeded")
	}
}
