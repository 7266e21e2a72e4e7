// Package calendar finds the calendar budget period (month, ISO week or
// quarter) that contains an instant, in a configured time zone.
//
// Periods start at local midnight of their first day: the 1st of the month,
// Monday (ISO 8601 weeks), or the 1st of January, April, July and October.
// Their length follows the calendar and the zone's clock changes: March in
// Europe/Berlin is 31 days minus one hour, a week spanning the autumn change
// is 169 hours.
package calendar

import (
	"fmt"
	"time"
)

// Unit is a calendar budget period.
type Unit string

// The supported units, as written in configuration and in the window label.
const (
	Month   Unit = "month"
	Week    Unit = "week"
	Quarter Unit = "quarter"
)

// Parse checks a unit name.
func Parse(s string) (Unit, error) {
	switch u := Unit(s); u {
	case Month, Week, Quarter:
		return u, nil
	}
	return "", fmt.Errorf("calendar %q: must be one of month, week, quarter", s)
}

// MaxLength is the longest period of the unit, which the windows must be
// able to hold: 7d, 31d or 92d plus the hour a clock change can add.
func (u Unit) MaxLength() time.Duration {
	const day = 24 * time.Hour
	switch u {
	case Week:
		return 7*day + time.Hour
	case Quarter:
		return 92*day + time.Hour
	}
	return 31*day + time.Hour
}

// Period returns the start and end (exclusive) of the period of unit u that
// contains t, in location loc (UTC when nil).
func (u Unit) Period(t time.Time, loc *time.Location) (start, end time.Time) {
	if loc == nil {
		loc = time.UTC
	}
	l := t.In(loc)
	y, m, d := l.Date()
	switch u {
	case Week:
		// time.Weekday has Sunday = 0; ISO weeks start on Monday.
		back := (int(l.Weekday()) + 6) % 7
		start = time.Date(y, m, d-back, 0, 0, 0, 0, loc)
		end = time.Date(y, m, d-back+7, 0, 0, 0, 0, loc)
	case Quarter:
		q := (int(m) - 1) / 3 * 3
		start = time.Date(y, time.Month(q+1), 1, 0, 0, 0, 0, loc)
		end = time.Date(y, time.Month(q+4), 1, 0, 0, 0, 0, loc)
	default:
		start = time.Date(y, m, 1, 0, 0, 0, 0, loc)
		end = time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
	}
	return start, end
}
