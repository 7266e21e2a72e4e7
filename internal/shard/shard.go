// Package shard splits a configuration's SLOs between replicas of the
// exporter, so that one process is no longer the ceiling: each of n shards
// queries, evaluates and exports only the SLOs assigned to it.
//
// # Assignment
//
// SLOs that must be evaluated together form one unit: a composite SLO and
// its components (and, transitively, every composite sharing a component).
// A unit's key is the smallest SLO name in it, and the unit goes to the
// shard with the highest score hash(key, shard) among 0..n-1 (rendezvous,
// or highest-random-weight, hashing). The assignment depends on the names
// and n alone: every replica computes it without talking to the others, two
// replicas of one shard hold the same SLOs (HA), and when n grows to n+1 a
// unit moves only if the new shard outscores its old one, about 1/(n+1) of
// them, and never between two shards that existed before.
package shard

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/slo-exporter/slo-exporter/config"
)

// Spec is one shard of a set: Index in [0, Count).
type Spec struct {
	Index, Count int
}

// All is the whole configuration in one process.
var All = Spec{Index: 0, Count: 1}

// Parse reads "i/n" (shard i of n, counting from 0); "" means All.
func Parse(s string) (Spec, error) {
	if s == "" {
		return All, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	switch {
	case !ok || err1 != nil || err2 != nil:
		return Spec{}, fmt.Errorf("shard %q: want i/n, e.g. 0/4 for the first of four shards", s)
	case n < 1:
		return Spec{}, fmt.Errorf("shard %q: the number of shards must be at least 1", s)
	case i < 0 || i >= n:
		return Spec{}, fmt.Errorf("shard %q: the index must be in 0..%d (counted from 0)", s, n-1)
	}
	return Spec{Index: i, Count: n}, nil
}

// String returns the "i/n" form.
func (s Spec) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Of returns the shard of the unit whose key is key.
func (s Spec) Of(key string) int {
	best, bestScore := 0, uint64(0)
	for j := 0; j < s.Count; j++ {
		h := fnv.New64a()
		_, _ = h.Write([]byte(key))
		_, _ = h.Write([]byte{0, byte(j), byte(j >> 8), byte(j >> 16), byte(j >> 24)})
		if sc := mix(h.Sum64()); j == 0 || sc > bestScore {
			best, bestScore = j, sc
		}
	}
	return best
}

// mix is a 64-bit finalizer (splitmix64's): FNV-1a's low bits alone vary
// too little between keys that differ only at the end.
func mix(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	return z ^ z>>31
}

// Units returns each SLO's unit key: the smallest name among the SLOs it
// must be evaluated with (composites and their components).
func Units(slos []*config.SLO) map[string]string {
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if p, ok := parent[x]; ok && p != x {
			r := find(p)
			parent[x] = r
			return r
		}
		parent[x] = x
		return x
	}
	union := func(a, b string) {
		ra, rb := find(a), find(b)
		if ra == rb {
			return
		}
		if rb < ra {
			ra, rb = rb, ra
		}
		parent[rb] = ra // the smaller name stays the root
	}
	for _, s := range slos {
		find(s.Name)
		if s.SLI.Composite != nil {
			for _, c := range s.SLI.Composite.Components {
				union(s.Name, c.SLO)
			}
		}
	}
	out := make(map[string]string, len(slos))
	for _, s := range slos {
		out[s.Name] = find(s.Name)
	}
	return out
}

// Filter returns cfg with only the SLOs of shard s (cfg itself for All).
// The SLO values are shared with cfg, not copied.
func (s Spec) Filter(cfg *config.Config) *config.Config {
	if s.Count <= 1 || cfg == nil {
		return cfg
	}
	units := Units(cfg.SLOs)
	out := *cfg
	out.SLOs = nil
	for _, slo := range cfg.SLOs {
		if s.Of(units[slo.Name]) == s.Index {
			out.SLOs = append(out.SLOs, slo)
		}
	}
	return &out
}
