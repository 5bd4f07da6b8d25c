package npm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"time"

	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/doccache"
	packages_module "wharf/modules/packages"
	"wharf/modules/packages/jsonobject"
	npm_module "wharf/modules/packages/npm"
	packages_service "wharf/services/packages"
)

// Packument is a package document ready to send.
type Packument struct {
	Body []byte // JSON
	ETag string // quoted
}

// PackumentOptions say how a package document is written for one
// request.
type PackumentOptions struct {
	// TarballBase is the URL tarballs are served under, ending in "/"
	// ("…/npm/").
	TarballBase string
	// NoReplyDomain is the domain of the addresses shown instead of real
	// ones (see ShownEmail).
	NoReplyDomain string
	// Abbreviated asks for the install document instead of the full one.
	Abbreviated bool
}

// view is a package's state as one caller sees it: everything a document
// is made of.
type view struct {
	name     string
	st       *state
	tags     map[string]string // with "latest" always set
	creators map[int64]*user_model.User
	email    func(u *user_model.User) string
	o        PackumentOptions
}

// loadView reads what the package's documents are made of: a fixed number
// of queries, however many versions the package has.
func (s *Service) loadView(ctx context.Context, a *packages_service.Access, name string, o PackumentOptions) (*view, error) {
	p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeNpm, name)
	if err != nil {
		return nil, err
	}
	return s.loadViewOf(ctx, a.Doer, p, name, o)
}

// loadViewOf is loadView for a package already read, as viewer (nil:
// anonymous) sees it.
func (s *Service) loadViewOf(ctx context.Context, viewer *user_model.User, p *packages_model.Package, name string, o PackumentOptions) (*view, error) {
	e := s.d.DB.Engine()
	st, err := loadState(ctx, e, p)
	if err != nil {
		return nil, err
	}
	vs := st.versions // ascending, as npm lists them
	if len(vs) == 0 {
		return nil, packages_model.ErrPackageNotExist
	}
	tags := maps.Clone(st.tags)
	if _, ok := tags["latest"]; !ok {
		tags["latest"] = highestStable(vs)
	}
	creatorIDs := make([]int64, len(vs))
	for i, v := range vs {
		creatorIDs[i] = v.CreatorID
	}
	creators, err := user_model.GetUsersByIDs(ctx, e, creatorIDs)
	if err != nil {
		return nil, err
	}
	email := func(u *user_model.User) string { return ShownEmail(u, viewer, o.NoReplyDomain) }
	return &view{name: name, st: st, tags: tags, creators: creators, email: email, o: o}, nil
}

// version is the registry's part of a version's object; abbreviated
// leaves out what only the full documents carry.
func (vw *view) version(v *packages_model.PackageVersion, abbreviated bool) *npm_module.Version {
	out := &npm_module.Version{Name: vw.name, Version: v.Version,
		Dist: npm_module.VersionDist{Tarball: vw.o.TarballBase + vw.name + "/-/" + npm_module.TarballName(vw.name, v.Version)}}
	if d := vw.st.digests[v.ID]; d != nil {
		out.Dist.Shasum, out.Dist.Integrity = d.HashSHA1, npm_module.Integrity(d.HashSHA512)
	}
	if !abbreviated {
		out.ID = vw.name + "@" + v.Version
		if c, ok := vw.creators[v.CreatorID]; ok {
			out.NpmUser = &npm_module.Person{Name: c.Name, Email: vw.email(c)}
		}
	}
	return out
}

// GetPackument builds the package document: the full one, or the
// abbreviated install document. It costs a fixed number of queries,
// however many versions the package has.
//
// Each version's manifest is stored as published; its object is the
// registry's fields and then the manifest's other fields, copied as bytes
// (jsonobject), each key once: a thousand manifests are not decoded and
// encoded again.
func (s *Service) GetPackument(ctx context.Context, a *packages_service.Access, name string, o PackumentOptions) (*Packument, error) {
	vw, err := s.loadView(ctx, a, name, o)
	if err != nil {
		return nil, err
	}
	body, err := s.buildPackument(ctx, vw, name, o)
	if err != nil {
		return nil, err
	}
	return &Packument{Body: body, ETag: etag(body)}, nil
}

// DocumentRef names the document a request gets, before it is built: the
// package at its change stamp, seen by whom. Its ETag answers a
// revalidation without building anything.
type DocumentRef struct {
	ETag string
	key  string
	name string
	p    *packages_model.Package
	o    PackumentOptions
	// viewer is whom the copy is built for: nil for the public copy,
	// whoever asks (so that no caller's own address can end up in the
	// copy everyone gets, whatever happened since the choice was made).
	viewer *user_model.User
}

// PackumentRef reads the package's change stamp and decides whose copy
// the caller gets: the abbreviated document is the same for everyone; the
// full one shows creators' addresses, the real one only to the user
// itself and to administrators (ShownEmail), so administrators get their
// copy, a creator of one of the versions their own, and everyone else the
// public one. One query, two for a signed-in caller who is not an
// administrator.
func (s *Service) PackumentRef(ctx context.Context, a *packages_service.Access, name string, o PackumentOptions) (*DocumentRef, error) {
	p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeNpm, name)
	if err != nil {
		return nil, err
	}
	return s.PackumentRefOf(ctx, a, p, name, o)
}

// PackumentRefOf is PackumentRef for a package the caller already read
// through a (a virtual registry's resolution reads it).
func (s *Service) PackumentRefOf(ctx context.Context, a *packages_service.Access, p *packages_model.Package, name string, o PackumentOptions) (*DocumentRef, error) {
	kind, copyOf := "npm-full", "public"
	var viewer *user_model.User
	if o.Abbreviated {
		kind = "npm-abbreviated"
	} else if a.Doer != nil && a.Doer.IsAdmin {
		copyOf, viewer = "admin", a.Doer // every address real: one copy for every administrator
	} else if a.Doer != nil {
		own, err := s.isCreator(ctx, p, a.Doer.ID)
		if err != nil {
			return nil, err
		}
		if own {
			copyOf, viewer = "user-"+strconv.FormatInt(a.Doer.ID, 10), a.Doer
		}
	}
	// The URLs and the no-reply domain are fixed per process but may
	// differ between processes (and owners get renamed): they are part of
	// the key, so also of the ETag.
	key := fmt.Sprintf("%s/%d/%d/%d/%s/%s %s", kind, p.ID, p.CreatedUnix, p.Stamp, copyOf, o.TarballBase, o.NoReplyDomain)
	// The document names the package as stored, whatever spelling was
	// asked for: the copy is shared by every request of the key.
	return &DocumentRef{ETag: doccache.ETag(key), key: key, name: p.Name, p: p, o: o, viewer: viewer}, nil
}

// creatorsKey names the creators of a package's versions at a stamp in
// the cache (kept by the builds of the full document).
func creatorsKey(p *packages_model.Package) string {
	return fmt.Sprintf("npm-creators/%d/%d/%d", p.ID, p.CreatedUnix, p.Stamp)
}

// isCreator reports whether the user created a version of p: from the
// creators a build at p's stamp kept, else one query. A build reads after
// the stamp, so the set may be of a later state: a caller told wrong gets
// the public copy, or a copy of their own showing no address of theirs,
// and never anyone else's address.
func (s *Service) isCreator(ctx context.Context, p *packages_model.Package, userID int64) (bool, error) {
	if d, ok := s.d.Documents.Get(creatorsKey(p)); ok {
		return d.Meta.(map[int64]bool)[userID], nil
	}
	return packages_model.HasVersionByCreator(ctx, s.d.DB.Engine(), p.ID, userID)
}

// Packument is the document ref names: from the process's cache, or built
// (to be kept once sent: doccache.Document.Keep). The document is read after the stamp in ref: it is that
// stamp's state or a later one, which a client holding ref's ETag fetches
// again after the next change anyway.
func (s *Service) Packument(ctx context.Context, a *packages_service.Access, ref *DocumentRef) (*doccache.Document, error) {
	if d, ok := s.d.Documents.Get(ref.key); ok {
		return d, nil
	}
	vw, err := s.loadViewOf(ctx, ref.viewer, ref.p, ref.name, ref.o)
	if err != nil {
		return nil, err
	}
	if !ref.o.Abbreviated {
		creators := make(map[int64]bool, len(vw.creators))
		for _, v := range vw.st.versions {
			creators[v.CreatorID] = true
		}
		// A map's entry costs some 40 bytes with its share of buckets.
		s.d.Documents.Put(creatorsKey(ref.p), &doccache.Document{Meta: creators, MetaSize: 48 + 40*int64(len(creators))})
	}
	body, err := s.buildPackument(ctx, vw, ref.name, ref.o)
	if err != nil {
		return nil, err
	}
	return s.d.Documents.Build(ref.key, body, ref.ETag, time.Time{}), nil // kept once sent
}

// buildPackument encodes the document of a view.
func (s *Service) buildPackument(ctx context.Context, vw *view, name string, o PackumentOptions) ([]byte, error) {
	var err error
	vs := vw.st.versions
	var keep map[string]bool
	if o.Abbreviated {
		keep = npm_module.AbbreviatedFields
	}
	var m jsonobject.Merger
	size := 0
	for _, v := range vs {
		size += len(v.MetadataJSON) + 256
	}
	objects := make([]byte, 0, size)
	ends := make([]int, len(vs))
	var created, modified int64
	var latest *packages_model.PackageVersion
	var maintainers []npm_module.Person
	seen := map[int64]bool{}
	for i, v := range vs {
		if v.Version == vw.tags["latest"] {
			latest = v
		}
		if objects, err = vw.version(v, o.Abbreviated).AppendMerged(&m, objects, []byte(v.MetadataJSON), keep); err != nil {
			return nil, fmt.Errorf("stored manifest of %s@%s: %w", name, v.Version, err)
		}
		ends[i] = len(objects)
		if created == 0 || v.CreatedUnix < created {
			created = v.CreatedUnix
		}
		modified = max(modified, v.CreatedUnix)
		if c, ok := vw.creators[v.CreatorID]; ok && !seen[c.ID] {
			seen[c.ID] = true
			maintainers = append(maintainers, npm_module.Person{Name: c.Name, Email: vw.email(c)})
		}
	}
	versions := make(npm_module.Versions, len(vs))
	start := 0
	for i, v := range vs {
		versions[i] = npm_module.VersionObject{Version: v.Version, Object: objects[start:ends[i]]}
		start = ends[i]
	}

	body := make([]byte, 0, len(objects)+len(vs)*64+4096)
	if o.Abbreviated {
		doc := npm_module.Abbreviated{Name: name, Modified: iso(modified), DistTags: vw.tags, Versions: versions}
		body = doc.AppendJSON(body)
	} else {
		doc := npm_module.Packument{ID: name, Rev: vw.st.revision(), Name: name, DistTags: vw.tags, Versions: versions,
			Time: npm_module.Times{Created: iso(created), Modified: iso(modified), Versions: make([]npm_module.VersionTime, len(vs))}}
		for i, v := range vs {
			doc.Time.Versions[i] = npm_module.VersionTime{Version: v.Version, Time: iso(v.CreatedUnix)}
		}
		doc.Maintainers = maintainers
		if doc.Maintainers == nil {
			doc.Maintainers = []npm_module.Person{}
		}
		if latest != nil {
			if err := latestFields(&doc, latest); err != nil {
				return nil, err
			}
			readme, err := packages_model.GetProperty(ctx, s.d.DB.Engine(), packages_model.PropertyTypeVersion, latest.ID, propReadme)
			if err != nil {
				return nil, err
			}
			doc.Readme = readme
		}
		body = doc.AppendJSON(body)
	}
	return body, nil
}

// latestFields copies the latest version's description … author to the
// top of the packument, each key once at every depth.
func latestFields(doc *npm_module.Packument, latest *packages_model.PackageVersion) error {
	if latest.MetadataJSON == "" {
		return nil
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal([]byte(latest.MetadataJSON), &m); err != nil {
		return fmt.Errorf("stored manifest of %s@%s: %w", doc.Name, latest.Version, err)
	}
	for _, k := range npm_module.LatestFields {
		if v, ok := m[k]; ok {
			clean, err := jsonobject.Clean(nil, v)
			if err != nil {
				return fmt.Errorf("stored manifest of %s@%s: %w", doc.Name, latest.Version, err)
			}
			doc.SetLatest(k, clean)
		}
	}
	return nil
}

// GetVersion builds the document of one version (GET /{name}/{version}):
// its object as in the full packument. ref is a version or a dist-tag.
func (s *Service) GetVersion(ctx context.Context, a *packages_service.Access, name, ref string, o PackumentOptions) (*Packument, error) {
	vw, err := s.loadView(ctx, a, name, o)
	if err != nil {
		return nil, err
	}
	version := ref
	if v, ok := vw.tags[ref]; ok {
		version = v
	}
	for _, v := range vw.st.versions {
		if v.Version != version {
			continue
		}
		var m jsonobject.Merger
		body, err := vw.version(v, false).AppendMerged(&m, nil, []byte(v.MetadataJSON), nil)
		if err != nil {
			return nil, fmt.Errorf("stored manifest of %s@%s: %w", name, v.Version, err)
		}
		return &Packument{Body: body, ETag: etag(body)}, nil
	}
	return nil, apperr.New(apperr.NotFound, "version or dist-tag %q of %s does not exist", ref, name)
}

func etag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// highestStable is the highest release, or the highest version if every
// one is a prerelease (vs ascending).
func highestStable(vs []*packages_model.PackageVersion) string {
	for i := len(vs) - 1; i >= 0; i-- {
		if !packages_module.IsSemverPrerelease(vs[i].Version) {
			return vs[i].Version
		}
	}
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1].Version
}

func iso(unix int64) string { return time.Unix(unix, 0).UTC().Format("2006-01-02T15:04:05.000Z") }
