package yamlnode

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestChildAndScalar(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("apiVersion: sloth.slok.dev/v1\nspec:\n  service: a\nlist: [1]\n"), &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	for _, tc := range []struct {
		n         *yaml.Node
		key, want string
	}{
		{root, "apiVersion", "sloth.slok.dev/v1"},
		{Child(root, "spec"), "service", "a"},
		{root, "spec", ""},    // a mapping, not a scalar
		{root, "list", ""},    // a sequence
		{root, "missing", ""}, // absent
		{nil, "x", ""},        // no node
		{Child(root, "list"), "x", ""},
	} {
		if got := Scalar(tc.n, tc.key); got != tc.want {
			t.Errorf("Scalar(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}
