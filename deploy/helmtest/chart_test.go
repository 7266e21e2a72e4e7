package helmtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// release is the decoded output of one render, with accessors for the parts
// the tests look at.
type release struct {
	t    testing.TB
	docs []manifest
}

func newRelease(t testing.TB, extra ...string) release {
	t.Helper()
	return release{t, render(t, extra...)}
}

func (r release) deployment() manifest { r.t.Helper(); return one(r.t, r.docs, "Deployment") }
func (r release) podSpec() map[string]any {
	return asMap(dig(r.deployment(), "spec", "template", "spec"))
}

// container returns the exporter container.
func (r release) container() map[string]any {
	r.t.Helper()
	for _, c := range list(r.podSpec()["containers"]) {
		if str(dig(c, "name")) == "slo-exporter" {
			return asMap(c)
		}
	}
	r.t.Fatal("Deployment has no container slo-exporter")
	return nil
}

// args returns the exporter's flags as name -> value (and "serve" -> "").
func (r release) args() map[string]string {
	out := map[string]string{}
	for _, a := range list(r.container()["args"]) {
		k, v, _ := strings.Cut(str(a), "=")
		out[k] = v
	}
	return out
}

// volume returns the pod volume of that name.
func (r release) volume(name string) map[string]any {
	for _, v := range list(r.podSpec()["volumes"]) {
		if str(dig(v, "name")) == name {
			return asMap(v)
		}
	}
	return nil
}

// volumeFor returns the mount and volume that hold file p in the exporter
// container (the longest mount path that is a parent of p).
func (r release) volumeFor(p string) (mountPath string, vol map[string]any) {
	for _, m := range list(r.container()["volumeMounts"]) {
		mp := str(dig(m, "mountPath"))
		if strings.HasPrefix(p, mp+"/") && len(mp) > len(mountPath) {
			mountPath, vol = mp, r.volume(str(dig(m, "name")))
		}
	}
	return mountPath, vol
}

// configMap returns the ConfigMap of that name, or nil.
func (r release) configMap(name string) manifest {
	for _, cm := range find(r.docs, "ConfigMap") {
		if cm.name() == name {
			return cm
		}
	}
	return nil
}

// exporterConfig returns the config.yaml text the chart rendered and its
// decoded form.
func (r release) exporterConfig() (string, map[string]any) {
	r.t.Helper()
	cm := one(r.t, r.docs, "ConfigMap")
	text := str(dig(cm, "data", "config.yaml"))
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		r.t.Fatalf("ConfigMap %s config.yaml: %v", cm.name(), err)
	}
	return text, cfg
}

// TestProbes checks that a slow backfill can never get a pod killed: the
// startup and liveness probes ask /-/healthy, readiness asks /-/ready, all on
// the container's port and with the scheme the web config serves.
func TestProbes(t *testing.T) {
	for _, name := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			r := newRelease(t, "-f", valuesFile(name))
			c := r.container()
			portName := str(dig(c, "ports", "0", "name"))
			wantScheme := "HTTP"
			if dig(readValues(t, name), "web", "tls", "enabled") == true {
				wantScheme = "HTTPS"
			}
			for probe, wantPath := range map[string]string{
				"startupProbe":   "/-/healthy",
				"livenessProbe":  "/-/healthy",
				"readinessProbe": "/-/ready",
			} {
				get := dig(c, probe, "httpGet")
				if get == nil {
					t.Errorf("%s: no httpGet", probe)
					continue
				}
				if got := str(dig(get, "path")); got != wantPath {
					t.Errorf("%s path = %q, want %q", probe, got, wantPath)
				}
				if got := str(dig(get, "port")); got != portName {
					t.Errorf("%s port = %q, want the container port %q", probe, got, portName)
				}
				if got := str(dig(get, "scheme")); got != wantScheme {
					t.Errorf("%s scheme = %q, want %q", probe, got, wantScheme)
				}
			}
			listen := r.args()["--web.listen-address"]
			if want := ":" + str(dig(c, "ports", "0", "containerPort")); listen != want {
				t.Errorf("--web.listen-address = %q, want %q (the container port)", listen, want)
			}
		})
	}
}

// TestProbeHeaders checks that probes.httpHeaders reach every probe, the way
// probes authenticate when /metrics has basic auth.
func TestProbeHeaders(t *testing.T) {
	r := newRelease(t, "-f", valuesFile("token-basicauth"))
	for _, probe := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
		h := dig(r.container(), probe, "httpGet", "httpHeaders", "0")
		if str(dig(h, "name")) != "Authorization" || !strings.HasPrefix(str(dig(h, "value")), "Basic ") {
			t.Errorf("%s httpHeaders[0] = %v, want the Authorization header of values-token-basicauth.yaml", probe, h)
		}
	}
}

// hardened reports what is missing from a container's (and its pod's)
// security settings.
func hardened(pod, c map[string]any) []string {
	var missing []string
	psc, sc := asMap(pod["securityContext"]), asMap(c["securityContext"])
	either := func(k string) any {
		if v, ok := sc[k]; ok {
			return v
		}
		return psc[k]
	}
	if either("runAsNonRoot") != true {
		missing = append(missing, "runAsNonRoot: true")
	}
	if u, ok := either("runAsUser").(int); !ok || u == 0 {
		missing = append(missing, "a non-zero runAsUser")
	}
	if sc["readOnlyRootFilesystem"] != true {
		missing = append(missing, "readOnlyRootFilesystem: true")
	}
	if sc["allowPrivilegeEscalation"] != false {
		missing = append(missing, "allowPrivilegeEscalation: false")
	}
	if sc["privileged"] == true {
		missing = append(missing, "not privileged")
	}
	drop := list(dig(sc, "capabilities", "drop"))
	if len(drop) != 1 || str(drop[0]) != "ALL" {
		missing = append(missing, "capabilities.drop: [ALL]")
	}
	if len(list(dig(sc, "capabilities", "add"))) > 0 {
		missing = append(missing, "no capabilities.add")
	}
	if str(dig(either("seccompProfile"), "type")) != "RuntimeDefault" {
		missing = append(missing, "seccompProfile RuntimeDefault")
	}
	return missing
}

// TestSecurityContext checks the exporter and the helm test Pod run
// hardened, without a service account token.
func TestSecurityContext(t *testing.T) {
	for _, name := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			r := newRelease(t, "-f", valuesFile(name))
			if m := hardened(r.podSpec(), r.container()); len(m) > 0 {
				t.Errorf("exporter container lacks %s", strings.Join(m, ", "))
			}
			if r.podSpec()["automountServiceAccountToken"] != false {
				t.Error("exporter pod mounts a service account token; it does not talk to the Kubernetes API")
			}
			pod := one(t, r.docs, "Pod")
			spec := asMap(pod["spec"])
			for _, c := range list(spec["containers"]) {
				if m := hardened(spec, asMap(c)); len(m) > 0 {
					t.Errorf("test pod container %s lacks %s", str(dig(c, "name")), strings.Join(m, ", "))
				}
			}
			if spec["automountServiceAccountToken"] != false {
				t.Error("test pod mounts a service account token")
			}
		})
	}
	t.Run("override cannot be half-applied", func(t *testing.T) {
		// Turning a setting off is possible, and then visible to the check.
		r := newRelease(t, "--set", "securityContext.readOnlyRootFilesystem=false")
		if m := hardened(r.podSpec(), r.container()); len(m) != 1 || m[0] != "readOnlyRootFilesystem: true" {
			t.Errorf("with readOnlyRootFilesystem=false the check reports %v, want exactly that setting", m)
		}
	})
}

// TestConfigMount checks that --config.file names the file the ConfigMap
// volume provides, and that the ConfigMap has that key.
func TestConfigMount(t *testing.T) {
	for _, name := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			r := newRelease(t, "-f", valuesFile(name))
			file := r.args()["--config.file"]
			mount, vol := r.volumeFor(file)
			if vol == nil {
				t.Fatalf("--config.file=%s is on no volume mount", file)
			}
			cmName := str(dig(vol, "configMap", "name"))
			if cmName == "" {
				t.Fatalf("--config.file=%s is on volume %v, not a ConfigMap", file, vol["name"])
			}
			var key string
			for _, it := range list(dig(vol, "configMap", "items")) {
				if mount+"/"+str(dig(it, "path")) == file {
					key = str(dig(it, "key"))
				}
			}
			if key == "" {
				t.Fatalf("ConfigMap volume %s has no item at %s", cmName, file)
			}
			if strings.Contains(str(dig(r.container(), "volumeMounts")), "subPath") {
				t.Error("a volume is mounted with subPath; edits of ConfigMaps and Secrets would not reach the pod")
			}
			cm := r.configMap(cmName)
			existing := str(dig(readValues(t, name), "config", "existingConfigMap"))
			switch {
			case existing != "":
				if cmName != existing || cm != nil {
					t.Errorf("existingConfigMap %s: volume uses %q, chart rendered ConfigMap: %v", existing, cmName, cm != nil)
				}
				if want := str(dig(readValues(t, name), "config", "existingConfigMapKey")); key != want {
					t.Errorf("key %q of existingConfigMap, want %q", key, want)
				}
			case cm == nil:
				t.Errorf("volume uses ConfigMap %q, which the chart does not render", cmName)
			case dig(cm, "data", key) == nil:
				t.Errorf("ConfigMap %s has no key %q", cmName, key)
			}
		})
	}
}

// readValues decodes testdata/values-<name>.yaml.
func readValues(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(valuesFile(name))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", valuesFile(name), err)
	}
	return v
}

// checksum returns the pod template's checksum/config annotation.
func (r release) checksum() string {
	return str(dig(r.deployment(), "spec", "template", "metadata", "annotations", "checksum/config"))
}

// TestChecksumFollowsConfig checks that the pods roll exactly when the
// configuration file changes: the annotation is the sha256 of the rendered
// file, changes with it, and stays when only other values change.
func TestChecksumFollowsConfig(t *testing.T) {
	base := newRelease(t, "-f", valuesFile("full"))
	text, _ := base.exporterConfig()
	sum := sha256.Sum256([]byte(text))
	if got, want := base.checksum(), hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("checksum/config = %s, sha256 of the ConfigMap's config.yaml = %s", got, want)
	}
	for _, tc := range []struct {
		set     string
		changes bool
	}{
		{"config.prometheus.url=http://other:9090", true},
		{"config.global.evaluation_interval=1m", true},
		{"config.slos[0].objective=99.5%", true},
		{"prometheus.basicAuth.passwordKey=pw", true}, // the password_file path moves
		{"replicaCount=3", false},
		{"image.tag=v9", false},
		{"resources.limits.memory=1Gi", false},
		{"serviceMonitor.interval=1m", false},
	} {
		t.Run(tc.set, func(t *testing.T) {
			r := newRelease(t, "-f", valuesFile("full"), "--set", tc.set)
			text, _ := r.exporterConfig()
			sum := sha256.Sum256([]byte(text))
			if got := r.checksum(); got != hex.EncodeToString(sum[:]) {
				t.Errorf("checksum/config %s is not the sha256 of config.yaml", got)
			}
			if changed := r.checksum() != base.checksum(); changed != tc.changes {
				t.Errorf("--set %s: checksum changed = %v, want %v", tc.set, changed, tc.changes)
			}
		})
	}
	t.Run("existingConfigMap", func(t *testing.T) {
		r := newRelease(t, "-f", valuesFile("existing-configmap"))
		if got := r.checksum(); got != "" {
			t.Errorf("checksum/config = %q with an existingConfigMap the chart cannot read", got)
		}
	})
}

// secretKeys are config keys whose values are secrets when written inline.
var secretKeys = map[string]bool{
	"password": true, "credentials": true, "bearer_token": true,
	"client_secret": true, "key": true, "secrets": true,
}

// fileRefs walks the decoded config and returns every *_file value by its
// dotted path, and the dotted paths of inline secret keys.
func fileRefs(v any, at string, files map[string]string, inline *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			p := strings.TrimPrefix(at+"."+k, ".")
			if strings.HasSuffix(k, "_file") {
				files[p] = str(val)
			}
			if secretKeys[k] {
				*inline = append(*inline, p)
			}
			fileRefs(val, p, files, inline)
		}
	case []any:
		for _, e := range x {
			fileRefs(e, at+"[]", files, inline)
		}
	}
}

// TestCredentialsAreSecretFiles checks that Prometheus credentials reach the
// exporter only as files of mounted Secrets: every *_file in config.yaml
// lies on a Secret volume holding that key, the Secret is the one named in
// the values, and config.yaml holds no inline secret.
func TestCredentialsAreSecretFiles(t *testing.T) {
	for _, tc := range []struct {
		values string
		want   map[string]string // config path -> Secret it must come from
	}{
		{"minimal", map[string]string{}},
		{"full", map[string]string{
			"prometheus.basic_auth.password_file": "prometheus-reader",
			"prometheus.tls_config.ca_file":       "prometheus-ca",
		}},
		{"token-basicauth", map[string]string{
			"prometheus.authorization.credentials_file": "mimir-token",
			"prometheus.tls_config.ca_file":             "mimir-client-cert",
			"prometheus.tls_config.cert_file":           "mimir-client-cert",
			"prometheus.tls_config.key_file":            "mimir-client-cert",
		}},
	} {
		t.Run(tc.values, func(t *testing.T) {
			r := newRelease(t, "-f", valuesFile(tc.values))
			_, cfg := r.exporterConfig()
			files := map[string]string{}
			var inline []string
			fileRefs(cfg, "", files, &inline)
			if len(inline) > 0 {
				t.Errorf("config.yaml (a ConfigMap) has inline secret fields %v", inline)
			}
			for p, secret := range tc.want {
				f, ok := files[p]
				if !ok {
					t.Errorf("config.yaml has no %s", p)
					continue
				}
				_, vol := r.volumeFor(f)
				if got := str(dig(vol, "secret", "secretName")); got != secret {
					t.Errorf("%s = %s is on a volume of Secret %q, want %q", p, f, got, secret)
					continue
				}
				var hasKey bool
				for _, it := range list(dig(vol, "secret", "items")) {
					hasKey = hasKey || (str(dig(it, "key")) == path.Base(f) && str(dig(it, "path")) == path.Base(f))
				}
				if !hasKey {
					t.Errorf("%s = %s: Secret %s volume does not project key %s", p, f, secret, path.Base(f))
				}
			}
			for p := range files {
				if _, ok := tc.want[p]; !ok {
					t.Errorf("config.yaml has unexpected file reference %s = %s", p, files[p])
				}
			}
			for _, s := range find(r.docs, "Secret") {
				if _, ok := asMap(dig(s, "stringData"))["web-config.yml"]; !ok || len(asMap(dig(s, "stringData"))) != 1 {
					t.Errorf("chart renders Secret %s with %v; it must only write the web config", s.name(), dig(s, "stringData"))
				}
			}
		})
	}
}

// TestRejectedValues checks that values the exporter cannot run with, or
// that would put a secret into a ConfigMap, fail the render with a message
// naming the value.
func TestRejectedValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"inline basic auth password", []string{"--set", "config.prometheus.basic_auth.username=u", "--set", "config.prometheus.basic_auth.password=hunter2"}, "config.prometheus.basic_auth.password is set inline"},
		{"inline bearer credentials", []string{"--set", "config.prometheus.authorization.credentials=tok"}, "config.prometheus.authorization.credentials is set inline"},
		{"legacy bearer_token", []string{"--set", "config.prometheus.bearer_token=tok"}, "config.prometheus.bearer_token is set inline"},
		{"inline oauth2 secret", []string{"--set", "config.prometheus.oauth2.client_secret=s"}, "config.prometheus.oauth2.client_secret is set inline"},
		{"inline TLS key", []string{"--set", "config.prometheus.tls_config.key=PEM"}, "config.prometheus.tls_config.key is set inline"},
		{"inline header secret", []string{"--set", "config.prometheus.http_headers.X-Api-Key.secrets[0]=s"}, "config.prometheus.http_headers.X-Api-Key.secrets is set inline"},
		{"no SLOs", []string{"--set", "config.slos=null"}, "config.slos is empty"},
		{"no prometheus url", []string{"--set", "config.prometheus.url=null"}, "config.prometheus.url is required"},
		{"schema: url without scheme", []string{"--set", "config.prometheus.url=prometheus:9090"}, "/config/prometheus/url"},
		{"basic auth and token", []string{"--set", "prometheus.basicAuth.existingSecret=a", "--set", "prometheus.basicAuth.username=u", "--set", "prometheus.authorization.existingSecret=b"}, "both set"},
		{"basic auth without username", []string{"--set", "prometheus.basicAuth.existingSecret=a"}, "neither prometheus.basicAuth.username nor prometheus.basicAuth.usernameKey"},
		{"client cert without key", []string{"--set", "prometheus.tls.existingSecret=a", "--set", "prometheus.tls.certKey=tls.crt"}, "prometheus.tls.certKey is set without prometheus.tls.keyKey"},
		{"web TLS without secret", []string{"--set", "web.tls.enabled=true"}, "web.tls.existingSecret is empty"},
		{"plain password as web user", []string{"--set", "web.basicAuth.users.admin=secret"}, "web.basicAuth.users.admin is not a bcrypt hash"},
		{"PDB that blocks drains", []string{"--set", "podDisruptionBudget.enabled=true"}, "podDisruptionBudget.minAvailable 1 with replicaCount 1 would block every node drain"},
		{"schema: replicas as text", []string{"--set-string", "replicaCount=two"}, "/replicaCount"},
		{"schema: unknown top-level key", []string{"--set", "replicas=2"}, "replicas"},
		{"schema: bad digest", []string{"--set", "image.digest=latest"}, "/image/digest"},
		{"schema: probe path", []string{"--set", "probes.readiness.path=ready"}, "/probes/readiness/path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := template(t, tc.args...)
			if err == nil {
				t.Fatalf("helm template %v succeeded, want an error containing %q; rendered %d bytes", tc.args, tc.want, len(out))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v\ndoes not contain %q", err, tc.want)
			}
		})
	}
}

// TestWebConfig checks --web.config.file, the file the chart writes and the
// TLS files it refers to.
func TestWebConfig(t *testing.T) {
	t.Run("default has none", func(t *testing.T) {
		r := newRelease(t)
		if f, ok := r.args()["--web.config.file"]; ok {
			t.Errorf("--web.config.file=%s by default", f)
		}
		if s := find(r.docs, "Secret"); len(s) > 0 {
			t.Errorf("default renders %d Secrets", len(s))
		}
	})
	for _, tc := range []struct {
		values    string
		tls       bool
		userCount int
	}{
		{"full", true, 0},
		{"token-basicauth", false, 1},
	} {
		t.Run(tc.values, func(t *testing.T) {
			r := newRelease(t, "-f", valuesFile(tc.values))
			f := r.args()["--web.config.file"]
			_, vol := r.volumeFor(f)
			secretName := str(dig(vol, "secret", "secretName"))
			var secret manifest
			for _, s := range find(r.docs, "Secret") {
				if s.name() == secretName {
					secret = s
				}
			}
			if secret == nil {
				t.Fatalf("--web.config.file=%s: volume %v is not a Secret the chart renders", f, vol)
			}
			var wc map[string]any
			if err := yaml.Unmarshal([]byte(str(dig(secret, "stringData", path.Base(f)))), &wc); err != nil {
				t.Fatalf("web config in Secret %s: %v", secretName, err)
			}
			for _, k := range []string{"cert_file", "key_file"} {
				p := str(dig(wc, "tls_server_config", k))
				if !tc.tls {
					if p != "" {
						t.Errorf("tls_server_config.%s = %s without web TLS", k, p)
					}
					continue
				}
				_, v := r.volumeFor(p)
				if got := str(dig(v, "secret", "secretName")); got != "slo-exporter-tls" {
					t.Errorf("tls_server_config.%s = %s is on Secret %q, want slo-exporter-tls", k, p, got)
				}
			}
			if got := len(asMap(wc["basic_auth_users"])); got != tc.userCount {
				t.Errorf("%d basic_auth_users, want %d", got, tc.userCount)
			}
			ann := str(dig(r.deployment(), "spec", "template", "metadata", "annotations", "checksum/web-config"))
			sum := sha256.Sum256([]byte(str(dig(secret, "stringData", path.Base(f)))))
			if ann != hex.EncodeToString(sum[:]) {
				t.Errorf("checksum/web-config = %q, want the sha256 of the web config", ann)
			}
		})
	}
	t.Run("existing secret", func(t *testing.T) {
		r := newRelease(t, "--set", "web.existingSecret=my-web", "--set", "web.existingSecretKey=web.yml")
		f := r.args()["--web.config.file"]
		_, vol := r.volumeFor(f)
		if got := str(dig(vol, "secret", "secretName")); got != "my-web" || path.Base(f) != "web.yml" {
			t.Errorf("--web.config.file=%s on Secret %q, want web.yml of my-web", f, got)
		}
		if s := find(r.docs, "Secret"); len(s) > 0 {
			t.Errorf("chart renders %d Secrets beside web.existingSecret", len(s))
		}
	})
}

// selects reports whether every selector label is among labels.
func selects(selector, labels map[string]any) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if str(labels[k]) != str(v) {
			return false
		}
	}
	return true
}

// TestWiring checks that selectors and ports line up: Service -> pods,
// ServiceMonitor -> Service, PDB -> pods, and that the Service does not
// select the helm test Pod.
func TestWiring(t *testing.T) {
	for _, name := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			r := newRelease(t, "-f", valuesFile(name))
			podLabels := asMap(dig(r.deployment(), "spec", "template", "metadata", "labels"))
			if !selects(asMap(dig(r.deployment(), "spec", "selector", "matchLabels")), podLabels) {
				t.Error("Deployment selector does not match its pod labels")
			}
			svc := one(t, r.docs, "Service")
			if !selects(asMap(dig(svc, "spec", "selector")), podLabels) {
				t.Error("Service selector does not match the exporter pods")
			}
			testPod := one(t, r.docs, "Pod")
			if selects(asMap(dig(svc, "spec", "selector")), asMap(dig(testPod, "metadata", "labels"))) {
				t.Error("Service selector matches the helm test Pod")
			}
			if str(dig(testPod, "metadata", "annotations", "helm.sh/hook")) != "test" {
				t.Error("test Pod is not a helm test hook")
			}
			svcPort := str(dig(svc, "spec", "ports", "0", "name"))
			if got, want := str(dig(svc, "spec", "ports", "0", "targetPort")), str(dig(r.container(), "ports", "0", "name")); got != want {
				t.Errorf("Service targetPort %q, container port %q", got, want)
			}
			script := str(dig(testPod, "spec", "containers", "0", "command", "2"))
			base := str(dig(svc, "metadata", "name")) + "." + namespace + ".svc:" + str(dig(svc, "spec", "ports", "0", "port"))
			for _, p := range []string{"/-/ready", "/metrics"} {
				if !strings.Contains(script, base+p) {
					t.Errorf("test Pod script does not fetch %s%s", base, p)
				}
			}
			sms := find(r.docs, "ServiceMonitor")
			wantSM := dig(readValues(t, name), "serviceMonitor", "enabled") == true
			if wantSM != (len(sms) == 1) {
				t.Fatalf("serviceMonitor.enabled=%v, rendered %d ServiceMonitors", wantSM, len(sms))
			}
			for _, sm := range sms {
				if got := str(sm["apiVersion"]); got != "monitoring.coreos.com/v1" {
					t.Errorf("ServiceMonitor apiVersion %q", got)
				}
				if !selects(asMap(dig(sm, "spec", "selector", "matchLabels")), asMap(dig(svc, "metadata", "labels"))) {
					t.Error("ServiceMonitor selector does not match the Service labels")
				}
				ep := dig(sm, "spec", "endpoints", "0")
				if str(dig(ep, "port")) != svcPort || str(dig(ep, "path")) != "/metrics" {
					t.Errorf("ServiceMonitor endpoint %v, want port %q path /metrics", ep, svcPort)
				}
				wantScheme := "http"
				if dig(readValues(t, name), "web", "tls", "enabled") == true {
					wantScheme = "https"
				}
				if got := str(dig(ep, "scheme")); got != wantScheme {
					t.Errorf("ServiceMonitor scheme %q, want %q", got, wantScheme)
				}
				for k, v := range asMap(dig(readValues(t, name), "serviceMonitor", "labels")) {
					if got := str(dig(sm, "metadata", "labels", k)); got != str(v) {
						t.Errorf("ServiceMonitor label %s = %q, want %q", k, got, v)
					}
				}
			}
			for _, pdb := range find(r.docs, "PodDisruptionBudget") {
				if !selects(asMap(dig(pdb, "spec", "selector", "matchLabels")), podLabels) {
					t.Error("PodDisruptionBudget selector does not match the exporter pods")
				}
			}
			if sa := str(dig(r.podSpec(), "serviceAccountName")); len(find(r.docs, "ServiceAccount")) != 1 || one(t, r.docs, "ServiceAccount").name() != sa {
				t.Errorf("pod uses service account %q, which the chart does not render", sa)
			}
		})
	}
}

// TestOptIns checks the objects that are off by default and their switches.
func TestOptIns(t *testing.T) {
	r := newRelease(t)
	for _, kind := range []string{"ServiceMonitor", "PodDisruptionBudget", "Secret"} {
		if n := len(find(r.docs, kind)); n != 0 {
			t.Errorf("default renders %d %s", n, kind)
		}
	}
	if got := dig(r.deployment(), "spec", "replicas"); got != 1 {
		t.Errorf("default replicas = %v, want 1", got)
	}
	if got := str(dig(r.deployment(), "spec", "strategy", "rollingUpdate", "maxUnavailable")); got != "0" {
		t.Errorf("rollingUpdate.maxUnavailable = %s; the old pod must serve until the new one has backfilled", got)
	}
	pdb := one(t, render(t, "--set", "podDisruptionBudget.enabled=true", "--set", "podDisruptionBudget.maxUnavailable=1"), "PodDisruptionBudget")
	if got := dig(pdb, "spec", "maxUnavailable"); got != 1 || dig(pdb, "spec", "minAvailable") != nil {
		t.Errorf("PDB spec %v, want maxUnavailable 1 only", pdb["spec"])
	}
	if n := len(find(render(t, "--set", "tests.enabled=false"), "Pod")); n != 0 {
		t.Errorf("tests.enabled=false renders %d Pods", n)
	}
	if n := len(find(render(t, "--set", "serviceAccount.create=false"), "ServiceAccount")); n != 0 {
		t.Errorf("serviceAccount.create=false renders %d ServiceAccounts", n)
	}
	img := str(dig(newRelease(t, "--set", "image.digest=sha256:"+strings.Repeat("ab", 32)).container(), "image"))
	if !strings.HasSuffix(img, "@sha256:"+strings.Repeat("ab", 32)) {
		t.Errorf("image with digest = %s", img)
	}
}

// renderNotes renders NOTES.txt with extra helm arguments. helm prints
// notes only on install, which wants a cluster even with --dry-run here, so
// the test renders a copy of the chart in which a ConfigMap carries the notes
// through tpl, with the same values and named templates.
func renderNotes(t *testing.T, extra ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "slo-exporter")
	if err := os.CopyFS(dir, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	notes, err := os.ReadFile(filepath.Join(chartDir, "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	carrier := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: |\n{{ tpl (.Files.Get \"notes.tpl\") . | indent 4 }}\n"
	for name, content := range map[string][]byte{
		"notes.tpl":               notes,
		"templates/zz-notes.yaml": []byte(carrier),
		"templates/NOTES.txt":     nil,
	} {
		if content == nil {
			err = os.Remove(filepath.Join(dir, name))
		} else {
			err = os.WriteFile(filepath.Join(dir, name), content, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	args := append([]string{"template", releaseName, dir, "--namespace", namespace, "--show-only", "templates/zz-notes.yaml"}, extra...)
	out, err := runHelm(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return str(dig(one(t, decode(t, out), "ConfigMap"), "data", "notes"))
}

// TestNotes checks NOTES.txt tells how to reach /metrics and check
// readiness, in the scheme the exporter serves, and warns where a setting
// needs attention.
func TestNotes(t *testing.T) {
	for _, tc := range []struct {
		values        string
		want, wantNot []string
	}{
		{"minimal", []string{
			"port-forward service/slo-slo-exporter 9099:9099",
			"curl -s http://localhost:9099/-/ready",
			"curl -s http://localhost:9099/metrics",
			"rollout status deployment/slo-slo-exporter",
			"helm test slo --namespace monitoring",
		}, []string{"ServiceMonitor", "replicas compute the same numbers", "WARNING"}},
		{"full", []string{
			"curl -sk https://localhost:9099/-/ready",
			"https://slo-slo-exporter.monitoring.svc:9099/metrics",
			"release: kube-prometheus-stack",
			"2 replicas compute the same numbers",
		}, nil},
		{"existing-configmap", []string{"config.existingConfigMap (slo-config)", "/-/reload"}, nil},
		{"token-basicauth", []string{"curl -s -u USER http://localhost:9099/metrics"}, []string{"WARNING"}},
	} {
		t.Run(tc.values, func(t *testing.T) {
			notes := renderNotes(t, "-f", valuesFile(tc.values))
			for _, w := range tc.want {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES lack %q:\n%s", w, notes)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(notes, w) {
					t.Errorf("NOTES contain %q:\n%s", w, notes)
				}
			}
		})
	}
	t.Run("basic auth without probe headers", func(t *testing.T) {
		notes := renderNotes(t, "-f", valuesFile("token-basicauth"), "--set", "probes.httpHeaders=null")
		if !strings.Contains(notes, "probes.httpHeaders is empty") {
			t.Errorf("NOTES do not warn about probes and basic auth:\n%s", notes)
		}
	})
}

// TestLifecycleFlag checks that the exporter gets --web.enable-lifecycle
// (POST /-/reload) only when web.enableLifecycle is set, and that NOTES
// offer POST /-/reload only then.
func TestLifecycleFlag(t *testing.T) {
	if _, on := newRelease(t).args()["--web.enable-lifecycle"]; on {
		t.Error("the default passes --web.enable-lifecycle; POST /-/reload must be off by default")
	}
	if _, on := newRelease(t, "--set", "web.enableLifecycle=true").args()["--web.enable-lifecycle"]; !on {
		t.Error("web.enableLifecycle=true does not pass --web.enable-lifecycle")
	}
	notes := renderNotes(t, "--set", "config.existingConfigMap=cm")
	if strings.Contains(notes, "curl -X POST") || !strings.Contains(notes, "set web.enableLifecycle=true") {
		t.Errorf("NOTES without the lifecycle API offer POST /-/reload or do not say how to turn it on:\n%s", notes)
	}
}

// TestMetricsProfile: the chart passes the metrics profile, default unless
// set, and the schema refuses an unknown one.
func TestMetricsProfile(t *testing.T) {
	if got := newRelease(t).args()["--web.metrics-profile"]; got != "default" {
		t.Errorf("default --web.metrics-profile=%q, want default", got)
	}
	if got := newRelease(t, "--set", "metricsProfile=full").args()["--web.metrics-profile"]; got != "full" {
		t.Errorf("metricsProfile=full gives --web.metrics-profile=%q", got)
	}
	if _, err := template(t, "--set", "metricsProfile=lean"); err == nil {
		t.Error("metricsProfile=lean was accepted")
	}
}

// TestSharding: with sharding.shards > 1 the chart renders one StatefulSet
// per copy (replicasPerShard) instead of the Deployment, one pod per shard,
// each pod's shard taken from its pod index; with 1 it renders the
// Deployment without --shard. The copies' selectors do not overlap, and the
// pods carry the selector labels the Service and PDB use.
func TestSharding(t *testing.T) {
	plain := newRelease(t)
	if _, on := plain.args()["--shard"]; on {
		t.Error("an unsharded release passes --shard")
	}
	if n := len(find(plain.docs, "StatefulSet")); n != 0 {
		t.Errorf("an unsharded release renders %d StatefulSets", n)
	}

	docs := render(t, "--set", "sharding.shards=3", "--set", "sharding.replicasPerShard=2")
	if n := len(find(docs, "Deployment")); n != 0 {
		t.Errorf("a sharded release still renders %d Deployments", n)
	}
	sets := find(docs, "StatefulSet")
	if len(sets) != 2 {
		t.Fatalf("want 2 StatefulSets (one per copy), got %d", len(sets))
	}
	svcSelector := asMap(dig(one(t, docs, "Service"), "spec", "selector"))
	copies := map[string]bool{}
	for _, s := range sets {
		if got := str(dig(s, "spec", "replicas")); got != "3" {
			t.Errorf("%s: replicas %s, want 3 (one pod per shard)", s.name(), got)
		}
		sel := asMap(dig(s, "spec", "selector", "matchLabels"))
		labels := asMap(dig(s, "spec", "template", "metadata", "labels"))
		for k, v := range sel {
			if str(labels[k]) != str(v) {
				t.Errorf("%s: pod label %s=%v does not match its selector's %v", s.name(), k, labels[k], v)
			}
		}
		for k, v := range svcSelector {
			if str(labels[k]) != str(v) {
				t.Errorf("%s: pods miss the Service's selector label %s=%v", s.name(), k, v)
			}
		}
		copies[str(sel["slo-exporter/copy"])] = true
		c := asMap(list(dig(s, "spec", "template", "spec", "containers"))[0])
		var shardArg string
		for _, a := range list(c["args"]) {
			if k, v, _ := strings.Cut(str(a), "="); k == "--shard" {
				shardArg = v
			}
		}
		if shardArg != "$(SLO_EXPORTER_SHARD_INDEX)/3" {
			t.Errorf("%s: --shard=%q, want $(SLO_EXPORTER_SHARD_INDEX)/3", s.name(), shardArg)
		}
		found := false
		for _, e := range list(c["env"]) {
			if str(dig(e, "name")) == "SLO_EXPORTER_SHARD_INDEX" &&
				str(dig(e, "valueFrom", "fieldRef", "fieldPath")) == "metadata.labels['apps.kubernetes.io/pod-index']" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: SLO_EXPORTER_SHARD_INDEX is not taken from the pod index label", s.name())
		}
	}
	if len(copies) != 2 {
		t.Errorf("the copies' selectors overlap: %v", copies)
	}
	if _, err := template(t, "--set", "sharding.shards=0"); err == nil {
		t.Error("sharding.shards=0 was accepted")
	}
}

// TestSizingFromGroups: sizing.groups sets the memory request to baseMiB +
// groups x kibPerGroup / 1024 and the limit to limitPercent of it, keeping
// the rest of resources; at 0 resources stay as given.
func TestSizingFromGroups(t *testing.T) {
	for _, tc := range []struct {
		set          []string
		req, lim     string
		keepsCPUWith string
	}{
		{nil, "64Mi", "256Mi", "50m"},
		{[]string{"sizing.groups=10000", "sizing.kibPerGroup=40", "sizing.baseMiB=64", "sizing.limitPercent=150"},
			fmt.Sprintf("%dMi", 64+10000*40/1024), fmt.Sprintf("%dMi", (64+10000*40/1024)*150/100), "50m"},
		{[]string{"sizing.groups=100000", "sizing.kibPerGroup=36", "sizing.baseMiB=100", "sizing.limitPercent=200", "resources.requests.cpu=2"},
			fmt.Sprintf("%dMi", 100+100000*36/1024), fmt.Sprintf("%dMi", (100+100000*36/1024)*2), "2"},
	} {
		var args []string
		for _, s := range tc.set {
			args = append(args, "--set", s)
		}
		res := asMap(newRelease(t, args...).container()["resources"])
		if got := str(dig(res, "requests", "memory")); got != tc.req {
			t.Errorf("%v: requests.memory %s, want %s", tc.set, got, tc.req)
		}
		if got := str(dig(res, "limits", "memory")); got != tc.lim {
			t.Errorf("%v: limits.memory %s, want %s", tc.set, got, tc.lim)
		}
		if got := fmt.Sprint(dig(res, "requests", "cpu")); got != tc.keepsCPUWith {
			t.Errorf("%v: requests.cpu %s, want %s", tc.set, got, tc.keepsCPUWith)
		}
	}
}
