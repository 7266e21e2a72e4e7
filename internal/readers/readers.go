// Package readers is the one way configuration files come in: it tells a
// file's format from its apiVersion and kind (or Sloth's version key),
// hands files of other formats to their reader (sloth, pyrra, openslo),
// which builds SLOs of the configuration model directly, and loads them
// with slo-exporter's own files through config.LoadSources, so that every
// file goes through the same layering, defaults and validation. The
// commands that read configuration (check, serve, rules, backtest,
// convert) all load through Load.
package readers

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/readers/openslo"
	"github.com/slo-exporter/slo-exporter/internal/readers/pyrra"
	"github.com/slo-exporter/slo-exporter/internal/readers/sloth"
)

// Format is a configuration file's format.
type Format string

// The formats Load reads.
const (
	// Native is slo-exporter's own YAML (global, prometheus, slos).
	Native Format = "slo-exporter"
	// Sloth is a Sloth spec (version prometheus/v1) or its Kubernetes
	// object (apiVersion sloth.slok.dev/v1, kind PrometheusServiceLevel).
	Sloth Format = "sloth"
	// Pyrra is a Pyrra ServiceLevelObjective (pyrra.dev/v1alpha1).
	Pyrra Format = "pyrra"
	// OpenSLO is OpenSLO v1 (apiVersion openslo/v1).
	OpenSLO Format = "openslo"
)

// displayNames are the formats as messages name them.
var displayNames = map[Format]string{Native: "slo-exporter's", Sloth: "Sloth", Pyrra: "Pyrra", OpenSLO: "OpenSLO"}

// Formats lists the formats read, for flags and messages.
var Formats = []Format{Native, Sloth, Pyrra, OpenSLO}

// supported describes the formats for the message about an unknown one.
const supported = "slo-exporter reads its own format (global, prometheus, slos), " +
	"Sloth (version: prometheus/v1, or apiVersion: sloth.slok.dev/v1 kind: PrometheusServiceLevel), " +
	"Pyrra (apiVersion: pyrra.dev/v1alpha1 kind: ServiceLevelObjective) and OpenSLO (apiVersion: openslo/v1)"

// sloGeneratorMsg explains why google/slo-generator files are not read.
const sloGeneratorMsg = "this is a google/slo-generator configuration, which slo-exporter does not read: " +
	"slo-generator computes SLIs in batch through its own backends (and the SLO's method, e.g. good_bad_ratio, names their queries), " +
	"while slo-exporter counts good and valid events from Prometheus counters itself. Write the SLO as slo-exporter's ratio SLI " +
	"(the good and valid counters of its good_bad_ratio filters) or as OpenSLO; docs/migrating.md shows how"

// Detect tells a file's format from its first YAML document, or returns
// an error that names what was found and the formats that are read. A
// file that is not YAML, or whose first document is not a mapping, is
// Native, so that loading reports the syntax error.
func Detect(data []byte) (Format, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return Native, nil
		}
		if len(n.Content) == 0 || n.Content[0].Tag == "!!null" {
			continue // empty, or comments only
		}
		root := n.Content[0]
		if root.Kind == yaml.SequenceNode && len(root.Content) > 0 {
			root = root.Content[0]
		}
		if root.Kind != yaml.MappingNode {
			return Native, nil
		}
		return detect(root)
	}
}

// detect tells the format of one document's root mapping.
func detect(root *yaml.Node) (Format, error) {
	get := func(k string) (string, bool) {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == k {
				return root.Content[i+1].Value, true
			}
		}
		return "", false
	}
	version, hasAPI := get("apiVersion")
	kind, _ := get("kind")
	group, _, _ := strings.Cut(version, "/")
	switch {
	case version == openslo.APIVersion:
		return OpenSLO, nil
	case strings.HasPrefix(group, "openslo"):
		return "", fmt.Errorf("OpenSLO apiVersion %q is not read: only %s is; %s", version, openslo.APIVersion, supported)
	case version == sloth.APIVersion && kind == sloth.Kind:
		return Sloth, nil
	case version == sloth.APIVersion:
		return "", fmt.Errorf("kind %q of Sloth is not an SLO spec (only %s is read; Sloth's AlertWindows are slo-exporter's alert_tiers): %s", kind, sloth.Kind, supported)
	case version == pyrra.APIVersion && kind == pyrra.Kind:
		return Pyrra, nil
	case group == "pyrra.dev":
		return "", fmt.Errorf("apiVersion %q kind %q of Pyrra is not read: only %s %s is; %s", version, kind, pyrra.APIVersion, pyrra.Kind, supported)
	case group == "sre.google.com":
		return "", errors.New(sloGeneratorMsg)
	case hasAPI:
		return "", fmt.Errorf("apiVersion %q kind %q is not a format slo-exporter reads: %s", version, kind, supported)
	}
	if v, ok := get("version"); ok {
		if v == sloth.Version {
			return Sloth, nil
		}
		return "", fmt.Errorf("version %q is not a format slo-exporter reads (Sloth specs are version %s): %s", v, sloth.Version, supported)
	}
	_, svc := get("service_name")
	_, slo := get("slo_name")
	_, backend := get("backend")
	if svc && (slo || backend) {
		return "", errors.New(sloGeneratorMsg)
	}
	return Native, nil
}

// Read reads one file in any supported format. For slo-exporter's own
// format it returns the file's content (Data) for config to decode; for
// the others, the SLOs the format's reader built. want, when not empty,
// is the format the caller expects (convert --from); a file of another
// format is then a problem. The error joins the file's problems, each a
// *config.FieldError; warnings say what was read but has no effect.
func Read(name string, data []byte, want Format) (src config.Source, format Format, warnings []error, err error) {
	format, err = Detect(data)
	if err != nil {
		return config.Source{Name: name}, "", nil, &config.FieldError{Source: name, Index: -1, Msg: err.Error()}
	}
	if want != "" && want != format {
		return config.Source{Name: name}, format, nil, &config.FieldError{Source: name, Index: -1,
			Msg: fmt.Sprintf("is a %s file, not %s (leave --from out to detect the format)", format, want)}
	}
	switch format {
	case Sloth:
		src, warnings, err = sloth.Read(name, data)
	case Pyrra:
		src, warnings, err = pyrra.Read(name, data)
	case OpenSLO:
		src, warnings, err = openslo.Read(name, data)
	default:
		if err := foreignDocuments(name, data); err != nil {
			return config.Source{Name: name}, "", nil, err
		}
		src = config.Source{Name: name, Data: data}
	}
	return src, format, warnings, err
}

// foreignDocuments returns a problem for every document after the first
// of a file of slo-exporter's format that is of another format (a Sloth
// spec or an OpenSLO object appended with ---): a file holds one format,
// and the loader would report such a document only as unknown fields.
func foreignDocuments(name string, data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var errs []error
	doc := 0
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			break // the end, or a syntax error the loader reports
		}
		if len(n.Content) == 0 || n.Content[0].Tag == "!!null" {
			continue // empty, or comments only
		}
		doc++
		root := n.Content[0]
		if doc == 1 || root.Kind != yaml.MappingNode {
			continue
		}
		f, err := detect(root)
		switch {
		case err != nil:
			errs = append(errs, &config.FieldError{Source: name, Doc: doc, Index: -1, Msg: err.Error()})
		case f != Native:
			errs = append(errs, &config.FieldError{Source: name, Doc: doc, Index: -1, Msg: fmt.Sprintf(
				"this document is in %s format, but document 1 is in slo-exporter's own: a file holds one format; put this document in a file of its own", displayNames[f])})
		}
	}
	return errors.Join(errs...)
}

// Result is what Load read.
type Result struct {
	// Config is the loaded configuration; nil when there were problems.
	Config *config.Config
	// Sources are the files as read, in order (for convert).
	Sources []config.Source
	// Formats are the files' formats, aligned with Sources.
	Formats []Format
	// Warnings say what the readers read but has no effect.
	Warnings []error
}

// Load reads files in any supported format and loads them with the
// environment and flag overrides, as config.Load does for slo-exporter's
// own files. want, when not empty, is the format every file must have.
// The error joins every problem (each a *config.FieldError), in file
// order: the readers' and the loader's.
func Load(files []string, env []string, flags map[string]any, want Format) (Result, error) {
	var res Result
	var errs []error
	if len(files) == 0 {
		errs = append(errs, &config.FieldError{Source: "configuration", Index: -1, Msg: "no configuration file given"})
	}
	for _, f := range files {
		data, err := config.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		src, format, warnings, err := Read(f, data, want)
		res.Warnings = append(res.Warnings, warnings...)
		errs = append(errs, config.List(err)...)
		if format == "" {
			continue
		}
		res.Sources = append(res.Sources, src)
		res.Formats = append(res.Formats, format)
	}
	sortBySource(errs, files)
	cfg, err := config.LoadSources(res.Sources, env, flags, errors.Join(errs...))
	res.Config = cfg
	return res, err
}

// sortBySource orders the readers' problems by file, in the order the
// files were given, keeping their order within a file (the loader sorts
// all problems again with its own).
func sortBySource(errs []error, files []string) {
	rank := func(e error) int {
		var fe *config.FieldError
		if errors.As(e, &fe) {
			return slices.Index(files, fe.Source)
		}
		return -1
	}
	slices.SortStableFunc(errs, func(a, b error) int { return rank(a) - rank(b) })
}
