package simulator

import (
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		spec    string
		want    Incident
		wantErr string
	}{
		{
			spec: "service=model-api,model=resnet50,start=10m,duration=5m,error_ratio=0.5",
			want: Incident{Service: ModelAPI, Model: "resnet50", Kind: KindErrors, Start: 10 * time.Minute, Duration: 5 * time.Minute,
				Magnitude: big.NewRat(1, 2), MagnitudeText: "0.5", Code: "500"},
		},
		{
			spec: " service = model-api , kind=latency, slow_ratio=0.3, start=1h30m, duration=2d ",
			want: Incident{Service: ModelAPI, Kind: KindLatency, Start: 90 * time.Minute, Duration: 48 * time.Hour,
				Magnitude: big.NewRat(3, 10), MagnitudeText: "0.3"},
		},
		{
			spec: "service=model-api,model=llama-7b,start=0s,duration=1h,accuracy=0",
			want: Incident{Service: ModelAPI, Model: "llama-7b", Kind: KindQuality, Duration: time.Hour,
				Magnitude: new(big.Rat), MagnitudeText: "0"},
		},
		{
			spec: "service=model-api,start=1m,duration=1m,error_ratio=1/3,code=503",
			want: Incident{Service: ModelAPI, Kind: KindErrors, Start: time.Minute, Duration: time.Minute,
				Magnitude: big.NewRat(1, 3), MagnitudeText: "1/3", Code: "503"},
		},
		{
			spec: "service=feature-store,kind=restart,start=90s",
			want: Incident{Service: FeatureStore, Kind: KindRestart, Start: 90 * time.Second},
		},
		{
			spec: "service=batch-inference,start=2h,duration=6h,error_ratio=1e-1",
			want: Incident{Service: BatchInference, Kind: KindErrors, Start: 2 * time.Hour, Duration: 6 * time.Hour,
				Magnitude: big.NewRat(1, 10), MagnitudeText: "1e-1"},
		},
		{
			spec: "service=inference-journey,kind=errors,start=1m,duration=1m,error_ratio=1",
			want: Incident{Service: InferenceJourney, Kind: KindErrors, Start: time.Minute, Duration: time.Minute,
				Magnitude: big.NewRat(1, 1), MagnitudeText: "1"},
		},
		{spec: "", wantErr: `empty field in "" (fields are key=value separated by commas)`},
		{spec: "service=model-api,,start=1m", wantErr: `empty field in "service=model-api,,start=1m" (fields are key=value separated by commas)`},
		{spec: "service", wantErr: `field "service" is not key=value`},
		{spec: "=x", wantErr: `field "=x" is not key=value`},
		{spec: "service=model-api,service=feature-store", wantErr: `field service given twice`},
		{spec: "service=model-api,colour=red,size=1", wantErr: `unknown field "colour" (known: service, model, kind, start, duration, error_ratio, slow_ratio, accuracy, code)`},
		{spec: "start=1m,duration=1m,error_ratio=0.1", wantErr: `field service: missing (one of model-api, batch-inference, feature-store, inference-journey)`},
		{spec: "service=gpu,start=1m", wantErr: `field service: unknown service "gpu" (one of model-api, batch-inference, feature-store, inference-journey)`},
		{spec: "service=feature-store,model=resnet50,start=1m", wantErr: `field model: "resnet50" given, but only model-api has models`},
		{spec: "service=model-api,model=gpt,start=1m", wantErr: `field model: unknown model "gpt" (one of resnet50, bert-base, llama-7b)`},
		{spec: "service=model-api,start=1m,duration=1m,error_ratio=0.1,slow_ratio=0.1", wantErr: `fields error_ratio and slow_ratio: an incident has one magnitude`},
		{spec: "service=model-api,kind=outage,start=1m", wantErr: `field kind: unknown kind "outage" (one of errors, latency, quality, restart)`},
		{spec: "service=model-api,start=1m,duration=1m", wantErr: `field kind: missing (one of errors, latency, quality, restart), and no error_ratio, slow_ratio or accuracy to infer it from`},
		{spec: "service=feature-store,start=1m,duration=1m,accuracy=0.5", wantErr: `field kind: feature-store does not support "quality" (supported: errors, latency, restart)`},
		{spec: "service=inference-journey,kind=latency,start=1m,duration=1m,slow_ratio=0.5", wantErr: `field kind: inference-journey does not support "latency" (supported: errors, restart)`},
		{spec: "service=model-api,duration=1m,error_ratio=0.1", wantErr: `field start: missing (offset from the simulation's start, e.g. 10m)`},
		{spec: "service=model-api,start=-1m,duration=1m,error_ratio=0.1", wantErr: `field start: invalid duration "-1m": not a valid duration string: "-1m"`},
		{spec: "service=model-api,start=10,duration=1m,error_ratio=0.1", wantErr: `field start: invalid duration "10": not a valid duration string: "10"`},
		{spec: "service=model-api,kind=restart,start=1m,duration=1m", wantErr: `field duration: "1m" given, but a restart is an instant`},
		{spec: "service=model-api,kind=restart,start=1m,error_ratio=0.1", wantErr: `field error_ratio: not valid for kind restart`},
		{spec: "service=model-api,kind=restart,start=1m,code=503", wantErr: `field code: "503" given, but only model-api errors have a code`},
		{spec: "service=model-api,start=1m,error_ratio=0.1", wantErr: `field duration: missing (how long the errors incident lasts, e.g. 5m)`},
		{spec: "service=model-api,start=1m,duration=soon,error_ratio=0.1", wantErr: `field duration: invalid duration "soon": not a valid duration string: "soon"`},
		{spec: "service=model-api,start=1m,duration=0s,error_ratio=0.1", wantErr: `field duration: "0s" must be greater than zero`},
		{spec: "service=model-api,kind=latency,start=1m,duration=1m,error_ratio=0.1", wantErr: `field error_ratio: not valid for kind latency (use slow_ratio)`},
		{spec: "service=model-api,kind=quality,start=1m,duration=1m", wantErr: `field accuracy: missing (the quality incident's magnitude)`},
		{spec: "service=model-api,start=1m,duration=1m,error_ratio=half", wantErr: `field error_ratio: "half" is not a number`},
		{spec: "service=model-api,start=1m,duration=1m,error_ratio=1.5", wantErr: `field error_ratio: "1.5" is out of range (0, 1]`},
		{spec: "service=model-api,start=1m,duration=1m,error_ratio=0", wantErr: `field error_ratio: "0" is out of range (0, 1]`},
		{spec: "service=model-api,start=1m,duration=1m,slow_ratio=-0.1", wantErr: `field slow_ratio: "-0.1" is out of range (0, 1]`},
		{spec: "service=model-api,start=1m,duration=1m,accuracy=1.01", wantErr: `field accuracy: "1.01" is out of range [0, 1]`},
		{spec: "service=model-api,start=1m,duration=1m,slow_ratio=0.1,code=503", wantErr: `field code: "503" given, but only model-api errors have a code`},
		{spec: "service=feature-store,start=1m,duration=1m,error_ratio=0.1,code=503", wantErr: `field code: "503" given, but only model-api errors have a code`},
		{spec: "service=model-api,start=1m,duration=1m,error_ratio=0.1,code=200", wantErr: `field code: "200" is not a 4xx or 5xx status code`},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := ParseSpec(tc.spec)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("ParseSpec error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSpec: %v", err)
			}
			assertIncident(t, got, tc.want)
			// The flag syntax round-trips through String.
			again, err := ParseSpec(got.String())
			if err != nil {
				t.Fatalf("ParseSpec(%q): %v", got.String(), err)
			}
			assertIncident(t, again, tc.want)
		})
	}
}

func assertIncident(t *testing.T, got, want Incident) {
	t.Helper()
	gm, wm := got.Magnitude, want.Magnitude
	got.Magnitude, want.Magnitude = nil, nil
	if got != want {
		t.Errorf("incident = %+v, want %+v", got, want)
	}
	if (gm == nil) != (wm == nil) || (gm != nil && gm.Cmp(wm) != 0) {
		t.Errorf("magnitude = %v, want %v", gm, wm)
	}
}

func TestParseFile(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    []string // String() of each incident
		wantErr string
	}{
		{name: "empty", yaml: "", want: nil},
		{name: "no incidents", yaml: "incidents:\n", want: nil},
		{
			name: "two",
			yaml: `incidents:
  - service: model-api
    model: resnet50
    start: 10m
    duration: 5m
    error_ratio: 0.5
    code: 503
  - {service: feature-store, kind: restart, start: 1h}
`,
			want: []string{
				"service=model-api,model=resnet50,kind=errors,start=10m,duration=5m,error_ratio=0.5,code=503",
				"service=feature-store,kind=restart,start=1h",
			},
		},
		{name: "not yaml", yaml: "incidents: [", wantErr: "f.yaml: yaml: line 1: did not find expected node content"},
		{name: "top list", yaml: "- service: model-api\n", wantErr: "f.yaml:1: expected a mapping with key incidents"},
		{name: "unknown key", yaml: "incidents: []\nextra: 1\n", wantErr: `f.yaml:2: unknown key "extra" (only incidents)`},
		{name: "not a list", yaml: "incidents: 3\n", wantErr: "f.yaml:1: incidents must be a list"},
		{name: "item not mapping", yaml: "incidents:\n  - x\n", wantErr: "f.yaml:2: incident 1: must be a mapping of fields"},
		{name: "nested value", yaml: "incidents:\n  - service: [a]\n", wantErr: "f.yaml:2: incident 1: field service must be a scalar"},
		{name: "duplicate", yaml: "incidents:\n  - service: model-api\n    service: feature-store\n", wantErr: "f.yaml:3: incident 1: field service given twice"},
		{
			name:    "bad field in second",
			yaml:    "incidents:\n  - {service: feature-store, kind: restart, start: 1h}\n  - service: model-api\n    start: 1m\n    duration: 1m\n    error_ratio: 2\n",
			wantErr: `f.yaml:3: incident 2: field error_ratio: "2" is out of range (0, 1]`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseFile("f.yaml", []byte(tc.yaml))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("ParseFile error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFile: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d incidents, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i].String() != tc.want[i] {
					t.Errorf("incident %d = %s, want %s", i+1, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestLoadFileExample(t *testing.T) {
	// The example schedule shipped with the docs must load.
	path := filepath.Join("testdata", "incidents.yaml")
	got, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatalf("%s: no incidents", path)
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.yaml")); !os.IsNotExist(err) {
		t.Errorf("LoadFile(missing) error = %v, want not-exist", err)
	}
}
