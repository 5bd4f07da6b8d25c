// Package cargo holds the Cargo registry's rules: publish, the sparse
// index, yank, search, owners, and the optional git index that the system
// writes.
package cargo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"wharf/models/db"
	"wharf/models/organization"
	packages_model "wharf/models/packages"
	cargo_model "wharf/models/packages/cargo"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/doccache"
	cargo_module "wharf/modules/packages/cargo"
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
	// RootURL is the instance's public URL, ending in "/": the git
	// index's config.json names the registry's URLs.
	RootURL string
	// Documents keeps index files in memory (nil: none): the cache every
	// format shares, bounded by [cache] PACKAGE_DOCUMENTS_MEMORY.
	Documents *doccache.Cache
}

// Service implements the Cargo rules.
type Service struct {
	d Deps
	// cache keeps index files by ETag, which names one content of one
	// crate's file for good (it derives from the crate's change serial,
	// which every change moves and every request reads): never stale.
	cache *doccache.Cache // nil: none
	// flight makes concurrent first downloads of one upstream crate
	// version through a virtual registry one fetch.
	flight singleflight.Group
}

// New returns the service.
func New(d Deps) *Service {
	return &Service{d: d, cache: d.Documents}
}

// Base is the URL of an owner's registry: the sparse index root, and the
// web API's base ("api" in config.json, without the trailing slash).
func (s *Service) Base(owner *user_model.User) string {
	return s.d.RootURL + "api/packages/" + url.PathEscape(owner.Name) + "/cargo/"
}

// Config is an index's config.json.
type Config struct {
	DL           string `json:"dl"`
	API          string `json:"api"`
	AuthRequired bool   `json:"auth-required"`
}

// ConfigFor is the owner's config.json: downloads at cargo's default
// path under the API, and auth-required for an owner that not everyone
// may see (cargo then sends its token on index, download and API
// requests).
func (s *Service) ConfigFor(owner *user_model.User) Config {
	base := s.Base(owner)
	return Config{DL: base + "api/v1/crates", API: strings.TrimSuffix(base, "/"), AuthRequired: owner.Visibility != user_model.VisibilityPublic}
}

// Published is what a publish answers: crates.io's warnings, always empty
// here (no categories or badges are checked against a list).
type Published struct {
	Warnings struct {
		InvalidCategories []string `json:"invalid_categories"`
		InvalidBadges     []string `json:"invalid_badges"`
		Other             []string `json:"other"`
	} `json:"warnings"`
}

// Publish handles PUT /api/v1/crates/new: the body is read once, the
// .crate checked as cargo will unpack it, and the version stored with its
// index line in one transaction, which also refuses a name another crate
// holds ('-' and '_' are one, case does not count) and a version that
// differs from a stored one only in build metadata.
func (s *Service) Publish(ctx context.Context, a *packages_service.Access, body io.Reader) (*Published, error) {
	return s.publish(ctx, a, body, nil)
}

// publish is Publish; checkName (nil: none) may refuse the crate's name
// once the metadata is read, before the .crate is.
func (s *Service) publish(ctx context.Context, a *packages_service.Access, body io.Reader, checkName func(name string) error) (*Published, error) {
	if err := a.RequireWrite(); err != nil {
		return nil, err
	}
	meta, crateLen, err := cargo_module.ReadPublishMetadata(body)
	if err != nil {
		return nil, err
	}
	if checkName != nil {
		if err := checkName(meta.Name); err != nil {
			return nil, err
		}
	}
	if limit := s.d.Packages.SizeLimit(packages_model.TypeCargo); limit >= 0 && crateLen > limit {
		return nil, apperr.New(apperr.TooLarge, "the crate is %d bytes, the limit is %d", crateLen, limit)
	}
	// Refusals known before the .crate is read are made before its bytes
	// are stored: nothing removes an unreferenced blob. checkUnique, in
	// the transaction, stays the authority (a publish may race this one).
	if err := precheckUnique(ctx, s.d.DB.Engine(), a.Owner.ID, meta.Name, meta.Vers); err != nil {
		return nil, err
	}
	buf, err := s.d.Packages.NewUploadBuffer(cargo_module.CrateReader(body, crateLen), packages_model.TypeCargo)
	if err != nil {
		return nil, err
	}
	defer buf.Close()
	if err := cargo_module.CheckBodyEnd(body); err != nil {
		return nil, err
	}
	m, err := cargo_module.ParseCrate(buf.Reader(), meta.Name, meta.Vers, cargo_module.DefaultMaxUnpacked)
	if err != nil {
		return nil, err
	}
	if err := meta.CheckManifest(m); err != nil {
		return nil, err
	}
	line := cargo_module.NewIndexLine(meta, buf.Hashes().SHA256, s.d.Now())
	raw, err := line.Marshal()
	if err != nil {
		return nil, err
	}
	description := m.Description
	if description == "" && meta.Description != nil {
		description = *meta.Description
	}
	_, err = s.d.Packages.CreatePackageAndAddFile(ctx,
		&packages_service.VersionInfo{Owner: a.Owner, Creator: a.Doer, Type: packages_model.TypeCargo, Name: meta.Name, Version: meta.Vers,
			RawMetadata: raw, Properties: map[string]string{propDescription: description}, SerializeOwner: true},
		&packages_service.FileInfo{Name: crateFileName(meta.Name, meta.Vers), IsLead: true, Data: buf},
		func(ctx context.Context, tx db.Engine, added *packages_service.Added) error {
			return checkUnique(ctx, tx, a.Owner.ID, meta.Name, added)
		})
	if errors.Is(err, packages_model.ErrVersionExists) {
		return nil, errVersionExists(meta.Vers)
	}
	if err != nil {
		return nil, err
	}
	// Empty lists, not null: the answer crates.io gives.
	res := &Published{}
	res.Warnings.InvalidCategories, res.Warnings.InvalidBadges, res.Warnings.Other = []string{}, []string{}, []string{}
	return res, nil
}

func crateFileName(name, version string) string {
	return strings.ToLower(name) + "-" + version + ".crate"
}

func errVersionExists(version string) error {
	// crates.io's words, which cargo users know.
	return apperr.New(apperr.Conflict, "crate version `%s` is already uploaded", version)
}

// precheckUnique makes checkUnique's checks outside the transaction,
// against what is committed, for a publish of name version.
func precheckUnique(ctx context.Context, e db.Engine, ownerID int64, name, version string) error {
	var pid int64
	p, err := packages_model.GetPackageByName(ctx, e, ownerID, packages_model.TypeCargo, name)
	switch {
	case err == nil:
		if p.Name != name {
			return errPreviouslyNamed(name, p.Name)
		}
		pid = p.ID
	case !errors.Is(err, packages_model.ErrPackageNotExist):
		return err
	}
	other, err := cargo_model.GetPackageByCanonicalName(ctx, e, ownerID, cargo_module.CanonicalName(name), pid)
	switch {
	case err == nil && pid == 0 && other.LowerName == strings.ToLower(name):
		// The crate itself: a racing first publish (here, or on another
		// process) committed it between the two reads. Check against it.
		if other.Name != name {
			return errPreviouslyNamed(name, other.Name)
		}
		pid = other.ID
	case err == nil:
		return errNameTaken(name, other.Name)
	case !errors.Is(err, packages_model.ErrPackageNotExist):
		return err
	}
	if pid == 0 {
		return nil
	}
	vs, err := packages_model.ListVersions(ctx, e, pid)
	if err != nil {
		return err
	}
	key := cargo_module.VersionKey(version)
	for _, v := range vs {
		if v.Version == version {
			return errVersionExists(version)
		}
		if cargo_module.VersionKey(v.Version) == key {
			return errBuildMetadataDuplicate(version, v.Version)
		}
	}
	return nil
}

func errPreviouslyNamed(name, stored string) error {
	return apperr.New(apperr.Conflict, "crate `%s` was previously named `%s`: publish it under that name", name, stored)
}

func errNameTaken(name, other string) error {
	return apperr.New(apperr.Conflict, "crate `%s` is already taken by `%s` ('-' and '_' are the same in crate names, and case does not count)", name, other)
}

func errBuildMetadataDuplicate(version, stored string) error {
	return apperr.New(apperr.Conflict, "crate version `%s` is already uploaded as `%s` (versions differing only in build metadata are the same version)", version, stored)
}

// checkUnique runs in the publish's transaction, under the crate's lock:
// the crate must be the only one of its canonical name and keep the name
// it was first published with (its index file has one spelling, as on
// crates.io), and no other version may equal this one but for build
// metadata.
func checkUnique(ctx context.Context, tx db.Engine, ownerID int64, name string, added *packages_service.Added) error {
	p := added.Package
	if p.Name != name {
		return errPreviouslyNamed(name, p.Name)
	}
	// Two first publishes of "a-b" and "a_b" each insert their own row,
	// which the other cannot see until it commits: the publish holds the
	// owner's lock (VersionInfo.SerializeOwner), so the second looks after
	// the first committed (on PostgreSQL; SQLite writes one transaction at
	// a time anyway).
	other, err := cargo_model.GetPackageByCanonicalName(ctx, tx, ownerID, cargo_module.CanonicalName(p.Name), p.ID)
	if err == nil {
		return errNameTaken(p.Name, other.Name)
	} else if !errors.Is(err, packages_model.ErrPackageNotExist) {
		return err
	}
	vs, err := packages_model.ListVersions(ctx, tx, p.ID)
	if err != nil {
		return err
	}
	key := cargo_module.VersionKey(added.Version.Version)
	for _, v := range vs {
		if v.ID != added.Version.ID && cargo_module.VersionKey(v.Version) == key {
			return errBuildMetadataDuplicate(added.Version.Version, v.Version)
		}
	}
	return nil
}

// IndexFile is one crate's sparse index file, ready to send.
type IndexFile struct {
	// Body is nil when NotModified.
	Body     []byte
	ETag     string // quoted
	Modified time.Time
	// NotModified: the caller's copy is current (Index's current said so),
	// and the body was not read.
	NotModified bool
	// Doc is the file as the document cache keeps it, with its gzip copy
	// (cargo asks with Accept-Encoding: gzip); nil for a file whose
	// validators come from its bytes (no stamp), sent as it is.
	Doc *doccache.Document
}

// Index returns the index file of the crate named name (any case; '-' and
// '_' as published): one line per version in publish order, as stored.
// current is asked with the file's validators before the body is read:
// when it reports the caller's copy current, the file comes back
// NotModified, for two queries whatever the number of versions; a full
// file takes one more, unless the process has it in memory.
func (s *Service) Index(ctx context.Context, a *packages_service.Access, name string, current func(etag string, modified time.Time) bool) (*IndexFile, error) {
	e := s.d.DB.Engine()
	p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeCargo, name)
	if err != nil {
		return nil, err
	}
	raw, err := packages_model.GetProperty(ctx, e, packages_model.PropertyTypePackage, p.ID, propModified)
	if err != nil {
		return nil, err
	}
	st := parseStamp(raw)
	f := &IndexFile{}
	if st.serial > 0 {
		// Every change of the file counts in the stamp (Format.changed),
		// so the ETag is known without the body.
		sum := sha256.Sum256(fmt.Appendf(nil, "%d/%d/%d", p.ID, p.CreatedUnix, st.serial))
		f.ETag, f.Modified = `"`+hex.EncodeToString(sum[:16])+`"`, time.Unix(st.unix, 0).UTC()
		if current(f.ETag, f.Modified) {
			f.NotModified = true
			return f, nil
		}
		if d, ok := s.cache.Get("cargo-index/" + f.ETag); ok {
			f.Body, f.Doc = d.Body, d
			return f, nil
		}
	}
	body, created, err := s.indexBody(ctx, e, p)
	if err != nil {
		return nil, err
	}
	if len(body) == 0 {
		return nil, packages_model.ErrPackageNotExist
	}
	f.Body = body
	if st.serial > 0 {
		// The body was read after the stamp: it is this serial's or a
		// later one's, which a client holding this ETag would fetch again
		// anyway.
		// The request sends it first; its gzip copy is made and the
		// document kept after that (doccache.Build).
		f.Doc = s.cache.Build("cargo-index/"+f.ETag, body, f.ETag, f.Modified)
	}
	if st.serial == 0 {
		// Versions written without the format's hooks (an import): the
		// validators come from the file itself.
		sum := sha256.Sum256(body)
		f.ETag, f.Modified = `"`+hex.EncodeToString(sum[:16])+`"`, time.Unix(max(st.unix, created), 0).UTC()
		if current(f.ETag, f.Modified) {
			return &IndexFile{ETag: f.ETag, Modified: f.Modified, NotModified: true}, nil
		}
	}
	return f, nil
}

// indexBody is a crate's index file, empty when the crate has no version,
// and the creation time of its newest version.
func (s *Service) indexBody(ctx context.Context, e db.Engine, p *packages_model.Package) ([]byte, int64, error) {
	vs, err := cargo_model.ListVersionsInPublishOrder(ctx, e, p.ID)
	if err != nil {
		return nil, 0, err
	}
	var created int64
	size := 0
	for _, v := range vs {
		size += len(v.MetadataJSON) + 1
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	for _, v := range vs {
		buf.WriteString(v.MetadataJSON)
		buf.WriteByte('\n')
		created = max(created, v.CreatedUnix)
	}
	return buf.Bytes(), created, nil
}

// SetYanked handles yank (yanked true) and unyank of a version.
func (s *Service) SetYanked(ctx context.Context, a *packages_service.Access, name, version string, yanked bool) error {
	if err := a.RequireWrite(); err != nil {
		return err
	}
	_, pv, err := s.d.Packages.GetVersion(ctx, a, packages_model.TypeCargo, name, version)
	if err != nil {
		return err
	}
	return s.d.Packages.SetYanked(ctx, a, pv, yanked)
}

// SearchHit is one crate of a search.
type SearchHit struct {
	Name        string `json:"name"`
	MaxVersion  string `json:"max_version"`
	Description string `json:"description"`
}

// Search finds the owner's crates whose name contains q: the highest
// version that is not yanked (the highest of all when every one is) and
// its description. A fixed number of queries, however many crates match.
func (s *Service) Search(ctx context.Context, a *packages_service.Access, q string, perPage, page int) ([]SearchHit, int64, error) {
	perPage = min(max(perPage, 1), 100)
	page = min(max(page, 1), 10000) // a bound keeps the offset an int
	e := s.d.DB.Engine()
	ps, total, err := packages_model.SearchPackages(ctx, e, a.Owner.ID, packages_model.TypeCargo, q, perPage, (page-1)*perPage)
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
	// By the page's crates, not their versions: a crate with thousands of
	// versions must not become thousands of bound ids.
	yanked, err := s.d.Packages.YankedVersionsOfPackages(ctx, e, ids)
	if err != nil {
		return nil, 0, err
	}
	best := map[int64]*packages_model.PackageVersion{}
	better := func(v, cur *packages_model.PackageVersion) bool {
		if yanked[v.ID] != yanked[cur.ID] {
			return !yanked[v.ID]
		}
		return s.d.Packages.Compare(packages_model.TypeCargo, v.Version, cur.Version) > 0
	}
	for _, v := range vs {
		if cur, ok := best[v.PackageID]; !ok || better(v, cur) {
			best[v.PackageID] = v
		}
	}
	bestIDs := make([]int64, 0, len(best))
	for _, v := range best {
		bestIDs = append(bestIDs, v.ID)
	}
	descs, err := packages_model.GetPropertiesOf(ctx, e, packages_model.PropertyTypeVersion, bestIDs, propDescription)
	if err != nil {
		return nil, 0, err
	}
	descOf := map[int64]string{}
	for _, d := range descs {
		descOf[d.RefID] = d.Value
	}
	hits := make([]SearchHit, 0, len(ps))
	for _, p := range ps {
		h := SearchHit{Name: p.Name}
		if v := best[p.ID]; v != nil {
			h.MaxVersion, h.Description = v.Version, descOf[v.ID]
		}
		hits = append(hits, h)
	}
	return hits, total, nil
}

// Owner is one owner of a crate as cargo lists them.
type Owner struct {
	ID    int64   `json:"id"`
	Login string  `json:"login"`
	Name  *string `json:"name"`
}

// Owners lists who may publish the crate: the owner itself for a user's
// registry; for an organisation's, its members with the write or owner
// role. Ownership here follows the owner's package permissions; there is
// no per-crate owner list to drift from them.
//
// An organisation's members are listed only to whom the organisation API
// lists them (its members and administrators, services/org ListMembers);
// anyone else who may read the crates is answered with the organisation
// alone, which is public to them already.
func (s *Service) Owners(ctx context.Context, a *packages_service.Access, name string) ([]Owner, error) {
	if _, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeCargo, name); err != nil {
		return nil, err
	}
	if !a.Owner.IsOrganization() {
		return []Owner{ownerOf(a.Owner)}, nil
	}
	if may, err := s.mayListMembers(ctx, a); err != nil {
		return nil, err
	} else if !may {
		return []Owner{ownerOf(a.Owner)}, nil
	}
	members, _, err := organization.ListMembers(ctx, s.d.DB.Engine(), a.Owner.ID, db.ListOptions{Page: 1, PageSize: 10000})
	if err != nil {
		return nil, err
	}
	out := []Owner{}
	for _, m := range members {
		if m.Role >= organization.RoleWrite {
			out = append(out, ownerOf(m.User))
		}
	}
	return out, nil
}

// mayListMembers is the organisation API's rule for listing members
// (services/org ListMembers): an administrator or a member of any role.
func (s *Service) mayListMembers(ctx context.Context, a *packages_service.Access) (bool, error) {
	if a.Doer == nil {
		return false, nil
	}
	if a.Doer.IsAdmin {
		return true, nil
	}
	role, err := organization.GetRole(ctx, s.d.DB.Engine(), a.Owner.ID, a.Doer.ID)
	return role > organization.RoleNone, err
}

func ownerOf(u *user_model.User) Owner {
	o := Owner{ID: u.ID, Login: u.Name}
	if u.FullName != "" {
		o.Name = &u.FullName
	}
	return o
}

// ChangeOwners answers cargo owner --add/--remove: who may publish
// follows the owner's package permissions, so a login that already has
// them is reported as an owner (add) and the request is otherwise refused
// with what to do instead.
func (s *Service) ChangeOwners(ctx context.Context, a *packages_service.Access, name string, logins []string, add bool) (string, error) {
	if err := a.RequireWrite(); err != nil {
		return "", err
	}
	owners, err := s.Owners(ctx, a, name)
	if err != nil {
		return "", err
	}
	if len(logins) == 0 {
		return "", apperr.New(apperr.Invalid, "name at least one user")
	}
	is := map[string]bool{}
	for _, o := range owners {
		is[strings.ToLower(o.Login)] = true
	}
	for _, l := range logins {
		if add && !is[strings.ToLower(l)] {
			return "", apperr.New(apperr.Invalid, "%s cannot become an owner of %s: on this registry the owners of a crate are whoever may write the packages of %s; %s", l, name, a.Owner.Name, howToShare(a.Owner, l))
		}
		if !add && is[strings.ToLower(l)] {
			return "", apperr.New(apperr.Invalid, "%s stays an owner of %s while they may write the packages of %s; %s", l, name, a.Owner.Name, howToUnshare(a.Owner, l))
		}
	}
	who := "user " + logins[0] + " is"
	if len(logins) > 1 {
		who = "users " + strings.Join(logins, ", ") + " are"
	}
	if add {
		return who + " already an owner of " + name, nil
	}
	return who + " not an owner of " + name, nil
}

// howToShare says how login gets the right to publish the owner's crates.
func howToShare(owner *user_model.User, login string) string {
	if owner.IsOrganization() {
		return "give " + login + " the write or owner role in organisation " + owner.Name + " (PUT /api/v1/orgs/" + owner.Name + "/members/" + login + ")"
	}
	return "only " + owner.Name + " (and the site's administrators) may publish them; to share crates, publish them under an organisation where " + login + " has the write role"
}

// howToUnshare says how login loses the right to publish the owner's
// crates.
func howToUnshare(owner *user_model.User, login string) string {
	if owner.IsOrganization() {
		return "give " + login + " the read role in organisation " + owner.Name + ", or remove them from it"
	}
	return "the owner of a user's crates cannot be removed"
}

// OpenCrate opens a version's .crate for download.
func (s *Service) OpenCrate(ctx context.Context, a *packages_service.Access, name, version string, count bool) (*packages_service.Download, error) {
	p, pv, err := s.d.Packages.GetVersion(ctx, a, packages_model.TypeCargo, name, version)
	if err != nil {
		return nil, err
	}
	return s.d.Packages.OpenVersionFile(ctx, pv, crateFileName(p.Name, pv.Version), "", count)
}
