package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/slo-exporter/slo-exporter/config/openslo"
	"github.com/slo-exporter/slo-exporter/config/sloth"
)

// Format is the format of a configuration file.
type Format string

// The formats LoadAny reads.
const (
	// FormatNative is slo-exporter's own YAML (global, prometheus, slos).
	FormatNative Format = "slo-exporter"
	// FormatOpenSLO is OpenSLO v1: documents with apiVersion openslo/v1.
	FormatOpenSLO Format = "openslo"
	// FormatSloth is a Sloth spec: a document with version prometheus/v1.
	FormatSloth Format = "sloth"
)

// DetectFormat tells a file's format from its first YAML document: an
// apiVersion key (at the top, or in the first item of a list of objects)
// means OpenSLO, a version key means Sloth, anything else is slo-exporter's
// own format. Files that are not YAML count as native, so that loading
// reports the syntax error.
func DetectFormat(data []byte) Format {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return FormatNative
		}
		if len(n.Content) == 0 || n.Content[0].Tag == "!!null" {
			continue // empty, or comments only
		}
		root := n.Content[0]
		if root.Kind == yaml.SequenceNode && len(root.Content) > 0 {
			root = root.Content[0]
		}
		if root.Kind != yaml.MappingNode {
			return FormatNative
		}
		for i := 0; i+1 < len(root.Content); i += 2 {
			switch root.Content[i].Value {
			case "apiVersion":
				return FormatOpenSLO
			case "version":
				return FormatSloth
			}
		}
		return FormatNative
	}
}

// Convert turns an OpenSLO or Sloth file into slo-exporter's YAML and
// returns it with the detected format; a native file is returned as it
// is. The YAML holds every SLO that converted, also when the error (an
// Errors value naming the file) reports problems with others. The output
// is deterministic, with a comment above each SLO naming where it came
// from.
func Convert(name string, data []byte) ([]byte, Format, error) {
	f := DetectFormat(data)
	var doc *openslo.Document
	var err error
	switch f {
	case FormatNative:
		return data, f, nil
	case FormatOpenSLO:
		var tiers []openslo.DefaultTier
		for _, t := range DefaultTiers() {
			tiers = append(tiers, openslo.DefaultTier{Name: t.Name, LongWindow: time.Duration(t.LongWindow)})
		}
		doc, err = openslo.Convert(name, data, openslo.Options{DefaultTiers: tiers})
	case FormatSloth:
		doc, err = sloth.Convert(name, data)
	}
	var errs Errors
	var list openslo.Errors
	if errors.As(err, &list) {
		errs = Errors(list)
	} else if err != nil {
		errs = Errors{err}
	}
	out, merr := doc.Marshal()
	if merr != nil {
		errs = append(errs, &FieldError{Source: name, Index: -1, Msg: "cannot write the converted configuration: " + merr.Error()})
	}
	if len(errs) > 0 {
		return out, f, errs
	}
	return out, f, nil
}

// LoadAny is Load for files in any supported format: OpenSLO and Sloth
// files are converted in memory (see Convert) and then loaded with the
// native ones, through the same layering, defaults and validation. Every
// problem names the original file; problems found after conversion
// locate SLOs by their index among the file's converted SLOs.
func LoadAny(files []string, env []string, flags map[string]any) (*Config, error) {
	read, errs := readFiles(files)
	srcs := make([]source, 0, len(read))
	for _, src := range read {
		out, _, err := Convert(src.name, src.data)
		var ce Errors
		if errors.As(err, &ce) {
			errs = append(errs, ce...)
		}
		srcs = append(srcs, source{name: src.name, data: out})
	}
	cfg, err := load(srcs, env, flags, errs)
	if err != nil {
		var all Errors
		if errors.As(err, &all) {
			sortBySource(all, files)
			return nil, all
		}
		return nil, err
	}
	return cfg, nil
}

// sortBySource orders problems by the file they name, in the order the
// files were given, then the environment, then flags, keeping the order
// within each.
func sortBySource(errs Errors, files []string) {
	rank := func(e error) int {
		var src string
		var fe *FieldError
		var oe *openslo.Error
		var se *sloth.Error
		switch {
		case errors.As(e, &fe):
			src = fe.Source
		case errors.As(e, &oe):
			src = oe.File
		case errors.As(e, &se):
			src = se.File
		}
		if i := slices.Index(files, src); i >= 0 {
			return i
		}
		switch {
		case strings.HasPrefix(src, "environment"):
			return len(files)
		case src == "flags":
			return len(files) + 1
		}
		return -1
	}
	slices.SortStableFunc(errs, func(a, b error) int { return rank(a) - rank(b) })
}

// ConvertFiles converts OpenSLO and Sloth files to one slo-exporter
// configuration, the SLOs concatenated in file order, for printing. Native
// files are refused: they need no conversion.
func ConvertFiles(files []string, w io.Writer) error {
	var errs Errors
	var docs [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, &FieldError{Source: f, Index: -1, Msg: "cannot read: " + err.Error()})
			continue
		}
		out, format, err := Convert(f, data)
		if format == FormatNative {
			errs = append(errs, &FieldError{Source: f, Index: -1, Msg: "is already slo-exporter configuration (neither OpenSLO apiVersion nor Sloth version found)"})
			continue
		}
		var ce Errors
		if errors.As(err, &ce) {
			errs = append(errs, ce...)
			continue
		}
		docs = append(docs, out)
	}
	if len(errs) > 0 {
		return errs
	}
	return writeMerged(docs, w)
}

// writeMerged writes converted documents as one: the prometheus section of
// the first that has one (ConvertFiles' callers get one file per server
// anyway) and every SLO.
func writeMerged(docs [][]byte, w io.Writer) error {
	var merged yaml.Node
	for _, d := range docs {
		var n yaml.Node
		if err := yaml.Unmarshal(d, &n); err != nil {
			return err
		}
		if len(n.Content) == 0 {
			continue
		}
		if len(merged.Content) == 0 {
			merged = n
			continue
		}
		mroot, root := merged.Content[0], n.Content[0]
		for i := 0; i+1 < len(root.Content); i += 2 {
			key, val := root.Content[i], root.Content[i+1]
			j := slices.IndexFunc(mroot.Content, func(k *yaml.Node) bool { return k.Value == key.Value })
			switch {
			case j < 0:
				mroot.Content = append(mroot.Content, key, val)
			case key.Value == "slos":
				mroot.Content[j+1].Content = append(mroot.Content[j+1].Content, val.Content...)
			case key.Value == "prometheus":
				if !equalNodes(mroot.Content[j+1], val) {
					return fmt.Errorf("the files name different Prometheus servers; convert them separately")
				}
			}
		}
	}
	if len(merged.Content) == 0 {
		return nil
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&merged); err != nil {
		return err
	}
	return enc.Close()
}

// equalNodes compares two YAML nodes by their encoding.
func equalNodes(a, b *yaml.Node) bool {
	x, err1 := yaml.Marshal(a)
	y, err2 := yaml.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
