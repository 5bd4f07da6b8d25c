package cargo

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"reflect"

	"wharf/modules/apperr"
)

// MaxMetadataSize bounds the JSON part of a publish body. cargo's JSON is
// small but carries the readme's text (observed with cargo 1.95: "readme"
// holds the file's content), so the bound is generous; it keeps a lying
// length from making the server read or hold more.
const MaxMetadataSize = 10 << 20

// PublishMetadata is the JSON part of a publish body (PUT
// /api/v1/crates/new) as cargo 1.95 sends it (crates-io's NewCrate). Fields
// cargo sends but the registry does not use are kept so that they are type
// checked; unknown fields are ignored.
type PublishMetadata struct {
	Name     string              `json:"name"`
	Vers     string              `json:"vers"`
	Deps     []PublishDependency `json:"deps"`
	Features map[string][]string `json:"features"`
	Authors  []string            `json:"authors"`
	// Description and the other optional strings are null when Cargo.toml
	// does not set them.
	Description   *string                      `json:"description"`
	Documentation *string                      `json:"documentation"`
	Homepage      *string                      `json:"homepage"`
	Readme        *string                      `json:"readme"`
	ReadmeFile    *string                      `json:"readme_file"`
	Keywords      []string                     `json:"keywords"`
	Categories    []string                     `json:"categories"`
	License       *string                      `json:"license"`
	LicenseFile   *string                      `json:"license_file"`
	Repository    *string                      `json:"repository"`
	Badges        map[string]map[string]string `json:"badges"`
	Links         *string                      `json:"links"`
	RustVersion   *string                      `json:"rust_version"`
}

// PublishDependency is one entry of PublishMetadata.Deps (crates-io's
// NewCrateDependency).
type PublishDependency struct {
	Optional        bool     `json:"optional"`
	DefaultFeatures bool     `json:"default_features"`
	Name            string   `json:"name"` // the depended-on crate's real name
	Features        []string `json:"features"`
	VersionReq      string   `json:"version_req"`
	Target          *string  `json:"target"`
	Kind            string   `json:"kind"` // "normal", "dev" or "build"
	// Registry is the index URL of the registry the dependency comes from;
	// absent (nil) when it is the registry being published to. crates.io
	// dependencies carry "https://github.com/rust-lang/crates.io-index".
	Registry *string `json:"registry,omitempty"`
	// ExplicitNameInToml is the name the dependent's Cargo.toml gives a
	// renamed dependency (`alias = { package = "name" }`).
	ExplicitNameInToml *string `json:"explicit_name_in_toml,omitempty"`
	// Artifact, BindepTarget and Lib belong to the unstable artifact
	// dependencies; they are passed through to the index.
	Artifact     []string `json:"artifact,omitempty"`
	BindepTarget *string  `json:"bindep_target,omitempty"`
	Lib          bool     `json:"lib,omitempty"`
}

// ReadPublishMetadata reads the start of a publish body from r: the JSON
// length (u32, little-endian), the JSON, and the .crate's length (u32,
// little-endian). It returns the decoded and validated metadata and the
// declared .crate length; r is left at the first byte of the .crate.
//
// The caller reads exactly that many bytes next (CrateReader does, failing
// when the body ends early) into its own upload buffer, which enforces the
// size limit of .crate files (a declared length over that limit may be
// refused at once, as apperr.TooLarge), and then calls CheckBodyEnd.
// Lengths that do not fit the body (cut short, a zero or huge JSON length,
// an empty .crate) are the client's mistake: apperr.Invalid. A failure of r
// other than an early end is returned as it is.
func ReadPublishMetadata(r io.Reader) (*PublishMetadata, int64, error) {
	jsonLen, err := readLength(r, "the length of the metadata")
	if err != nil {
		return nil, 0, err
	}
	if jsonLen == 0 {
		return nil, 0, apperr.New(apperr.Invalid, "invalid publish body: the metadata is empty")
	}
	if jsonLen > MaxMetadataSize {
		return nil, 0, apperr.New(apperr.Invalid, "invalid publish body: the metadata is said to be %d bytes, more than the limit of %d", jsonLen, MaxMetadataSize)
	}
	// Grow with the bytes that actually arrive rather than trusting the
	// declared length with an allocation.
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(r, int64(jsonLen))); err != nil {
		return nil, 0, bodyError(err, "the metadata")
	}
	if buf.Len() != int(jsonLen) {
		return nil, 0, apperr.New(apperr.Invalid, "invalid publish body: it ends inside the metadata (%d of %d bytes)", buf.Len(), jsonLen)
	}
	meta, err := DecodePublishMetadata(buf.Bytes())
	if err != nil {
		return nil, 0, err
	}
	crateLen, err := readLength(r, "the length of the .crate file")
	if err != nil {
		return nil, 0, err
	}
	if crateLen == 0 {
		return nil, 0, apperr.New(apperr.Invalid, "invalid publish body: the .crate file is empty")
	}
	return meta, int64(crateLen), nil
}

// DecodePublishMetadata decodes and validates the JSON part of a publish
// body.
func DecodePublishMetadata(b []byte) (*PublishMetadata, error) {
	var meta PublishMetadata
	if err := json.Unmarshal(b, &meta); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			return nil, apperr.New(apperr.Invalid, "invalid publish metadata: it must be an object, not %s", te.Value)
		}
		if errors.As(err, &te) {
			return nil, apperr.New(apperr.Invalid, "invalid publish metadata: %q must be %s, not %s", te.Field, jsonKind(te.Type), te.Value)
		}
		return nil, apperr.Wrap(apperr.Invalid, err, "invalid publish metadata: not valid JSON")
	}
	if err := meta.Validate(); err != nil {
		return nil, err
	}
	return &meta, nil
}

// jsonKind names a Go type the way a JSON author thinks of it.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.Kind().String()
}

// readLength reads one u32 little-endian length.
func readLength(r io.Reader, what string) (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, bodyError(err, what)
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// bodyError classifies a read failure inside the publish body: an early
// end is the client's (a body shorter than its lengths say), and so is
// any other failure to read the request body (a malformed chunk, a
// connection the client dropped): the bytes are the client's, and what
// they fail with is a client error, never a 500.
func bodyError(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return apperr.New(apperr.Invalid, "invalid publish body: it ends before %s", what)
	}
	if apperr.KindOf(err) != apperr.Internal {
		return err
	}
	return apperr.Wrap(apperr.Invalid, err, "the publish body could not be read (%s)", what)
}

// CrateReader returns a reader of the next n bytes of r (the .crate, n as
// ReadPublishMetadata returned it). When r ends before n bytes, the reader
// fails with apperr.Invalid instead of ending quietly, so that a buffer
// filled from it cannot hold a truncated crate.
func CrateReader(r io.Reader, n int64) io.Reader {
	return &crateReader{r: r, left: n, size: n}
}

type crateReader struct {
	r          io.Reader
	left, size int64
}

func (c *crateReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		if c.left > 0 {
			return n, apperr.New(apperr.Invalid, "invalid publish body: it ends inside the .crate file (%d of %d bytes)", c.size-c.left, c.size)
		}
		err = nil
	}
	if c.left == 0 && err == nil {
		return n, io.EOF
	}
	if err != nil {
		return n, bodyError(err, "the .crate file")
	}
	return n, err
}

// CheckBodyEnd checks that nothing follows the .crate in the publish body:
// a body longer than its lengths say is refused (apperr.Invalid), as is one
// that is shorter (which CrateReader reports while the .crate is read).
func CheckBodyEnd(r io.Reader) error {
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n > 0 {
			return apperr.New(apperr.Invalid, "invalid publish body: there are bytes after the .crate file; the lengths in the body are wrong")
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return bodyError(err, "its end")
		}
	}
}

// Validate checks the metadata's names, version, dependencies and features
// by crates.io's rules, so that every index line made from it parses in
// cargo (cargo skips a line it cannot parse without a word, leaving users
// with "no matching package").
func (m *PublishMetadata) Validate() error {
	if err := ValidateName(m.Name); err != nil {
		return err
	}
	if err := ValidateVersion(m.Vers); err != nil {
		return err
	}
	for i := range m.Deps {
		if err := m.Deps[i].validate(); err != nil {
			return err
		}
	}
	for name, values := range m.Features {
		if err := ValidateFeatureName(name); err != nil {
			return err
		}
		for _, v := range values {
			if err := ValidateFeatureValue(name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *PublishDependency) validate() error {
	// The depended-on crate follows the rules of crate names (crates.io
	// checks it so); it may be a reserved one published elsewhere.
	if d.Name == "" || len(d.Name) > MaxNameLength || !isASCIILetter(d.Name[0]) || !isNameTail(d.Name) {
		return apperr.New(apperr.Invalid, "invalid dependency name %q: a crate name has 1 to %d ASCII letters, digits, '-' or '_' and starts with a letter", d.Name, MaxNameLength)
	}
	if d.ExplicitNameInToml != nil {
		if err := validateDependencyName(*d.ExplicitNameInToml); err != nil {
			return err
		}
	}
	if d.VersionReq == "" {
		return apperr.New(apperr.Invalid, "dependency %q has no version requirement", d.Name)
	}
	if err := ValidateVersionReq(d.VersionReq); err != nil {
		return apperr.Wrap(apperr.Invalid, err, "dependency %q", d.Name)
	}
	switch d.Kind {
	case "", "normal", "dev", "build":
	default:
		return apperr.New(apperr.Invalid, "dependency %q has the unknown kind %q (normal, dev or build)", d.Name, d.Kind)
	}
	for _, f := range d.Features {
		// A dependency's features are its feature names, or for cargo's
		// own syntax a "dep/feature" of the dependency's dependencies.
		if err := ValidateFeatureValue(f, f); err != nil {
			return apperr.Wrap(apperr.Invalid, err, "dependency %q enables an invalid feature", d.Name)
		}
	}
	return nil
}
