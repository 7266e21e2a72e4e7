package helmtest

import (
	"testing"

	"github.com/slo-exporter/slo-exporter/config"
)

// TestRenderedConfigLoads feeds the config.yaml the chart renders to the
// exporter's own loader, so that the chart cannot drift from the format
// `slo-exporter serve --config.file` reads (key names, the credential *_file
// fields it writes into the prometheus section).
func TestRenderedConfigLoads(t *testing.T) {
	for _, name := range valueSets(t) {
		if dig(readValues(t, name), "config", "existingConfigMap") != nil {
			continue // the chart renders no configuration
		}
		t.Run(name, func(t *testing.T) {
			r := newRelease(t, "-f", valuesFile(name))
			text, _ := r.exporterConfig()
			cfg, err := config.Parse("ConfigMap config.yaml (values-"+name+".yaml)", []byte(text))
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			if got, want := len(cfg.SLOs), len(r.exporterSLOs()); got != want {
				t.Errorf("loaded %d SLOs, rendered %d", got, want)
			}
			want := str(dig(readValues(t, name), "config", "prometheus", "url"))
			if want == "" {
				want = "http://prometheus-operated.monitoring.svc:9090" // the chart's default
			}
			if got := cfg.Prometheus.URL; got != want {
				t.Errorf("loaded prometheus.url %q, want %q", got, want)
			}
		})
	}
}

// exporterSLOs returns the slos list of the rendered config.yaml.
func (r release) exporterSLOs() []any {
	_, cfg := r.exporterConfig()
	return list(cfg["slos"])
}
