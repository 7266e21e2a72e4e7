package readers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/readers/pyrra"
	"github.com/slo-exporter/slo-exporter/internal/readers/sloth"
)

// Print writes the SLOs the readers built as one slo-exporter
// configuration: the Prometheus URL a file named (files that name
// different ones are refused), then every SLO in file order under a
// comment saying where it came from. The output is deterministic and
// loads back into the same configuration. Files already in slo-exporter's
// format are refused: they need no conversion.
func Print(res Result, w io.Writer) error {
	type document struct {
		Prometheus *struct {
			URL string `yaml:"url"`
		} `yaml:"prometheus,omitempty"`
		SLOs []*config.SLO `yaml:"slos"`
	}
	var doc document
	var errs []error
	var urlFrom string
	for i, src := range res.Sources {
		if res.Formats[i] == Native {
			errs = append(errs, &config.FieldError{Source: src.Name, Index: -1,
				Msg: "is already slo-exporter configuration (no Sloth, Pyrra or OpenSLO apiVersion, kind or version found)"})
			continue
		}
		if u := src.PrometheusURL; u != "" {
			switch {
			case doc.Prometheus == nil:
				doc.Prometheus = &struct {
					URL string `yaml:"url"`
				}{u}
				urlFrom = src.Name
			case doc.Prometheus.URL != u:
				errs = append(errs, &config.FieldError{Source: src.Name, Index: -1,
					Msg: fmt.Sprintf("names Prometheus %s but %s names %s; slo-exporter queries one server, so convert them separately",
						config.RedactURL(u), urlFrom, config.RedactURL(doc.Prometheus.URL))})
			}
		}
		doc.SLOs = append(doc.SLOs, src.SLOs...)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	var n yaml.Node
	if err := n.Encode(doc); err != nil {
		return err
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "slos" {
			continue
		}
		for j, item := range n.Content[i+1].Content {
			item.HeadComment = doc.SLOs[j].Origin
		}
	}
	days(&n, "")
	var b bytes.Buffer
	b.WriteString("# Converted by slo-exporter convert; see docs/migrating.md.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// Expected is one burn-rate alert the source tool would generate for an
// SLO, and what slo-exporter's tier of the same name does.
type Expected struct {
	// SLO and Tier name the SLO and the tier.
	SLO, Tier string
	// Source says what the source tool generates, e.g. "Sloth page alert".
	Source string
	// Factor, Long and Short are the source tool's burn-rate threshold and
	// windows; Short is zero where the source has none (OpenSLO).
	Factor      float64
	Long, Short time.Duration
}

// Expectations returns, per SLO read from Sloth or Pyrra, the burn-rate
// alerts the source tool generates: Sloth's page and ticket alerts for
// its 30d period (14.4 over 1h/5m and 6 over 6h/30m; 3 over 1d/2h and 1
// over 3d/6h), and Pyrra's four alerts with the windows and factors of
// pyrra.Windows for the SLO's window. Tiers a source disabled are left
// out.
func Expectations(res Result) []Expected {
	var out []Expected
	for i, src := range res.Sources {
		for _, s := range src.SLOs {
			enabled := map[string]bool{}
			for _, t := range s.Alerting.Tiers {
				enabled[t.Name] = t.Enabled
			}
			switch res.Formats[i] {
			case Sloth:
				for _, w := range SlothWindows {
					if enabled[w.Tier] {
						out = append(out, Expected{SLO: s.Name, Tier: w.Tier, Source: "Sloth " + w.Alert + " alert", Factor: w.Factor, Long: w.Long, Short: w.Short})
					}
				}
			case Pyrra:
				for _, w := range pyrra.Windows(time.Duration(s.Period)) {
					if enabled[w.Tier] {
						out = append(out, Expected{SLO: s.Name, Tier: w.Tier, Source: "Pyrra " + w.Severity + " alert", Factor: w.Factor, Long: w.Long, Short: w.Short})
					}
				}
			}
		}
	}
	return out
}

// SlothWindow is one of the multi-window conditions Sloth generates.
type SlothWindow struct {
	// Alert is page or ticket; Tier the slo-exporter tier it becomes.
	Alert, Tier string
	// Factor is the burn-rate threshold, Long and Short the windows.
	Factor      float64
	Long, Short time.Duration
}

// SlothWindows are the conditions Sloth generates for its default 30d
// period (the SRE Workbook's: 2% and 5% of the budget in 1h and 6h page,
// 10% in 1d and 3d open a ticket).
var SlothWindows = []SlothWindow{
	{Alert: "page", Tier: sloth.Tiers["page"][0], Factor: 14.4, Long: time.Hour, Short: 5 * time.Minute},
	{Alert: "page", Tier: sloth.Tiers["page"][1], Factor: 6, Long: 6 * time.Hour, Short: 30 * time.Minute},
	{Alert: "ticket", Tier: sloth.Tiers["ticket"][0], Factor: 3, Long: 24 * time.Hour, Short: 2 * time.Hour},
	{Alert: "ticket", Tier: sloth.Tiers["ticket"][1], Factor: 1, Long: 72 * time.Hour, Short: 6 * time.Hour},
}

// Check compares the loaded configuration's tiers with what the source
// tools would generate (Expectations) and returns one line per
// difference: a threshold that differs by more than rounding, or a
// window. An empty result means the alerts fire on the same conditions.
func Check(res Result) []string {
	var out []string
	if res.Config == nil {
		return nil
	}
	for _, e := range Expectations(res) {
		s := res.Config.SLO(e.SLO)
		if s == nil {
			continue
		}
		i := slices.IndexFunc(s.Alerting.Tiers, func(t config.AlertTier) bool { return t.Name == e.Tier })
		if i < 0 || !s.Alerting.Tiers[i].Enabled {
			out = append(out, fmt.Sprintf("slo %q: %s (%s over %s/%s) has no enabled tier %q", e.SLO, e.Source, fmtF(e.Factor), fmtD(e.Long), fmtD(e.Short), e.Tier))
			continue
		}
		t := s.Alerting.Tiers[i]
		th := t.Threshold(s.BudgetPeriod())
		var diffs []string
		if math.Abs(th-e.Factor) > 1e-9*e.Factor {
			diffs = append(diffs, fmt.Sprintf("threshold %s, not %s", fmtF(th), fmtF(e.Factor)))
		}
		if time.Duration(t.LongWindow) != e.Long {
			diffs = append(diffs, fmt.Sprintf("long window %s, not %s", fmtD(time.Duration(t.LongWindow)), fmtD(e.Long)))
		}
		if e.Short != 0 && time.Duration(t.ShortWindow) != e.Short {
			diffs = append(diffs, fmt.Sprintf("short window %s, not %s", fmtD(time.Duration(t.ShortWindow)), fmtD(e.Short)))
		}
		if len(diffs) > 0 {
			out = append(out, fmt.Sprintf("slo %q: tier %s differs from the %s: %s", e.SLO, e.Tier, e.Source, strings.Join(diffs, ", ")))
		}
	}
	return out
}

func fmtF(v float64) string {
	return strconv.FormatFloat(v, 'g', 12, 64)
}

func fmtD(d time.Duration) string { return model.Duration(d).String() }

// durationKeys are the keys whose values are durations.
var durationKeys = map[string]bool{"period": true, "length": true, "long_window": true, "short_window": true, "for": true, "windows": true}

// days rewrites durations as the documentation writes them, with days as
// the largest unit (28d, not 4w).
func days(n *yaml.Node, key string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			days(n.Content[i+1], n.Content[i].Value)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			days(c, key)
		}
	case yaml.ScalarNode:
		if d, err := model.ParseDuration(n.Value); err == nil && durationKeys[key] {
			n.Value = slo.FormatWindow(time.Duration(d))
		}
	}
}
