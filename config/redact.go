package config

import (
	"errors"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Redacted returns the effective configuration (defaults filled in, tiers
// merged) as YAML with secrets replaced by <secret> and the password of the
// Prometheus URL hidden, for logs and debug endpoints.
func (c *Config) Redacted() string {
	cp := *c
	cp.Prometheus.URL = RedactURL(c.Prometheus.URL)
	// prometheus/common's Secret marshals as <secret> unless the process
	// sets config.MarshalSecretValue; this package never does.
	out, err := yaml.Marshal(&cp)
	if err != nil {
		return "# cannot marshal configuration: " + err.Error() + "\n"
	}
	return string(out)
}

// MarshalYAML writes the URL and the inline client settings.
func (p Prometheus) MarshalYAML() (any, error) {
	n := &yaml.Node{}
	if err := n.Encode(p.HTTPClientConfig); err != nil {
		return nil, err
	}
	head := []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "url"},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: p.URL},
	}
	n.Content = append(head, n.Content...)
	return n, nil
}

// UnmarshalYAML decodes the URL and hands the rest to prometheus/common,
// which applies its defaults (follow_redirects, enable_http2) and validates
// the client settings.
func (p *Prometheus) UnmarshalYAML(n *yaml.Node) error {
	rest := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "url" {
				if err := n.Content[i+1].Decode(&p.URL); err != nil {
					return err
				}
				continue
			}
			rest.Content = append(rest.Content, n.Content[i], n.Content[i+1])
		}
	}
	hc := p.HTTPClientConfig
	if err := rest.Decode(&hc); err != nil {
		return err
	}
	p.HTTPClientConfig = hc
	return nil
}

// RedactURL returns raw with the password of its user info replaced by
// xxxxx, as url.URL.Redacted does, also when raw is not a URL url.Parse
// accepts, or has no scheme ("user:pass@host:9090" parses as scheme
// "user"): every message that quotes a configured URL goes through it. For
// such strings the password is taken to run from the first colon after
// "scheme://" (or the start) to the last @; a path holding an @ is
// redacted too much rather than a password too little.
func RedactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return u.Redacted()
	}
	start, end := passwordSpan(raw)
	if start < 0 {
		return raw
	}
	return raw[:start] + "xxxxx" + raw[end:]
}

// passwordSpan returns where the password of a URL-like string's user
// info is, or -1, -1 when it has none.
func passwordSpan(raw string) (start, end int) {
	off := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		off = i + 3
	}
	at := strings.LastIndex(raw[off:], "@")
	if at < 0 {
		return -1, -1
	}
	colon := strings.Index(raw[off:off+at], ":")
	if colon < 0 {
		return -1, -1
	}
	return off + colon + 1, off + at
}

// urlProblem says why raw is not a URL without quoting its password:
// url.Parse's errors quote the URL, and some (an invalid port, an invalid
// escape) quote parts of the user info, so for a URL with user info the
// problem is found by parsing the redacted form.
func urlProblem(raw string, err error) string {
	if red := RedactURL(raw); red != raw {
		_, err = url.Parse(red)
		if err == nil {
			return "its password is not valid in a URL: percent-encode its reserved characters (space, #, ?, /, @, %), or give it in basic_auth"
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}
