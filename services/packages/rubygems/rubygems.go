// Package rubygems holds the RubyGems registry's rules: gem push (a .gem
// checked as `gem install` will, stored as a file of its version, one
// file per platform), yank, the sign-in that gives `gem` an API key, and
// the indexes clients resolve from — the compact index (names, versions,
// info/{name}), the Marshal indexes and the quick gemspecs. The compact
// index is kept by the format's hooks (Format) inside every change's
// transaction; everything else is read from it and from the registry.
package rubygems

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	rubygems_model "wharf/models/packages/rubygems"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/doccache"
	rubygems_module "wharf/modules/packages/rubygems"
	packages_service "wharf/services/packages"
	user_service "wharf/services/user"
)

// Deps are the service's dependencies.
type Deps struct {
	DB       *db.DB
	Log      *slog.Logger
	Now      func() time.Time
	Packages *packages_service.Service
	Users    *user_service.Service
	// RootURL is the instance's public URL, ending in "/".
	RootURL string
	// Documents keeps documents in memory (nil: none): the cache every
	// format shares, bounded by [cache] PACKAGE_DOCUMENTS_MEMORY.
	Documents *doccache.Cache
}

// Service implements the RubyGems rules.
type Service struct {
	d Deps
	// cache keeps documents (versions files, info bodies, names and the
	// Marshal indexes) under keys that name one content for good: an info
	// body's MD5, or the versions file's MD5 for what derives from the
	// whole index (every change appends to it, so its MD5 moves with every
	// change). Never stale; the database is read on every request for the
	// current key.
	cache docCache
}

// New returns the service.
func New(d Deps) *Service {
	return &Service{d: d, cache: docCache{d.Documents}}
}

// docCache keeps Documents in the shared cache, under keys of their own,
// counted by their bodies (served as they are: Bundler asks for ranges
// of the versions file, which a gzip copy would not answer).
type docCache struct{ c *doccache.Cache }

func (c docCache) Get(key string) (*Document, bool) {
	d, ok := c.c.Get("rubygems/" + key)
	if !ok {
		return nil, false
	}
	doc, ok := d.Meta.(*Document)
	return doc, ok
}

func (c docCache) Put(key string, d *Document) {
	c.c.Put("rubygems/"+key, &doccache.Document{Body: d.Body, ETag: d.ETag, Modified: d.Modified, Meta: d})
}

// Base is the URL of an owner's gem source, ending in "/": what goes into
// a Gemfile's source, `gem sources` and `gem push --host` (without the
// slash).
func (s *Service) Base(owner *user_model.User) string {
	return s.d.RootURL + "api/packages/" + url.PathEscape(owner.Name) + "/rubygems/"
}

var errFileNotExist = packages_model.ErrFileNotExist

func decodeSpec(raw string) (*rubygems_module.Spec, error) {
	var spec rubygems_module.Spec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		return nil, err
	}
	return &spec, nil
}

// Title is how rubygems.org names a gem version in its answers:
// "hola (1.0.0)", "hola (1.0.0-x86_64-linux)".
func Title(name, version, platform string) string {
	if platform == "" || platform == rubygems_module.PlatformRuby {
		return name + " (" + version + ")"
	}
	return name + " (" + version + "-" + platform + ")"
}

// Push handles gem push: the .gem is read once through the upload buffer
// (which enforces LIMIT_SIZE_RUBYGEMS), checked as `gem install` checks
// it, and stored as the file of its version for its platform, in one
// transaction with the compact index (the format's hooks) and the checks
// that need the gem's lock: the gem keeps the name it was first pushed
// with, a version is not pushed twice under two spellings ("1.0" and
// "1.0.0" are one version to RubyGems), and a yanked version takes no
// new platform.
func (s *Service) Push(ctx context.Context, a *packages_service.Access, body io.Reader) (*rubygems_module.Spec, error) {
	if err := a.RequireWrite(); err != nil {
		return nil, err
	}
	buf, err := s.d.Packages.NewUploadBuffer(body, packages_model.TypeRubyGems)
	if err != nil {
		return nil, err
	}
	defer buf.Close()
	if buf.Size() == 0 {
		return nil, apperr.New(apperr.Invalid, "the request has no .gem in its body")
	}
	spec, err := rubygems_module.ParseGem(buf.Reader(), buf.Size())
	if err != nil {
		return nil, err
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	// What the transaction would refuse for the registry as it is now is
	// refused before the bytes are stored (nothing removes them but the
	// cleanup of unreferenced blobs); the transaction checks again.
	err = s.checkPushNow(ctx, a, spec)
	if err == nil {
		line := rubygems_module.InfoLine(spec.InfoVersion(buf.Hashes().SHA256))
		_, err = s.d.Packages.CreatePackageOrAddFileToExisting(ctx,
			&packages_service.VersionInfo{Owner: a.Owner, Creator: a.Doer, Type: packages_model.TypeRubyGems,
				Name: spec.Name, Version: spec.Version, RawMetadata: specJSON},
			&packages_service.FileInfo{Name: spec.FileName(), IsLead: true, Data: buf,
				Properties: map[string]string{rubygems_model.PropInfo: line, rubygems_model.PropSpec: string(specJSON)}},
			func(ctx context.Context, tx db.Engine, added *packages_service.Added) error {
				return s.checkPush(ctx, tx, a, spec, added)
			})
	}
	if errors.Is(err, packages_model.ErrFileExists) {
		// rubygems.org's words.
		return nil, apperr.New(apperr.Conflict, "Repushing of gem versions is not allowed. %s is already here: push it with a new version number (`gem yank` hides a bad release).", Title(spec.Name, spec.Version, spec.Platform))
	}
	if err != nil {
		return nil, err
	}
	return spec, nil
}

// checkPushNow is checkPush outside the transaction, for the gem and
// version as they are now (nothing when the gem is new).
func (s *Service) checkPushNow(ctx context.Context, a *packages_service.Access, spec *rubygems_module.Spec) error {
	e := s.d.DB.Engine()
	p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeRubyGems, spec.Name)
	if errors.Is(err, packages_model.ErrPackageNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	added := &packages_service.Added{Package: p, Version: &packages_model.PackageVersion{Version: spec.Version}, VersionCreated: true}
	if pv, err := packages_model.GetVersion(ctx, e, p.ID, spec.Version); err == nil {
		added.Version, added.VersionCreated = pv, false
		// A file that is there is the answer first (Push words it).
		if _, err := packages_model.GetFile(ctx, e, pv.ID, spec.FileName(), ""); err == nil {
			return packages_model.ErrFileExists
		} else if !errors.Is(err, packages_model.ErrFileNotExist) {
			return err
		}
	} else if !errors.Is(err, packages_model.ErrVersionNotExist) {
		return err
	}
	return s.checkPush(ctx, e, a, spec, added)
}

// checkPush runs in the push's transaction, under the gem's lock.
func (s *Service) checkPush(ctx context.Context, tx db.Engine, a *packages_service.Access, spec *rubygems_module.Spec, added *packages_service.Added) error {
	if added.Package.Name != spec.Name {
		return apperr.New(apperr.Conflict, "the gem name %q is taken by %q on this registry (gem names that differ only in case are one gem here)", spec.Name, added.Package.Name)
	}
	if added.Version.Version != spec.Version {
		return apperr.New(apperr.Conflict, "%s: version %s of %s is already here (versions that differ only in case are one version here)", Title(spec.Name, spec.Version, spec.Platform), added.Version.Version, spec.Name)
	}
	if !added.VersionCreated {
		yanked, err := packages_model.GetProperty(ctx, tx, packages_model.PropertyTypeVersion, added.Version.ID, packages_service.PropYanked)
		if err != nil {
			return err
		}
		if yanked != "" {
			return apperr.New(apperr.Conflict, "%s %s is yanked: unyank it first (POST %sapi/v1/packages/%s/rubygems/%s/%s/-/unyank) or push a new version",
				spec.Name, spec.Version, s.d.RootURL, url.PathEscape(a.Owner.Name), url.PathEscape(spec.Name), url.PathEscape(spec.Version))
		}
		return nil
	}
	vs, err := rubygems_model.ListOtherVersions(ctx, tx, added.Package.ID, added.Version.ID)
	if err != nil {
		return err
	}
	key := sameVersionKey(spec.Version)
	for _, v := range vs {
		if sameVersionKey(v) == key && rubygems_module.Compare(v, spec.Version) == 0 {
			return apperr.New(apperr.Conflict, "%s is version %s of %s, which is already here (RubyGems takes them for one version)", Title(spec.Name, spec.Version, spec.Platform), v, spec.Name)
		}
	}
	return nil
}

// Yank handles gem yank: the version is hidden from every index (and so
// from installs) through the core's yank, which the packages API can undo
// (…/-/unyank); its files stay, for whoever pinned them. The registry
// yanks a version with all its platforms: given a platform, the version
// must have a gem for it, and when it has gems for other platforms too the
// yank is refused rather than widened beyond what was asked. It answers
// rubygems.org's message.
func (s *Service) Yank(ctx context.Context, a *packages_service.Access, name, version, platform string) (string, error) {
	if err := a.RequireWrite(); err != nil {
		return "", err
	}
	if name == "" || version == "" {
		return "", apperr.New(apperr.Invalid, "gem_name and version are required")
	}
	if rubygems_module.ValidateName(name) != nil || rubygems_module.ValidateVersion(version) != nil {
		return "", ErrGemNotExist // no gem is named so (and the database may refuse the bytes)
	}
	p, pv, err := s.d.Packages.GetVersion(ctx, a, packages_model.TypeRubyGems, name, version)
	if apperr.KindOf(err) == apperr.NotFound || err == nil && (p.Name != name || pv.Version != version) {
		return "", ErrGemNotExist
	}
	if err != nil {
		return "", err
	}
	files, err := s.d.Packages.ListFiles(ctx, pv)
	if err != nil {
		return "", err
	}
	var platforms []string
	for _, f := range files {
		platforms = append(platforms, platformOfFile(p.Name, pv.Version, f.PackageFile.Name))
	}
	// Ruby's first, then by name.
	slices.SortFunc(platforms, func(a, b string) int {
		if (a == rubygems_module.PlatformRuby) != (b == rubygems_module.PlatformRuby) {
			if a == rubygems_module.PlatformRuby {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	if platform != "" {
		if !slices.Contains(platforms, platform) {
			return "", ErrGemNotExist
		}
		if len(platforms) > 1 {
			return "", apperr.New(apperr.Unprocessable, "%s %s has gems for %s: this registry yanks a version with all its platforms; run gem yank without --platform to yank them all",
				p.Name, pv.Version, strings.Join(platforms, ", "))
		}
	}
	yanked, err := s.d.Packages.YankedVersions(ctx, s.d.DB.Engine(), []int64{pv.ID})
	if err != nil {
		return "", err
	}
	if yanked[pv.ID] {
		return "", apperr.New(apperr.Unprocessable, "The version %s has already been yanked.", Title(p.Name, pv.Version, ""))
	}
	if err := s.d.Packages.SetYanked(ctx, a, pv, true); err != nil {
		return "", err
	}
	msg := "Successfully yanked gem: " + Title(p.Name, pv.Version, "")
	if len(platforms) > 1 || len(platforms) == 1 && platforms[0] != rubygems_module.PlatformRuby {
		msg += " (platforms " + strings.Join(platforms, ", ") + ")"
	}
	return msg, nil
}

// sameVersionKey is equal for two versions that Gem::Version takes for
// one (numbers compare as numbers, trailing zero segments do not count,
// a separator may be left out): the version without its zeros and dots.
// A cheap first test before Compare, which a push runs against every
// version of the gem.
func sameVersionKey(v string) string {
	return strings.Map(func(r rune) rune {
		if r == '0' || r == '.' {
			return -1
		}
		return r
	}, v)
}

// isFileName reports whether s may be the name of a stored .gem or quick
// gemspec: gem names, versions and platforms are made of ASCII letters,
// digits, ".", "-" and "_" only. Anything else names nothing, and is not
// asked of the database (PostgreSQL refuses some bytes in text).
func isFileName(s string) bool {
	if s == "" || len(s) > 4*rubygems_module.MaxFieldLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// platformOfFile is the platform a stored .gem was pushed for, from its
// name (FileName).
func platformOfFile(name, version, file string) string {
	rest := strings.TrimSuffix(strings.TrimPrefix(file, name+"-"+version), ".gem")
	if rest == "" {
		return rubygems_module.PlatformRuby
	}
	return strings.TrimPrefix(rest, "-")
}

// The scopes `gem signin` asks for (RubyGems' API_SCOPES) that change a
// gem: any of them, or none at all (RubyGems before 3.2 asks for a key
// without scopes and expects it to push), gets write:package; a key asked
// for only to read (index_rubygems, show_dashboard) gets read:package.
var writeScopes = []string{"push_rubygem", "yank_rubygem", "add_owner", "remove_owner", "access_webhooks"}

// APIKey answers `gem signin` (and the sign-in that `gem push` starts
// when it has no key for the host): a new personal access token of doer,
// who signed in with a password, named as gem named it. The caller makes
// sure the password was checked (a token must not mint tokens).
func (s *Service) APIKey(ctx context.Context, doer *user_model.User, form url.Values) (string, error) {
	name := strings.TrimSpace(form.Get("name"))
	if name == "" {
		name = "gem-signin-" + s.d.Now().UTC().Format("20060102150405")
	}
	scope := "read:package"
	asked := false
	for _, k := range []string{"index_rubygems", "show_dashboard", "push_rubygem", "yank_rubygem", "add_owner", "remove_owner", "access_webhooks"} {
		if form.Get(k) == "true" {
			asked = true
			if slices.Contains(writeScopes, k) {
				scope = "write:package"
			}
		}
	}
	if !asked {
		scope = "write:package"
	}
	_, token, err := s.d.Users.CreateToken(ctx, doer, name, []string{scope})
	if err != nil {
		return "", err
	}
	return token, nil
}

// OpenGem opens gems/{fileName} for download (yanked versions too: a yank
// hides a version from resolution, not from whoever pinned it). A GET
// counts as a download.
func (s *Service) OpenGem(ctx context.Context, a *packages_service.Access, fileName string, count bool) (*packages_service.Download, error) {
	if !isFileName(fileName) {
		return nil, ErrGemNotExist
	}
	e := s.d.DB.Engine()
	f, err := rubygems_model.FindFile(ctx, e, a.Owner.ID, fileName, packages_service.PropYanked)
	if errors.Is(err, errFileNotExist) {
		return nil, ErrGemNotExist
	}
	if err != nil {
		return nil, err
	}
	pv, err := packages_model.GetVersionByID(ctx, e, f.VersionID)
	if err != nil {
		return nil, err
	}
	d, err := s.d.Packages.OpenVersionFile(ctx, pv, f.FileName, "", count)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil, ErrGemNotExist // removed meanwhile
	}
	return d, err
}

// CompactVersions is the job that rebuilds an owner's versions file when
// it is still due (JobCompactVersions).
func (s *Service) CompactVersions(ctx context.Context, payload string) error {
	var p compactPayload
	if err := json.Unmarshal([]byte(payload), &p); err != nil {
		return fmt.Errorf("rubygems compaction payload %q: %w", payload, err)
	}
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		vf, err := rubygems_model.GetVersionsFile(ctx, tx, p.OwnerID)
		if err != nil || vf == nil {
			return err
		}
		live, err := rubygems_model.CountListedGems(ctx, tx, p.OwnerID)
		if err != nil || !needsCompaction(vf, live) {
			return err
		}
		return rebuild(ctx, tx, p.OwnerID, s.d.Now())
	})
}

// RebuildIndex rebuilds an owner's whole compact index from the registry
// now: every gem's info and a new versions file (clients fetch it whole
// once). For an administrator's repair, and for data written without the
// format's hooks.
func (s *Service) RebuildIndex(ctx context.Context, owner *user_model.User) error {
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		return rebuild(ctx, tx, owner.ID, s.d.Now())
	})
}
