// Package goproxy holds the Go module proxy's rules that need no storage:
// reading a proxy request's path, mapping a repository's tag to the
// module version it publishes, and writing a module zip with
// golang.org/x/mod's rules.
package goproxy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"

	"wharf/modules/apperr"
)

// Kind is what a proxy request asks for.
type Kind int

// The proxy's endpoints (go help goproxy).
const (
	KindList   Kind = iota // $module/@v/list
	KindInfo               // $module/@v/$version.info
	KindMod                // $module/@v/$version.mod
	KindZip                // $module/@v/$version.zip
	KindLatest             // $module/@latest
)

// Request is one proxy request, its path and version decoded.
type Request struct {
	Module string
	Kind   Kind
	// Query is the version asked for (Info, Mod, Zip): a canonical
	// version, or for Info a query the go command resolves through the
	// proxy (a branch, a commit hash).
	Query string
}

// ParseRequest reads the part of a proxy URL's path after the proxy's
// base ("example.com/!hello/@v/v1.0.0.info"), already URL-decoded. Every
// failure is NotFound: the go command probes every prefix of an import
// path, and only 404 and 410 let it go on.
func ParseRequest(p string) (*Request, error) {
	var escaped, rest string
	var r Request
	if m, ok := strings.CutSuffix(p, "/@latest"); ok {
		escaped, r.Kind = m, KindLatest
	} else if m, v, ok := strings.Cut(p, "/@v/"); ok {
		escaped, rest = m, v
		switch {
		case rest == "list":
			r.Kind = KindList
		case strings.HasSuffix(rest, ".info"):
			r.Kind, rest = KindInfo, strings.TrimSuffix(rest, ".info")
		case strings.HasSuffix(rest, ".mod"):
			r.Kind, rest = KindMod, strings.TrimSuffix(rest, ".mod")
		case strings.HasSuffix(rest, ".zip"):
			r.Kind, rest = KindZip, strings.TrimSuffix(rest, ".zip")
		default:
			return nil, apperr.New(apperr.NotFound, "not a module proxy path: %q", p)
		}
	} else {
		return nil, apperr.New(apperr.NotFound, "not a module proxy path: %q", p)
	}
	mod, err := module.UnescapePath(escaped)
	if err != nil {
		return nil, apperr.New(apperr.NotFound, "invalid module path %q", escaped)
	}
	if err := module.CheckPath(mod); err != nil {
		return nil, apperr.New(apperr.NotFound, "invalid module path: %v", err)
	}
	r.Module = mod
	if r.Kind == KindInfo || r.Kind == KindMod || r.Kind == KindZip {
		v, err := module.UnescapeVersion(rest)
		if err != nil || v == "" || strings.ContainsAny(v, "/\\") {
			return nil, apperr.New(apperr.NotFound, "invalid version %q", rest)
		}
		if r.Kind != KindInfo && !IsCanonical(v) {
			return nil, apperr.New(apperr.NotFound, "%s is not a canonical version", v)
		}
		if IsCanonical(v) {
			if err := module.Check(mod, v); err != nil {
				return nil, apperr.New(apperr.NotFound, "%v", err)
			}
		}
		r.Query = v
	}
	return &r, nil
}

// IsCanonical reports whether v is a version as the go command records
// it: semver with a leading v, no build metadata but +incompatible.
func IsCanonical(v string) bool {
	if !semver.IsValid(v) {
		return false
	}
	base, incompatible := strings.CutSuffix(v, "+incompatible")
	return semver.Canonical(base) == base && (!incompatible || semver.Build(base) == "")
}

// Info is the .info document.
type Info struct {
	Version string
	Time    string
}

// NewInfo is the .info of version v made at t.
func NewInfo(v string, t time.Time) Info {
	return Info{Version: v, Time: t.UTC().Format(time.RFC3339)}
}

// TagVersion splits a tag into the directory of the module it versions
// (nested modules tag "sub/dir/v1.2.3") and the version. ok is false for
// a tag that is not a version at all (release-1, latest); a tag that looks
// like one but is not canonical (v1.2, v1.2.3+meta) is an error with the
// reason, so that it can be shown.
func TagVersion(tag string) (dir, version string, ok bool, err error) {
	dir, version = "", tag
	if i := strings.LastIndex(tag, "/"); i >= 0 {
		dir, version = tag[:i], tag[i+1:]
	}
	if !semver.IsValid(version) {
		return "", "", false, nil
	}
	if semver.Canonical(version) != version {
		return dir, version, false, fmt.Errorf("tag %q is not a canonical semantic version (the go command uses %s)", tag, semver.Canonical(version))
	}
	return dir, version, true, nil
}

// ModulePath reads the module path a go.mod declares ("" when it
// declares none).
func ModulePath(goMod []byte) string { return modfile.ModulePath(goMod) }

// MajorSuffix is the "/vN" a module of version v's major must end in
// ("" for v0 and v1).
func MajorSuffix(v string) string {
	m := semver.Major(v)
	if m == "v0" || m == "v1" {
		return ""
	}
	return "/" + m
}

// Compare orders two versions by semantic versioning.
func Compare(a, b string) int { return semver.Compare(a, b) }

// IsPseudo reports whether v is a pseudo-version.
func IsPseudo(v string) bool { return module.IsPseudoVersion(v) }

// ZipFile is one file of a module zip: its path inside the module and
// how to read it.
type ZipFile struct {
	Path    string
	Size    int64
	Symlink bool
	Open    func() (io.ReadCloser, error)
}

type zipFile struct{ f ZipFile }

func (z zipFile) Path() string                 { return z.f.Path }
func (z zipFile) Lstat() (fs.FileInfo, error)  { return z, nil }
func (z zipFile) Open() (io.ReadCloser, error) { return z.f.Open() }
func (z zipFile) Name() string                 { return z.f.Path[strings.LastIndex(z.f.Path, "/")+1:] }
func (z zipFile) Size() int64                  { return z.f.Size }
func (z zipFile) ModTime() time.Time           { return time.Time{} }
func (z zipFile) IsDir() bool                  { return false }
func (z zipFile) Sys() any                     { return nil }
func (z zipFile) Mode() fs.FileMode {
	if z.f.Symlink {
		return fs.ModeSymlink | 0o777
	}
	return 0o644
}

// WriteZip writes the zip of module m@v from files, by the go command's
// rules (golang.org/x/mod/zip.Create): nested modules, vendored packages
// and symbolic links are left out, and any file the rules refuse (an
// invalid path, two paths equal but for case, a file over the size
// limits) fails the whole zip with the reason, as Invalid.
func WriteZip(w io.Writer, m, v string, files []ZipFile) error {
	list := make([]modzip.File, len(files))
	for i, f := range files {
		list[i] = zipFile{f}
	}
	if err := modzip.Create(w, module.Version{Path: m, Version: v}, list); err != nil {
		var fe modzip.FileErrorList
		// x/mod reports its size limits as plain errors ("module source
		// tree too large", "go.mod file too large").
		if errors.As(err, &fe) || strings.Contains(err.Error(), "too large") {
			return apperr.Wrap(apperr.Invalid, err, "%s@%s cannot be a module zip", m, v)
		}
		return err
	}
	return nil
}

// GoModInfo is what a go.mod says that a version's page shows.
type GoModInfo struct {
	Go       string // the go directive
	Requires []Require
}

// Require is one requirement of a go.mod.
type Require struct {
	Path, Version string
	Indirect      bool
}

// ReadGoMod reads a go.mod leniently (unknown directives are ignored, as
// for a dependency's go.mod); a go.mod that cannot be read says nothing.
func ReadGoMod(goMod []byte) GoModInfo {
	f, err := modfile.ParseLax("go.mod", goMod, nil)
	if err != nil {
		return GoModInfo{}
	}
	var in GoModInfo
	if f.Go != nil {
		in.Go = f.Go.Version
	}
	for _, r := range f.Require {
		in.Requires = append(in.Requires, Require{Path: r.Mod.Path, Version: r.Mod.Version, Indirect: r.Indirect})
	}
	return in
}

// ZipPath is where a version's zip is under the proxy's base.
func ZipPath(mod, version string) string {
	em, err := module.EscapePath(mod)
	if err != nil {
		em = mod
	}
	ev, err := module.EscapeVersion(version)
	if err != nil {
		ev = version
	}
	return em + "/@v/" + ev + ".zip"
}
