package readers_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/readers"
)

// FuzzReaders feeds arbitrary bytes to format detection, the reader of
// the detected format (Sloth, Pyrra, OpenSLO or slo-exporter's own) and
// the loader, as Load does with a file. It must never panic or hang, and
// every problem must be a *config.FieldError naming the file. Seeds: every
// input under testdata/ and the corpus in testdata/fuzz/FuzzReaders.
func FuzzReaders(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		format, detectErr := readers.Detect(data)
		src, got, _, err := readers.Read("fuzz.yaml", data, "")
		// An undetectable file is not read; a detected one is read as its
		// format (or refused whole, for documents of several formats).
		if (detectErr != nil && (got != "" || err == nil)) || (got != "" && got != format) {
			t.Fatalf("Detect = %q, %v but Read = %q, %v", format, detectErr, got, err)
		}
		var srcs []config.Source
		if got != "" {
			srcs = append(srcs, src)
		}
		if _, err = config.LoadSources(srcs, nil, nil, err); err == nil {
			return
		}
		for _, e := range config.List(err) {
			var fe *config.FieldError
			if !errors.As(e, &fe) || fe.Source != "fuzz.yaml" || !strings.HasPrefix(e.Error(), "fuzz.yaml") {
				t.Fatalf("a problem that does not name the file: %T %v", e, e)
			}
		}
	})
}
