package slo

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// FormatWindow prints a window or period the way the window label of the
// exported series writes it: Prometheus duration syntax with days as the
// largest unit (5m, 1h, 1d, 7d, 28d, 30d, 1h30m). Prometheus' own formatter
// would print 7d as 1w and 30d as 4w2d, which users do not recognise.
func FormatWindow(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	for _, u := range []struct {
		unit string
		size time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := d / u.size; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.unit)
			d -= n * u.size
		}
	}
	return b.String()
}

// RoundNoise rounds v to 12 significant digits: 14.399999999999999 becomes
// 14.4 while every digit a configuration can mean is kept. Comparisons of
// computed thresholds (can a tier ever fire?) use it so that float noise
// does not decide them.
func RoundNoise(v float64) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// FormatFloat prints a computed value without float noise: 0.999, not
// 0.9990000000000001, and 14.4, not 14.399999999999999.
func FormatFloat(v float64) string {
	return strconv.FormatFloat(RoundNoise(v), 'f', -1, 64)
}
