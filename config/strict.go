package config

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/slo-exporter/slo-exporter/internal/slo"
	"go.yaml.in/yaml/v3"
)

// The strict checker walks a YAML node tree against the Go types it decodes
// into. It reports every unknown field and every value of the wrong type
// with its full field path, which yaml's own strict mode cannot do (it stops
// at the first problem and knows only line numbers).

// scope locates the nodes being checked: the source and, inside slos, the
// SLO.
type scope struct {
	source string
	format string // the source's format, for SLOs a reader built
	doc    int    // 1-based document of a multi-document file, 0 otherwise
	index  int
	slo    string
}

// fieldErr builds a FieldError in the scope.
func (sc scope) fieldErr(field, value, msg string) *FieldError {
	return &FieldError{Source: sc.source, Format: sc.format, Doc: sc.doc, Index: sc.index, SLO: sc.slo, Field: field, Value: value, Msg: msg}
}

// checker collects the problems of one scope.
type checker struct {
	sc   scope
	errs *problems
	// bad records field paths already reported, so that later validation
	// does not report the zero value a bad field decoded to.
	bad map[string]bool
	// under holds every reported path and each of its parents, so that
	// reportedUnder is one lookup (pruning asks it for every node).
	under map[string]bool
}

func newChecker(sc scope, errs *problems) *checker {
	return &checker{sc: sc, errs: errs, bad: map[string]bool{}, under: map[string]bool{}}
}

// mark records a reported path and its parents.
func (c *checker) mark(field string) {
	c.bad[field] = true
	for f := field; f != "" && !c.under[f]; {
		c.under[f] = true
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
}

// report adds a problem of a field, unless the field (or a parent of it)
// already has one.
func (c *checker) report(field, value, msg string) {
	if c.reported(field) {
		return
	}
	c.mark(field)
	*c.errs = append(*c.errs, c.sc.fieldErr(field, value, msg))
}

// reported reports whether field or one of its parents has a problem.
func (c *checker) reported(field string) bool {
	for f := field; f != ""; {
		if c.bad[f] {
			return true
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return false
}

func (c *checker) unknown(field, msg string) {
	c.mark(field)
	e := c.sc.fieldErr(field, "", msg)
	e.Unknown = true
	*c.errs = append(*c.errs, e)
}

// joinPath appends a key to a dotted path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// structFields describes the YAML keys of a struct type.
type structFields struct {
	fields map[string]reflect.Type
	// extra is the value type of an inline map, which takes any other key.
	extra reflect.Type
	// tagged is false for structs without YAML fields (opaque values such
	// as Objective or a URL, decoded by their own unmarshalers).
	tagged bool
}

var fieldCache sync.Map // reflect.Type -> *structFields

// fieldsOf returns the YAML keys of struct type t, following inline fields.
func fieldsOf(t reflect.Type) *structFields {
	if v, ok := fieldCache.Load(t); ok {
		return v.(*structFields)
	}
	sf := &structFields{fields: map[string]reflect.Type{}}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag, ok := f.Tag.Lookup("yaml")
			if !ok || tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if strings.Contains(","+opts+",", ",inline,") {
				ft := f.Type
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				switch ft.Kind() {
				case reflect.Struct:
					walk(ft)
				case reflect.Map:
					sf.extra = ft.Elem()
					sf.tagged = true
				}
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			sf.fields[name] = f.Type
			sf.tagged = true
		}
	}
	walk(t)
	fieldCache.Store(t, sf)
	return sf
}

// isLeaf reports whether a type is decoded as one value rather than walked.
func isLeaf(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct:
		return !fieldsOf(t).tagged
	case reflect.Slice, reflect.Map, reflect.Interface:
		return false
	}
	return true
}

var (
	durationType  = reflect.TypeFor[model.Duration]()
	objectiveType = reflect.TypeFor[Objective]()
	sliType       = reflect.TypeFor[SLI]()
	urlType       = reflect.TypeFor[promconfig.URL]()
	byteSizeType  = reflect.TypeFor[ByteSize]()
)

// check walks node n, which decodes into type t at field path path.
func (c *checker) check(n *yaml.Node, t reflect.Type, path string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if isLeaf(t) {
		c.checkLeaf(n, t, path)
		return
	}
	switch t.Kind() {
	case reflect.Interface:
		return
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			c.report(path, nodeValue(n), "must be a list")
			return
		}
		for i, item := range n.Content {
			c.check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			c.report(path, nodeValue(n), "must be a mapping")
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			c.check(n.Content[i+1], t.Elem(), joinPath(path, n.Content[i].Value))
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			c.report(path, nodeValue(n), "must be a mapping")
			return
		}
		sf := fieldsOf(t)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i].Value, n.Content[i+1]
			p := joinPath(path, key)
			if seen[key] {
				c.report(p, "", "defined twice")
				continue
			}
			seen[key] = true
			ft, ok := sf.fields[key]
			switch {
			case ok:
				c.check(val, ft, p)
			case sf.extra != nil:
				c.check(val, sf.extra, p)
			case t == sliType:
				c.unknown(p, fmt.Sprintf("not a known SLI kind; supported kinds: %s", slo.SLIKindList()))
			default:
				c.unknown(p, "")
			}
		}
	}
}

// checkLeaf decodes a leaf value on its own to report type errors with the
// field path.
func (c *checker) checkLeaf(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.ScalarNode {
		c.report(path, nodeValue(n), "must be "+typeWant(t))
		return
	}
	v := reflect.New(t)
	if err := n.Decode(v.Interface()); err != nil {
		if t == urlType { // proxy_url: its error would quote the password
			c.report(path, RedactURL(n.Value), "not a URL: "+urlProblem(n.Value, err))
			return
		}
		msg := "must be " + typeWant(t)
		if t == objectiveType || (t.Kind() == reflect.Struct && t != durationType) || ownUnmarshaler(t) {
			msg = strings.TrimPrefix(err.Error(), "yaml: ")
		}
		c.report(path, n.Value, msg)
	}
}

// obsoleteUnmarshaler is yaml.v2's unmarshaler interface, which
// prometheus/common's types implement and yaml.v3 still calls.
type obsoleteUnmarshaler interface {
	UnmarshalYAML(unmarshal func(any) error) error
}

// ownUnmarshaler reports whether a scalar type other than a duration or a
// size decodes itself (tls_config.min_version): its error says what it
// takes better than the type's kind ("unknown TLS version: TLS99", not
// "must be an integer").
func ownUnmarshaler(t reflect.Type) bool {
	if t == durationType || t == byteSizeType {
		return false
	}
	p := reflect.PointerTo(t)
	return p.Implements(reflect.TypeFor[yaml.Unmarshaler]()) || p.Implements(reflect.TypeFor[obsoleteUnmarshaler]())
}

// typeWant describes what a leaf type accepts.
func typeWant(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration such as 30s, 5m, 1h or 30d"
	case t == objectiveType:
		return "a number or a percent string"
	case t == byteSizeType:
		return "a size in bytes such as 4MiB, 512KiB or 1048576"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return "a single value"
}

// nodeValue is the value of a node for error messages: the scalar itself,
// or what kind of node it is.
func nodeValue(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value
	case yaml.MappingNode:
		return "<mapping>"
	case yaml.SequenceNode:
		return "<list>"
	}
	return ""
}

// leafKeys returns the dotted keys of the scalar fields of type t (not
// lists or maps), which environment variables and flags may set.
func leafKeys(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if isLeaf(t) {
		out[prefix] = true
		return
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for name, ft := range fieldsOf(t).fields {
		leafKeys(ft, joinPath(prefix, name), out)
	}
}

// pruned returns n without the values the checker reported under path: a
// reported mapping entry is left out (the field keeps its default) and a
// reported list item becomes null (so the items after it keep their
// indices). yaml.v3 stops a whole decode at the first value an
// unmarshaler refuses (a period of "30x"), which would leave every field
// after it unset and add problems the file does not have (sli: missing);
// decoding the pruned node gives the other fields their values. Nodes
// with nothing reported under them are shared, not copied.
func (c *checker) pruned(n *yaml.Node, path string) *yaml.Node {
	if !c.reportedUnder(path) {
		return n
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		cp := *n
		cp.Content = nil
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := joinPath(path, n.Content[i].Value)
			if c.bad[p] {
				continue
			}
			cp.Content = append(cp.Content, n.Content[i], c.pruned(n.Content[i+1], p))
		}
		return &cp
	case yaml.SequenceNode:
		cp := *n
		cp.Content = make([]*yaml.Node, len(n.Content))
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			if c.bad[p] {
				cp.Content[i] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
				continue
			}
			cp.Content[i] = c.pruned(item, p)
		}
		return &cp
	}
	return n
}
