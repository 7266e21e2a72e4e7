package openslo

import (
	"fmt"
	"strings"
)

// Error is one problem of an OpenSLO file, located by file, document
// (1-based, in file order), the object's kind and name, and the field.
type Error struct {
	// File is the file name.
	File string
	// Doc is the object's 1-based position in the file, 0 for the file.
	Doc int
	// Kind and Name identify the object, when known.
	Kind, Name string
	// Field is the dotted path in the object (spec.objectives[0].target).
	Field string
	// Value is the offending value, or "".
	Value string
	// Msg says what is wrong.
	Msg string
}

// Error formats the problem as
//
//	file: document 2 (SLO "name"): field "value": message
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	b.WriteString(": ")
	if e.Doc > 0 {
		fmt.Fprintf(&b, "document %d", e.Doc)
		if e.Kind != "" {
			fmt.Fprintf(&b, " (%s %q)", e.Kind, e.Name)
		}
		b.WriteString(": ")
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

// Errors lists every problem of a conversion.
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
