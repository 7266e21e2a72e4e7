package policy

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes the result for humans: the decision and its exit code,
// the approvals and notifications, then one line per SLO group.
func (r Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "decision: %s (exit %d)\n", strings.ToUpper(r.Decision.String()), r.ExitCode)
	fmt.Fprintf(&b, "change:   %s\n", r.Change)
	fmt.Fprintf(&b, "scope:    %s\n", r.Scope)
	if r.Zone != "" {
		fmt.Fprintf(&b, "zone:     %s (worst)\n", r.Zone)
	}
	fmt.Fprintf(&b, "why:      %s\n", r.Summary)
	if len(r.Approvals) > 0 {
		fmt.Fprintf(&b, "approval: %s\n", strings.Join(r.Approvals, ", "))
	}
	if len(r.Notify) > 0 {
		fmt.Fprintf(&b, "notify:   %s\n", strings.Join(r.Notify, ", "))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if len(r.SLOs) == 0 {
		return nil
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SLO\tSERVICE\tZONE\tBUDGET LEFT\tDECISION\tREASON")
	for _, s := range r.SLOs {
		zone, left := s.Zone, "-"
		if zone == "" {
			zone = "-"
		}
		if s.Remaining != nil {
			left = fmt.Sprintf("%.1f%%", *s.Remaining*100)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.name(), s.Service, zone, left, s.Outcome, s.Reason)
	}
	return tw.Flush()
}
