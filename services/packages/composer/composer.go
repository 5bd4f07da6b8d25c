// Package composer holds the Composer registry's rules: uploads, and the
// metadata documents composer reads (packages.json, p2 files, search,
// list).
package composer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	composer_model "wharf/models/packages/composer"
	"wharf/modules/doccache"
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
	// Documents keeps encoded p2 and packages.json documents (nil: none),
	// shared by every format.
	Documents *doccache.Cache
}

// Service implements the Composer rules.
type Service struct {
	d Deps
	// flight makes concurrent first downloads of an upstream's archive
	// through a virtual registry one fetch.
	flight singleflight.Group
}

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

// versionMeta is a version's stored metadata as p2 reads it.
type versionMeta struct {
	ComposerJSON      json.RawMessage `json:"composer_json"`
	VersionNormalized string          `json:"version_normalized"`
	DistType          string          `json:"dist_type"`
	Source            *sourceInfo     `json:"source"`
}

// p2State is what a p2 document is made of, whoever asks.
type p2State struct {
	p        *packages_model.Package
	vs       []*packages_model.PackageVersion
	fileOf   map[int64]*packages_model.VersionDigest
	metas    []*versionMeta // by index of vs; nil: not in this document
	repoIDs  []int64        // the source repositories the versions name
	modified time.Time
}

// p2Info is what a request needs of a p2 document before choosing its
// copy: the source repositories (whose readability decides the copy) and
// the Last-Modified. It is kept in the cache beside the documents, under
// the package's stamp.
type p2Info struct {
	repoIDs  []int64
	modified time.Time
}

// loadP2 reads a package's p2 state: a fixed number of queries.
func (s *Service) loadP2(ctx context.Context, p *packages_model.Package, dev bool) (*p2State, error) {
	vs, err := s.d.Packages.ListVersions(ctx, p)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	files, err := packages_model.LeadDigestsOfVersions(ctx, s.d.DB.Engine(), ids)
	if err != nil {
		return nil, err
	}
	st := &p2State{p: p, vs: vs, fileOf: map[int64]*packages_model.VersionDigest{}, metas: make([]*versionMeta, len(vs))}
	for _, f := range files {
		st.fileOf[f.VersionID] = f
	}
	if st.modified, err = s.modifiedOf(ctx, []int64{p.ID}, vs); err != nil {
		return nil, err
	}
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
		st.metas[i] = m
		if m.Source != nil && !slices.Contains(st.repoIDs, m.Source.RepoID) {
			st.repoIDs = append(st.repoIDs, m.Source.RepoID)
		}
	}
	return st, nil
}

// Versions returns a package's p2 document: its version objects, highest
// first, built without the cache (P2Ref and P2 serve it from the cache).
// Each object is the registry's fields and then the stored composer.json's
// other fields, copied as bytes in their stored order (jsonobject), each
// key once: a field both have is the registry's.
//
// A version registered from git names its repository in "source" only to
// a caller who may read that repository, checked on its own (it may be
// another owner's, and private: readers of the package are not readers of
// the repository); "dist" serves everyone who may read the package. The
// body therefore depends on the caller.
func (s *Service) Versions(ctx context.Context, a *packages_service.Access, opts VersionsOptions) ([]byte, time.Time, error) {
	p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeComposer, opts.Name)
	if err != nil {
		return nil, time.Time{}, err
	}
	st, err := s.loadP2(ctx, p, opts.Dev)
	if err != nil {
		return nil, time.Time{}, err
	}
	readable, err := s.readableSources(ctx, a, st.repoIDs, opts.Sources)
	if err != nil {
		return nil, time.Time{}, err
	}
	body, err := s.buildP2(ctx, st, readable, opts.FilesBase)
	if err != nil {
		return nil, time.Time{}, err
	}
	return body, st.modified, nil
}

// readableSources is the source repositories the caller may read (one
// check for all of them), none when the caller's credentials do not reach
// repositories.
func (s *Service) readableSources(ctx context.Context, a *packages_service.Access, repoIDs []int64, sources bool) (map[int64]*repo_service.Context, error) {
	if !sources || len(repoIDs) == 0 {
		return map[int64]*repo_service.Context{}, nil
	}
	return s.d.Packages.ReadableRepositories(ctx, a.Doer, repoIDs)
}

// P2Ref names the p2 document a request gets, before it is built.
type P2Ref struct {
	// ETag names the package's change stamp and the caller's copy.
	ETag string
	// Modified is the document's Last-Modified.
	Modified time.Time
	key      string
	st       *p2State // when P2Ref had to read it
	readable map[int64]*repo_service.Context
	opts     VersionsOptions
}

// P2Ref reads the package's change stamp and decides the caller's copy:
// which of the document's source repositories the caller may read, with
// their clone URLs as they are now, are part of the key (so a repository
// renamed, made private or a permission changed gives another copy, with
// nothing to invalidate). The document's source repositories are kept
// under the stamp, so this costs the package's row and the readability
// check, never the versions, once the process has seen the stamp.
func (s *Service) P2Ref(ctx context.Context, a *packages_service.Access, opts VersionsOptions) (*P2Ref, error) {
	p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeComposer, opts.Name)
	if err != nil {
		return nil, err
	}
	base := fmt.Sprintf("composer-p2/%d/%d/%d/%t/%s", p.ID, p.CreatedUnix, p.Stamp, opts.Dev, opts.FilesBase)
	ref := &P2Ref{opts: opts}
	var info *p2Info
	if d, ok := s.d.Documents.Get(base + "/info"); ok {
		info = d.Meta.(*p2Info)
	} else {
		if ref.st, err = s.loadP2(ctx, p, opts.Dev); err != nil {
			return nil, err
		}
		info = &p2Info{repoIDs: ref.st.repoIDs, modified: ref.st.modified}
		s.d.Documents.Put(base+"/info", &doccache.Document{Meta: info, MetaSize: 64 + 8*int64(cap(info.repoIDs))})
	}
	if ref.readable, err = s.readableSources(ctx, a, info.repoIDs, opts.Sources); err != nil {
		return nil, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "sources=%t", opts.Sources)
	ids := slices.Sorted(maps.Keys(ref.readable))
	for _, id := range ids {
		fmt.Fprintf(h, "\x00%d=%s", id, s.d.Repos.CloneURL(ref.readable[id].Repo))
	}
	ref.key = base + "/" + hex.EncodeToString(h.Sum(nil)[:16])
	ref.ETag, ref.Modified = doccache.ETag(ref.key), info.modified
	return ref, nil
}

// P2 is the document ref names: from the process's cache, or built (to be
// kept once sent: doccache.Document.Keep). The document is read after the stamp in ref: it is that stamp's
// state or a later one, which a client holding ref's ETag fetches again
// after the next change anyway. Its Modified is the one of the state it
// was built from.
func (s *Service) P2(ctx context.Context, a *packages_service.Access, ref *P2Ref) (*doccache.Document, error) {
	if d, ok := s.d.Documents.Get(ref.key); ok {
		return d, nil
	}
	st := ref.st
	if st == nil {
		p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeComposer, ref.opts.Name)
		if err != nil {
			return nil, err
		}
		if st, err = s.loadP2(ctx, p, ref.opts.Dev); err != nil {
			return nil, err
		}
	}
	body, err := s.buildP2(ctx, st, ref.readable, ref.opts.FilesBase)
	if err != nil {
		return nil, err
	}
	return s.d.Documents.Build(ref.key, append(body, '\n'), ref.ETag, st.modified), nil // kept once sent
}

// buildP2 encodes a p2 document showing the sources in readable.
func (s *Service) buildP2(ctx context.Context, st *p2State, readable map[int64]*repo_service.Context, filesBase string) ([]byte, error) {
	p, vs := st.p, st.vs
	var err error
	var merger jsonobject.Merger
	size := 0
	for _, v := range vs {
		size += len(v.MetadataJSON) + 256
	}
	objects := make([]byte, 0, size)
	var ends []int
	for i, v := range vs {
		m := st.metas[i]
		if m == nil {
			continue
		}
		f := st.fileOf[v.ID]
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
		return nil, packages_model.ErrPackageNotExist
	}
	doc := composer_module.Metadata{Packages: composer_module.PackageVersions{Name: p.LowerName, Versions: make([]json.RawMessage, len(ends))}}
	start := 0
	for i, end := range ends {
		doc.Packages.Versions[i] = objects[start:end]
		start = end
	}
	return doc.AppendJSON(make([]byte, 0, len(objects)+len(ends)+64)), nil
}

// IndexRef names an owner's packages.json as a request gets it, before it
// is built: the owner's Composer serial (moved by every change of a
// Composer package of the owner, a package's creation and removal among
// them) and the URLs in it.
type IndexRef struct {
	ETag string
	key  string
	base string
}

// IndexRef reads the owner's serial: one query.
func (s *Service) IndexRef(ctx context.Context, a *packages_service.Access, base string) (*IndexRef, error) {
	st, err := composer_model.GetOwnerStamp(ctx, s.d.DB.Engine(), a.Owner.ID)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("composer-index/%d/%d/%d/%s", a.Owner.ID, a.Owner.CreatedUnix, st.Serial, base)
	return &IndexRef{ETag: doccache.ETag(key), key: key, base: base}, nil
}

// Index is the packages.json ref names, from the cache or built (to be
// kept once sent); its Modified is the newest change of the owner's
// Composer packages.
func (s *Service) Index(ctx context.Context, a *packages_service.Access, ref *IndexRef) (*doccache.Document, error) {
	if d, ok := s.d.Documents.Get(ref.key); ok {
		return d, nil
	}
	names, modified, err := s.Names(ctx, a, "")
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(composer_module.ServiceIndex{
		Packages:          []json.RawMessage{},
		MetadataURL:       ref.base + "p2/%package%.json",
		AvailablePackages: names,
		Search:            ref.base + "search.json?q=%query%&type=%type%",
		List:              ref.base + "list.json",
		NotifyBatch:       ref.base + "downloads",
	})
	if err != nil {
		return nil, err
	}
	return s.d.Documents.Build(ref.key, append(body, '\n'), ref.ETag, modified), nil // kept once sent
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
