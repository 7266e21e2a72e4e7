package config

import (
	"fmt"
	"strings"
)

// FieldError is one problem of a configuration, located by source, SLO and
// field.
type FieldError struct {
	// Source is the file name, "environment" (with the variable) or "flags".
	Source string
	// Index is the SLO's index in its file's slos list, or -1 outside slos.
	Index int
	// SLO is the SLO's name, when it has one.
	SLO string
	// Field is the dotted path of the field: relative to the SLO inside
	// slos (sli.ratio.good), from the top otherwise (global.query_timeout).
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
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	b.WriteString(": ")
	if e.Index >= 0 {
		fmt.Fprintf(&b, "slos[%d]", e.Index)
		if e.SLO != "" {
			fmt.Fprintf(&b, " %q", e.SLO)
		}
		b.WriteString(": ")
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

// Errors lists every problem found in a configuration. Load and Parse
// return it (never an empty one) when the configuration is invalid.
type Errors []error

// Error returns one problem per line.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, err := range e {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (e Errors) Unwrap() []error { return e }
