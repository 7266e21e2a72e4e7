package helmtest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const repoRoot = "../.."

// instruction is one Dockerfile instruction with continuations joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// stage is one FROM and the instructions after it.
type stage struct {
	image, name string
	inst        []instruction
}

// parseDockerfile splits a Dockerfile into stages. It knows the syntax this
// project uses: comments, backslash continuations, one instruction a line.
func parseDockerfile(text string) (stages []stage, global []instruction, err error) {
	sc := bufio.NewScanner(strings.NewReader(text))
	var cur strings.Builder
	start, n := 0, 0
	flush := func() error {
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		if s == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(s, " ")
		in := instruction{start, strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				f = f[1:]
			}
			if len(f) == 0 {
				return fmt.Errorf("line %d: FROM without an image", start)
			}
			st := stage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			return nil
		}
		if len(stages) == 0 {
			global = append(global, in)
		} else {
			stages[len(stages)-1].inst = append(stages[len(stages)-1].inst, in)
		}
		return nil
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		if err := flush(); err != nil {
			return nil, nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, nil, err
	}
	return stages, global, sc.Err()
}

// find returns the stage's instructions of one kind.
func (s stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.inst {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// imageFacts are what the Dockerfile must agree with elsewhere in the repo.
type imageFacts struct {
	module    string   // go.mod module path
	goVersion string   // go.mod go directive, major.minor
	mainPkg   string   // ./cmd/slo-exporter
	vars      []string // variables of internal/version
	port      int      // the chart's containerPort
	uid       int      // the chart's runAsUser
}

// checkDockerfile lists every property the image's Dockerfile misses.
func checkDockerfile(text string, f imageFacts) []string {
	stages, _, err := parseDockerfile(text)
	if err != nil {
		return []string{err.Error()}
	}
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if len(stages) < 2 {
		return []string{fmt.Sprintf("%d stage(s), want a multi-stage build (builder and runtime)", len(stages))}
	}
	build, final := stages[0], stages[len(stages)-1]
	if build.name == "" {
		bad("build stage %s has no name (FROM ... AS build)", build.image)
	}
	if want := "golang:" + f.goVersion; build.image != want && !strings.HasPrefix(build.image, want+"-") && !strings.HasPrefix(build.image, want+".") {
		bad("build stage image %s, want %s (the go directive of go.mod)", build.image, want)
	}
	switch {
	case strings.HasPrefix(final.image, "gcr.io/distroless/static"), final.image == "scratch":
	default:
		bad("runtime image %s, want gcr.io/distroless/static or scratch (nothing but the static binary)", final.image)
	}

	// The build: static, trimmed, versioned.
	var goBuild string
	for _, in := range build.find("RUN") {
		if strings.Contains(in.args, "go build") {
			goBuild = in.args
		}
	}
	if goBuild == "" {
		bad("build stage has no RUN ... go build")
	}
	declared := map[string]bool{}
	for _, in := range build.find("ARG") {
		name, _, _ := strings.Cut(in.args, "=")
		declared[name] = true
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-ldflags", f.mainPkg} {
		if goBuild != "" && !strings.Contains(goBuild, want) {
			bad("go build lacks %s", want)
		}
	}
	for _, v := range f.vars {
		re := regexp.MustCompile(`-X ` + regexp.QuoteMeta(f.module+"/internal/version."+v) + `=\$\{?(\w+)\}?`)
		m := re.FindStringSubmatch(goBuild)
		switch {
		case goBuild == "":
		case m == nil:
			bad("go build does not set %s/internal/version.%s from a build argument with -X", f.module, v)
		case !declared[m[1]]:
			bad("-X ...version.%s uses ${%s}, which the build stage does not declare with ARG", v, m[1])
		}
	}
	out := ""
	if m := regexp.MustCompile(`-o (\S+)`).FindStringSubmatch(goBuild); m != nil {
		out = m[1]
	} else if goBuild != "" {
		bad("go build has no -o output path")
	}

	// The runtime stage: the binary, a non-root numeric user, the port.
	var copied bool
	for _, in := range final.find("COPY") {
		if strings.Contains(in.args, "--from="+build.name+" ") && strings.Contains(in.args, out+" /slo-exporter") {
			copied = true
		}
	}
	if !copied {
		bad("runtime stage does not COPY --from=%s %s /slo-exporter", build.name, out)
	}
	users := final.find("USER")
	if len(users) == 0 {
		bad("runtime stage has no USER; the image would run as root")
	} else {
		last := users[len(users)-1].args
		uidText, _, _ := strings.Cut(last, ":")
		uid, err := strconv.Atoi(uidText)
		switch {
		case err != nil:
			bad("USER %s is not numeric; Kubernetes runAsNonRoot can only verify a numeric user", last)
		case uid == 0:
			bad("USER %s is root", last)
		case uid != f.uid:
			bad("USER %d differs from the chart's runAsUser %d", uid, f.uid)
		}
	}
	exposed := false
	for _, in := range final.find("EXPOSE") {
		exposed = exposed || strings.Fields(in.args)[0] == strconv.Itoa(f.port) || strings.Fields(in.args)[0] == fmt.Sprintf("%d/tcp", f.port)
	}
	if !exposed {
		bad("runtime stage does not EXPOSE %d (the chart's containerPort)", f.port)
	}
	entry := final.find("ENTRYPOINT")
	var ep []string
	if len(entry) == 0 || json.Unmarshal([]byte(entry[len(entry)-1].args), &ep) != nil || len(ep) != 1 || ep[0] != "/slo-exporter" {
		bad(`ENTRYPOINT must be the exec form ["/slo-exporter"]`)
	}
	var cmdArgs []string
	if c := final.find("CMD"); len(c) == 0 || json.Unmarshal([]byte(c[len(c)-1].args), &cmdArgs) != nil {
		bad("CMD must be an exec-form JSON list")
	} else {
		for _, want := range []string{"serve", "--config.file=/etc/slo-exporter/config.yaml", fmt.Sprintf("--web.listen-address=:%d", f.port)} {
			found := false
			for _, a := range cmdArgs {
				found = found || a == want
			}
			if !found {
				bad("CMD %v lacks %s", cmdArgs, want)
			}
		}
	}
	return p
}

// repoFacts reads what the Dockerfile must agree with from the repository
// and the chart's default values.
func repoFacts(t *testing.T) imageFacts {
	t.Helper()
	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var f imageFacts
	for _, l := range strings.Split(string(gomod), "\n") {
		if m, ok := strings.CutPrefix(l, "module "); ok {
			f.module = strings.TrimSpace(m)
		}
		if v, ok := strings.CutPrefix(l, "go "); ok {
			parts := strings.Split(strings.TrimSpace(v), ".")
			f.goVersion = strings.Join(parts[:min(2, len(parts))], ".")
		}
	}
	if f.module == "" || f.goVersion == "" {
		t.Fatalf("go.mod: module %q, go %q", f.module, f.goVersion)
	}

	f.mainPkg = "./cmd/slo-exporter"
	if pkg, err := build.ImportDir(filepath.Join(repoRoot, "cmd", "slo-exporter"), 0); err != nil || pkg.Name != "main" {
		t.Fatalf("%s is not a main package: %v", f.mainPkg, err)
	}

	vdir := filepath.Join(repoRoot, "internal", "version")
	vpkg, err := build.ImportDir(vdir, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"Version": true, "Revision": true, "BuildDate": true}
	for _, name := range vpkg.GoFiles {
		file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(vdir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, s := range g.Specs {
				for _, n := range s.(*ast.ValueSpec).Names {
					if want[n.Name] {
						f.vars = append(f.vars, n.Name)
					}
				}
			}
		}
	}
	if len(f.vars) != len(want) {
		t.Fatalf("internal/version declares %v of the variables %v", f.vars, want)
	}

	b, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		ContainerPort   int `yaml:"containerPort"`
		SecurityContext struct {
			RunAsUser int `yaml:"runAsUser"`
		} `yaml:"securityContext"`
	}
	if err := yaml.Unmarshal(b, &values); err != nil {
		t.Fatalf("%s/values.yaml: %v", chartDir, err)
	}
	f.port, f.uid = values.ContainerPort, values.SecurityContext.RunAsUser
	return f
}

// TestDockerfile checks the repository's Dockerfile, and that the checker
// catches each property's loss.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	facts := repoFacts(t)
	if p := checkDockerfile(text, facts); len(p) > 0 {
		t.Fatalf("Dockerfile:\n  %s", strings.Join(p, "\n  "))
	}
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"single stage", "FROM gcr.io/distroless/static:nonroot\n", "", "multi-stage"},
		{"runs as root", "USER 65532:65532", "USER 0", "is root"},
		{"named user", "USER 65532:65532", "USER nonroot", "not numeric"},
		{"no user", "USER 65532:65532\n", "", "no USER"},
		{"cgo", "CGO_ENABLED=0", "CGO_ENABLED=1", "lacks CGO_ENABLED=0"},
		{"no trimpath", "-trimpath", "", "lacks -trimpath"},
		{"version not set", "internal/version.Revision=", "internal/version.Rev=", "version.Revision"},
		{"undeclared arg", "ARG BUILD_DATE=unknown\n", "", "${BUILD_DATE}"},
		{"other Go", "golang:1.26", "golang:1.21", "want golang:" + facts.goVersion},
		{"fat runtime", "gcr.io/distroless/static:nonroot", "debian:12", "runtime image debian:12"},
		{"port", "EXPOSE 9099", "EXPOSE 8080", "EXPOSE 9099"},
		{"shell entrypoint", `ENTRYPOINT ["/slo-exporter"]`, "ENTRYPOINT /slo-exporter", "exec form"},
		{"binary not copied", "COPY --from=build", "COPY --from=other", "does not COPY"},
		{"no serve", `CMD ["serve", `, `CMD [`, "lacks serve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(text, tc.old) {
				t.Fatalf("Dockerfile has no %q to change", tc.old)
			}
			p := checkDockerfile(strings.Replace(text, tc.old, tc.new, 1), facts)
			if !strings.Contains(strings.Join(p, "\n"), tc.want) {
				t.Errorf("with %q -> %q the checker reports %v, want a problem containing %q", tc.old, tc.new, p, tc.want)
			}
		})
	}
}

// dockerignored reports whether a .dockerignore pattern list excludes p,
// following Docker's rules: a pattern is matched from the context's root
// against the path and each of its parent directories, "!" re-includes, and
// the last matching pattern wins. ("**" is not needed by this project.)
func dockerignored(patterns []string, p string) bool {
	ignored := false
	for _, pat := range patterns {
		neg := strings.HasPrefix(pat, "!")
		pat = strings.TrimPrefix(strings.TrimPrefix(pat, "!"), "/")
		for dir := p; dir != "."; dir = path.Dir(dir) {
			if ok, _ := path.Match(pat, dir); ok {
				ignored = !neg
				break
			}
		}
	}
	return ignored
}

// TestDockerignore checks the build context keeps what go build needs and
// leaves out the repository's history and build output.
func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	for _, tc := range []struct {
		path    string
		ignored bool
	}{
		{"go.mod", false},
		{"go.sum", false},
		{"cmd/slo-exporter/main.go", false},
		{"internal/version/version.go", false},
		{"config/model.go", false},
		{".git/HEAD", true},
		{"bin/slo-exporter", true},
		{".demo/prometheus/data", true},
		{"deploy/helm/slo-exporter/values.yaml", true},
	} {
		if got := dockerignored(patterns, tc.path); got != tc.ignored {
			t.Errorf(".dockerignore: %s ignored = %v, want %v", tc.path, got, tc.ignored)
		}
	}
}
