package cargo

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"wharf/modules/apperr"
	packages_module "wharf/modules/packages"
)

// MaxManifestSize bounds the Cargo.toml read from a .crate. The one `cargo
// package` writes is a few kilobytes even for large crates.
const MaxManifestSize = 1 << 20

// DefaultMaxUnpacked is a bound on the bytes a .crate may decompress to
// (tar headers included) that fits crates.io's: its max_unpack_size is
// 512 MB.
const DefaultMaxUnpacked = 512 << 20

// MaxCrateEntries bounds the number of entries in a .crate, so that the
// paths remembered to find duplicates stay small. cargo packs one entry per
// file; crates with more than a few thousand files are rare.
const MaxCrateEntries = 100_000

// Manifest is what a .crate's Cargo.toml says that the registry keeps:
// identity, and the fields shown by search and the web UI. Optional fields
// are "" (or nil) when Cargo.toml does not set them as plain values.
type Manifest struct {
	Name          string
	Version       string
	RustVersion   string
	Description   string
	Documentation string
	Homepage      string
	Repository    string
	License       string
	Keywords      []string
	Categories    []string
	// Readme is the readme's path inside the crate, relative to its root
	// directory; the file itself is not read.
	Readme string
	// Links is package.links.
	Links string
	// Features is the [features] table as written (nil when there is
	// none); Deps every dependency of every kind and target. They are
	// what cargo builds with, which the publish JSON must agree with
	// (PublishMetadata.CheckManifest).
	Features map[string][]string
	Deps     []ManifestDep
	// badTable names a dependency or feature table that is not what
	// cargo package writes; CheckManifest refuses it.
	badTable string
}

// ManifestDep is one dependency of a packaged Cargo.toml.
type ManifestDep struct {
	Name   string // the depended-on crate (package = "…" for a renamed one)
	Kind   string // "normal", "dev" or "build"
	Target string // "" or the [target.X] key
	Req    string // version, "" when the entry has none
}

// ParseCrate checks a .crate as cargo 1.95 packs it and as cargo will
// unpack it, and reads its Cargo.toml:
//   - gzip-compressed tar, intact to the end of the gzip stream (checksum
//     included);
//   - every entry a regular file or directory under "{name}-{version}/",
//     with no ".", ".." or empty path component, no absolute path and no
//     backslash, and no path twice; links of any kind are refused, as
//     crates.io does (cargo never packs one);
//   - exactly one manifest, "{name}-{version}/Cargo.toml" (or the legacy
//     "cargo.toml"), whose [package] name and version equal name and
//     version (the publish metadata's).
//
// maxUnpacked bounds the bytes decompressed (tar headers and padding
// included), counted as they come out of gzip, so a gzip bomb stops there.
// Going over it is apperr.Invalid, not TooLarge: the upload itself is
// within the size limit (that is the caller's TooLarge), and an archive
// that expands past any sane size is a damaged or hostile crate, which
// crates.io also answers with 400 ("uploaded tarball is malformed or too
// large when decompressed"). Every other fault in the client's bytes is
// apperr.Invalid too; a failure of r itself (the server's copy of the
// upload) is returned unclassified.
func ParseCrate(r io.Reader, name, version string, maxUnpacked int64) (*Manifest, error) {
	return packages_module.ParseUpload(r, ".crate", func(src io.Reader) (*Manifest, error) {
		return parseCrate(src, name, version, maxUnpacked, MaxCrateEntries)
	})
}

// errUnpackLimit marks the decompressed stream going over its bound.
var errUnpackLimit = errors.New("unpack limit")

// limitedReader fails with errUnpackLimit once more than max bytes came
// through, instead of ending quietly as io.LimitReader does.
type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, errUnpackLimit
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, errUnpackLimit
	}
	return n, err
}

// tarFeed notes when the tar reader asked for more than the stream had
// left: the archive lacks (part of) its end, whatever tar.Reader makes of
// it. The tar reader asks for exactly what it needs (a header block, an
// entry's bytes, padding), so a short read at the end means a cut.
type tarFeed struct {
	r     io.Reader
	short bool
}

func (f *tarFeed) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF && n < len(p) {
		f.short = true
	}
	return n, err
}

func parseCrate(r io.Reader, name, version string, maxUnpacked int64, maxEntries int) (*Manifest, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "the .crate file is not gzip-compressed")
	}
	defer gz.Close()
	unpacked := &limitedReader{r: gz, left: maxUnpacked}
	damaged := func(err error) error {
		if errors.Is(err, errUnpackLimit) {
			return apperr.New(apperr.Invalid, "the .crate file unpacks to more than %d bytes", maxUnpacked)
		}
		return apperr.Wrap(apperr.Invalid, err, "the .crate file is damaged")
	}

	root := name + "-" + version
	seen := map[string]bool{}
	var manifest []byte
	var manifestPath string
	feed := &tarFeed{r: unpacked}
	tr := tar.NewReader(feed)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, damaged(err)
		}
		rel, err := entryPath(h.Name, root)
		if err != nil {
			return nil, err
		}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeDir:
		case tar.TypeSymlink, tar.TypeLink:
			return nil, apperr.New(apperr.Invalid, "the .crate file holds a link, %q; cargo never packs links", h.Name)
		default:
			return nil, apperr.New(apperr.Invalid, "the .crate file holds %q, which is neither a file nor a directory", h.Name)
		}
		if rel == "" && h.Typeflag != tar.TypeDir {
			return nil, apperr.New(apperr.Invalid, "the .crate file holds a file named %q, where its root directory belongs", h.Name)
		}
		if len(seen) >= maxEntries {
			return nil, apperr.New(apperr.Invalid, "the .crate file holds more than %d entries", maxEntries)
		}
		if seen[rel] {
			return nil, apperr.New(apperr.Invalid, "the .crate file holds %q twice", h.Name)
		}
		seen[rel] = true
		if h.Typeflag != tar.TypeReg || !strings.EqualFold(rel, "Cargo.toml") {
			continue
		}
		if manifestPath != "" {
			return nil, apperr.New(apperr.Invalid, "the .crate file holds two manifests, %q and %q", manifestPath, h.Name)
		}
		if rel != "Cargo.toml" && rel != "cargo.toml" {
			return nil, apperr.New(apperr.Invalid, "the .crate file's manifest is named %q; cargo reads only Cargo.toml", h.Name)
		}
		if h.Size > MaxManifestSize {
			return nil, apperr.New(apperr.Invalid, "the .crate file's Cargo.toml is larger than %d bytes", MaxManifestSize)
		}
		manifestPath = h.Name
		if manifest, err = io.ReadAll(tr); err != nil {
			return nil, damaged(err)
		}
	}
	if feed.short {
		// Go's tar reader takes a stream that stops between entries, or
		// inside the padding after the last one, for a complete archive;
		// cargo's unpacking does not.
		return nil, apperr.New(apperr.Invalid, "the .crate file is damaged: its tar archive is cut short")
	}
	// The tar ends before the gzip stream does (padding, the end-of-archive
	// blocks); reading on to the end checks gzip's length and checksum.
	if _, err := io.Copy(io.Discard, unpacked); err != nil {
		return nil, damaged(err)
	}
	if manifestPath == "" {
		return nil, apperr.New(apperr.Invalid, "the .crate file has no %s/Cargo.toml", root)
	}
	m, err := parseManifest(manifest)
	if err != nil {
		return nil, err
	}
	if m.Name != name {
		return nil, apperr.New(apperr.Invalid, "the crate is named %q in Cargo.toml but %q in the publish metadata", m.Name, name)
	}
	if m.Version != version {
		return nil, apperr.New(apperr.Invalid, "the crate's version is %q in Cargo.toml but %q in the publish metadata", m.Version, version)
	}
	return m, nil
}

// entryPath checks that a tar entry's name lies under root and returns the
// rest ("" for root itself). Paths are checked as cargo's unpacking would
// see them on any platform: '\' is a separator on Windows, so it is
// refused rather than trusted to be part of a name.
func entryPath(p, root string) (string, error) {
	outside := func(why string) error {
		return apperr.New(apperr.Invalid, "the .crate file holds %q: every path must be under %s/ (%s)", p, root, why)
	}
	if strings.ContainsAny(p, "\\\x00") {
		return "", outside("no backslash or NUL byte")
	}
	if strings.HasPrefix(p, "/") {
		return "", outside("no absolute path")
	}
	rest, ok := strings.CutPrefix(strings.TrimSuffix(p, "/"), root)
	if !ok || rest != "" && rest[0] != '/' {
		return "", outside("no other top directory")
	}
	rest = strings.TrimPrefix(rest, "/")
	if rest == "" {
		return "", nil
	}
	for part := range strings.SplitSeq(rest, "/") {
		if part == "" || part == "." || part == ".." {
			return "", outside("no empty, '.' or '..' component")
		}
	}
	return rest, nil
}

// cargoToml is the part of Cargo.toml read here. [project] is the old name
// of [package], still accepted by crates.io.
type cargoToml struct {
	Package  map[string]any `toml:"package"`
	Project  map[string]any `toml:"project"`
	Features map[string]any `toml:"features"`
	depTables
	Target map[string]depTables `toml:"target"`
}

// depTables are the dependency tables of Cargo.toml or of one of its
// [target.X] tables; the underscore spellings are the old ones, which
// cargo still reads.
type depTables struct {
	Dependencies         map[string]any `toml:"dependencies"`
	DevDependencies      map[string]any `toml:"dev-dependencies"`
	OldDevDependencies   map[string]any `toml:"dev_dependencies"`
	BuildDependencies    map[string]any `toml:"build-dependencies"`
	OldBuildDependencies map[string]any `toml:"build_dependencies"`
}

// deps lists the tables' dependencies under target, and the key of the
// first entry that is neither a version string nor a table.
func (t depTables) deps(target string) (out []ManifestDep, bad string) {
	for _, tab := range []struct {
		kind string
		m    map[string]any
	}{{"normal", t.Dependencies}, {"dev", t.DevDependencies}, {"dev", t.OldDevDependencies}, {"build", t.BuildDependencies}, {"build", t.OldBuildDependencies}} {
		for key, v := range tab.m {
			d := ManifestDep{Name: key, Kind: tab.kind, Target: target}
			switch v := v.(type) {
			case string:
				d.Req = v
			case map[string]any:
				if p, ok := v["package"].(string); ok {
					d.Name = p
				}
				d.Req, _ = v["version"].(string)
			default:
				if bad == "" {
					bad = key
				}
				continue
			}
			out = append(out, d)
		}
	}
	return out, bad
}

func parseManifest(b []byte) (*Manifest, error) {
	var doc cargoToml
	if err := toml.Unmarshal(b, &doc); err != nil {
		return nil, apperr.Wrap(apperr.Invalid, manifestError(err), "the .crate file's Cargo.toml is not valid TOML")
	}
	pkg := doc.Package
	if pkg == nil {
		pkg = doc.Project
	}
	if pkg == nil {
		return nil, apperr.New(apperr.Invalid, "the .crate file's Cargo.toml has no [package] table")
	}
	// cargo package writes every inherited (workspace = true) value out
	// literally; a table here means the manifest was not made by it.
	name, ok := pkg["name"].(string)
	if !ok {
		return nil, apperr.New(apperr.Invalid, "the .crate file's Cargo.toml does not set package.name to a string")
	}
	version, ok := pkg["version"].(string)
	if !ok {
		return nil, apperr.New(apperr.Invalid, "the .crate file's Cargo.toml does not set package.version to a string")
	}
	str := func(key string) string { s, _ := pkg[key].(string); return s }
	m := &Manifest{
		Name:          name,
		Version:       version,
		RustVersion:   str("rust-version"),
		Description:   str("description"),
		Documentation: str("documentation"),
		Homepage:      str("homepage"),
		Repository:    str("repository"),
		License:       str("license"),
		Keywords:      strings1(pkg["keywords"]),
		Categories:    strings1(pkg["categories"]),
		Readme:        str("readme"),
		Links:         str("links"),
	}
	var bad string
	m.Deps, bad = doc.depTables.deps("")
	for target, t := range doc.Target {
		ds, b := t.deps(target)
		m.Deps = append(m.Deps, ds...)
		if bad == "" {
			bad = b
		}
	}
	if doc.Features != nil {
		m.Features = make(map[string][]string, len(doc.Features))
		for name, v := range doc.Features {
			vs := strings1(v)
			if vs == nil {
				if _, ok := v.([]any); !ok && bad == "" {
					bad = "features." + name
				}
				vs = []string{}
			}
			m.Features[name] = vs
		}
	}
	m.badTable = bad
	return m, nil
}

// strings1 returns v's strings when v is an array of strings, else nil.
func strings1(v any) []string {
	arr, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil
		}
		out = append(out, s)
	}
	return out
}

// manifestError shortens go-toml's error to its first line with the
// position, which is what a publisher needs to find the fault.
func manifestError(err error) error {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		return fmt.Errorf("line %d, column %d: %s", row, col, de.Error())
	}
	return err
}
