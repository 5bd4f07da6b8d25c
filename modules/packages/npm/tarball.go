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
)

// Manifest is what the tarball's package.json says of itself.
type Manifest struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// ReadTarballManifest finds package/package.json in a gzipped tarball (npm
// packs everything under "package/"; some tools use another single top
// directory) and reads its name and version.
func ReadTarballManifest(r io.Reader) (*Manifest, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "the tarball is not gzip-compressed")
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, apperr.New(apperr.Invalid, "the tarball has no package/package.json")
		}
		if err != nil {
			return nil, apperr.New(apperr.Invalid, "the tarball is not a valid tar archive")
		}
		clean := path.Clean(strings.TrimPrefix(h.Name, "./"))
		dir, file := path.Split(clean)
		if file != "package.json" || strings.Count(dir, "/") != 1 || h.Typeflag != tar.TypeReg {
			continue
		}
		var m Manifest
		if err := json.NewDecoder(io.LimitReader(tr, 4<<20)).Decode(&m); err != nil {
			return nil, apperr.New(apperr.Invalid, "the tarball's package.json is not valid JSON")
		}
		return &m, nil
	}
}
