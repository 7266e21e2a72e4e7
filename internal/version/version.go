// Package version holds the build's version, set with -ldflags -X by the
// Makefile and the Dockerfile.
package version

// Version, Revision and BuildDate describe the build.
var (
	Version   = "dev"
	Revision  = "unknown"
	BuildDate = "unknown"
)
