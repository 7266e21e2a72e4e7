package config

import (
	"net/url"

	"go.yaml.in/yaml/v3"
)

// Redacted returns the effective configuration (defaults filled in, tiers
// merged) as YAML with secrets replaced by <secret> and the password of the
// Prometheus URL hidden, for logs and debug endpoints.
func (c *Config) Redacted() string {
	cp := *c
	if u, err := url.Parse(c.Prometheus.URL); err == nil {
		cp.Prometheus.URL = u.Redacted()
	}
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
