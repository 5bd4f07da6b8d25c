// Package composer holds the Composer registry's rules: uploads, and the
// metadata documents composer reads (packages.json, p2 files, search,
// list).
package composer

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"time"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	composer_module "wharf/modules/packages/composer"
	"wharf/modules/packages/jsonobject"
	packages_service "wharf/services/packages"
	repo_service "wharf/services/repository"
	user_service "wharf/services/user"
)

// Deps are the service's dependencies.
type Deps struct {
	DB       *db.DB
	Log      *slog.Logger
	Now      func() time.Time
	Packages *packages_service.Service
	Repos    *repo_service.Service
	Users    *user_service.Service
}

// Service implements the Composer rules.
type Service struct{ d Deps }

// New returns the service.
func New(d Deps) *Service { return &Service{d: d} }

// Version metadata as stored: the package's composer.json, plus what the
// version object needs besides it.
type storedMetadata struct {
	ComposerJSON      map[string]json.RawMessage `json:"composer_json"`
	VersionNormalized string                     `json:"version_normalized"`
	DistType          string                     `json:"dist_type"`
	// Source is set for versions registered from git.
	Source *sourceInfo `json:"source,omitempty"`
}

// VersionsOptions select a p2 document and what it may show.
type VersionsOptions struct {
	Name string
	// Dev selects branch versions (~dev.json).
	Dev bool
	// FilesBase is the URL that dist URLs start with.
	FilesBase string
	// Sources lets the document show where a version registered from git
	// comes from, for the repositories the caller may read. Off for a
	// caller whose credentials do not reach repositories (a token without
	// read:repository): the router decides.
	Sources bool
}

// Versions returns a package's p2 document: its version objects, highest
// first. Each object is the registry's fields and then the stored
// composer.json's other fields, copied as bytes in their stored order
// (jsonobject), each key once: a field both have is the registry's.
//
// A version registered from git names its repository in "source" only to
// a caller who may read that repository, checked on its own (it may be
// another owner's, and private: readers of the package are not readers of
// the repository); "dist" serves everyone who may read the package. The
// body therefore depends on the caller.
func (s *Service) Versions(ctx context.Context, a *packages_service.Access, opts VersionsOptions) ([]byte, time.Time, error) {
	name, dev, filesBase := opts.Name, opts.Dev, opts.FilesBase
	p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeComposer, name)
	if err != nil {
		return nil, time.Time{}, err
	}
	vs, err := s.d.Packages.ListVersions(ctx, p)
	if err != nil {
		return nil, time.Time{}, err
	}
	ids := make([]int64, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	e := s.d.DB.Engine()
	files, err := packages_model.LeadDigestsOfVersions(ctx, e, ids)
	if err != nil {
		return nil, time.Time{}, err
	}
	fileOf := map[int64]*packages_model.VersionDigest{}
	for _, f := range files {
		fileOf[f.VersionID] = f
	}
	modified, err := s.modifiedOf(ctx, []int64{p.ID}, vs)
	if err != nil {
		return nil, time.Time{}, err
	}
	type versionMeta struct {
		ComposerJSON      json.RawMessage `json:"composer_json"`
		VersionNormalized string          `json:"version_normalized"`
		DistType          string          `json:"dist_type"`
		Source            *sourceInfo     `json:"source"`
	}
	metas := make([]*versionMeta, len(vs))
	var repoIDs []int64
	for i, v := range vs {
		m := &versionMeta{}
		if err := json.Unmarshal([]byte(v.MetadataJSON), m); err != nil {
			// Stored metadata that cannot be read (a composer.json stored
			// before uploads were bounded, nested past encoding/json's
			// limit once wrapped) costs its own version, not every
			// version's document: left out, and logged for the admin.
			s.d.Log.WarnContext(ctx, "composer: a version's stored metadata cannot be read; left out of p2", "package", p.LowerName, "version", v.Version, "err", err)
			continue
		}
		if composer_module.IsDev(m.VersionNormalized) != dev {
			continue
		}
		metas[i] = m
		if m.Source != nil && !slices.Contains(repoIDs, m.Source.RepoID) {
			repoIDs = append(repoIDs, m.Source.RepoID)
		}
	}
	// One check for every source repository of the document.
	readable := map[int64]*repo_service.Context{}
	if opts.Sources && len(repoIDs) > 0 {
		if readable, err = s.d.Packages.ReadableRepositories(ctx, a.Doer, repoIDs); err != nil {
			return nil, time.Time{}, err
		}
	}
	var merger jsonobject.Merger
	size := 0
	for _, v := range vs {
		size += len(v.MetadataJSON) + 256
	}
	objects := make([]byte, 0, size)
	var ends []int
	for i, v := range vs {
		m := metas[i]
		if m == nil {
			continue
		}
		f := fileOf[v.ID]
		if f == nil && m.Source == nil {
			continue
		}
		ver := composer_module.Version{Name: p.LowerName, Version: v.Version, VersionNormalized: m.VersionNormalized,
			Time: time.Unix(v.CreatedUnix, 0).UTC().Format(time.RFC3339)}
		if m.Source != nil {
			// The archive of the commit may still be building: its URL is
			// known from the commit, and a download builds it on demand.
			archive := archiveName(p.LowerName, v.Version, m.Source.Commit)
			ver.Dist = composer_module.Dist{Type: "zip", URL: filesBase + p.LowerName + "/" + v.Version + "/" + archive, Reference: m.Source.Commit}
			if f != nil && f.Name == archive {
				ver.Dist.Shasum = f.HashSHA1
			}
			if rc := readable[m.Source.RepoID]; rc != nil {
				// The clone URL as it is now (the repository may have
				// been renamed since registration).
				ver.Source = &composer_module.Source{Type: "git", URL: s.d.Repos.CloneURL(rc.Repo), Reference: m.Source.Commit}
			}
		} else {
			ver.Dist = composer_module.Dist{Type: m.DistType, URL: filesBase + p.LowerName + "/" + v.Version + "/" + f.Name,
				Reference: f.HashSHA1, Shasum: f.HashSHA1}
		}
		mark := len(objects)
		if objects, err = ver.AppendMerged(&merger, objects, m.ComposerJSON); err != nil {
			// The same for a stored composer.json the merge refuses: the
			// version is left out, its partial object dropped.
			s.d.Log.WarnContext(ctx, "composer: a version's stored composer.json cannot be merged; left out of p2", "package", p.LowerName, "version", v.Version, "err", err)
			objects = objects[:mark]
			continue
		}
		ends = append(ends, len(objects))
	}
	if len(ends) == 0 {
		return nil, time.Time{}, packages_model.ErrPackageNotExist
	}
	doc := composer_module.Metadata{Packages: composer_module.PackageVersions{Name: p.LowerName, Versions: make([]json.RawMessage, len(ends))}}
	start := 0
	for i, end := range ends {
		doc.Packages.Versions[i] = objects[start:end]
		start = end
	}
	return doc.AppendJSON(make([]byte, 0, len(objects)+len(ends)+64)), modified, nil
}

// Names lists the owner's Composer package names (for packages.json and
// list.json), with the time of the newest version.
func (s *Service) Names(ctx context.Context, a *packages_service.Access, filter string) ([]string, time.Time, error) {
	e := s.d.DB.Engine()
	ps, _, err := packages_model.SearchPackages(ctx, e, a.Owner.ID, packages_model.TypeComposer, "", 100000, 0)
	if err != nil {
		return nil, time.Time{}, err
	}
	ids := make([]int64, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	vs, err := packages_model.ListVersionsOf(ctx, e, ids)
	if err != nil {
		return nil, time.Time{}, err
	}
	modified, err := s.listModified(ctx, a.Owner.ID, ids, vs)
	if err != nil {
		return nil, time.Time{}, err
	}
	names := []string{}
	for _, p := range ps {
		if filter == "" || globMatch(filter, p.LowerName) {
			names = append(names, p.LowerName)
		}
	}
	slices.Sort(names)
	return names, modified, nil
}

// globMatch matches composer's list filters ("acme/*").
func globMatch(pattern, name string) bool {
	parts := strings.Split(strings.ToLower(pattern), "*")
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	rest := name[len(parts[0]):]
	for i, part := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(rest, part)
		}
		j := strings.Index(rest, part)
		if j < 0 {
			return false
		}
		rest = rest[j+len(part):]
	}
	return rest == ""
}

// SearchResult is one hit of composer search.
type SearchResult struct {
	Name        string
	Description string
	Downloads   int64
	// Version is the highest version: the one whose description is shown
	// and whose page a hit links to.
	Version string
}

// Search finds the owner's packages whose name contains q.
func (s *Service) Search(ctx context.Context, a *packages_service.Access, q string, limit, offset int) ([]SearchResult, int64, error) {
	e := s.d.DB.Engine()
	ps, total, err := packages_model.SearchPackages(ctx, e, a.Owner.ID, packages_model.TypeComposer, q, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	ids := make([]int64, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	vs, err := packages_model.ListVersionsOf(ctx, e, ids)
	if err != nil {
		return nil, 0, err
	}
	latest := map[int64]*packages_model.PackageVersion{}
	downloads := map[int64]int64{}
	for _, v := range vs {
		downloads[v.PackageID] += v.DownloadCount
		if cur, ok := latest[v.PackageID]; !ok || composer_module.Compare(v.Version, cur.Version) > 0 {
			latest[v.PackageID] = v
		}
	}
	out := make([]SearchResult, 0, len(ps))
	for _, p := range ps {
		r := SearchResult{Name: p.LowerName, Downloads: downloads[p.ID]}
		if v := latest[p.ID]; v != nil {
			r.Version = v.Version
			var m storedMetadata
			if json.Unmarshal([]byte(v.MetadataJSON), &m) == nil {
				_ = json.Unmarshal(m.ComposerJSON["description"], &r.Description)
			}
		}
		out = append(out, r)
	}
	return out, total, nil
}

// OpenDist opens a version's file for download; the archive of a version
// registered from git is built first if it is not there yet.
func (s *Service) OpenDist(ctx context.Context, a *packages_service.Access, name, version, filename string, count bool) (*packages_service.Download, error) {
	_, pv, err := s.d.Packages.GetVersion(ctx, a, packages_model.TypeComposer, name, version)
	if err != nil {
		return nil, err
	}
	var m storedMetadata
	if err := json.Unmarshal([]byte(pv.MetadataJSON), &m); err == nil && m.Source != nil {
		if filename != archiveName(strings.ToLower(name), pv.Version, m.Source.Commit) {
			return nil, packages_model.ErrFileNotExist
		}
		if _, err := s.ensureArchive(ctx, pv.ID, m.Source.Commit); err != nil {
			return nil, err
		}
	}
	return s.d.Packages.OpenVersionFile(ctx, pv, filename, "", count)
}
