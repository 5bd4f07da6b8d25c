package packages

import (
	"cmp"
	"context"
	"maps"
	"net/url"
	"slices"
	"strings"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	repo_service "wharf/services/repository"
)

// VersionDetails is what a format tells about one version for its page:
// the facts of its metadata that people read, in common terms, so that
// pages show every format without knowing any.
type VersionDetails struct {
	// Description is the summary or description the package gives.
	Description string
	License     string
	Homepage    string
	// Dependencies in the package's order.
	Dependencies []Dependency
	// Deprecated is npm's deprecation message ("" when not deprecated).
	Deprecated string
	// Source is where a version registered from git comes from
	// (Composer); nil for an upload. Its repository is shown only to who
	// may read it (DescribeVersion checks).
	Source *VersionSource
	// Facts are other name/value pairs worth showing (authors, the Rust
	// or Ruby version required, the platform), in order.
	Facts []Fact
	// Pending are files the format's clients download that are not
	// stored yet (Composer builds a registered version's archive on its
	// first download): name and path as FileLinker gives them.
	Pending []PendingFile
}

// PendingFile is a file a version serves that has no row yet.
type PendingFile struct{ Name, Path string }

// Dependency is one dependency of a version.
type Dependency struct {
	Name        string
	Requirement string
	// Kind is the format's word for it: "dev", "peer", "optional",
	// "build", "runtime", "development"; "" for a plain dependency.
	Kind string
}

// VersionSource is the git source of a registered version.
type VersionSource struct {
	RepoID int64
	Ref    string // refs/tags/v1.0.0 or refs/heads/main
	Commit string
}

// Fact is a labelled value.
type Fact struct{ Name, Value string }

// VersionDescriber is a format's optional hook that reads a version's
// details from its metadata and properties (in e).
type VersionDescriber interface {
	DescribeVersion(ctx context.Context, e db.Engine, p *packages_model.Package, pv *packages_model.PackageVersion) (*VersionDetails, error)
}

// VersionMarker is a format's optional hook that marks versions in a list
// with a short note (npm: deprecated), for versions loaded with their
// metadata; one call for a page of versions.
type VersionMarker interface {
	MarkVersions(ctx context.Context, e db.Engine, p *packages_model.Package, vs []*packages_model.PackageVersion) (map[int64]string, error)
}

// FileLinker is a format's optional hook that says where its clients
// download a file of a version: a path under the owner's registry of the
// format (ROOT_URL/api/packages/{owner}/{type}/). Without it a file
// downloads at the generic path "{name}/{version}/{file}".
type FileLinker interface {
	FilePath(p *packages_model.Package, pv *packages_model.PackageVersion, fileName string) string
}

// DefaultVersioner is a format's optional hook that says which version
// its clients install when no version is asked (npm: the "latest"
// dist-tag), for several packages of the format in one call: package id
// → version id. A package it leaves out gets the highest stable version
// (see defaultVersions).
type DefaultVersioner interface {
	DefaultVersions(ctx context.Context, e db.Engine, ps []*packages_model.Package) (map[int64]int64, error)
}

// VersionTagger is a format's optional hook that lists a package's named
// tags (npm's dist-tags) for its page: tag → version id.
type VersionTagger interface {
	VersionTags(ctx context.Context, e db.Engine, p *packages_model.Package) (map[string]int64, error)
}

// IsPrerelease says whether a version string is a prerelease by the
// common conventions of the formats: build metadata (+…) and a leading v
// aside, a letter anywhere (RubyGems' 1.0.0.pre, Composer's 1.0-beta2,
// semver's 1.0.0-rc.1) or a "-" after a dotted numeric core (semver's
// 1.0.0-1). A date-like generic version (2024-01-31) is not one.
func IsPrerelease(v string) bool {
	if i := strings.IndexByte(v, '+'); i >= 0 {
		v = v[:i]
	}
	v = strings.TrimPrefix(strings.TrimPrefix(v, "v"), "V")
	for _, r := range v {
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return true
		}
	}
	core, _, ok := strings.Cut(v, "-")
	return ok && strings.Contains(core, ".")
}

// defaultVersions picks for each package of ps the version its format's
// clients install by default, from heads (each package's versions, any
// order): the format's DefaultVersioner's choice when it names one of
// them; else the highest by the format's order that is neither yanked
// nor a prerelease; else the highest not yanked; else the highest.
// Queries: one for the yanks (bound by the packages, not their versions)
// and one per format with the hook, whatever the number of packages.
func (s *Service) defaultVersions(ctx context.Context, e db.Engine, ps []*packages_model.Package, heads map[int64][]*packages_model.PackageVersion) (map[int64]*packages_model.PackageVersion, error) {
	out := make(map[int64]*packages_model.PackageVersion, len(ps))
	byType := map[packages_model.Type][]*packages_model.Package{}
	var ids []int64
	for _, p := range ps {
		byType[p.Type] = append(byType[p.Type], p)
		if len(heads[p.ID]) > 0 {
			ids = append(ids, p.ID)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	chosen := map[int64]int64{}
	for t, tps := range byType {
		h, ok := s.formats.of(t).(DefaultVersioner)
		if !ok {
			continue
		}
		m, err := h.DefaultVersions(ctx, e, tps)
		if err != nil {
			return nil, err
		}
		maps.Copy(chosen, m)
	}
	yanked, err := s.YankedVersionsOfPackages(ctx, e, ids)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		f := s.formats.of(p.Type)
		var best [3]*packages_model.PackageVersion // stable, not yanked, any
		for _, v := range heads[p.ID] {
			if id, ok := chosen[p.ID]; ok && v.ID == id {
				out[p.ID] = v
				break
			}
			higher := func(cur *packages_model.PackageVersion) bool {
				return cur == nil || f.CompareVersions(v.Version, cur.Version) > 0
			}
			if !yanked[v.ID] && !IsPrerelease(v.Version) && higher(best[0]) {
				best[0] = v
			}
			if !yanked[v.ID] && higher(best[1]) {
				best[1] = v
			}
			if higher(best[2]) {
				best[2] = v
			}
		}
		if out[p.ID] != nil {
			continue
		}
		for _, v := range best {
			if v != nil {
				out[p.ID] = v
				break
			}
		}
	}
	return out, nil
}

// VersionDescription is a version as its page shows it.
type VersionDescription struct {
	Package *packages_model.Package
	Version *packages_model.PackageVersion
	Files   []*packages_model.FileRow
	// FilePaths are the files' download paths under the owner's registry
	// of the format, by file id.
	FilePaths map[int64]string
	Details   VersionDetails
	// Pending are the format's pending files that are still not stored.
	Pending []PendingFile
	Yanked  bool
	// Repository is the linked repository, SourceRepository the
	// repository a registered version comes from: each only when the doer
	// may read it (and repos was asked for), else nil.
	Repository       *repo_service.Context
	SourceRepository *repo_service.Context
}

// DescribeVersion gathers what a version's page shows. repos says whether
// to show repositories at all (a token without read:repository must not
// see them); each is then checked on its own against the doer.
func (s *Service) DescribeVersion(ctx context.Context, doer *user_model.User, p *packages_model.Package, pv *packages_model.PackageVersion, repos bool) (*VersionDescription, error) {
	e := s.d.DB.Engine()
	files, err := packages_model.ListFiles(ctx, e, pv.ID)
	if err != nil {
		return nil, err
	}
	d := &VersionDescription{Package: p, Version: pv, Files: files, FilePaths: map[int64]string{}}
	f := s.formats.of(p.Type)
	for _, fr := range files {
		if l, ok := f.(FileLinker); ok {
			d.FilePaths[fr.PackageFile.ID] = l.FilePath(p, pv, fr.PackageFile.Name)
		} else {
			d.FilePaths[fr.PackageFile.ID] = GenericFilePath(p.Name, pv.Version, fr.PackageFile.Name)
		}
	}
	if h, ok := f.(VersionDescriber); ok {
		det, err := h.DescribeVersion(ctx, e, p, pv)
		if err != nil {
			return nil, err
		}
		if det != nil {
			d.Details = *det
		}
	}
	stored := map[string]bool{}
	for _, fr := range files {
		stored[fr.PackageFile.Name] = true
	}
	for _, pf := range d.Details.Pending {
		if !stored[pf.Name] {
			d.Pending = append(d.Pending, pf)
		}
	}
	yanked, err := s.YankedVersions(ctx, e, []int64{pv.ID})
	if err != nil {
		return nil, err
	}
	d.Yanked = yanked[pv.ID]
	if !repos {
		d.Details.Source = sourceWithoutRepo(d.Details.Source)
		return d, nil
	}
	ids := []int64{}
	if p.RepoID != 0 {
		ids = append(ids, p.RepoID)
	}
	if src := d.Details.Source; src != nil && src.RepoID != 0 {
		ids = append(ids, src.RepoID)
	}
	readable, err := s.ReadableRepositories(ctx, doer, ids)
	if err != nil {
		return nil, err
	}
	d.Repository = readable[p.RepoID]
	if src := d.Details.Source; src != nil {
		if d.SourceRepository = readable[src.RepoID]; d.SourceRepository == nil {
			d.Details.Source = sourceWithoutRepo(src)
		}
	}
	return d, nil
}

// sourceWithoutRepo keeps what a source says without naming its
// repository: the ref and commit the version was built from.
func sourceWithoutRepo(src *VersionSource) *VersionSource {
	if src == nil {
		return nil
	}
	return &VersionSource{Ref: src.Ref, Commit: src.Commit}
}

// GenericFilePath is a file's path in the generic registry's protocol
// ({name}/{version}/{file}), each part escaped as one path segment.
func GenericFilePath(name, version, file string) string {
	return url.PathEscape(name) + "/" + url.PathEscape(version) + "/" + url.PathEscape(file)
}

// VersionMark is a version as a list shows it.
type VersionMark struct {
	Version *packages_model.PackageVersion
	Yanked  bool
	// Note is the format's mark (npm: the deprecation message).
	Note string
}

// VersionsPage is one page of a package's versions.
type VersionsPage struct {
	Versions []VersionMark
	// Latest is the version the format's clients install by default
	// (npm's latest dist-tag; else the highest stable version, see
	// defaultVersions), nil when there is none; loaded without its
	// metadata.
	Latest *packages_model.PackageVersion
	// Tags are the format's named tags (npm's dist-tags), "latest" first,
	// then by name; each names a version of the package.
	Tags  []VersionTag
	Total int64
}

// VersionTag is a named tag and the version it points at.
type VersionTag struct {
	Tag     string
	Version *packages_model.PackageVersion
}

// VersionsPage returns one page of a package's versions, highest first by
// the format's rules, with their yank and the format's marks, the latest
// and the total: the order needs every version string (one light query of
// the heads, no metadata), then the page's rows, yanks and marks cost a
// query each. The order cannot be paged in SQL: it is the format's
// CompareVersions (semver, PEP 440, Composer, RubyGems…), which no
// collation expresses, so the heads are sorted here; their cost is rows,
// never bind variables (the ids bound are the page's, at most its size,
// and the latest's yanks are looked up by the package).
func (s *Service) VersionsPage(ctx context.Context, p *packages_model.Package, opts db.ListOptions) (*VersionsPage, error) {
	e := s.d.DB.Engine()
	heads, err := packages_model.ListVersionHeadsOf(ctx, e, []int64{p.ID})
	if err != nil {
		return nil, err
	}
	f := s.formats.of(p.Type)
	slices.SortStableFunc(heads, func(a, b *packages_model.PackageVersion) int {
		if c := f.CompareVersions(b.Version, a.Version); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	total := int64(len(heads))
	from := min(opts.Offset(), len(heads))
	page := heads[from:min(from+opts.PageSize, len(heads))]
	ids := make([]int64, len(page))
	for i, v := range page {
		ids[i] = v.ID
	}
	full, err := packages_model.GetVersionsByIDs(ctx, e, ids)
	if err != nil {
		return nil, err
	}
	vs := make([]*packages_model.PackageVersion, 0, len(page))
	for _, v := range page {
		if fv := full[v.ID]; fv != nil {
			vs = append(vs, fv)
		}
	}
	yanked, err := s.YankedVersions(ctx, e, ids)
	if err != nil {
		return nil, err
	}
	notes := map[int64]string{}
	if m, ok := f.(VersionMarker); ok {
		if notes, err = m.MarkVersions(ctx, e, p, vs); err != nil {
			return nil, err
		}
	}
	out := &VersionsPage{Versions: make([]VersionMark, len(vs)), Total: total}
	for i, v := range vs {
		out.Versions[i] = VersionMark{Version: v, Yanked: yanked[v.ID], Note: notes[v.ID]}
	}
	defaults, err := s.defaultVersions(ctx, e, []*packages_model.Package{p}, map[int64][]*packages_model.PackageVersion{p.ID: heads})
	if err != nil {
		return nil, err
	}
	out.Latest = defaults[p.ID]
	if t, ok := f.(VersionTagger); ok {
		tags, err := t.VersionTags(ctx, e, p)
		if err != nil {
			return nil, err
		}
		byID := make(map[int64]*packages_model.PackageVersion, len(heads))
		for _, v := range heads {
			byID[v.ID] = v
		}
		for tag, id := range tags {
			if v := byID[id]; v != nil {
				out.Tags = append(out.Tags, VersionTag{Tag: tag, Version: v})
			}
		}
		slices.SortFunc(out.Tags, func(a, b VersionTag) int {
			if (a.Tag == "latest") != (b.Tag == "latest") {
				if a.Tag == "latest" {
					return -1
				}
				return 1
			}
			return strings.Compare(a.Tag, b.Tag)
		})
	}
	return out, nil
}
