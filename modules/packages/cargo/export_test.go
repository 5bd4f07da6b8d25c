package cargo

import "io"

// ParseCrateWithMaxEntries is ParseCrate with another bound on entries, so
// that the bound is tested without building 100,000 of them.
func ParseCrateWithMaxEntries(r io.Reader, name, version string, maxUnpacked int64, maxEntries int) (*Manifest, error) {
	return parseCrate(r, name, version, maxUnpacked, maxEntries)
}
