package config

import (
	"fmt"
	"maps"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // calendar time zones must load in minimal containers too

	"github.com/slo-exporter/slo-exporter/internal/slo"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/calendar"
)

// Limits of the rolling period.
const (
	MinPeriod = time.Hour
	MaxPeriod = 90 * 24 * time.Hour
)

// Bucket resolutions of the engine: windows up to 6h are kept at the
// evaluation interval, up to 3d in 5m buckets, longer ones in 1h buckets,
// so a window must be a whole number of the buckets that hold it.
const (
	fineSpan = 6 * time.Hour
	midRes   = 5 * time.Minute
	midSpan  = 72 * time.Hour
	coarse   = time.Hour
)

var (
	sloNameRE   = regexp.MustCompile(`^[a-zA-Z0-9_.:-]+$`)
	labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// reservedLabels are set by the exporter on its series and alerts, so SLO
// metadata and grouping labels cannot use them.
var reservedLabels = map[string]bool{
	"slo": true, "service": true, "sli_kind": true, "window": true, "zone": true,
	"alert_tier": true, "severity": true, "long_window": true, "short_window": true,
	"alertname": true, "le": true,
}

// unsafeChars cannot appear in a service name, which alert rules quote.
const unsafeChars = "`\"\\{}\n\r"

// md prints a duration as the window label does (days as the largest
// unit).
func md(d model.Duration) string { return slo.FormatWindow(time.Duration(d)) }

// fmtFloat prints a float without noise: 14.4, 0.933333333333.
func fmtFloat(v float64) string {
	return fmt.Sprint(slo.RoundNoise(v))
}

// windowProblem returns what is wrong with a window for the engine's
// buckets, or "".
func windowProblem(w, interval time.Duration) string {
	switch {
	case w <= 0:
		return "must be positive"
	case interval > 0 && w%interval != 0:
		return fmt.Sprintf("must be a multiple of the evaluation interval %s", slo.FormatWindow(interval))
	case w > fineSpan && w%midRes != 0:
		return "a window over 6h must be a multiple of 5m (the engine keeps 5m buckets for it)"
	case w > midSpan && w%coarse != 0:
		return "a window over 3d must be a multiple of 1h (the engine keeps 1h buckets for it)"
	}
	return ""
}

// resolveGlobalTiers merges the configured global tiers onto the defaults.
func (l *loader) resolveGlobalTiers(cfg *Config, gc *globalChecker) {
	cfg.Global.AlertTiers, l.brokenTiers = mergeTiers(DefaultTiers(), cfg.Global.AlertTiers, "global.alert_tiers", gc.report,
		func(i int) bool { return l.under[fmt.Sprintf("global.alert_tiers[%d]", i)] }, nil)
}

// sloDefaults fills in an SLO's period, windows and tiers.
func (l *loader) sloDefaults(cfg *Config, s *SLO, c *checker) {
	if s.Calendar == "" && s.Period == 0 {
		s.Period = model.Duration(DefaultPeriod)
	}
	if s.Windows == nil {
		max := s.BudgetPeriod()
		for _, w := range DefaultWindows() {
			if w <= max {
				s.Windows = append(s.Windows, model.Duration(w))
			}
		}
	}
	s.overrides = overridden(s.Alerting.Tiers)
	s.Alerting.Tiers, _ = mergeTiers(cfg.Global.AlertTiers, s.Alerting.Tiers, "alerting.tiers", c.report,
		func(i int) bool { return c.reportedUnder(fmt.Sprintf("alerting.tiers[%d]", i)) }, l.brokenTiers)
}

// validate checks the merged configuration.
func (l *loader) validate(cfg *Config, gc *globalChecker) {
	g := &cfg.Global
	interval := time.Duration(g.EvaluationInterval)
	switch ei := interval; {
	case l.under["global.evaluation_interval"]:
		// Reported by the strict check; the default it decoded to is not
		// what the file meant, so windows are not checked against it.
		interval = 0
	case ei <= 0:
		gc.report("global.evaluation_interval", md(g.EvaluationInterval), "must be positive")
		interval = 0
	case ei%time.Second != 0 || midRes%ei != 0:
		gc.report("global.evaluation_interval", md(g.EvaluationInterval),
			"must divide 5m evenly (the engine builds its 5m buckets from whole ticks), e.g. 10s, 15s, 30s, 1m or 5m")
		interval = 0
	}
	if g.QueryOffset < 0 {
		gc.report("global.query_offset", md(g.QueryOffset), "must not be negative")
	}
	if g.QueryTimeout <= 0 {
		gc.report("global.query_timeout", md(g.QueryTimeout), "must be positive")
	}
	if g.MaxConcurrentQueries < 1 {
		gc.report("global.max_concurrent_queries", fmt.Sprint(g.MaxConcurrentQueries), "must be at least 1")
	}
	if g.QueryRetries < 0 {
		gc.report("global.query_retries", fmt.Sprint(g.QueryRetries), "must not be negative")
	}
	if g.MaxPointsPerQuery < 2 {
		gc.report("global.max_points_per_query", fmt.Sprint(g.MaxPointsPerQuery), "must be at least 2")
	}
	validateLimits(g, gc.report)
	if g.ExhaustionWindow <= 0 {
		gc.report("global.exhaustion_window", md(g.ExhaustionWindow), "must be positive")
	} else if p := windowProblem(time.Duration(g.ExhaustionWindow), interval); p != "" {
		gc.report("global.exhaustion_window", md(g.ExhaustionWindow), p)
	}
	if !l.under["global.budget_policy.zones"] {
		validateZones(g.BudgetPolicy.Zones, gc.report)
	}
	for _, t := range g.AlertTiers {
		checkTier(t, "global.alert_tiers", interval, gc.report)
	}
	validatePrometheus(&cfg.Prometheus, gc.report)

	if len(cfg.SLOs) == 0 && len(l.errs) == 0 {
		l.errs = append(l.errs, &FieldError{Source: l.first, Index: -1, Field: "slos", Msg: "no SLOs defined"})
	}
	names := map[string]*SLO{}
	for i, s := range cfg.SLOs {
		c := l.sloChecks[i]
		if s.Name != "" && sloNameRE.MatchString(s.Name) {
			if prev, dup := names[s.Name]; dup {
				c.report("name", s.Name, fmt.Sprintf("already defined in %s; SLO names must be unique across all files", prev.where()))
			} else {
				names[s.Name] = s
			}
		}
		validateSLO(s, interval, c, l.tierTypeErr[i])
	}
	validateComposites(cfg, names, l.sloChecks)
}

// reportedUnder reports whether a field under prefix has a problem.
func (c *checker) reportedUnder(prefix string) bool {
	if prefix == "" {
		return len(c.bad) > 0
	}
	return c.under[prefix]
}

// validateZones checks the budget policy's zones.
func validateZones(zones []Zone, report func(field, value, msg string)) {
	if len(zones) == 0 {
		report("global.budget_policy.zones", "", "at least one zone is needed")
		return
	}
	seen := map[string]bool{}
	prev := math.Inf(1)
	for i, z := range zones {
		f := fmt.Sprintf("global.budget_policy.zones[%d]", i)
		switch {
		case z.Name == "":
			report(f+".name", "", "missing")
		case !labelValueOK(z.Name):
			report(f+".name", z.Name, "must be a plain word (it is the zone label)")
		case seen[z.Name]:
			report(f+".name", z.Name, "defined twice")
		}
		seen[z.Name] = true
		if z.MinRemaining == nil {
			if i != len(zones)-1 {
				report(f+".min_remaining", "", "missing; only the last zone may leave it out (it then takes everything below the others)")
			}
			continue
		}
		m := *z.MinRemaining
		switch {
		case math.IsNaN(m) || m > 1:
			report(f+".min_remaining", fmtFloat(m), "must be at most 1 (a budget has at most 100% remaining)")
		case m >= prev:
			report(f+".min_remaining", fmtFloat(m), fmt.Sprintf("must be below the previous zone's %s: zones go from the most budget remaining to the least", fmtFloat(prev)))
		}
		prev = m
	}
}

func labelValueOK(s string) bool {
	return s != "" && !strings.ContainsAny(s, unsafeChars)
}

// checkTier checks a tier on its own (not against an SLO).
func checkTier(t AlertTier, prefix string, interval time.Duration, report func(field, value, msg string)) {
	p := tierPath(prefix, t.Name)
	if !labelValueOK(t.Name) {
		report(p+".name", t.Name, "must be a plain word (it is the alert_tier label)")
	}
	if !labelValueOK(t.Severity) {
		report(p+".severity", t.Severity, "must be a plain word such as page or ticket")
	}
	if !(t.BudgetFraction > 0 && t.BudgetFraction <= 1) {
		report(p+".budget_fraction", fmtFloat(t.BudgetFraction), "must be in (0, 1], e.g. 0.02 for 2% of the budget")
	}
	for _, w := range []struct {
		field string
		d     model.Duration
	}{{"long_window", t.LongWindow}, {"short_window", t.ShortWindow}} {
		if pr := windowProblem(time.Duration(w.d), interval); pr != "" {
			report(p+"."+w.field, md(w.d), pr)
		}
	}
	if t.ShortWindow > 0 && t.ShortWindow >= t.LongWindow {
		report(p+".short_window", md(t.ShortWindow), fmt.Sprintf("must be shorter than the long window %s", md(t.LongWindow)))
	}
	if t.For < 0 {
		report(p+".for", md(t.For), "must not be negative")
	}
	if t.AlertName != "" && !alertNameRE.MatchString(t.AlertName) {
		report(p+".alert_name", t.AlertName, "must be a Prometheus metric-style name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
	}
	for _, k := range slices.Sorted(maps.Keys(t.Labels)) {
		switch {
		case !labelNameRE.MatchString(k) || strings.HasPrefix(k, "__"):
			report(p+".labels."+k, k, "not a valid label name")
		case reservedLabels[k]:
			report(p+".labels."+k, k, "the generated alert sets this label itself (slo, service, severity, alert_tier, long_window, short_window)")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(t.Annotations)) {
		if !labelNameRE.MatchString(k) {
			report(p+".annotations."+k, k, "not a valid annotation name")
		}
	}
}

// alertNameRE is the syntax of an alert name (a metric name).
var alertNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// validatePrometheus checks the server URL; prometheus/common validated
// the client settings while decoding them.
func validatePrometheus(p *Prometheus, report func(field, value, msg string)) {
	u, err := url.Parse(p.URL)
	switch {
	case p.URL == "":
		report("prometheus.url", "", "missing")
	case err != nil:
		report("prometheus.url", RedactURL(p.URL), "not a URL: "+urlProblem(p.URL, err))
	case u.Scheme != "http" && u.Scheme != "https":
		report("prometheus.url", RedactURL(p.URL), "must start with http:// or https://")
	case u.Host == "":
		report("prometheus.url", RedactURL(p.URL), "has no host")
	case u.User != nil:
		if other := credentialsField(&p.HTTPClientConfig); other != "" {
			// Go's client sends the URL's user info only when no
			// Authorization header is set, so one of the two would be
			// silently ignored.
			report("prometheus.url", RedactURL(p.URL), fmt.Sprintf(
				"has user info (user:password@) and prometheus.%s is set too, so one would be silently ignored; "+
					"give the credentials in one place: prometheus.basic_auth (password_file keeps the password out of the file) and a URL without user info", other))
		}
	}
}

// credentialsField names the client setting that sends credentials
// (basic_auth, authorization, oauth2), or "".
func credentialsField(hc *promconfig.HTTPClientConfig) string {
	switch {
	case hc.BasicAuth != nil:
		return "basic_auth"
	case hc.Authorization != nil || hc.BearerToken != "" || hc.BearerTokenFile != "":
		return "authorization"
	case hc.OAuth2 != nil:
		return "oauth2"
	}
	return ""
}

// validateSLO checks one SLO, part by part.
//
// tierTypeErr says that the SLO's alerting.tiers had type errors: its tiers
// then decoded to zeros, and checking them would only pile on.
func validateSLO(s *SLO, interval time.Duration, c *checker, tierTypeErr bool) {
	validateIdentity(s, c)
	obj, objErr := s.RawObjective.Ratio()
	if objErr != nil {
		c.report("objective", s.RawObjective.String(), objErr.Error())
	}
	periodOK := validatePeriod(s, c)
	validateGrouping(s, c)
	validateWindows(s, interval, periodOK, c)
	validateSLI(s.SLI, c)
	validateBudgeting(s, interval, c)
	if tierTypeErr {
		return
	}
	var objective *float64
	if objErr == nil {
		objective = &obj
	}
	validateSLOTiers(s, interval, objective, periodOK, c)
}

// validateIdentity checks what names the SLO: name, service and labels.
func validateIdentity(s *SLO, c *checker) {
	switch {
	case s.Name == "":
		c.report("name", "", "missing")
	case !sloNameRE.MatchString(s.Name):
		c.report("name", s.Name, "may only contain letters, digits and _ . : -")
	}
	switch {
	case s.Service == "":
		c.report("service", "", "missing")
	case !labelValueOK(s.Service):
		c.report("service", s.Service, fmt.Sprintf("must not contain any of %q (alert rules quote it)", unsafeChars))
	}
	for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
		if p := labelNameProblem(k); p != "" {
			c.report("labels."+k, "", p)
		}
	}
}

// validatePeriod checks the budget period (rolling period or calendar)
// and its time zone, and reports whether checks against the period may
// trust it. A period or calendar that was reported already (a type error)
// decoded to its default: checks against it would report problems the
// file does not have.
func validatePeriod(s *SLO, c *checker) (periodOK bool) {
	periodOK = !c.reported("period") && !c.reported("calendar")
	switch {
	case s.Calendar != "" && s.Period != 0:
		c.report("calendar", s.Calendar, "period and calendar are mutually exclusive: a budget is either rolling or calendar-aligned")
		periodOK = false
	case s.Calendar != "":
		if _, err := calendar.Parse(s.Calendar); err != nil {
			c.report("calendar", s.Calendar, "must be one of month, week, quarter")
			periodOK = false
		}
	default:
		p := time.Duration(s.Period)
		switch {
		case p < MinPeriod || p > MaxPeriod:
			c.report("period", md(s.Period), "must be between 1h and 90d")
			periodOK = false
		case p%time.Hour != 0:
			c.report("period", md(s.Period), "must be a whole number of hours")
			periodOK = false
		}
	}
	if s.TimeZone != "" {
		if s.Calendar == "" {
			c.report("time_zone", s.TimeZone, "only applies to calendar periods (set calendar: month, week or quarter)")
		} else if loc, err := time.LoadLocation(s.TimeZone); err != nil {
			c.report("time_zone", s.TimeZone, "not a known IANA time zone such as Europe/Berlin")
		} else {
			s.loc = loc
		}
	}
	return periodOK
}

// validateGrouping checks how the SLO splits and bounds its series:
// group_by, max_groups and max_series, and the cost of a bad event.
func validateGrouping(s *SLO, c *checker) {
	seen := map[string]bool{}
	for i, g := range s.GroupBy {
		f := fmt.Sprintf("group_by[%d]", i)
		if p := labelNameProblem(g); p != "" {
			c.report(f, g, p)
		} else if seen[g] {
			c.report(f, g, "listed twice")
		}
		seen[g] = true
	}
	if s.MaxGroups < 1 {
		c.report("max_groups", fmt.Sprint(s.MaxGroups), "must be at least 1")
	}
	if s.MaxSeries < 0 {
		c.report("max_series", fmt.Sprint(s.MaxSeries), "must be at least 1 (leave it out to derive it from max_groups)")
	}
	if s.Cost != nil && (math.IsNaN(s.Cost.PerEvent) || math.IsInf(s.Cost.PerEvent, 0) || s.Cost.PerEvent < 0) {
		c.report("cost.per_event", fmtFloat(s.Cost.PerEvent), "must be a number at least 0")
	}
}

// validateWindows checks the SLO's own windows, and (when the period can
// be trusted) that none is longer than the budget period.
func validateWindows(s *SLO, interval time.Duration, periodOK bool, c *checker) {
	budget := s.BudgetPeriod()
	for i, w := range s.Windows {
		f := fmt.Sprintf("windows[%d]", i)
		if p := windowProblem(time.Duration(w), interval); p != "" {
			c.report(f, md(w), p)
		} else if periodOK && time.Duration(w) > budget {
			c.report(f, md(w), fmt.Sprintf("longer than the %s budget period", periodName(s)))
		}
	}
}

// validateSLOTiers checks the SLO's alert tiers: its overrides as tiers,
// and every enabled tier against the budget period and, when the
// objective is known, against the highest burn rate it allows.
func validateSLOTiers(s *SLO, interval time.Duration, objective *float64, periodOK bool, c *checker) {
	budget := s.BudgetPeriod()
	for _, t := range s.Alerting.Tiers {
		p := tierPath("alerting.tiers", t.Name)
		if s.overrides[t.Name] {
			checkTier(t, "alerting.tiers", interval, c.report)
		}
		if !t.Enabled || !periodOK {
			continue
		}
		if time.Duration(t.LongWindow) > budget {
			c.report(p+".long_window", md(t.LongWindow), fmt.Sprintf(
				"longer than the %s budget period; disable the tier for this SLO with alerting.tiers: [{name: %s, enabled: false}]",
				periodName(s), t.Name))
			continue
		}
		if objective == nil || t.LongWindow <= 0 {
			continue
		}
		th, maxBurn := slo.RoundNoise(t.Threshold(budget)), slo.RoundNoise(1/(1-*objective))
		if th >= maxBurn {
			c.report(p, "", fmt.Sprintf(
				"threshold %s (budget_fraction %s x period %s / long_window %s) is at or above the highest possible burn rate %s "+
					"(1 / (1 - objective %s), reached at 100%% errors), so the tier can never fire; "+
					"lower budget_fraction, lengthen long_window or disable the tier",
				fmtFloat(th), fmtFloat(t.BudgetFraction), slo.FormatWindow(budget), md(t.LongWindow), fmtFloat(maxBurn), fmtFloat(*objective)))
		}
	}
}

// periodName names an SLO's budget period in messages: 30d or month.
func periodName(s *SLO) string {
	if s.Calendar != "" {
		return s.Calendar
	}
	return md(s.Period)
}

// labelNameProblem returns what is wrong with a grouping or metadata label
// name, or "".
func labelNameProblem(name string) string {
	switch {
	case !labelNameRE.MatchString(name):
		return "not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)"
	case strings.HasPrefix(name, "__"):
		return "names starting with __ are reserved for Prometheus"
	case reservedLabels[name]:
		return "reserved for the exporter's own labels"
	}
	return ""
}

// validateSLI checks that exactly one SLI kind is set and validates it.
func validateSLI(sli SLI, c *checker) {
	if c.reportedUnder("sli") {
		return
	}
	kinds := sli.kinds()
	switch len(kinds) {
	case 0:
		c.report("sli", "", fmt.Sprintf("missing; give exactly one kind: %s", slo.SLIKindList()))
		return
	case 1:
	default:
		var names []string
		for _, k := range kinds {
			names = append(names, string(k.kind()))
		}
		c.report("sli", "", fmt.Sprintf("exactly one kind is allowed, got %s", strings.Join(names, " and ")))
		return
	}
	k := kinds[0]
	k.validate(func(field, value, msg string) {
		c.report(strings.TrimSuffix(joinPath("sli."+string(k.kind()), field), "."), value, msg)
	})
}

func (r *RatioSLI) validate(report func(field, value, msg string)) {
	var set []string
	for _, f := range []struct{ name, sel string }{{"good", r.Good}, {"bad", r.Bad}, {"valid", r.Valid}} {
		if f.sel == "" {
			continue
		}
		set = append(set, f.name)
		if _, _, err := parseSelector(f.sel); err != nil {
			report(f.name, f.sel, err.Error())
		}
	}
	if len(set) != 2 {
		got := "none"
		if len(set) > 0 {
			got = strings.Join(set, ", ")
		}
		report("", "", fmt.Sprintf("exactly two of good, bad and valid are needed (got %s)", got))
	}
}

func (l *LatencySLI) validate(report func(field, value, msg string)) {
	name, matchers, err := parseSelector(l.Histogram)
	switch {
	case err != nil:
		report("histogram", l.Histogram, err.Error())
	case name == "":
		report("histogram", l.Histogram, "must name the histogram's metric, e.g. http_request_duration_seconds{job=\"api\"}")
	default:
		if suf, ok := isBucketSuffix(name); ok && !l.Native {
			report("histogram", l.Histogram, fmt.Sprintf("must be the histogram's base name without %s; the engine reads _bucket and _count itself", suf))
		} else if ok {
			report("histogram", l.Histogram, fmt.Sprintf("must be the native histogram's name; %s is a classic histogram's series (drop native: true to read it)", suf))
		}
		for _, m := range matchers {
			if m.Label == "le" {
				report("histogram", l.Histogram, "must not match le; the threshold picks the bucket")
			}
		}
	}
	switch {
	case l.Threshold == 0:
		report("threshold", "", "missing; give a positive number of seconds, one of the histogram's bucket boundaries (le values)")
	case !(l.Threshold > 0) || math.IsInf(l.Threshold, 0):
		report("threshold", fmtFloat(l.Threshold), "must be a positive number of seconds, one of the histogram's bucket boundaries (le values)")
	}
}
