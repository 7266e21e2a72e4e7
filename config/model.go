package config

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/calendar"
	"github.com/slo-exporter/slo-exporter/internal/slo"
)

// Config is a complete, validated configuration: the global settings, the
// Prometheus server to pull from and the SLOs.
type Config struct {
	// Global holds the settings shared by all SLOs.
	Global Global `yaml:"global"`
	// Prometheus is the server (or Prometheus-compatible API) to query.
	Prometheus Prometheus `yaml:"prometheus"`
	// SLOs are the SLOs of all files, in file order.
	SLOs []*SLO `yaml:"slos"`
}

// Global holds the evaluation, query and alerting settings shared by all SLOs.
type Global struct {
	// EvaluationInterval is the tick of the daemon; it must divide 5m evenly.
	EvaluationInterval model.Duration `yaml:"evaluation_interval"`
	// QueryOffset shifts every evaluation to now-offset so that late samples
	// are seen.
	QueryOffset model.Duration `yaml:"query_offset"`
	// QueryTimeout bounds each query to Prometheus.
	QueryTimeout model.Duration `yaml:"query_timeout"`
	// MaxConcurrentQueries limits the queries in flight.
	MaxConcurrentQueries int `yaml:"max_concurrent_queries"`
	// QueryRetries is how often a failed query is retried.
	QueryRetries int `yaml:"query_retries"`
	// Backfill enables backfilling the longest window from Prometheus on
	// start and after an outage of the source.
	Backfill bool `yaml:"backfill"`
	// BackfillRemoteRead lets backfills read history older than the fine
	// tier as raw samples through Prometheus' remote read API where the
	// server serves it (PromQL otherwise).
	BackfillRemoteRead bool `yaml:"backfill_remote_read"`
	// MaxPointsPerQuery is the server's limit of points per series of a
	// range query (11000 for Prometheus); backfills are chunked to respect it.
	MaxPointsPerQuery int `yaml:"max_points_per_query"`
	// MaxSeriesPerSelector caps the series one selector may return in one
	// answer; a larger answer is refused (and counted), not tracked.
	MaxSeriesPerSelector int `yaml:"max_series_per_selector"`
	// MaxResponseBytes caps the body of one answer of the server; a larger
	// one is refused (and counted).
	MaxResponseBytes ByteSize `yaml:"max_response_bytes"`
	// MaxIncreaseRate is the highest increase per second of one series
	// that is believed; a sample that implies more is refused and does not
	// become the series' baseline.
	MaxIncreaseRate float64 `yaml:"max_increase_rate"`
	// ExhaustionWindow is the window whose burn rate predicts when the
	// budget runs out.
	ExhaustionWindow model.Duration `yaml:"exhaustion_window"`
	// BudgetPolicy defines the error-budget zones.
	BudgetPolicy BudgetPolicy `yaml:"budget_policy"`
	// AlertTiers are the multi-window, multi-burn-rate alert tiers of every
	// SLO. After loading this is the complete list: the defaults merged by
	// name with the configured entries.
	AlertTiers []AlertTier `yaml:"alert_tiers"`
}

// BudgetPolicy is the error-budget policy: zones by budget remaining and
// what each allows.
type BudgetPolicy struct {
	// Zones, highest first. A budget is in the first zone whose
	// MinRemaining is at or below its remaining ratio.
	Zones []Zone `yaml:"zones"`
	// AlwaysAllow lists the change kinds allowed in every zone.
	AlwaysAllow []string `yaml:"always_allow,omitempty"`
}

// Zone is one error-budget policy zone.
type Zone struct {
	// Name is the zone label of slo_budget_zone.
	Name string `yaml:"name"`
	// MinRemaining is the lowest remaining-budget ratio still in the zone.
	// Only the last zone may leave it unset; it then takes everything below
	// the others (an exhausted budget).
	MinRemaining *float64 `yaml:"min_remaining,omitempty"`
	// Allow lists the change kinds the zone allows (feature, bugfix, ...).
	Allow []string `yaml:"allow,omitempty"`
	// Approval names who approves a change in the zone.
	Approval string `yaml:"approval,omitempty"`
	// Notify lists who is told while a budget is in the zone.
	Notify []string `yaml:"notify,omitempty"`
}

// Min returns the zone's lower bound, -Inf when MinRemaining is unset.
func (z Zone) Min() float64 {
	if z.MinRemaining == nil {
		return math.Inf(-1)
	}
	return *z.MinRemaining
}

// AlertTier is one multi-window, multi-burn-rate alert tier: it fires when
// the burn rate over both LongWindow and ShortWindow exceeds Threshold.
type AlertTier struct {
	// Name identifies the tier; it is the alert_tier label.
	Name string `yaml:"name"`
	// BudgetFraction is the share of the period's error budget that, spent
	// within LongWindow, fires the tier (0.02 for fast).
	BudgetFraction float64 `yaml:"budget_fraction"`
	// LongWindow and ShortWindow must both burn above the threshold.
	LongWindow model.Duration `yaml:"long_window"`
	// ShortWindow is shorter than LongWindow; it makes the alert reset soon
	// after the burn stops.
	ShortWindow model.Duration `yaml:"short_window"`
	// Severity is the severity label of the alert (page, ticket).
	Severity string `yaml:"severity"`
	// For is the for clause of generated alert rules.
	For model.Duration `yaml:"for"`
	// Enabled tiers are evaluated and alerted on.
	Enabled bool `yaml:"enabled"`
	// AlertName, when set, is the name of the tier's generated alert
	// instead of the common SLOBurnRate (a Sloth page or ticket alert keeps
	// its name this way, and with it the routes that match on it).
	AlertName string `yaml:"alert_name,omitempty"`
	// Labels are added to the tier's generated alert (routing keys such as
	// team or slack_channel); they cannot replace the labels the alert sets
	// itself (slo, service, severity, alert_tier, the windows).
	Labels map[string]string `yaml:"labels,omitempty"`
	// Annotations are added to the tier's generated alert; a summary or
	// description here replaces the generated one.
	Annotations map[string]string `yaml:"annotations,omitempty"`

	// set records the keys written in the configuration, so that a partial
	// entry overrides only those fields of the tier of the same name. A
	// tier built in Go (by a reader) has none: its non-zero fields and
	// Enabled override.
	set map[string]bool
}

// MarshalYAML writes the tier's name, enabled and its non-zero fields, so
// that a printed override (a converted SLO's tiers) reads back as the
// same override.
func (t AlertTier) MarshalYAML() (any, error) {
	type out struct {
		Name           string            `yaml:"name"`
		BudgetFraction float64           `yaml:"budget_fraction,omitempty"`
		LongWindow     model.Duration    `yaml:"long_window,omitempty"`
		ShortWindow    model.Duration    `yaml:"short_window,omitempty"`
		Severity       string            `yaml:"severity,omitempty"`
		For            model.Duration    `yaml:"for,omitempty"`
		Enabled        bool              `yaml:"enabled"`
		AlertName      string            `yaml:"alert_name,omitempty"`
		Labels         map[string]string `yaml:"labels,omitempty"`
		Annotations    map[string]string `yaml:"annotations,omitempty"`
	}
	return out{t.Name, t.BudgetFraction, t.LongWindow, t.ShortWindow, t.Severity, t.For, t.Enabled, t.AlertName, t.Labels, t.Annotations}, nil
}

// Threshold returns the tier's burn-rate threshold for a budget period:
// budget_fraction * period / long_window (14.4 for 2% of 30d within 1h).
func (t AlertTier) Threshold(period time.Duration) float64 {
	if t.LongWindow <= 0 {
		return math.Inf(1)
	}
	return t.BudgetFraction * float64(period) / float64(t.LongWindow)
}

// Prometheus is the server to query: its URL and, inline, the HTTP client
// settings Prometheus users know from scrape configs (basic_auth,
// authorization, oauth2, tls_config, proxy_url, follow_redirects,
// enable_http2, http_headers), decoded by prometheus/common itself.
type Prometheus struct {
	// URL is the base URL of the query API, e.g. http://localhost:9090.
	URL string `yaml:"url"`
	// HTTPClientConfig configures authentication, TLS, proxy and headers.
	HTTPClientConfig promconfig.HTTPClientConfig `yaml:",inline"`
}

// SLO is one service level objective.
type SLO struct {
	// Name is unique across all files and is the slo label; it matches
	// [a-zA-Z0-9_.:-]+.
	Name string `yaml:"name"`
	// Service is the service label.
	Service string `yaml:"service"`
	// Description is free text for humans.
	Description string `yaml:"description,omitempty"`
	// Labels are metadata exported on slo_info only.
	Labels map[string]string `yaml:"labels,omitempty"`
	// RawObjective is the objective as written (0.999, "99.9%" or 99.9);
	// use Objective for the ratio.
	RawObjective Objective `yaml:"objective"`
	// Period is the rolling budget period; unset (zero) for calendar SLOs.
	Period model.Duration `yaml:"period,omitempty"`
	// Calendar, when set, makes the budget period the current calendar
	// month, week (ISO, from Monday) or quarter in TimeZone.
	Calendar string `yaml:"calendar,omitempty"`
	// TimeZone is the IANA zone of calendar periods; UTC when empty.
	TimeZone string `yaml:"time_zone,omitempty"`
	// GroupBy are labels that split the SLO into one budget per value
	// combination.
	GroupBy []string `yaml:"group_by,omitempty"`
	// MaxGroups caps the number of groups; 0 (left out) is
	// DefaultMaxGroups.
	MaxGroups int `yaml:"max_groups,omitempty"`
	// MaxSeries caps the series the SLO tracks (all its selectors and
	// groups); 0 (left out) derives it from MaxGroups: use SeriesLimit.
	MaxSeries int `yaml:"max_series,omitempty"`
	// Windows are reported in addition to the tier windows and the period.
	Windows []model.Duration `yaml:"windows,omitempty"`
	// BudgetingMethod is occurrences (the default: every event counts) or
	// timeslices (every TimeSlice.Length of time is one event).
	BudgetingMethod string `yaml:"budgeting_method,omitempty"`
	// TimeSlice configures budgeting_method: timeslices.
	TimeSlice *TimeSlice `yaml:"time_slice,omitempty"`
	// SLI says how good and valid events are counted.
	SLI SLI `yaml:"sli"`
	// Alerting holds links for alerts and the SLO's tiers.
	Alerting Alerting `yaml:"alerting,omitempty"`
	// Origin says where an SLO read from another format came from (file,
	// format, object); "" for SLOs of slo-exporter's own files. It is not
	// part of the YAML: convert prints it as a comment.
	Origin string `yaml:"-"`
	// Cost, optional, prices one bad event, so that the report and the
	// JSON API can show what the budget spent cost.
	Cost *Cost `yaml:"cost,omitempty"`

	file      string
	doc       int // 1-based document of a multi-document file, else 0
	index     int
	loc       *time.Location
	overrides map[string]bool // tiers written in the SLO's alerting.tiers
}

// Cost is the price of one bad event of an SLO (a failed request, a late
// job), for cost attribution.
type Cost struct {
	// PerEvent is the cost of one bad event, at least 0.
	PerEvent float64 `yaml:"per_event"`
	// Currency names the unit, e.g. EUR or USD.
	Currency string `yaml:"currency,omitempty"`
}

// Alerting holds an SLO's alert links and tiers.
type Alerting struct {
	// RunbookURL and DashboardURL become annotations of the SLO's alerts.
	RunbookURL string `yaml:"runbook_url,omitempty"`
	// DashboardURL links the SLO's dashboard.
	DashboardURL string `yaml:"dashboard_url,omitempty"`
	// Tiers, after loading, is the complete list of the SLO's tiers: the
	// global tiers with the SLO's entries merged onto them by name.
	Tiers []AlertTier `yaml:"tiers,omitempty"`
}

// clone returns a copy of the SLO that shares no maps, slices or SLI
// kinds with it, so that loading never changes a reader's model.
func (s *SLO) clone() SLO {
	c := *s
	c.Labels = maps.Clone(s.Labels)
	c.GroupBy = slices.Clone(s.GroupBy)
	c.Windows = slices.Clone(s.Windows)
	if s.TimeSlice != nil {
		ts := *s.TimeSlice
		c.TimeSlice = &ts
	}
	c.SLI = s.SLI.clone()
	c.Alerting.Tiers = nil
	for _, t := range s.Alerting.Tiers {
		t.Labels, t.Annotations = maps.Clone(t.Labels), maps.Clone(t.Annotations)
		c.Alerting.Tiers = append(c.Alerting.Tiers, t)
	}
	return c
}

// clone copies the SLI's kinds.
func (s SLI) clone() SLI {
	var c SLI
	if s.Ratio != nil {
		r := *s.Ratio
		c.Ratio = &r
	}
	if s.Latency != nil {
		l := *s.Latency
		c.Latency = &l
	}
	if s.Threshold != nil {
		t := *s.Threshold
		c.Threshold = &t
	}
	if s.Composite != nil {
		k := *s.Composite
		k.Components = slices.Clone(s.Composite.Components)
		c.Composite = &k
	}
	return c
}

// Objective returns the objective as a ratio in (0, 1), e.g. 0.999, or 0
// when it is invalid (which a loaded Config never has).
func (s *SLO) Objective() float64 {
	r, err := s.RawObjective.Ratio()
	if err != nil {
		return 0
	}
	return r
}

// File returns the file the SLO was defined in and its index in that
// file's slos list (of its document, in a file of several documents).
func (s *SLO) File() (name string, index int) { return s.file, s.index }

// where names the SLO's place in messages: file slos[2], or
// file document 2 slos[0].
func (s *SLO) where() string {
	if s.doc > 0 {
		return fmt.Sprintf("%s document %d slos[%d]", s.file, s.doc, s.index)
	}
	return fmt.Sprintf("%s slos[%d]", s.file, s.index)
}

// Location returns the time zone of calendar periods (UTC by default).
func (s *SLO) Location() *time.Location {
	if s.loc == nil {
		return time.UTC
	}
	return s.loc
}

// BudgetPeriod returns the length the budget and tier thresholds are
// computed over: the rolling period, or for calendar SLOs the longest
// period of the unit (31d+1h for a month), which bounds what the windows
// must hold and gives the highest tier thresholds.
func (s *SLO) BudgetPeriod() time.Duration {
	if s.Calendar != "" {
		return calendar.Unit(s.Calendar).MaxLength()
	}
	return time.Duration(s.Period)
}

// EnabledTiers returns the SLO's enabled alert tiers in configuration order.
func (s *SLO) EnabledTiers() []AlertTier {
	var out []AlertTier
	for _, t := range s.Alerting.Tiers {
		if t.Enabled {
			out = append(out, t)
		}
	}
	return out
}

// AllWindows returns every window the engine must keep for the SLO, sorted
// and without duplicates: the configured windows, both windows of every
// enabled tier, and the rolling period (calendar SLOs are budgeted over the
// calendar period instead, which is not a fixed window).
func (s *SLO) AllWindows() []time.Duration {
	var out []time.Duration
	for _, w := range s.Windows {
		out = append(out, time.Duration(w))
	}
	for _, t := range s.EnabledTiers() {
		out = append(out, time.Duration(t.LongWindow), time.Duration(t.ShortWindow))
	}
	if s.Calendar == "" && s.Period > 0 {
		out = append(out, time.Duration(s.Period))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// KeepSLOs keeps only the SLOs named in names, in configuration order;
// no names keeps them all. It fails, keeping them all, when none of the
// names is an SLO of the configuration.
func (c *Config) KeepSLOs(names []string) error {
	if len(names) == 0 {
		return nil
	}
	var kept []*SLO
	for _, s := range c.SLOs {
		if slices.Contains(names, s.Name) {
			kept = append(kept, s)
		}
	}
	if len(kept) == 0 {
		return fmt.Errorf("no such SLO in the configuration: %s", strings.Join(names, ","))
	}
	c.SLOs = kept
	return nil
}

// SLO returns the SLO with the given name, or nil.
func (c *Config) SLO(name string) *SLO {
	for _, s := range c.SLOs {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// SLI says how good and valid events are counted. Exactly one kind is set.
//
// The kinds themselves (their names and what is common to them) are the
// vocabulary's: slo.SLIKind. To add a kind, name it there, add a pointer
// field here, a type implementing sliKind, and a case in kinds;
// validation and Kind pick it up from there.
type SLI struct {
	// Ratio counts good (or bad) and valid events from counters.
	Ratio *RatioSLI `yaml:"ratio,omitempty"`
	// Latency counts requests under a threshold from a classic histogram.
	Latency *LatencySLI `yaml:"latency,omitempty"`
	// Threshold counts gauge samples within a bound, one event per series
	// and evaluation interval.
	Threshold *ThresholdSLI `yaml:"threshold,omitempty"`
	// Composite combines other SLOs' SLIs, by weighted mean or product.
	Composite *CompositeSLI `yaml:"composite,omitempty"`
}

// sliKind is implemented by every SLI kind.
type sliKind interface {
	// kind is the kind's name in the vocabulary, also its key under sli.
	kind() slo.SLIKind
	// validate reports the kind's problems through report, with field
	// paths relative to the kind's own key (e.g. "good").
	validate(report func(field, value, msg string))
}

// kinds returns the kinds that are set.
func (s SLI) kinds() []sliKind {
	var out []sliKind
	if s.Ratio != nil {
		out = append(out, s.Ratio)
	}
	if s.Latency != nil {
		out = append(out, s.Latency)
	}
	if s.Threshold != nil {
		out = append(out, s.Threshold)
	}
	if s.Composite != nil {
		out = append(out, s.Composite)
	}
	return out
}

// Kind returns the SLI's kind, or "" when none or several are set (which
// a loaded Config never has).
func (s SLI) Kind() slo.SLIKind {
	k := s.kinds()
	if len(k) != 1 {
		return ""
	}
	return k[0].kind()
}

// RatioSLI counts events with counters: exactly two of Good, Bad and Valid
// are set, each a plain series selector of a counter. With Bad, good events
// are valid minus bad; with Good and Bad, valid events are their sum.
type RatioSLI struct {
	// Good selects the counters of good events.
	Good string `yaml:"good,omitempty"`
	// Bad selects the counters of bad events.
	Bad string `yaml:"bad,omitempty"`
	// Valid selects the counters of all valid events.
	Valid string `yaml:"valid,omitempty"`
}

func (*RatioSLI) kind() slo.SLIKind { return slo.Ratio }

// LatencySLI counts requests faster than Threshold from a histogram. For
// a classic one, good events are the bucket le=Threshold and valid events
// the _count series; for a native one (Native), the observations in
// buckets at or below Threshold and the histogram's count.
type LatencySLI struct {
	// Histogram is a series selector of the histogram's base name, without
	// the _bucket, _count or _sum suffix and without an le matcher.
	Histogram string `yaml:"histogram"`
	// Threshold in seconds; it must be one of the histogram's bucket
	// boundaries (checked by the daemon against the server).
	Threshold float64 `yaml:"threshold"`
	// Native reads a native histogram: Histogram then selects the
	// histogram series themselves, and Threshold must be one of their
	// bucket boundaries (for the exponential schemas, a power of two such
	// as 0.25, 0.5 or 1 is one at every resolution).
	Native bool `yaml:"native,omitempty"`
}

func (*LatencySLI) kind() slo.SLIKind { return slo.Latency }

// HistogramName returns the metric name of the histogram selector, or "".
func (l *LatencySLI) HistogramName() string {
	name, _, _ := parseSelector(l.Histogram)
	return name
}

// isBucketSuffix reports whether a metric name is a histogram's series
// rather than its base name.
func isBucketSuffix(name string) (string, bool) {
	for _, suf := range []string{"_bucket", "_count", "_sum"} {
		if strings.HasSuffix(name, suf) {
			return suf, true
		}
	}
	return "", false
}
