package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/slo-exporter/slo-exporter/internal/slo"
)

// TestSLIKindsMatchVocabulary: the keys under sli are exactly the
// vocabulary's kinds, in its order, and each kind's type names itself by
// its own key, so that a kind added to one side only fails here.
func TestSLIKindsMatchVocabulary(t *testing.T) {
	typ := reflect.TypeFor[SLI]()
	var keys []slo.SLIKind
	for i := range typ.NumField() {
		f := typ.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		keys = append(keys, slo.SLIKind(key))
		var sli SLI
		v := reflect.ValueOf(&sli).Elem().Field(i)
		v.Set(reflect.New(f.Type.Elem()))
		if got := sli.Kind(); got != slo.SLIKind(key) {
			t.Errorf("sli.%s set: Kind() = %q, want %q", key, got, key)
		}
	}
	if want := slo.SLIKinds(); !reflect.DeepEqual(keys, want) {
		t.Errorf("keys under sli %v, vocabulary's kinds %v", keys, want)
	}
	if got := (SLI{}).Kind(); got != "" {
		t.Errorf("no kind set: Kind() = %q, want \"\"", got)
	}
}
