package scrape

import (
	"encoding/base64"
	"os"
	"sort"
	"strings"

	"github.com/prometheus/common/config"
)

// secretValues returns the secrets the client sends with every request, as
// they could come back in an answer: a proxy or server that echoes request
// headers into an error page would otherwise put them in error messages
// and logs. It holds the basic-auth password (and the user:password pair
// in base64, as the Authorization header carries it), the bearer or
// authorization credentials, the URL's password and every secret value of
// http_headers, read from their files where they are given as files.
// Longest first, so that a secret that contains another is replaced whole.
func secretValues(hc config.HTTPClientConfig, urlPassword string) []string {
	var out []string
	add := func(s string) {
		if len(s) >= 4 { // shorter values would redact ordinary words
			out = append(out, s)
		}
	}
	file := func(name string) string {
		if name == "" {
			return ""
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	add(urlPassword)
	if ba := hc.BasicAuth; ba != nil {
		user := ba.Username
		if user == "" {
			user = file(ba.UsernameFile)
		}
		pass := string(ba.Password)
		if pass == "" {
			pass = file(ba.PasswordFile)
		}
		add(pass)
		if pass != "" {
			add(base64.StdEncoding.EncodeToString([]byte(user + ":" + pass)))
		}
	}
	if a := hc.Authorization; a != nil {
		cred := string(a.Credentials)
		if cred == "" {
			cred = file(a.CredentialsFile)
		}
		add(cred)
	}
	add(string(hc.BearerToken))
	add(file(hc.BearerTokenFile))
	if h := hc.HTTPHeaders; h != nil {
		for _, hv := range h.Headers {
			for _, s := range hv.Secrets {
				add(string(s))
			}
			for _, f := range hv.Files {
				add(file(f))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// redactedError is an error whose message has the client's secrets
// replaced; Unwrap keeps the chain for errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact returns err with every secret of the client replaced by
// "<secret>" in its message.
func (c *Client) redact(err error) error {
	if err == nil || len(c.secrets) == 0 {
		return err
	}
	msg := err.Error()
	red := msg
	for _, s := range c.secrets {
		red = strings.ReplaceAll(red, s, "<secret>")
	}
	if red == msg {
		return err
	}
	return &redactedError{msg: red, err: err}
}
