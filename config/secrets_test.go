package config

import (
	"strings"
	"testing"
)

// TestSecretsRedacted loads URLs with a password (the word topsecret)
// that url.Parse refuses or misreads, through a file and through the
// environment, and checks the exact message: the password never appears,
// the rest of the URL does.
func TestSecretsRedacted(t *testing.T) {
	const sloBody = "slos:\n  - {name: a, service: s, objective: 0.99, sli: {ratio: {good: 'g', valid: 'v'}}}\n"
	for _, tc := range []struct {
		name, prometheus, want string
	}{
		{"bad escape", `{url: "http://user:topsecret@host:9090/%zz"}`,
			`p.yaml: prometheus.url "http://user:xxxxx@host:9090/%zz": not a URL: invalid URL escape "%zz"`},
		{"space in password", `{url: "http://user:top secret@host"}`,
			`p.yaml: prometheus.url "http://user:xxxxx@host": not a URL: its password is not valid in a URL: percent-encode its reserved characters (space, #, ?, /, @, %), or give it in basic_auth`},
		{"hash in password", `{url: "http://user:top#secret@host"}`,
			`p.yaml: prometheus.url "http://user:xxxxx@host": not a URL: its password is not valid in a URL: percent-encode its reserved characters (space, #, ?, /, @, %), or give it in basic_auth`},
		{"slash in password", `{url: "http://user:top/secret@host"}`,
			`p.yaml: prometheus.url "http://user:xxxxx@host": not a URL: its password is not valid in a URL: percent-encode its reserved characters (space, #, ?, /, @, %), or give it in basic_auth`},
		{"no scheme", `{url: "user:topsecret@host:9090"}`,
			`p.yaml: prometheus.url "user:xxxxx@host:9090": must start with http:// or https://`},
		{"bad host", `{url: "http://user:topsecret@ho st"}`,
			`p.yaml: prometheus.url "http://user:xxxxx@ho st": not a URL: invalid character " " in host name`},
		{"no host", `{url: "http://user:topsecret@"}`,
			`p.yaml: prometheus.url "http://user:xxxxx@": has no host`},
		{"proxy url", `{url: "http://host", proxy_url: "http://user:top secret@proxy"}`,
			`p.yaml: prometheus.proxy_url "http://user:xxxxx@proxy": not a URL: its password is not valid in a URL: percent-encode its reserved characters (space, #, ?, /, @, %), or give it in basic_auth`},
		{"user info and basic_auth", `{url: "http://user:topsecret@host", basic_auth: {username: u, password: topsecret}}`,
			`p.yaml: prometheus.url "http://user:xxxxx@host": has user info (user:password@) and prometheus.basic_auth is set too, so one would be silently ignored; give the credentials in one place: prometheus.basic_auth (password_file keeps the password out of the file) and a URL without user info`},
		{"user info and authorization", `{url: "http://user:topsecret@host", authorization: {credentials: topsecret}}`,
			`p.yaml: prometheus.url "http://user:xxxxx@host": has user info (user:password@) and prometheus.authorization is set too, so one would be silently ignored; give the credentials in one place: prometheus.basic_auth (password_file keeps the password out of the file) and a URL without user info`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte("prometheus: "+tc.prometheus+"\n"+sloBody))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got  %v\nwant %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "topsecret") || strings.Contains(err.Error(), "secret@") {
				t.Errorf("the password leaks: %v", err)
			}
		})
	}
	// The same through the environment, which layers over the file.
	_, err := Load(nil, []string{"SLO_EXPORTER_PROMETHEUS_URL=http://user:top#secret@host:9090"}, nil)
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("environment: %v", err)
	}
}

// TestRedactURL covers the redaction of strings url.Parse refuses or
// reads without user info.
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://host:9090":                 "http://host:9090",
		"http://user@host":                 "http://user@host",
		"http://user:pw@host/p":            "http://user:xxxxx@host/p",
		"http://user:p w@host/%zz":         "http://user:xxxxx@host/%zz",
		"user:pw@host:9090":                "user:xxxxx@host:9090",
		"http://user:p@w@host":             "http://user:xxxxx@host",
		"not a url":                        "not a url",
		"https://u:p%20w@mimir/prometheus": "https://u:xxxxx@mimir/prometheus",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
