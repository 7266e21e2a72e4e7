package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad loads arbitrary bytes as a configuration file. It must never
// panic or hang; every problem must be a *FieldError naming the file; and
// a configuration that loads must print (Redacted) into one that loads
// again. Seeds: every testdata/*.yaml and config/examples file, and the
// corpus in testdata/fuzz/FuzzLoad (aliases, multi-document files,
// URLs with passwords).
func FuzzLoad(f *testing.F) {
	for _, pattern := range []string{"testdata/*.yaml", "examples/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err != nil {
			for _, e := range List(err) {
				var fe *FieldError
				if !errors.As(e, &fe) || fe.Source != "fuzz.yaml" || !strings.HasPrefix(e.Error(), "fuzz.yaml") {
					t.Fatalf("a problem that does not name the file: %T %v", e, e)
				}
			}
			return
		}
		out := cfg.Redacted()
		if _, err := Parse("redacted.yaml", []byte(out)); err != nil && !strings.Contains(out, "<secret>") && !strings.Contains(out, "xxxxx") {
			t.Fatalf("the printed configuration does not load: %v\n%s", err, out)
		}
	})
}
