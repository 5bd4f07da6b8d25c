package npm

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"path"
	"strings"

	"wharf/modules/apperr"
	packages_module "wharf/modules/packages"
)

// Manifest is what the tarball's package.json says of itself.
type Manifest struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// MaxManifest bounds the package.json read from a tarball.
const MaxManifest = 4 << 20

// ReadTarballManifest finds package/package.json in a gzipped tarball (npm
// packs everything under "package/"; some tools use another single top
// directory) and reads its name and version. Damage in the tarball (bad
// gzip or tar data, a truncated member) is the publisher's mistake:
// apperr.Invalid. A failure of r itself (the server's copy of the upload)
// is returned as it is.
func ReadTarballManifest(r io.Reader) (*Manifest, error) {
	return packages_module.ParseUpload(r, "tarball", readTarballManifest)
}

func readTarballManifest(r io.Reader) (*Manifest, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "the tarball is not gzip-compressed")
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, apperr.New(apperr.Invalid, "the tarball has no package/package.json")
		}
		if err != nil {
			return nil, apperr.Wrap(apperr.Invalid, err, "the tarball is not a valid tar archive")
		}
		clean := path.Clean(strings.TrimPrefix(h.Name, "./"))
		dir, file := path.Split(clean)
		if file != "package.json" || strings.Count(dir, "/") != 1 || h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size > MaxManifest {
			return nil, apperr.New(apperr.Invalid, "the tarball's package.json is larger than %d bytes", MaxManifest)
		}
		var m Manifest
		if err := json.NewDecoder(io.LimitReader(tr, MaxManifest)).Decode(&m); err != nil {
			return nil, apperr.Wrap(apperr.Invalid, err, "the tarball's package.json is not valid JSON")
		}
		return &m, nil
	}
}
