package npm

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
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

// MaxManifest bounds the package.json read from a tarball.
const MaxManifest = 4 << 20

// ReadTarballManifest finds package/package.json in a gzipped tarball (npm
// packs everything under "package/"; some tools use another single top
// directory) and reads its name and version. Damage in the tarball (bad
// gzip or tar data, a truncated member) is the publisher's mistake:
// apperr.Invalid. A failure of r itself (the server's copy of the upload)
// is returned as it is.
func ReadTarballManifest(r io.Reader) (*Manifest, error) {
	src := &source{r: r}
	m, err := readTarballManifest(src)
	if src.err != nil {
		return nil, fmt.Errorf("read the uploaded tarball: %w", src.err)
	}
	return m, err
}

// source records a failure of the reader itself, so that it is not taken
// for damage in the client's bytes.
type source struct {
	r   io.Reader
	err error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
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
