// Package composer parses Composer uploads (zip, tar.gz, tar.bz2 with a
// composer.json at the root or under one top directory) and normalizes
// versions exactly as Composer's VersionParser does.
package composer

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"wharf/modules/apperr"
	"wharf/modules/packages/jsonobject"
)

// namePattern is Composer's rule for package names.
var namePattern = regexp.MustCompile(`^[a-z0-9]([_.-]?[a-z0-9]+)*/[a-z0-9](([_.]|-{1,2})?[a-z0-9]+)*$`)

// ValidateName checks a lower-case vendor/name.
func ValidateName(name string) error {
	if len(name) > 255 || !namePattern.MatchString(name) {
		return apperr.New(apperr.Invalid, "invalid package name %q: want lower-case vendor/name", name)
	}
	return nil
}

// Package is what an upload says of itself.
type Package struct {
	Name string
	Type string // "library" when unset
	// Metadata is the whole composer.json, copied into every version
	// object (autoload, require, bin… come from here, not from the zip).
	Metadata map[string]json.RawMessage
	// DistType is "zip" or "tar".
	DistType string
}

// MaxComposerJSON bounds the composer.json read from an upload: a member
// whose header claims more is refused before it is read, and no more than
// this is ever read, whatever the header says.
const MaxComposerJSON = 4 << 20

// ParsePackage reads composer.json from an archive. A damaged archive (bad
// headers, a wrong checksum, a truncated member, a header that lies about
// a size) is the uploader's mistake: apperr.Invalid, with a message. A
// failure of r itself (the server's copy of the upload) is returned
// unclassified, as it is not the client's.
func ParsePackage(r io.ReaderAt, size int64) (*Package, error) {
	src := &source{r: r}
	p, err := parsePackage(src, size)
	if src.err != nil {
		return nil, fmt.Errorf("read the uploaded archive: %w", src.err)
	}
	return p, err
}

// source records a failure of the ReaderAt itself, so that it is not taken
// for damage in the client's bytes.
type source struct {
	r   io.ReaderAt
	err error
}

func (s *source) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		// A damaged header points before the start: the archive's fault.
		return 0, errors.New("negative offset")
	}
	n, err := s.r.ReadAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) && s.err == nil {
		s.err = err
	}
	return n, err
}

func parsePackage(r io.ReaderAt, size int64) (*Package, error) {
	head := make([]byte, 4)
	if n, _ := r.ReadAt(head, 0); n < len(head) {
		return nil, apperr.New(apperr.Invalid, "the upload is not an archive")
	}
	var raw []byte
	var err error
	distType := "zip"
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		raw, err = fromZip(r, size)
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		distType = "tar"
		gz, gerr := gzip.NewReader(io.NewSectionReader(r, 0, size))
		if gerr != nil {
			return nil, apperr.Wrap(apperr.Invalid, gerr, "the upload is not a valid gzip file")
		}
		raw, err = fromTar(gz)
	case bytes.HasPrefix(head, []byte("BZh")):
		distType = "tar"
		raw, err = fromTar(bzip2.NewReader(io.NewSectionReader(r, 0, size)))
	default:
		return nil, apperr.New(apperr.Invalid, "the upload must be a zip, tar.gz or tar.bz2 archive")
	}
	if err != nil {
		return nil, err
	}
	meta, err := ParseComposerJSON(raw)
	if err != nil {
		return nil, err
	}
	p := &Package{Metadata: meta, DistType: distType, Type: "library"}
	if err := json.Unmarshal(meta["name"], &p.Name); err != nil || p.Name == "" {
		return nil, apperr.New(apperr.Invalid, "composer.json has no name")
	}
	if err := ValidateName(p.Name); err != nil {
		return nil, err
	}
	if t, ok := meta["type"]; ok {
		if err := json.Unmarshal(t, &p.Type); err != nil {
			return nil, apperr.New(apperr.Invalid, "composer.json's type is not a string")
		}
		if p.Type == "" {
			p.Type = "library"
		}
	}
	return p, nil
}

// MaxDepth bounds how deep a composer.json nests (its top object is
// level 1). Composer reads a p2 document with PHP's json_decode at its
// default depth of 512, and a version object sits three levels down in it,
// so deeper than about 500 a package cannot be installed at all; the
// stored metadata wraps composer.json once more, and the Go readers
// recurse once per level. Composer's own schema nests about five levels
// (repositories → package → dist); extra and config are free-form, but
// plugins keep them to a handful. 64 is far above any real manifest and
// far below every reader's limit.
const MaxDepth = 64

// ParseComposerJSON reads a composer.json's members, refusing (as the
// uploader's mistake, apperr.Invalid) what could not be served back to
// composer as it was stored: invalid JSON, anything but an object,
// nesting deeper than MaxDepth, and strings that PHP's json_decode
// refuses (bytes that are not UTF-8, an escaped lone UTF-16 surrogate),
// which would fail the whole package's document for every client. A key
// that repeats passes: composer reads it (PHP keeps the last value), and
// documents are written with each key once.
func ParseComposerJSON(b []byte) (map[string]json.RawMessage, error) {
	if err := jsonobject.Check(b, MaxDepth); err != nil {
		var e *jsonobject.Error
		if errors.As(err, &e) {
			return nil, apperr.New(apperr.Invalid, "composer.json, at byte %d: %s", e.Offset, e.Msg)
		}
		return nil, apperr.Wrap(apperr.Invalid, err, "composer.json")
	}
	meta := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, apperr.New(apperr.Invalid, "composer.json is not a JSON object")
	}
	return meta, nil
}

// readMember reads composer.json from its archive member, bounded: an
// error while reading is damage in the archive (a truncated member, a
// wrong checksum, corrupt compressed data).
func readMember(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxComposerJSON+1))
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "composer.json cannot be read: the archive is damaged")
	}
	if len(b) > MaxComposerJSON {
		return nil, apperr.New(apperr.Invalid, "composer.json is larger than %d bytes", MaxComposerJSON)
	}
	return b, nil
}

// unsafeEntry refuses archive entries that would escape the package
// directory when unpacked (zip-slip): absolute paths and ".." segments.
func unsafeEntry(name string) error {
	n := strings.ReplaceAll(name, "\\", "/")
	if strings.HasPrefix(n, "/") || n == ".." || strings.HasPrefix(n, "../") || strings.Contains(n, "/../") || strings.HasSuffix(n, "/..") {
		return apperr.New(apperr.Invalid, "the archive has an unsafe path %q", name)
	}
	return nil
}

// isComposerJSON accepts composer.json at the root or one directory down,
// as Composer unpacks a single top directory as the package root.
func isComposerJSON(name string) bool {
	clean := path.Clean(strings.TrimPrefix(name, "./"))
	return clean == "composer.json" || (path.Base(clean) == "composer.json" && strings.Count(clean, "/") == 1)
}

func fromZip(r io.ReaderAt, size int64) ([]byte, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "the upload is not a valid zip archive")
	}
	var best *zip.File
	for _, f := range zr.File {
		if err := unsafeEntry(f.Name); err != nil {
			return nil, err
		}
		if isComposerJSON(f.Name) && (best == nil || !strings.Contains(f.Name, "/")) {
			best = f
		}
	}
	if best == nil {
		return nil, apperr.New(apperr.Invalid, "composer.json is missing from the archive root and its top directory")
	}
	if best.UncompressedSize64 > MaxComposerJSON {
		return nil, apperr.New(apperr.Invalid, "composer.json is larger than %d bytes (its header says %d)", MaxComposerJSON, best.UncompressedSize64)
	}
	rc, err := best.Open()
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "composer.json cannot be read")
	}
	defer rc.Close()
	return readMember(rc)
}

func fromTar(r io.Reader) ([]byte, error) {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, apperr.New(apperr.Invalid, "composer.json is missing from the archive root and its top directory")
		}
		if err != nil {
			return nil, apperr.Wrap(apperr.Invalid, err, "the upload is not a valid tar archive")
		}
		if err := unsafeEntry(h.Name); err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg && isComposerJSON(h.Name) {
			if h.Size > MaxComposerJSON {
				return nil, apperr.New(apperr.Invalid, "composer.json is larger than %d bytes (its header says %d)", MaxComposerJSON, h.Size)
			}
			return readMember(tr)
		}
	}
}
