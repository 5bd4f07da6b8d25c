//go:build cluster && !race

package cluster

// raceBuild: the tests run without the race detector, and so does the
// server they build.
const raceBuild = false
