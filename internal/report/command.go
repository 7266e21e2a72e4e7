package report

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
)

// Formats of the report command.
const (
	FormatMarkdown = "markdown"
	FormatHTML     = "html"
	FormatJSON     = "json"
)

// CommandOptions are the report and postmortem commands' settings, as
// parsed from their flags.
type CommandOptions struct {
	// From and To are RFC 3339 times or dates (2026-10-01, midnight in
	// TimeZone); empty From and To mean the last calendar month.
	From, To string
	// TimeZone is the IANA zone of dates and of the default month; empty
	// means the time_zone of the first calendar SLO, else UTC.
	TimeZone string
	// SLOs keeps only these SLOs (and the components of kept composites).
	SLOs []string
	// Format is markdown, html or json.
	Format string
	// Costs are "slo=cost per bad event" pairs, overriding the
	// configuration's cost.per_event; Currency names their unit.
	Costs    []string
	Currency string
	// Postmortem, when set, writes the postmortem draft of this SLO
	// instead of the report.
	Postmortem string
	// Now is the current time; zero means time.Now().
	Now time.Time
}

// Command runs the report (or postmortem) command: it resolves the range,
// replays the history from q and writes the result to stdout; progress
// goes to stderr.
func Command(ctx context.Context, cfg *config.Config, q scrape.Querier, opt CommandOptions, stdout, stderr io.Writer) error {
	loc, err := commandLocation(cfg, opt.TimeZone)
	if err != nil {
		return err
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	from, to, err := ResolveRange(opt.From, opt.To, opt.Now, loc)
	if err != nil {
		return err
	}
	keep := opt.SLOs
	if opt.Postmortem != "" {
		keep = []string{opt.Postmortem}
	}
	if err := filterSLOs(cfg, keep); err != nil {
		return err
	}
	costs, err := parseCosts(cfg, opt.Costs, opt.Currency)
	if err != nil {
		return err
	}
	switch opt.Format {
	case "", FormatMarkdown, FormatHTML, FormatJSON:
	default:
		return fmt.Errorf("--format %q: must be markdown, html or json", opt.Format)
	}
	rep, err := FromPrometheus(ctx, q, cfg, Options{From: from, To: to, Location: loc, Prices: costs,
		Progress: func(bp scrape.BackfillProgress) {
			fmt.Fprintf(stderr, "\rreplaying %s to %s: %d/%d steps, %d queries", from.Format(time.RFC3339), to.Format(time.RFC3339), bp.StepsDone, bp.StepsTotal, bp.Queries)
		}})
	fmt.Fprintln(stderr)
	if err != nil {
		return err
	}
	switch {
	case opt.Postmortem != "":
		return rep.WritePostmortem(stdout, opt.Postmortem)
	case opt.Format == FormatHTML:
		return rep.WriteHTML(stdout)
	case opt.Format == FormatJSON:
		return rep.WriteJSON(stdout)
	}
	return rep.WriteMarkdown(stdout)
}

// commandLocation is the report's time zone: the flag, else the first
// calendar SLO's, else UTC.
func commandLocation(cfg *config.Config, tz string) (*time.Location, error) {
	if tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("--time-zone %q: not a known IANA time zone such as Europe/Berlin", tz)
		}
		return loc, nil
	}
	for _, s := range cfg.SLOs {
		if s.Calendar != "" {
			return s.Location(), nil
		}
	}
	return time.UTC, nil
}

// ResolveRange reads the range flags: RFC 3339 times, dates (midnight in
// loc) or "now"; both empty mean the last complete calendar month in loc.
func ResolveRange(from, to string, now time.Time, loc *time.Location) (time.Time, time.Time, error) {
	if from == "" && to == "" {
		f, t := LastMonth(now, loc)
		return f, t, nil
	}
	if from == "" || to == "" {
		return time.Time{}, time.Time{}, fmt.Errorf("give both --from and --to, or neither for the last calendar month")
	}
	parse := func(flag, v string) (time.Time, error) {
		if v == "now" {
			return now, nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, nil
		}
		if t, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
			return t, nil
		}
		return time.Time{}, fmt.Errorf("%s %q: neither an RFC 3339 time (2026-10-01T00:00:00Z), a date (2026-10-01) nor now", flag, v)
	}
	f, err := parse("--from", from)
	if err != nil {
		return f, f, err
	}
	t, err := parse("--to", to)
	if err != nil {
		return f, t, err
	}
	if !t.After(f) {
		return f, t, fmt.Errorf("--from %s is not before --to %s", from, to)
	}
	return f, t, nil
}

// filterSLOs keeps the named SLOs and the components of kept composites.
func filterSLOs(cfg *config.Config, names []string) error {
	if len(names) == 0 {
		return nil
	}
	keep := map[string]bool{}
	for _, n := range names {
		s := cfg.SLO(n)
		if s == nil {
			var all []string
			for _, s := range cfg.SLOs {
				all = append(all, s.Name)
			}
			return fmt.Errorf("slo %q: not in the configuration (SLOs: %s)", n, strings.Join(all, ", "))
		}
		keep[n] = true
		if c := s.SLI.Composite; c != nil {
			for _, comp := range c.Components {
				keep[comp.SLO] = true
			}
		}
	}
	cfg.SLOs = slices.DeleteFunc(cfg.SLOs, func(s *config.SLO) bool { return !keep[s.Name] })
	return nil
}

// parseCosts reads "slo=cost" pairs.
func parseCosts(cfg *config.Config, pairs []string, currency string) (map[string]Price, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := map[string]Price{}
	for _, p := range pairs {
		name, v, ok := strings.Cut(p, "=")
		c, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || c < 0 {
			return nil, fmt.Errorf("--cost-per-event %q: want slo=cost, a non-negative number", p)
		}
		if cfg.SLO(name) == nil {
			return nil, fmt.Errorf("--cost-per-event %q: slo %q is not in the configuration", p, name)
		}
		out[name] = Price{PerEvent: c, Currency: currency}
	}
	return out, nil
}
