package scrape

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/VictoriaMetrics/metricsql"
	"github.com/prometheus/common/model"
	"go.uber.org/zap"
)

// Union reads
//
// Per-service SLOs repeat one selector with another value of one label:
// http_requests_total{job="api",service="a"}, ...{service="b"}, and so
// on. Such selectors are read through one selector that matches all those
// values (a union, service=~"a|b|...", each value quoted as a literal) and
// the answer is split back by the label's value, so that a tick or a
// backfill sends one request where it would send one per SLO. The split is
// exact: the selectors agree on every other matcher, so a series of the
// union belongs to exactly the selector whose value its label has (a
// missing label has the value "", as Prometheus matches it).
//
// Selectors that differ in a regex matcher on one label (SLOs over sets of
// models: model=~"m0[0-4].*", model=~"m0[5-9].*") join unions too, where
// the read allows it (ticks and raw backfill reads): the union's matcher is
// the alternation of every member's, each anchored as Prometheus anchors
// it, label=~"(?:m0[0-4].*)|(?:m0[5-9].*)", and a series goes to every
// member whose own matcher (fully anchored RE2) its value passes, as
// Prometheus would have answered each member; overlapping regexes give a
// series to several members, as several queries would have.
//
// Joining selectors with "or" instead costs Prometheus a pass over the
// accumulated answer at every step: 64 selectors joined so took 6.4 s
// where their union took 1.0 s on the 31-day backfill benchmark.

// union is a plan to read several selectors through one: members are
// indices into the planned expressions, alts each member's alternative of
// the union's matcher on label (a literal value quoted, or a regex). A plan
// with an empty label has one member, read by itself.
type union struct {
	members []int
	label   string
	alts    []string
	lit     []bool           // per member: alts holds a quoted literal value
	vals    []string         // per member: its literal value ("" for a regex)
	byVal   map[string][]int // literal value -> members
	res     []*regexp.Regexp // per member: its anchored regex, nil for a literal
	cache   *valueCache      // label value -> the regex members it passes; nil: all literal
	// sel is the selector sent, set when the plan's members are renumbered
	// after planning (see planReads, backfillReads).
	sel string
}

// unionLimits bound one union: at most maxMembers selectors, and at most
// maxBytes of alternatives (the selector travels in a request body, or in
// a URL when a server refuses POST); regex lets members differ by a regex
// matcher (see "Union reads").
type unionLimits struct {
	maxMembers, maxBytes int
	regex                bool
}

// unionCacheMax is the least number of label values a regex union's cache
// holds before it starts again (see valueCache).
const unionCacheMax = 1 << 16

// valueCache remembers, per label value, which regex members of a union it
// passes, so that each value meets the members' regexes once, not once per
// read. It holds at most max values, then starts again: the bound keeps
// values that churn (a pod name per deploy) from growing it for ever. Every
// read sizes max to twice the series of its answer (fit), never below
// unionCacheMax, so that the values of one answer always fit: with a fixed
// cap of 65,536 values, an answer of 100,000 values restarted the cache
// within every read and every value met every regex again
// (BenchmarkUnionMatching: 3.9 us a series against 0.21 us, 0.78 s of CPU
// per tick at 100,000 groups over 20 SLOs). Each value costs about 80
// bytes on the heap: 8 MB at 100,000 values.
type valueCache struct {
	hits map[string][]int
	max  int
}

// fit sizes the cache of u for a read whose answer holds n series.
func (u union) fit(n int) {
	if u.cache != nil {
		u.cache.max = max(unionCacheMax, 2*n)
	}
}

// planUnions groups exprs into unions where their selectors allow it and
// single reads otherwise; every index of exprs is in exactly one plan.
// Each selector joins the union, among those it could join (one per label
// it matches with =, or with =~ when lim.regex), that the most selectors
// could join; selectors that are not plain (a function, an "or", a
// subquery) are read alone.
func planUnions(exprs []string, lim unionLimits) []union {
	type cand struct {
		key, label, alt, val string
		lit                  bool
	}
	cands := make([][]cand, len(exprs))
	count := map[string]int{}
	for i, expr := range exprs {
		ms, ok := selectorMatchers(expr)
		if !ok {
			continue
		}
		canon := make([]string, len(ms))
		for j, m := range ms {
			canon[j] = matcherString(m)
		}
		for j, m := range ms {
			if m.Label == model.MetricNameLabel || m.IsNegative || (m.IsRegexp && !lim.regex) {
				continue
			}
			if m.IsRegexp {
				if _, err := anchored(m.Value); err != nil {
					continue // read alone, where the server reports the error
				}
			}
			rest := slices.Concat(canon[:j], canon[j+1:])
			slices.Sort(rest)
			key := m.Label + "\x00" + strings.Join(rest, ",")
			c := cand{key: key, label: m.Label, alt: m.Value, lit: !m.IsRegexp}
			if c.lit {
				c.alt, c.val = regexp.QuoteMeta(m.Value), m.Value
			}
			cands[i] = append(cands[i], c)
			count[key]++
		}
	}
	type group struct {
		label   string
		members []int
		cands   []cand
	}
	groups := map[string]*group{}
	var keys []string
	var out []union
	for i := range exprs {
		best := cand{}
		for _, c := range cands[i] {
			if count[c.key] > count[best.key] || (count[c.key] == count[best.key] && c.key < best.key) {
				best = c
			}
		}
		g := groups[best.key]
		dup := g != nil && slices.ContainsFunc(g.cands, func(c cand) bool { return c.alt == best.alt && c.lit == best.lit })
		if count[best.key] < 2 || dup {
			out = append(out, union{members: []int{i}})
			continue
		}
		if g == nil {
			g = &group{label: best.label}
			groups[best.key] = g
			keys = append(keys, best.key)
		}
		g.members = append(g.members, i)
		g.cands = append(g.cands, best)
	}
	for _, k := range keys {
		g := groups[k]
		for len(g.members) > 0 {
			n, size := 0, 0
			for n < len(g.members) && (lim.maxMembers <= 0 || n < lim.maxMembers) {
				size += len(g.cands[n].alt) + 1 // and its "|"
				if !g.cands[n].lit {
					size += 4 // "(?:" and ")"
				}
				if n > 0 && lim.maxBytes > 0 && size > lim.maxBytes {
					break
				}
				n++
			}
			if n == 1 {
				out = append(out, union{members: g.members[:1]})
			} else {
				u := union{members: g.members[:n], label: g.label}
				for _, c := range g.cands[:n] {
					u.alts, u.lit, u.vals = append(u.alts, c.alt), append(u.lit, c.lit), append(u.vals, c.val)
				}
				out = append(out, u.indexed())
			}
			g.members, g.cands = g.members[n:], g.cands[n:]
		}
	}
	return out
}

// newUnion returns the union of members over label, each matching label
// with = and its value in vals.
func newUnion(members []int, label string, vals []string) union {
	u := union{members: members, label: label, vals: vals}
	for _, v := range vals {
		u.alts, u.lit = append(u.alts, regexp.QuoteMeta(v)), append(u.lit, true)
	}
	return u.indexed()
}

// indexed returns u with its lookups built: literal values, and the
// members' anchored regexes.
func (u union) indexed() union {
	u.byVal = map[string][]int{}
	u.res = make([]*regexp.Regexp, len(u.alts))
	for i, a := range u.alts {
		if u.lit[i] {
			u.byVal[u.vals[i]] = append(u.byVal[u.vals[i]], i)
			continue
		}
		u.res[i], _ = anchored(a) // compiled without error in planUnions
		if u.cache == nil {
			u.cache = &valueCache{hits: map[string][]int{}, max: unionCacheMax}
		}
	}
	return u
}

// literal reports whether every member of u matches its label with =.
func (u union) literal() bool { return u.cache == nil }

// selector returns the selector that reads the union: the member's own
// expression for a single read, else the first member's matchers with its
// matcher on label replaced by one matching every member's alternative.
func (u union) selector(exprs []string) string {
	first := exprs[u.members[0]]
	if u.label == "" {
		return first
	}
	ms, _ := selectorMatchers(first)
	var parts []string
	skipped := false
	for _, m := range ms {
		if !skipped && m.Label == u.label && !m.IsNegative && m.IsRegexp == !u.lit[0] &&
			(m.IsRegexp && m.Value == u.alts[0] || !m.IsRegexp && m.Value == u.vals[0]) {
			skipped = true
			continue
		}
		parts = append(parts, matcherString(m))
	}
	alts := u.alts
	if !u.literal() {
		alts = make([]string, len(u.alts))
		for i, a := range u.alts {
			alts[i] = "(?:" + a + ")"
		}
	}
	parts = append(parts, u.label+"=~"+strconv.Quote(strings.Join(alts, "|")))
	return "{" + strings.Join(parts, ",") + "}"
}

// of returns the position in members of the member series m belongs to in
// a union of literal values, or -1 when it belongs to none (a union
// selector never returns such a series; a misbehaving server might).
func (u union) of(m model.Metric) int {
	if u.label == "" {
		return 0
	}
	if is := u.byVal[string(m[model.LabelName(u.label)])]; len(is) > 0 {
		return is[0]
	}
	return -1
}

// matching appends to dst the positions in members of every member series
// m belongs to: the member of its label's value, and every regex member
// whose matcher the value passes.
func (u *union) matching(m model.Metric, dst []int) []int {
	if u.label == "" {
		return append(dst, 0)
	}
	v := string(m[model.LabelName(u.label)])
	dst = append(dst, u.byVal[v]...)
	if u.literal() {
		return dst
	}
	hit, ok := u.cache.hits[v]
	if !ok {
		hit = []int{}
		for i, re := range u.res {
			if re != nil && re.MatchString(v) {
				hit = append(hit, i)
			}
		}
		if len(u.cache.hits) >= u.cache.max {
			clear(u.cache.hits)
		}
		u.cache.hits[v] = hit
	}
	return append(dst, hit...)
}

// matcherString renders one matcher as PromQL writes it.
func matcherString(m metricsql.LabelFilter) string {
	op := "="
	switch {
	case m.IsRegexp && m.IsNegative:
		op = "!~"
	case m.IsRegexp:
		op = "=~"
	case m.IsNegative:
		op = "!="
	}
	return m.Label + op + strconv.Quote(m.Value)
}

// Tick unions are bounded by the size of their label values rather than a
// count: a tick's answer holds a few samples per series, so the request is
// what grows. 8 KiB of values still fits the URL of a server that refuses
// POST.
const tickUnionBytes = 8 << 10

// planReads plans the requests of a tick: the raw queries read by
// themselves (not with a parent, see shareReads) are read in unions where
// their selectors allow it, unless NoSharedReads; every other query alone.
func (p *Puller) planReads() {
	p.reads = p.reads[:0]
	var raw []int
	for qi, q := range p.queries {
		switch {
		case q.parent >= 0:
		case q.raw && !p.cfg.NoSharedReads:
			raw = append(raw, qi)
		default:
			p.reads = append(p.reads, union{members: []int{qi}, sel: q.expr})
		}
	}
	exprs := make([]string, len(raw))
	for i, qi := range raw {
		exprs[i] = p.queries[qi].expr
	}
	for _, u := range planUnions(exprs, unionLimits{maxBytes: tickUnionBytes, regex: true}) {
		u.sel = u.selector(exprs)
		for j, m := range u.members {
			u.members[j] = raw[m]
		}
		p.reads = append(p.reads, u)
	}
}

// refuseUnion records that union u failed where its members read alone
// succeeded (see splitMayHelp): it is not sent again, by ticks or
// backfills, and the log says so once.
func (p *Puller) refuseUnion(u union) {
	if p.refusedUnions[u.sel] {
		return
	}
	p.refusedUnions[u.sel] = true
	p.log.Info("a union read failed where its selectors read alone succeed: reading them one by one from now on",
		zap.String("union", u.sel), zap.Int("selectors", len(u.members)))
}

// singles returns the members of u, each read alone; expr gives a
// member's own selector.
func (p *Puller) singles(u union, expr func(m int) string) []union {
	out := make([]union, len(u.members))
	for i, m := range u.members {
		out[i] = union{members: []int{m}, sel: expr(m)}
	}
	return out
}

// withoutRefused returns plans with every refused union (refuseUnion)
// replaced by its members read alone.
func (p *Puller) withoutRefused(plans []union, expr func(m int) string) []union {
	var out []union
	for _, u := range plans {
		if len(u.members) > 1 && p.refusedUnions[u.sel] {
			out = append(out, p.singles(u, expr)...)
			continue
		}
		out = append(out, u)
	}
	return out
}
