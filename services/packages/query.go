package packages

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"
	"wharf/modules/validation"

	"wharf/models/db"
	"wharf/models/organization"
	packages_model "wharf/models/packages"
	repo_model "wharf/models/repo"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/storage"
	repo_service "wharf/services/repository"
)

// GetPackage finds a package of the owner.
func (s *Service) GetPackage(ctx context.Context, a *Access, t packages_model.Type, name string) (*packages_model.Package, error) {
	return packages_model.GetPackageByName(ctx, s.d.DB.Engine(), a.Owner.ID, t, name)
}

// GetVersion finds a version of a package of the owner.
func (s *Service) GetVersion(ctx context.Context, a *Access, t packages_model.Type, name, version string) (*packages_model.Package, *packages_model.PackageVersion, error) {
	p, err := s.GetPackage(ctx, a, t, name)
	if err != nil {
		return nil, nil, err
	}
	pv, err := packages_model.GetVersion(ctx, s.d.DB.Engine(), p.ID, version)
	if err != nil {
		return nil, nil, err
	}
	return p, pv, nil
}

// ListVersions returns every version of a package, highest first by the
// format's version rules.
func (s *Service) ListVersions(ctx context.Context, p *packages_model.Package) ([]*packages_model.PackageVersion, error) {
	vs, err := packages_model.ListVersions(ctx, s.d.DB.Engine(), p.ID)
	if err != nil {
		return nil, err
	}
	f := s.formats.of(p.Type)
	slices.SortStableFunc(vs, func(a, b *packages_model.PackageVersion) int { return f.CompareVersions(b.Version, a.Version) })
	return vs, nil
}

// LatestPicker is a format's optional hook for its clients' own rule of
// "latest" where it is not simply the highest version (Go's @latest: the
// highest release, else pre-release, else pseudo-version). vs is highest
// first and not empty.
type LatestPicker interface {
	PickLatest(vs []*packages_model.PackageVersion) *packages_model.PackageVersion
}

// Latest returns the highest version by the format's rules (never the
// last uploaded), or the format's own pick (LatestPicker).
func (s *Service) Latest(ctx context.Context, p *packages_model.Package) (*packages_model.PackageVersion, error) {
	vs, err := s.ListVersions(ctx, p)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, packages_model.ErrVersionNotExist
	}
	if lp, ok := s.formats.of(p.Type).(LatestPicker); ok {
		return lp.PickLatest(vs), nil
	}
	return vs[0], nil
}

// SearchVersions lists an owner's package versions for the API: two
// queries per page, whatever the number of packages.
func (s *Service) SearchVersions(ctx context.Context, a *Access, opts packages_model.SearchOptions) ([]*packages_model.VersionRow, int64, error) {
	opts.OwnerID = a.Owner.ID
	return packages_model.SearchVersions(ctx, s.d.DB.Engine(), opts)
}

// ListFiles lists a version's files with their blobs.
func (s *Service) ListFiles(ctx context.Context, pv *packages_model.PackageVersion) ([]*packages_model.FileRow, error) {
	return packages_model.ListFiles(ctx, s.d.DB.Engine(), pv.ID)
}

// LinkedRepository returns the repository a package is linked to as doer
// sees it, or nil when there is none or doer may not read it. The package
// may be linked to a repository of another owner (npm and Composer link a
// package to its source), so seeing the package says nothing about the
// repository: it is checked on its own, against its own owner and privacy.
func (s *Service) LinkedRepository(ctx context.Context, doer *user_model.User, p *packages_model.Package) (*repo_service.Context, error) {
	if p.RepoID == 0 {
		return nil, nil
	}
	readable, err := s.ReadableRepositories(ctx, doer, []int64{p.RepoID})
	if err != nil {
		return nil, err
	}
	return readable[p.RepoID], nil
}

// ReadableRepositories returns, of the repositories with the given ids,
// those doer may read, each with doer's mode on it; a missing id is left
// out. Whatever a package document shows of a repository (a link, a
// source URL) must come through here: the package's readers are not the
// repository's.
func (s *Service) ReadableRepositories(ctx context.Context, doer *user_model.User, ids []int64) (map[int64]*repo_service.Context, error) {
	if len(ids) == 0 {
		return map[int64]*repo_service.Context{}, nil
	}
	repos, err := repo_model.GetRepositoriesByIDs(ctx, s.d.DB.Engine(), ids)
	if err != nil {
		return nil, err
	}
	return s.readableRepos(ctx, doer, nil, repos)
}

// readableRepos keeps the repositories doer may read, each with doer's mode
// on it, judged by the repository's own owner and privacy (never by the
// package's owner). known holds owners already loaded; the others are
// loaded in one query. Roles are per owner, so the permission is decided
// once per owner and privacy, whatever the number of repositories.
func (s *Service) readableRepos(ctx context.Context, doer *user_model.User, known map[int64]*user_model.User, repos map[int64]*repo_model.Repository) (map[int64]*repo_service.Context, error) {
	out := map[int64]*repo_service.Context{}
	if len(repos) == 0 {
		return out, nil
	}
	owners := map[int64]*user_model.User{}
	var missing []int64
	for _, r := range repos {
		if o, ok := known[r.OwnerID]; ok {
			owners[r.OwnerID] = o
		} else if _, ok := owners[r.OwnerID]; !ok {
			owners[r.OwnerID] = nil
			missing = append(missing, r.OwnerID)
		}
	}
	if len(missing) > 0 {
		loaded, err := user_model.GetUsersByIDs(ctx, s.d.DB.Engine(), missing)
		if err != nil {
			return nil, err
		}
		for id, o := range loaded {
			owners[id] = o
		}
	}
	type key struct {
		owner   int64
		private bool
	}
	modes := map[key]repo_service.Mode{}
	for id, r := range repos {
		owner := owners[r.OwnerID]
		if owner == nil {
			continue // an owner being deleted: nothing to show
		}
		k := key{r.OwnerID, r.IsPrivate}
		m, ok := modes[k]
		if !ok {
			var err error
			if m, err = s.d.Repos.Permission(ctx, doer, owner, &repo_model.Repository{OwnerID: r.OwnerID, IsPrivate: r.IsPrivate}); err != nil {
				return nil, err
			}
			modes[k] = m
		}
		if m >= repo_service.ModeRead {
			out[id] = &repo_service.Context{Repo: r, Owner: owner, Mode: m}
		}
	}
	return out, nil
}

// Download is a file opened for download: either Content to serve, or a
// RedirectURL when the storage serves directly.
type Download struct {
	Version     *packages_model.PackageVersion
	File        *packages_model.PackageFile
	Blob        *packages_model.PackageBlob
	Content     storage.Object
	RedirectURL *url.URL
}

// OpenFile opens a file of a version for download. countDownload (a GET,
// not a HEAD) adds one to the version's downloads when the file is the
// version's lead file.
func (s *Service) OpenFile(ctx context.Context, a *Access, t packages_model.Type, name, version, filename, compositeKey string, countDownload bool) (*Download, error) {
	_, pv, err := s.GetVersion(ctx, a, t, name, version)
	if err != nil {
		return nil, err
	}
	return s.OpenVersionFile(ctx, pv, filename, compositeKey, countDownload)
}

// OpenVersionFile is OpenFile for a version the caller already has.
func (s *Service) OpenVersionFile(ctx context.Context, pv *packages_model.PackageVersion, filename, compositeKey string, countDownload bool) (*Download, error) {
	pf, err := packages_model.GetFile(ctx, s.d.DB.Engine(), pv.ID, filename, compositeKey)
	if err != nil {
		return nil, err
	}
	return s.openFile(ctx, pv, pf, countDownload)
}

// OpenVersionFileByID is OpenVersionFile for a file named by its id (the
// web pages' download links, Gitea's /files/{id}); a file of another
// version is not found.
func (s *Service) OpenVersionFileByID(ctx context.Context, pv *packages_model.PackageVersion, fileID int64, countDownload bool) (*Download, error) {
	pf, err := packages_model.GetFileOfVersion(ctx, s.d.DB.Engine(), pv.ID, fileID)
	if err != nil {
		return nil, err
	}
	return s.openFile(ctx, pv, pf, countDownload)
}

// openFile opens pf of pv and counts the download when asked.
func (s *Service) openFile(ctx context.Context, pv *packages_model.PackageVersion, pf *packages_model.PackageFile, countDownload bool) (*Download, error) {
	e := s.d.DB.Engine()
	blob, err := packages_model.GetBlobByID(ctx, e, pf.BlobID)
	if err != nil {
		return nil, err
	}
	d := &Download{Version: pv, File: pf, Blob: blob}
	if d.RedirectURL, err = s.d.Store.URL(ctx, blob.HashSHA256, pf.Name, 5*time.Minute); err != nil {
		return nil, fmt.Errorf("presign download: %w", err)
	}
	if d.RedirectURL == nil {
		if d.Content, err = s.d.Store.Open(ctx, blob.HashSHA256); err != nil {
			if errors.Is(err, storage.ErrNotExist) {
				return nil, fmt.Errorf("blob %s of %s is missing from storage: %w", blob.HashSHA256, pf.Name, err)
			}
			return nil, fmt.Errorf("open package file: %w", err)
		}
	}
	if countDownload && pf.IsLead {
		if err := packages_model.IncrementDownloads(ctx, e, pv.ID); err != nil {
			s.d.Log.WarnContext(ctx, "count download", "version", pv.ID, "err", err)
		}
	}
	return d, nil
}

// Link links a package to a repository of the same owner.
func (s *Service) Link(ctx context.Context, a *Access, p *packages_model.Package, repoName string) error {
	if err := a.RequireWrite(); err != nil {
		return err
	}
	rc, err := s.d.Repos.Get(ctx, a.Doer, a.Owner.Name, repoName)
	if err != nil {
		return err
	}
	if rc.Repo.OwnerID != p.OwnerID {
		return apperr.New(apperr.Unprocessable, "a package can only be linked to a repository of its owner")
	}
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		return packages_model.SetRepositoryLink(ctx, tx, p.ID, rc.Repo.ID)
	})
}

// Unlink removes a package's repository link.
func (s *Service) Unlink(ctx context.Context, a *Access, p *packages_model.Package) error {
	if err := a.RequireWrite(); err != nil {
		return err
	}
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		return packages_model.SetRepositoryLink(ctx, tx, p.ID, 0)
	})
}

// Listing is what the API shows with a page of versions: their packages'
// creators and the linked repositories the viewer may read, loaded with a
// fixed number of queries.
type Listing struct {
	Creators map[int64]*user_model.User
	Repos    map[int64]*repo_service.Context
}

// LoadListing loads the creators and linked repositories of rows.
func (s *Service) LoadListing(ctx context.Context, a *Access, rows []*packages_model.VersionRow) (*Listing, error) {
	var creatorIDs, repoIDs []int64
	for _, r := range rows {
		creatorIDs = append(creatorIDs, r.PackageVersion.CreatorID)
		if r.Package.RepoID != 0 {
			repoIDs = append(repoIDs, r.Package.RepoID)
		}
	}
	e := s.d.DB.Engine()
	creators, err := user_model.GetUsersByIDs(ctx, e, creatorIDs)
	if err != nil {
		return nil, err
	}
	repos, err := repo_model.GetRepositoriesByIDs(ctx, e, repoIDs)
	if err != nil {
		return nil, err
	}
	// A package may be linked to a repository of another owner: each
	// repository is checked on its own, not by the package's owner.
	readable, err := s.readableRepos(ctx, a.Doer, map[int64]*user_model.User{a.Owner.ID: a.Owner}, repos)
	if err != nil {
		return nil, err
	}
	return &Listing{Creators: creators, Repos: readable}, nil
}

// PackageSummary is a package as a list shows it.
type PackageSummary struct {
	Package *packages_model.Package
	Owner   *user_model.User
	// Latest is the version the format's clients install by default
	// (npm's latest dist-tag; else the highest stable version by the
	// format's rules), nil when there is none.
	Latest *packages_model.PackageVersion
	// Updated is the newest version's upload (unix seconds).
	Updated  int64
	Versions int
	// Repository is the linked repository when it was asked for and the
	// viewer may read it.
	Repository *repo_service.Context
}

// summarize loads the versions (without metadata), owners and, when repos
// is set, the readable linked repositories of ps: a fixed number of
// queries for the page, each binding the page's packages (at most a
// page), never their versions; the version heads (no metadata) are read
// as rows, since the latest is chosen by the format's order in Go.
func (s *Service) summarize(ctx context.Context, doer *user_model.User, ps []*packages_model.Package, repos bool) ([]PackageSummary, error) {
	e := s.d.DB.Engine()
	ids, ownerIDs, repoIDs := make([]int64, len(ps)), []int64{}, []int64{}
	for i, p := range ps {
		ids[i] = p.ID
		ownerIDs = append(ownerIDs, p.OwnerID)
		if p.RepoID != 0 {
			repoIDs = append(repoIDs, p.RepoID)
		}
	}
	heads, err := packages_model.ListVersionHeadsOf(ctx, e, ids)
	if err != nil {
		return nil, err
	}
	owners, err := user_model.GetUsersByIDs(ctx, e, ownerIDs)
	if err != nil {
		return nil, err
	}
	readable := map[int64]*repo_service.Context{}
	if repos {
		if readable, err = s.ReadableRepositories(ctx, doer, repoIDs); err != nil {
			return nil, err
		}
	}
	byPackage := map[int64][]*packages_model.PackageVersion{}
	for _, v := range heads {
		byPackage[v.PackageID] = append(byPackage[v.PackageID], v)
	}
	defaults, err := s.defaultVersions(ctx, e, ps, byPackage)
	if err != nil {
		return nil, err
	}
	out := make([]PackageSummary, 0, len(ps))
	for _, p := range ps {
		sum := PackageSummary{Package: p, Owner: owners[p.OwnerID], Repository: readable[p.RepoID]}
		if sum.Owner == nil {
			continue // deleted meanwhile
		}
		sum.Latest = defaults[p.ID]
		for _, v := range byPackage[p.ID] {
			sum.Versions++
			sum.Updated = max(sum.Updated, v.CreatedUnix)
		}
		out = append(out, sum)
	}
	return out, nil
}

// checkText refuses a search word the database cannot compare (invalid
// UTF-8, NUL: PostgreSQL refuses them in text).
func checkText(q string) error {
	if !validation.StorableText(q) {
		return apperr.New(apperr.Invalid, "the search keyword must be UTF-8 text without NUL bytes")
	}
	return nil
}

// OwnerPackagesOptions filters SearchOwnerPackages.
type OwnerPackagesOptions struct {
	db.ListOptions
	Type  packages_model.Type // "" for every type
	Query string
	// Repos shows the linked repositories the doer may read.
	Repos bool
}

// SearchOwnerPackages lists one page of the owner's packages (one row per
// package, with its latest version by the format's rules), and the total.
func (s *Service) SearchOwnerPackages(ctx context.Context, a *Access, opts OwnerPackagesOptions) ([]PackageSummary, int64, error) {
	if err := checkText(opts.Query); err != nil {
		return nil, 0, err
	}
	ps, total, err := packages_model.SearchOwnerPackages(ctx, s.d.DB.Engine(), packages_model.OwnerPackagesOptions{
		ListOptions: opts.ListOptions, OwnerID: a.Owner.ID, Type: opts.Type, Query: opts.Query})
	if err != nil {
		return nil, 0, err
	}
	out, err := s.summarize(ctx, a.Doer, ps, opts.Repos)
	return out, total, err
}

// viewerOf is doer's view for cross-owner listings.
func (s *Service) viewerOf(ctx context.Context, doer *user_model.User) (packages_model.Viewer, error) {
	if doer == nil {
		return packages_model.Viewer{}, nil
	}
	ids, err := organization.OrgIDsOf(ctx, s.d.DB.Engine(), doer.ID)
	if err != nil {
		return packages_model.Viewer{}, err
	}
	return packages_model.Viewer{ID: doer.ID, Admin: doer.IsAdmin, OrgIDs: ids}, nil
}

// RecentPackages lists the packages doer may see whose newest version is
// the most recent, newest first.
func (s *Service) RecentPackages(ctx context.Context, doer *user_model.User, limit int) ([]PackageSummary, error) {
	v, err := s.viewerOf(ctx, doer)
	if err != nil {
		return nil, err
	}
	ps, err := packages_model.ListRecentPackages(ctx, s.d.DB.Engine(), v, limit)
	if err != nil {
		return nil, err
	}
	return s.summarize(ctx, doer, ps, false)
}

// RepositoryPackages lists one page of the packages linked to a
// repository the doer reads (rc comes from Repos.Get, which checked it),
// of owners the doer may see (a package of another owner may link to
// it), and the total.
func (s *Service) RepositoryPackages(ctx context.Context, doer *user_model.User, rc *repo_service.Context, opts db.ListOptions) ([]PackageSummary, int64, error) {
	if rc.Mode < repo_service.ModeRead {
		return nil, 0, apperr.New(apperr.NotFound, "repository does not exist")
	}
	v, err := s.viewerOf(ctx, doer)
	if err != nil {
		return nil, 0, err
	}
	ps, total, err := packages_model.SearchRepoPackages(ctx, s.d.DB.Engine(), packages_model.RepoPackagesOptions{ListOptions: opts, RepoID: rc.Repo.ID, Viewer: v})
	if err != nil {
		return nil, 0, err
	}
	out, err := s.summarize(ctx, doer, ps, false)
	return out, total, err
}
