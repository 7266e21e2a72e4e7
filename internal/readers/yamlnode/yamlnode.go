// Package yamlnode looks up keys in parsed YAML nodes, for the readers that
// inspect a document (its apiVersion, kind and raw fields) before or beside
// decoding it.
package yamlnode

import "go.yaml.in/yaml/v3"

// Child returns the value of key in a mapping node, or nil.
func Child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// Scalar returns the scalar value of key in a mapping node, or "".
func Scalar(n *yaml.Node, key string) string {
	if v := Child(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}
