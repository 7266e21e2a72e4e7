package helmtest

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.yaml from the current chart")

const (
	chartDir    = "../helm/slo-exporter"
	releaseName = "slo"
	namespace   = "monitoring"
)

// helmHome isolates helm's cache, config and data directories.
var helmHome string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "helmtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	helmHome = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// findBinary returns the path of a tool through promtest.Binary: $env, then
// PATH, then ~/go/bin; it skips under -short and when missing outside CI, and
// fails when CI=true.
func findBinary(t testing.TB, env, name string) string {
	t.Helper()
	return promtest.Binary(t, name, env)
}

// runHelm runs helm with args and returns stdout, or stderr in the error.
func runHelm(t testing.TB, args ...string) (string, error) {
	t.Helper()
	helm := findBinary(t, "HELM", "helm")
	cmd := exec.Command(helm, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(helmHome, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(helmHome, "config"),
		"HELM_DATA_HOME="+filepath.Join(helmHome, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

var (
	renderMu    sync.Mutex
	renderCache = map[string]renderResult{}
)

type renderResult struct {
	out string
	err error
}

// template renders the chart with extra helm arguments (-f, --set). Without
// a -f, testdata/values-minimal.yaml comes first: the chart's defaults have
// no SLOs, which it refuses. Results are cached, since several tests look at
// the same value sets.
func template(t testing.TB, extra ...string) (string, error) {
	t.Helper()
	if !slices.Contains(extra, "-f") {
		extra = append([]string{"-f", valuesFile("minimal")}, extra...)
	}
	args := append([]string{"template", releaseName, chartDir, "--namespace", namespace}, extra...)
	key := strings.Join(args, "\x00")
	renderMu.Lock()
	r, ok := renderCache[key]
	renderMu.Unlock()
	if ok {
		return r.out, r.err
	}
	out, err := runHelm(t, args...)
	renderMu.Lock()
	renderCache[key] = renderResult{out, err}
	renderMu.Unlock()
	return out, err
}

// mustTemplate is template that fails the test on a render error.
func mustTemplate(t testing.TB, extra ...string) string {
	t.Helper()
	out, err := template(t, extra...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// valueSets returns the names of testdata/values-<name>.yaml, sorted.
func valueSets(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/values-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/values-*.yaml")
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "values-"), ".yaml"))
	}
	sort.Strings(names)
	return names
}

func valuesFile(name string) string { return filepath.Join("testdata", "values-"+name+".yaml") }

// TestLint runs helm lint --strict on every value set.
func TestLint(t *testing.T) {
	for _, name := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			out, err := runHelm(t, "lint", "--strict", chartDir, "--namespace", namespace, "-f", valuesFile(name))
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !strings.Contains(out, "0 chart(s) failed") {
				t.Errorf("helm lint -f %s:\n%s", valuesFile(name), out)
			}
		})
	}
}

// TestGolden compares helm template output of every value set with
// testdata/<name>.golden.yaml.
func TestGolden(t *testing.T) {
	for _, name := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			got := mustTemplate(t, "-f", valuesFile(name))
			golden := filepath.Join("testdata", name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./deploy/helmtest/ -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("helm template -f %s differs from %s (run with -update if the change is intended):\n%s",
					valuesFile(name), golden, firstDiff(string(want), got))
			}
		})
	}
}

// firstDiff shows the first differing line with a little context.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want: %q\n  got:  %q", i+1, wl, gl)
		}
	}
	return "(no line differs)"
}

// manifest is one rendered Kubernetes object.
type manifest map[string]any

func (m manifest) kind() string { return str(m["kind"]) }
func (m manifest) name() string { return str(dig(m, "metadata", "name")) }

// decode splits helm template output into objects.
func decode(t testing.TB, out string) []manifest {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(out))
	var docs []manifest
	for {
		var m manifest
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("decoding rendered manifests: %v", err)
		}
		if m != nil {
			docs = append(docs, m)
		}
	}
}

// render renders the chart with extra arguments and decodes the result.
func render(t testing.TB, extra ...string) []manifest {
	t.Helper()
	return decode(t, mustTemplate(t, extra...))
}

// find returns the objects of a kind.
func find(docs []manifest, kind string) []manifest {
	var out []manifest
	for _, d := range docs {
		if d.kind() == kind {
			out = append(out, d)
		}
	}
	return out
}

// one returns the only object of a kind, failing the test otherwise.
func one(t testing.TB, docs []manifest, kind string) manifest {
	t.Helper()
	found := find(docs, kind)
	if len(found) != 1 {
		t.Fatalf("want 1 %s, rendered %d", kind, len(found))
	}
	return found[0]
}

// dig walks nested maps by key; a numeric string indexes a list.
func dig(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case manifest:
			v = x[p]
		case map[string]any:
			v = x[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func asMap(v any) map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return x
	case manifest:
		return x
	}
	return nil
}
