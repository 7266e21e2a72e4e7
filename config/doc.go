// Package config is the SLO model of slo-exporter: the types a
// configuration file decodes into, the loader that layers files,
// environment variables and command-line flags, the defaults it fills in,
// and the validation that reports every problem at once with the file, SLO,
// field and value it concerns.
//
// # Layers
//
// Load reads one or more YAML files, then applies environment variables with
// the SLO_EXPORTER_ prefix, then flag values handed in by the command line as
// dotted keys. Later layers win for the global and prometheus sections
// (merged with koanf); the slos lists of all files are concatenated, and SLO
// names must be unique across them. Environment variables and flags address
// scalar keys only: SLO_EXPORTER_PROMETHEUS_URL sets prometheus.url,
// SLO_EXPORTER_GLOBAL_EVALUATION_INTERVAL sets global.evaluation_interval.
//
// # Strictness
//
// An unknown field is an error, as is a value of the wrong type. Problems are
// collected rather than returned one at a time: the error of Load and Parse
// joins them (errors.Join), each a *FieldError; List returns them.
//
// # Other formats
//
// Sloth, Pyrra and OpenSLO files are read by internal/readers, which
// builds SLOs of this model directly and hands them to LoadSources; this
// package does not know those formats.
//
// The package never talks to the network. Checks that need the Prometheus
// server (for example that a latency threshold is a bucket boundary) are left
// to the daemon.
package config
