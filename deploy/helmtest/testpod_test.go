package helmtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeExporter serves /-/ready and /metrics like the exporter would, with
// the behaviour a test case asks for.
type fakeExporter struct {
	ready       bool
	buildInfo   bool
	user, pass  string // required basic auth, if user is set
	readyCalled bool
}

func (f *fakeExporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.user != "" {
		u, p, ok := r.BasicAuth()
		if !ok || u != f.user || p != f.pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="slo-exporter"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
	}
	switch r.URL.Path {
	case "/-/ready":
		f.readyCalled = true
		if !f.ready {
			http.Error(w, "backfill in progress", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	case "/metrics":
		fmt.Fprintln(w, "# HELP slo_objective_ratio Target.")
		fmt.Fprintln(w, "# TYPE slo_objective_ratio gauge")
		fmt.Fprintln(w, `slo_objective_ratio{service="model-api",slo="model-api-availability"} 0.999`)
		if f.buildInfo {
			fmt.Fprintln(w, `slo_exporter_build_info{version="0.1.0"} 1`)
		}
	default:
		http.NotFound(w, r)
	}
}

// testPodScript returns the shell script of the rendered helm test Pod and
// the base URL it calls.
func testPodScript(t *testing.T, values string) (script, base string) {
	t.Helper()
	r := newRelease(t, "-f", valuesFile(values))
	pod := one(t, r.docs, "Pod")
	cmd := list(dig(pod, "spec", "containers", "0", "command"))
	if len(cmd) != 3 || str(cmd[0]) != "sh" {
		t.Fatalf("test Pod command = %v, want [sh -ec <script>]", cmd)
	}
	svc := one(t, r.docs, "Service")
	scheme := "http"
	if dig(readValues(t, values), "web", "tls", "enabled") == true {
		scheme = "https"
	}
	base = fmt.Sprintf("%s://%s.%s.svc:%v", scheme, svc.name(), namespace, dig(svc, "spec", "ports", "0", "port"))
	return str(cmd[2]), base
}

// TestHelmTestPodScript runs the helm test Pod's script against a local
// stand-in for the exporter, with the tools of the test image (an Alpine
// based curl image): busybox for the shell and grep when it is installed,
// else the host's sh and grep, and curl.
func TestHelmTestPodScript(t *testing.T) {
	curl := findBinary(t, "CURL", "curl")
	tools := map[string]string{"curl": curl}
	if busybox, err := exec.LookPath("busybox"); err == nil || os.Getenv("BUSYBOX") != "" {
		if b := os.Getenv("BUSYBOX"); b != "" {
			busybox = b
		}
		for _, applet := range []string{"sh", "grep", "printf", "echo"} {
			tools[applet] = busybox
		}
	} else {
		t.Log("busybox not found; running the script with the host's sh and grep")
		for _, name := range []string{"sh", "grep"} {
			p, err := exec.LookPath(name)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			tools[name] = p
		}
	}
	// PATH holds only these, so that the script cannot lean on tools the
	// image lacks.
	bin := t.TempDir()
	for name, target := range tools {
		if err := os.Symlink(target, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		values  string
		tls     bool
		server  fakeExporter
		env     []string
		wantOK  bool
		wantOut string
	}{
		{"ready", "minimal", false, fakeExporter{ready: true, buildInfo: true}, nil, true, "ok: ready, 2 slo_* samples"},
		{"backfill in progress", "minimal", false, fakeExporter{ready: false, buildInfo: true}, nil, false, "503"},
		{"not the exporter", "minimal", false, fakeExporter{ready: true}, nil, false, "/metrics has no slo_exporter_build_info"},
		{"basic auth", "token-basicauth", false, fakeExporter{ready: true, buildInfo: true, user: "probe", pass: "p:ss w0rd"},
			[]string{"PROBE_USERNAME=probe", "PROBE_PASSWORD=p:ss w0rd"}, true, "ok: ready"},
		{"basic auth, wrong password", "token-basicauth", false, fakeExporter{ready: true, buildInfo: true, user: "probe", pass: "right"},
			[]string{"PROBE_USERNAME=probe", "PROBE_PASSWORD=wrong"}, false, "401"},
		{"TLS", "full", true, fakeExporter{ready: true, buildInfo: true}, nil, true, "ok: ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			script, base := testPodScript(t, tc.values)
			srv := httptest.NewUnstartedServer(&tc.server)
			if tc.tls {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			if !strings.Contains(script, base) {
				t.Fatalf("script does not call %s:\n%s", base, script)
			}
			script = strings.ReplaceAll(script, base, srv.URL)
			cmd := exec.Command(filepath.Join(bin, "sh"), "-ec", script)
			cmd.Env = append([]string{"PATH=" + bin}, tc.env...)
			out, err := cmd.CombinedOutput()
			if (err == nil) != tc.wantOK {
				t.Errorf("script exit: %v, want success %v; output:\n%s", err, tc.wantOK, out)
			}
			if !strings.Contains(string(out), tc.wantOut) {
				t.Errorf("output lacks %q:\n%s", tc.wantOut, out)
			}
			if tc.wantOK && !tc.server.readyCalled {
				t.Error("script never asked /-/ready")
			}
		})
	}
}
