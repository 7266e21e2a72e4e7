package main

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/version"
)

// parseDuration reads a Prometheus duration (30d, 1h30m) for flag name.
func parseDuration(flag, s string) (time.Duration, error) {
	d, err := model.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q: %v", flag, s, err)
	}
	return time.Duration(d), nil
}

// parseObjective reads 0.999, 99.9 or "99.9%" as a ratio.
func parseObjective(s string) (float64, error) {
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	switch {
	case err != nil:
		return 0, fmt.Errorf("--objective %q: not a number", s)
	case pct || (v > 1 && v < 100):
		// Round away float noise: 99.9/100 is 0.9990000000000001.
		v, _ = strconv.ParseFloat(strconv.FormatFloat(v/100, 'g', 12, 64), 64)
	}
	if !(v > 0 && v < 1) {
		return 0, fmt.Errorf("--objective %q: must be a ratio in (0, 1) or a percent in (0, 100)", s)
	}
	return v, nil
}

func versionString() string {
	return fmt.Sprintf("slo-exporter %s (revision %s, built %s, %s)", version.Version, version.Revision, version.BuildDate, runtime.Version())
}
