package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/v2"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts every environment variable that overrides a setting.
const EnvPrefix = "SLO_EXPORTER_"

// Load reads the configuration files in order, applies the environment
// (os.Environ() format, KEY=value) and then the flag overrides (dotted keys
// such as "global.evaluation_interval" or "prometheus.url"; values may be
// strings as typed, or typed values such as time.Duration, int or bool),
// fills in defaults and validates the result. On failure the error is an
// errors.Join of every problem found, each a *FieldError (see List).
// Load reads slo-exporter's own format only; internal/readers reads the
// other formats and hands their SLOs to LoadSources.
func Load(files []string, env []string, flags map[string]any) (*Config, error) {
	srcs, err := ReadFiles(files)
	return LoadSources(srcs, env, flags, err)
}

// ReadFiles reads configuration files as slo-exporter's own format; a file
// that cannot be read is a problem, not a stop, so that every problem is
// reported at once (the error joins them).
func ReadFiles(files []string) ([]Source, error) {
	var errs problems
	var srcs []Source
	if len(files) == 0 {
		errs = append(errs, &FieldError{Source: "configuration", Index: -1, Msg: "no configuration file given"})
	}
	for _, f := range files {
		data, err := ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		srcs = append(srcs, Source{Name: f, Data: data})
	}
	return srcs, errs.join()
}

// ReadFile reads one configuration file; the error is a *FieldError naming
// the file.
func ReadFile(name string) ([]byte, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &FieldError{Source: name, Index: -1, Msg: "cannot read: " + err.Error()}
	}
	return data, nil
}

// Parse loads a configuration from one document named name (which error
// messages use as the file name), without environment or flags.
func Parse(name string, data []byte) (*Config, error) {
	return LoadSources([]Source{{Name: name, Data: data}}, nil, nil, nil)
}

// Source is one configuration file for LoadSources: either
// slo-exporter's own YAML (Data), or the model a reader of another format
// built from a file (Format, PrometheusURL, SLOs). Both go through the
// same layering, defaults and validation.
type Source struct {
	// Name is the file name problems are reported with.
	Name string
	// Data is the file's content in slo-exporter's format; nil for a
	// source a reader built.
	Data []byte
	// Format names the format a reader read ("Sloth prometheus/v1"); its
	// problems name it.
	Format string
	// PrometheusURL, when set, is the server the file named (an OpenSLO
	// DataSource); it is layered like a file's prometheus.url.
	PrometheusURL string
	// SLOs are the SLOs the reader built. They are copied, and filled in
	// like SLOs decoded from YAML: tiers in Alerting.Tiers override the
	// global tier of their name with their non-zero fields and Enabled.
	SLOs []*SLO
}

// sloNode is an SLO's node, waiting to be decoded once the global section
// (and with it the tiers the SLO inherits) is known; or an SLO a reader
// built (model), waiting for the same.
type sloNode struct {
	node  *yaml.Node
	model *SLO
	c     *checker
}

// envString is a value typed by a human (environment, flag text): it is
// resolved against the field it sets, as an unquoted YAML scalar would be.
type envString string

// sections are the top-level keys that layers merge (slos are concatenated
// instead).
var sections = map[string]reflect.Type{
	"global":     reflect.TypeFor[Global](),
	"prometheus": reflect.TypeFor[Prometheus](),
}

// settableKeys are the dotted keys environment variables and flags may set.
var settableKeys = func() map[string]bool {
	out := map[string]bool{}
	for name, t := range sections {
		leafKeys(t, name, out)
	}
	return out
}()

// EnvVar returns the environment variable that sets a dotted key:
// prometheus.url -> SLO_EXPORTER_PROMETHEUS_URL.
func EnvVar(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// SettableKeys returns, sorted, the dotted keys that environment variables
// and flags may set.
func SettableKeys() []string {
	keys := make([]string, 0, len(settableKeys))
	for k := range settableKeys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// loader holds the state of one Load.
type loader struct {
	errs   problems
	k      *koanf.Koanf
	origin map[string]origin // dotted key -> source that set it last
	slos   []sloNode
	// sloChecks holds, aligned with Config.SLOs, each SLO's checker.
	sloChecks []*checker
	// tierTypeErr holds, aligned with Config.SLOs, whether the strict check
	// found problems under the SLO's alerting.tiers.
	tierTypeErr []bool
	first       string // name of the first source, for problems of no one source
	// under holds the global and prometheus paths (and their parents)
	// that the strict check reported in any source, so that validating
	// the merged sections does not report them again in another form.
	under map[string]bool
	// brokenTiers are the names of global tiers whose entries had
	// problems: SLOs that override them are not told they are new.
	brokenTiers map[string]bool
}

// LoadSources is Load for files already read (ReadFiles) or built by
// readers of other formats; prior holds problems found before (unreadable
// files, a reader's errors), reported with the loader's own in file order.
func LoadSources(srcs []Source, envList []string, flags map[string]any, prior error) (*Config, error) {
	l := &loader{errs: problems(List(prior)), k: koanf.New("."), origin: map[string]origin{}, first: "configuration", under: map[string]bool{}}
	if len(srcs) > 0 {
		l.first = srcs[0].Name
	}
	for _, s := range srcs {
		if s.Data == nil && (s.Format != "" || s.SLOs != nil) {
			l.model(s)
			continue
		}
		l.file(s)
	}
	l.env(envList)
	l.flags(flags)

	cfg := &Config{Global: DefaultGlobal(), Prometheus: defaultPrometheus()}
	cfg.Global.AlertTiers = nil
	gc := l.decodeSections(cfg)
	l.resolveGlobalTiers(cfg, gc)
	l.decodeSLOs(cfg)
	l.validate(cfg, gc)
	if len(l.errs) > 0 {
		l.sort(srcs)
		return nil, l.errs.join()
	}
	return cfg, nil
}

// model takes the SLOs a reader built, and the server its file named.
func (l *loader) model(s Source) {
	if s.PrometheusURL != "" {
		l.merge(origin{source: s.Name}, map[string]any{"prometheus": map[string]any{"url": s.PrometheusURL}})
	}
	for _, m := range s.SLOs {
		c := newChecker(scope{source: s.Name, format: s.Format, index: -1, slo: m.Name}, &l.errs)
		l.slos = append(l.slos, sloNode{model: m, c: c})
	}
}

// file parses one file of slo-exporter's format. Every YAML document of
// it is read, in order, as if it were a file of its own: its global and
// prometheus sections layer over those before it and its SLOs are added;
// problems name the document when the file has more than one.
func (l *loader) file(s Source) {
	dec := yaml.NewDecoder(bytes.NewReader(s.Data))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			e := &FieldError{Source: s.Name, Index: -1, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
			if len(docs) > 0 {
				e.Doc = len(docs) + 1
			}
			l.errs = append(l.errs, e)
			break
		}
		if len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
			continue // empty, or comments only
		}
		docs = append(docs, doc.Content[0])
	}
	for i, root := range docs {
		n := 0
		if len(docs) > 1 {
			n = i + 1
		}
		l.document(s.Name, n, root)
	}
}

// document parses one document of a file (doc is its 1-based number in a
// multi-document file, 0 in a file of one): checks it strictly, merges its
// global and prometheus sections into the layers, and keeps its SLOs.
func (l *loader) document(file string, doc int, root *yaml.Node) {
	c := newChecker(scope{source: file, doc: doc, index: -1}, &l.errs)
	if root.Kind != yaml.MappingNode {
		c.report("", nodeValue(root), "the document must be a mapping with global, prometheus and slos")
		return
	}
	layer := map[string]any{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i].Value, root.Content[i+1]
		if key == "slos" {
			l.sloList(file, doc, val, c)
			continue
		}
		t, ok := sections[key]
		if !ok {
			c.unknown(key, "")
			continue
		}
		c.check(val, t, key)
		// Reported values stay out of the merge; the rest of the section
		// still counts, so that its other settings do not fall back to
		// defaults and cause problems of their own.
		var m any
		if err := c.pruned(val, key).Decode(&m); err != nil {
			c.report(key, "", strings.TrimPrefix(err.Error(), "yaml: "))
			continue
		}
		if m != nil {
			layer[key] = m
		}
	}
	maps.Copy(l.under, c.under)
	l.merge(origin{source: file, doc: doc}, layer)
}

// sloList checks each SLO of a file's slos list and keeps it for decoding.
func (l *loader) sloList(file string, doc int, n *yaml.Node, fc *checker) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.SequenceNode {
		fc.report("slos", nodeValue(n), "must be a list of SLOs")
		return
	}
	sloT := reflect.TypeFor[SLO]()
	for i, item := range n.Content {
		for item.Kind == yaml.AliasNode && item.Alias != nil {
			item = item.Alias
		}
		sc := scope{source: file, doc: doc, index: i}
		if item.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(item.Content); j += 2 {
				if item.Content[j].Value == "name" && item.Content[j+1].Kind == yaml.ScalarNode {
					sc.slo = item.Content[j+1].Value
				}
			}
		}
		c := newChecker(sc, &l.errs)
		if item.Kind != yaml.MappingNode {
			c.report("", nodeValue(item), "an SLO must be a mapping")
			continue
		}
		c.check(item, sloT, "")
		l.slos = append(l.slos, sloNode{node: item, c: c})
	}
}

// merge adds a layer to the koanf stack and records where its keys came
// from.
func (l *loader) merge(src origin, layer map[string]any) {
	if len(layer) == 0 {
		return
	}
	if err := l.k.Load(confmap.Provider(layer, ""), nil); err != nil {
		l.errs = append(l.errs, &FieldError{Source: src.source, Doc: src.doc, Index: -1, Msg: err.Error()})
		return
	}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		l.origin[prefix] = src
		if m, ok := v.(map[string]any); ok {
			for k, v := range m {
				walk(joinPath(prefix, k), v)
			}
		}
	}
	for k, v := range layer {
		walk(k, v)
	}
}

// env applies SLO_EXPORTER_* variables that name a settable key; others
// are left alone (the command line may read its own).
func (l *loader) env(envList []string) {
	byVar := map[string]string{}
	for k := range settableKeys {
		byVar[EnvVar(k)] = k
	}
	ok := map[string]bool{}
	for _, kv := range envList {
		name, val, found := strings.Cut(kv, "=")
		key, known := byVar[name]
		if !found || !known {
			continue
		}
		src := "environment " + name
		if l.checkValue(src, key, envString(val)) {
			ok[name] = true
			l.origin[key] = origin{source: src}
		}
	}
	if len(ok) == 0 {
		return
	}
	p := env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return envList },
		TransformFunc: func(k, v string) (string, any) {
			if !ok[k] {
				return "", nil
			}
			return byVar[k], envString(v)
		},
	})
	if err := l.k.Load(p, nil); err != nil {
		l.errs = append(l.errs, &FieldError{Source: "environment", Index: -1, Msg: err.Error()})
	}
}

// flags applies the command line's overrides.
func (l *loader) flags(flags map[string]any) {
	keys := make([]string, 0, len(flags))
	for k := range flags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	good := map[string]any{}
	c := newChecker(scope{source: "flags", index: -1}, &l.errs)
	for _, key := range keys {
		if !settableKeys[key] {
			c.unknown(key, "not a key flags can set")
			continue
		}
		v := flagValue(flags[key])
		if l.checkValue("flags", key, v) {
			good[key] = v
			l.origin[key] = origin{source: "flags"}
		}
	}
	if len(good) > 0 {
		if err := l.k.Load(confmap.Provider(good, "."), nil); err != nil {
			l.errs = append(l.errs, &FieldError{Source: "flags", Index: -1, Msg: err.Error()})
		}
	}
}

// flagValue turns a flag's value into one the YAML decoder takes.
func flagValue(v any) any {
	switch x := v.(type) {
	case time.Duration:
		return envString(model.Duration(x).String())
	case model.Duration:
		return envString(x.String())
	case string:
		return envString(x)
	case fmt.Stringer:
		return envString(x.String())
	}
	return v
}

// checkValue checks one overriding value for its dotted key.
func (l *loader) checkValue(src, key string, v any) bool {
	parts := strings.Split(key, ".")
	var m any = v
	for i := len(parts) - 1; i >= 0; i-- {
		m = map[string]any{parts[i]: m}
	}
	n := toNode(m)
	before := len(l.errs)
	c := newChecker(scope{source: src, index: -1}, &l.errs)
	for i := 0; i+1 < len(n.Content); i += 2 {
		c.check(n.Content[i+1], sections[n.Content[i].Value], n.Content[i].Value)
	}
	maps.Copy(l.under, c.under)
	return len(l.errs) == before
}

// toNode converts a merged value to a YAML node. Values typed by humans
// (envString) become plain scalars, resolved against the field they set.
func toNode(v any) *yaml.Node {
	switch x := v.(type) {
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, toNode(x[k]))
		}
		return n
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, e := range x {
			n.Content = append(n.Content, toNode(e))
		}
		return n
	case envString:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: string(x)}
	}
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(v)}
	}
	return n
}

// origin is where a setting came from: a file (and its document, in a
// file of several), the environment or the flags.
type origin struct {
	source string
	doc    int
}

// originOf returns the source that set a dotted key (or its closest
// parent).
func (l *loader) originOf(key string) origin {
	for k := key; k != ""; {
		if src, ok := l.origin[k]; ok {
			return src
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return origin{source: l.first}
}

// globalChecker reports problems of the merged global and prometheus
// sections, naming the source that set each field.
type globalChecker struct {
	l   *loader
	bad map[string]bool
}

func (g *globalChecker) report(field, value, msg string) {
	if g.bad[field] || g.l.under[field] {
		return
	}
	g.bad[field] = true
	src := g.l.originOf(field)
	g.l.errs = append(g.l.errs, &FieldError{Source: src.source, Doc: src.doc, Index: -1, Field: field, Value: value, Msg: msg})
}

// decodeSections decodes the merged global and prometheus sections.
func (l *loader) decodeSections(cfg *Config) *globalChecker {
	gc := &globalChecker{l: l, bad: map[string]bool{}}
	raw := l.k.Raw()
	if g, ok := raw["global"]; ok {
		if err := toNode(g).Decode(&cfg.Global); err != nil {
			gc.report("global", "", strings.TrimPrefix(err.Error(), "yaml: "))
		}
	}
	if p, ok := raw["prometheus"]; ok {
		if err := toNode(p).Decode(&cfg.Prometheus); err != nil {
			gc.report("prometheus", "", strings.TrimPrefix(err.Error(), "yaml: "))
		}
	}
	return gc
}

// decodeSLOs decodes every SLO and fills in its defaults.
func (l *loader) decodeSLOs(cfg *Config) {
	for _, sn := range l.slos {
		s := &SLO{MaxGroups: DefaultMaxGroups}
		if sn.model != nil {
			*s = sn.model.clone()
			if s.MaxGroups == 0 {
				s.MaxGroups = DefaultMaxGroups
			}
		} else {
			// Type errors were reported by the strict check with their
			// field; the decoder's partial result still gets the other
			// checks.
			// Reported values are pruned first: yaml.v3 stops at the first
			// value an unmarshaler refuses, leaving the fields after it unset.
			_ = sn.c.pruned(sn.node, "").Decode(s)
		}
		s.file, s.doc, s.index = sn.c.sc.source, sn.c.sc.doc, sn.c.sc.index
		l.tierTypeErr = append(l.tierTypeErr, sn.c.reportedUnder("alerting.tiers"))
		l.sloDefaults(cfg, s, sn.c)
		cfg.SLOs = append(cfg.SLOs, s)
		l.sloChecks = append(l.sloChecks, sn.c)
	}
}

// sort orders problems by source (files in the order given, then the
// environment, then flags), then global fields before SLOs, then SLO index,
// keeping the order of discovery otherwise.
func (l *loader) sort(srcs []Source) {
	rank := map[string]int{}
	for i, s := range srcs {
		if _, ok := rank[s.Name]; !ok {
			rank[s.Name] = i
		}
	}
	key := func(e error) (int, int) {
		var fe *FieldError
		if !errors.As(e, &fe) {
			return len(srcs) + 2, 0
		}
		// Documents of one file in order; within one, global fields
		// (index -1) before SLOs.
		idx := fe.Doc<<20 + fe.Index
		r, ok := rank[fe.Source]
		switch {
		case ok:
		case strings.HasPrefix(fe.Source, "environment"):
			r = len(srcs)
		case fe.Source == "flags":
			r = len(srcs) + 1
		default: // unreadable files come first
			r = -1
		}
		return r, idx
	}
	slices.SortStableFunc(l.errs, func(a, b error) int {
		ra, ia := key(a)
		rb, ib := key(b)
		if ra != rb {
			return ra - rb
		}
		return ia - ib
	})
}
