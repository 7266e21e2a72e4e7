package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits that bound the exporter's memory whatever the server answers.
// They are sized to the Helm chart's memory limit of 256 MiB
// (deploy/helm/slo-exporter/values.yaml); docs/configuration.md gives the
// arithmetic.
const (
	// DefaultMaxSeriesPerSelector caps the series one selector may
	// return; a tracked series costs about 2 KB (issue 15 measured
	// 550 MB for 300,000), so 10,000 cost about 20 MB.
	DefaultMaxSeriesPerSelector = 10000
	// DefaultMaxResponseBytes caps one response body. Bodies are read
	// whole and decoded, about 3x their size in memory, so the default
	// max_concurrent_queries (8) answers at the cap take about 96 MiB.
	DefaultMaxResponseBytes ByteSize = 4 << 20
	// DefaultSeriesPerGroup derives an SLO's cap of tracked series from
	// its group cap when max_series is left out: max_groups x 20 (20,000,
	// about 40 MB, for the default 1000 groups: the good and the valid
	// selector at their cap).
	DefaultSeriesPerGroup = 20
	// DefaultMaxIncreaseRate is the highest increase per second of one
	// series that is believed (1e9 events/s). An increase above it is a
	// broken sample, not traffic. At this rate one series counts 7.8e15
	// events in 90 days, still below 2^53, where float64 counts stop
	// being exact.
	DefaultMaxIncreaseRate = 1e9
	// minResponseBytes is the smallest cap accepted: smaller ones refuse
	// ordinary answers.
	minResponseBytes ByteSize = 64 << 10
)

// ByteSize is a size in bytes, written as an integer (4194304) or with
// an IEC unit: 512KiB, 4MiB, 1GiB (also B). It is parsed here rather than
// with a units library because those read MB as 2^20 bytes or as 10^6
// depending on the library; only the unambiguous IEC units are taken.
type ByteSize int64

// byteUnits are the units ByteSize takes, longest first.
var byteUnits = []struct {
	name string
	mult int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// ParseByteSize parses a size such as 4MiB or 4194304.
func ParseByteSize(s string) (ByteSize, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(num, u.name) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.name)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a size in bytes such as 4MiB, 512KiB or 1048576 (units: B, KiB, MiB, GiB)", s)
	}
	return ByteSize(n * mult), nil
}

// String prints the size with the largest unit that divides it.
func (b ByteSize) String() string {
	for _, u := range byteUnits {
		if b != 0 && int64(b)%u.mult == 0 {
			return fmt.Sprintf("%d%s", int64(b)/u.mult, u.name)
		}
	}
	return "0B"
}

// Bytes returns the size as an int64 number of bytes.
func (b ByteSize) Bytes() int64 { return int64(b) }

// UnmarshalYAML reads an integer or a size with a unit.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("must be a size in bytes such as 4MiB")
	}
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// MarshalYAML writes the size with its unit.
func (b ByteSize) MarshalYAML() (any, error) { return b.String(), nil }

// SeriesLimit returns the most series the SLO tracks: max_series, or,
// when it is left out, max_groups x DefaultSeriesPerGroup. Series of
// groups beyond max_groups are not tracked at all.
func (s *SLO) SeriesLimit() int {
	if s.MaxSeries > 0 {
		return s.MaxSeries
	}
	if s.MaxGroups > math.MaxInt/DefaultSeriesPerGroup {
		return math.MaxInt
	}
	return s.MaxGroups * DefaultSeriesPerGroup
}

// MaxSeriesPerAnswer is the most series one answer of the server may hold:
// global.max_series_per_selector, raised to the largest SLO's series limit
// (its max_series, or max_groups x DefaultSeriesPerGroup), so that an SLO
// configured for many groups is not refused by the global default.
func (c *Config) MaxSeriesPerAnswer() int {
	n := c.Global.MaxSeriesPerSelector
	for _, s := range c.SLOs {
		n = max(n, s.SeriesLimit())
	}
	return n
}

// validateLimits checks the global limits.
func validateLimits(g *Global, report func(field, value, msg string)) {
	if g.MaxSeriesPerSelector < 1 {
		report("global.max_series_per_selector", fmt.Sprint(g.MaxSeriesPerSelector), "must be at least 1")
	}
	if g.MaxResponseBytes < minResponseBytes {
		report("global.max_response_bytes", g.MaxResponseBytes.String(), "must be at least 64KiB: smaller caps refuse ordinary answers")
	}
	if !(g.MaxIncreaseRate > 0) || math.IsInf(g.MaxIncreaseRate, 0) {
		report("global.max_increase_rate", fmtFloat(g.MaxIncreaseRate), "must be a positive number of events per second, e.g. 1e9")
	}
}
