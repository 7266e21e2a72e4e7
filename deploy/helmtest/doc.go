// Package helmtest holds the tests of the deployment artefacts: the Helm
// chart in deploy/helm/slo-exporter and the Dockerfile at the repository
// root. It has no code of its own.
//
// The chart tests run the real helm binary (found through $HELM, then PATH,
// then ~/go/bin/helm): helm lint, and helm template on each
// testdata/values-*.yaml compared with testdata/<name>.golden.yaml
// (regenerate with go test ./deploy/helmtest/ -update). Semantic tests decode
// the rendered manifests and check what the golden files cannot show on
// their own: probes, security contexts, that the config checksum follows the
// configuration, that credentials only ever reach the pod as Secret files,
// and that selectors and ports line up. The `helm test` Pod's script is run
// with curl and busybox (the tools of its image; the host's sh and grep when
// busybox is missing) against a local server.
//
// No container engine is available where these tests run, so the Dockerfile
// is checked by parsing it for the properties the image must keep.
//
// Without helm (or curl) the tests skip, unless CI=true, where a missing
// binary fails them.
package helmtest
