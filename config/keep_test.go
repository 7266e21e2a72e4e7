package config

import (
	"reflect"
	"testing"
)

// TestKeepSLOs: --slo keeps the named SLOs in configuration order, ignores
// names that match nothing while one matches, and fails (keeping all) when
// none does.
func TestKeepSLOs(t *testing.T) {
	names := func(c *Config) []string {
		var out []string
		for _, s := range c.SLOs {
			out = append(out, s.Name)
		}
		return out
	}
	for _, tc := range []struct {
		keep    []string
		want    []string
		wantErr string
	}{
		{nil, []string{"a", "b", "c"}, ""},
		{[]string{"c", "a"}, []string{"a", "c"}, ""},
		{[]string{"a", "nope"}, []string{"a"}, ""},
		{[]string{"nope", "x"}, []string{"a", "b", "c"}, "no such SLO in the configuration: nope,x"},
	} {
		c := &Config{SLOs: []*SLO{{Name: "a"}, {Name: "b"}, {Name: "c"}}}
		err := c.KeepSLOs(tc.keep)
		if (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
			t.Errorf("KeepSLOs(%v): error %v, want %q", tc.keep, err, tc.wantErr)
		}
		if got := names(c); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("KeepSLOs(%v) kept %v, want %v", tc.keep, got, tc.want)
		}
	}
}
