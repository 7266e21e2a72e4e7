package config

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError is one problem of a configuration, located by source, SLO and
// field. It is the one error type of configuration problems: the loader
// and the readers of other formats (Sloth, Pyrra, OpenSLO) report with it,
// and a list of problems is an errors.Join of FieldErrors (see List).
type FieldError struct {
	// Source is the file name, "environment" (with the variable) or "flags".
	Source string
	// Format names the source's format when it is not slo-exporter's own
	// ("Sloth prometheus/v1", "Pyrra", "OpenSLO v1"); "" for ours.
	Format string
	// Doc is the 1-based YAML document (or list item) of a multi-document
	// file, of any format (documents that hold only comments are not
	// counted); 0 when the file has one or the problem is the file's.
	Doc int
	// Kind and Object name the object of another format that Doc holds
	// (kind SLO, name "api-availability"), when known.
	Kind, Object string
	// Index is the SLO's index in its file's slos list, or -1 outside slos.
	Index int
	// SLO is the SLO's name, when it has one.
	SLO string
	// Field is the dotted path of the field: relative to the SLO inside
	// slos (sli.ratio.good), from the top otherwise (global.query_timeout).
	// In another format it is that format's own path (spec.indicator).
	Field string
	// Value is the offending value as written, or "" when there is none.
	Value string
	// Unknown marks a field that the configuration does not have.
	Unknown bool
	// Msg says what is wrong.
	Msg string
}

// Error formats the problem as
//
//	file: slos[2] "name": field "value": message
//	file: slos[2] "name": unknown field "objectiv"
//	file: document 2: slos[0] "name": field "value": message
//	file (Sloth prometheus/v1): document 2: slos[0] "name": field: message
//	file (OpenSLO v1): document 2 (SLO "name"): field "value": message
//	file (Pyrra): slo "name": alerting.tiers[fast]: message
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Format != "" {
		fmt.Fprintf(&b, " (%s)", e.Format)
	}
	b.WriteString(": ")
	if e.Doc > 0 {
		fmt.Fprintf(&b, "document %d", e.Doc)
		if e.Kind != "" {
			fmt.Fprintf(&b, " (%s %q)", e.Kind, e.Object)
		}
		b.WriteString(": ")
	}
	switch {
	case e.Index >= 0:
		fmt.Fprintf(&b, "slos[%d]", e.Index)
		if e.SLO != "" {
			fmt.Fprintf(&b, " %q", e.SLO)
		}
		b.WriteString(": ")
	case e.SLO != "":
		// An SLO a reader built: named by its converted name.
		fmt.Fprintf(&b, "slo %q: ", e.SLO)
	}
	if e.Unknown {
		fmt.Fprintf(&b, "unknown field %q", e.Field)
		if e.Msg != "" {
			b.WriteString(": " + e.Msg)
		}
		return b.String()
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		if e.Value != "" {
			fmt.Fprintf(&b, " %q", e.Value)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// List returns the problems of an error: the errors an errors.Join (or any
// error with Unwrap() []error) holds, flattened, or the error itself.
// Load's error lists every problem this way, one *FieldError each.
func List(err error) []error {
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, List(e)...)
	}
	return out
}

// problems collects the problems of one load; join turns them into the
// error Load returns.
type problems []error

// join returns the problems as one error (errors.Join), nil when none.
func (p problems) join() error { return errors.Join(p...) }
