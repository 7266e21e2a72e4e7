package readers_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/slo-exporter/slo-exporter/internal/readers"
)

// docBlock matches an input or converted block of docs/migrating.md.
var docBlock = regexp.MustCompile("(?s)<!-- (input|converted): ([a-z.]+) -->\n```yaml\n(.*?)```")

// TestMigratingDoc keeps docs/migrating.md true: every input it shows
// converts, with no warning, into exactly the configuration it shows.
func TestMigratingDoc(t *testing.T) {
	doc, err := os.ReadFile("../../docs/migrating.md")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	inputs, converted := map[string]bool{}, map[string]string{}
	for _, m := range docBlock.FindAllSubmatch(doc, -1) {
		name := string(m[2])
		if string(m[1]) == "input" {
			if err := os.WriteFile(filepath.Join(dir, name), m[3], 0o644); err != nil {
				t.Fatal(err)
			}
			inputs[name] = true
		} else {
			converted[name] = string(m[3])
		}
	}
	if len(inputs) < 3 || len(converted) != len(inputs) {
		t.Fatalf("found inputs %v and %d converted blocks", inputs, len(converted))
	}
	t.Chdir(dir)
	for name := range inputs {
		res, err := readers.Load([]string{name}, nil, nil, "")
		if err != nil || len(res.Warnings) > 0 {
			t.Errorf("%s: %v %v", name, err, res.Warnings)
			continue
		}
		var b bytes.Buffer
		if err := readers.Print(res, &b); err != nil {
			t.Fatal(err)
		}
		if b.String() != converted[name] {
			t.Errorf("%s converts to\n%s\nnot what docs/migrating.md shows:\n%s", name, b.String(), converted[name])
		}
		if diffs := readers.Check(res); len(diffs) > 0 {
			t.Errorf("%s: check: %v", name, diffs)
		}
	}
}
