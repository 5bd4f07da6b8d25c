// Package npm holds the npm registry's rules: publish (merging one version
// into the stored package), dist-tags, deprecation, unpublish, the
// packument, and the repository auto-link.
package npm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	npm_model "wharf/models/packages/npm"
	"wharf/modules/apperr"
	"wharf/modules/doccache"
	packages_module "wharf/modules/packages"
	npm_module "wharf/modules/packages/npm"
	packages_service "wharf/services/packages"
	repo_service "wharf/services/repository"
)

// Deps are the service's dependencies.
type Deps struct {
	DB       *db.DB
	Log      *slog.Logger
	Now      func() time.Time
	Packages *packages_service.Service
	Repos    *repo_service.Service
	// Format is npm's part of the registry core, wired into Packages; its
	// unpublish settings apply here too.
	Format *Format
	// Documents keeps encoded packuments (nil: none), shared by every
	// format.
	Documents *doccache.Cache
}

// Service implements the npm rules.
type Service struct{ d Deps }

// New returns the service.
func New(d Deps) *Service { return &Service{d: d} }

// Property names.
const (
	propReadme     = "npm.readme"     // on a version: its readme, kept out of the manifest
	propRepository = "npm.repository" // on a package: the repository id the last publish named
	propChanges    = "npm.changes"    // on a package: how many times npm changed it (see changed)
)

// ErrVersionExists is npm's wording for a republish.
func errVersionExists(v string) error {
	return apperr.New(apperr.Forbidden, "You cannot publish over the previously published versions: %s.", v)
}

// Publish handles PUT /{name}: a publish when the document carries a
// tarball, a metadata update (deprecation) when it does not.
func (s *Service) Publish(ctx context.Context, a *packages_service.Access, name string, body io.Reader) error {
	return s.publishDocument(ctx, a, name, body, nil)
}

// publishDocument is Publish; refuseMetadata, when set, is the answer to
// a document without a tarball instead of applying it.
func (s *Service) publishDocument(ctx context.Context, a *packages_service.Access, name string, body io.Reader, refuseMetadata func() error) error {
	if err := a.RequireWrite(); err != nil {
		return err
	}
	if err := npm_module.ValidateName(name); err != nil {
		return err
	}
	var tarball *packages_module.HashedBuffer
	var tarballName string
	defer func() {
		if tarball != nil {
			tarball.Close()
		}
	}()
	doc, err := npm_module.ParseDocument(body, func(att string, r io.Reader) error {
		if strings.HasSuffix(att, ".sigstore") {
			_, err := io.Copy(io.Discard, r) // provenance bundles are not kept
			return err
		}
		if tarball != nil {
			return apperr.New(apperr.Invalid, "the document has more than one tarball attachment")
		}
		b, err := s.d.Packages.NewUploadBuffer(r, packages_model.TypeNpm)
		if err != nil {
			return err
		}
		tarball, tarballName = b, att
		return nil
	})
	if err != nil {
		return err
	}
	if doc.Name != "" && doc.Name != name || doc.ID != "" && doc.ID != name {
		return apperr.New(apperr.Invalid, "the document names %q, the URL %q", doc.Name, name)
	}
	if tarball == nil {
		if len(doc.Attachments) > 0 {
			return apperr.New(apperr.Invalid, "the document has no tarball attachment")
		}
		if refuseMetadata != nil {
			return refuseMetadata()
		}
		return s.updateMetadata(ctx, a, name, doc)
	}
	return s.publish(ctx, a, name, doc, tarball, tarballName)
}

func (s *Service) publish(ctx context.Context, a *packages_service.Access, name string, doc *npm_module.Document, tarball *packages_module.HashedBuffer, attName string) error {
	if len(doc.Versions) != 1 {
		return apperr.New(apperr.Invalid, "a publish carries exactly one version, this one has %d", len(doc.Versions))
	}
	var version string
	var raw json.RawMessage
	for version, raw = range doc.Versions {
	}
	if err := npm_module.ValidateVersion(version); err != nil {
		return err
	}
	manifest := map[string]any{}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		return apperr.New(apperr.Invalid, "versions[%q] is not an object", version)
	}
	if n, _ := manifest["name"].(string); n != name {
		return apperr.New(apperr.Invalid, "versions[%q].name is %q, not %q", version, n, name)
	}
	if v, _ := manifest["version"].(string); v != version {
		return apperr.New(apperr.Invalid, "versions[%q].version is %q", version, v)
	}
	if att := doc.Attachments[attName]; att.Length != 0 && att.Length != tarball.Size() {
		return apperr.New(apperr.Invalid, "the attachment says it has %d bytes, it has %d", att.Length, tarball.Size())
	}
	dist, err := declaredDist(version, raw)
	if err != nil {
		return err
	}
	h := tarball.Hashes()
	if err := npm_module.CheckDist(dist, h.SHA1, h.SHA512); err != nil {
		return err
	}
	m, err := npm_module.ReadTarballManifest(tarball.Reader())
	if err != nil {
		return err
	}
	if m.Name != name || m.Version != version {
		return apperr.New(apperr.Invalid, "the tarball's package.json says %s@%s, the document %s@%s", m.Name, m.Version, name, version)
	}

	// The server owns dist and identity fields; the rest is the manifest
	// as published. The readme is kept apart: the package document carries
	// only the latest one.
	for _, k := range []string{"dist", "_id", "_npmUser", "_resolved", "_integrity", "_from", "_shasum"} {
		delete(manifest, k)
	}
	readme, _ := manifest["readme"].(string)
	if readme == "" {
		readme = doc.Readme
	}
	delete(manifest, "readme")
	if scripts, ok := manifest["scripts"].(map[string]any); ok {
		for _, k := range []string{"preinstall", "install", "postinstall"} {
			if _, ok := scripts[k]; ok {
				manifest["hasInstallScript"] = true
			}
		}
	}

	// The dist-tags that name this version; npm sends one ("latest" or
	// --tag's), and a tag npm itself would refuse is refused before
	// anything is stored.
	var tags []string
	for tag, v := range doc.DistTags {
		if v != version {
			continue
		}
		if err := validTag(tag); err != nil {
			return err
		}
		tags = append(tags, tag)
	}
	if len(doc.DistTags) == 0 {
		tags = []string{"latest"}
	}
	slices.Sort(tags)

	// The repository the manifest names is looked up before the
	// transaction (it reads repositories and rights); the link is set in
	// it.
	linkTo := s.linkTarget(ctx, a, name, manifest["repository"])

	// The version, its file, its dist-tags and its repository link are
	// one transaction: a failure between them must not leave a version
	// the client was told is not published (its retry would be refused)
	// or without its tag.
	_, err = s.d.Packages.CreatePackageAndAddFile(ctx,
		&packages_service.VersionInfo{Owner: a.Owner, Creator: a.Doer, Type: packages_model.TypeNpm, Name: name, Version: version, Metadata: manifest,
			Properties: map[string]string{propReadme: readme}},
		&packages_service.FileInfo{Name: npm_module.TarballName(name, version), IsLead: true, Data: tarball},
		func(ctx context.Context, tx db.Engine, added *packages_service.Added) error {
			for _, tag := range tags {
				if err := setTagOnPublishTx(ctx, tx, added.Package.ID, tag, version); err != nil {
					return err
				}
			}
			return autoLinkTx(ctx, tx, added.Package, linkTo)
		})
	if errors.Is(err, packages_model.ErrVersionExists) {
		return errVersionExists(version)
	}
	return err
}

// setTagOnPublishTx points tag at version inside the publish's
// transaction, except that a prerelease published with the default tag
// does not take "latest" from a release: neither from the release "latest"
// names nor, when no version carries "latest" (its version was removed by
// another path than npm's unpublish), from the highest release, which the
// document then shows as "latest".
func setTagOnPublishTx(ctx context.Context, tx db.Engine, packageID int64, tag, version string) error {
	if tag == "latest" && packages_module.IsSemverPrerelease(version) {
		vs, err := packages_model.ListVersions(ctx, tx, packageID)
		if err != nil {
			return err
		}
		tags, err := tagsOf(ctx, tx, packageID, vs)
		if err != nil {
			return err
		}
		cur, ok := tags["latest"]
		if !ok {
			slices.SortStableFunc(vs, func(x, y *packages_model.PackageVersion) int {
				return packages_module.CompareSemver(x.Version, y.Version)
			})
			cur = highestStable(vs)
		}
		if cur != "" && cur != version && !packages_module.IsSemverPrerelease(cur) {
			return nil
		}
	}
	return setTagTx(ctx, tx, packageID, tag, version)
}

func (s *Service) setTag(ctx context.Context, p *packages_model.Package, tag, version string) error {
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		if err := packages_model.LockPackage(ctx, tx, p.ID); err != nil {
			return err
		}
		return setTagTx(ctx, tx, p.ID, tag, version)
	})
}

// setTagTx points tag at a version of the package, inside tx.
func setTagTx(ctx context.Context, tx db.Engine, packageID int64, tag, version string) error {
	pv, err := packages_model.GetVersion(ctx, tx, packageID, version)
	if err != nil {
		return err
	}
	if err := npm_model.SetDistTag(ctx, tx, packageID, tag, pv.ID); err != nil {
		return err
	}
	return changed(ctx, tx, packageID)
}

// tags returns the package's dist-tags as the package document shows
// them: "latest" names the highest release when no version carries it.
func (s *Service) tags(ctx context.Context, p *packages_model.Package) (map[string]string, error) {
	vs, err := packages_model.ListVersions(ctx, s.d.DB.Engine(), p.ID)
	if err != nil {
		return nil, err
	}
	tags, err := tagsOf(ctx, s.d.DB.Engine(), p.ID, vs)
	if err != nil {
		return nil, err
	}
	if _, ok := tags["latest"]; !ok && len(vs) > 0 {
		slices.SortStableFunc(vs, func(x, y *packages_model.PackageVersion) int {
			return packages_module.CompareSemver(x.Version, y.Version)
		})
		tags["latest"] = highestStable(vs)
	}
	return tags, nil
}

var shorthand = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)/([A-Za-z0-9._-]+)$`)

// linkTarget is the repository a publish links its package to: the one
// the manifest's repository field names, when it is on this instance and
// belongs to the package's owner or the publisher may write to it; 0 for
// none. A failure to resolve it never fails the publish (it is logged).
func (s *Service) linkTarget(ctx context.Context, a *packages_service.Access, name string, field any) int64 {
	url := ""
	switch v := field.(type) {
	case string:
		url = v
	case map[string]any:
		url, _ = v["url"].(string)
	}
	if url == "" {
		return 0
	}
	rc, err := s.resolveRepository(ctx, a, url)
	if err != nil {
		s.d.Log.WarnContext(ctx, "npm auto-link", "package", name, "url", url, "err", err)
		return 0
	}
	if rc == nil || rc.Repo.OwnerID != a.Owner.ID && rc.Mode < repo_service.ModeWrite {
		return 0
	}
	return rc.Repo.ID
}

// autoLinkTx links the package to repoID (0: nothing), inside the
// publish's transaction. The link only moves when a publish names a
// different repository than the last one did, so an explicit link or
// unlink is kept until then.
func autoLinkTx(ctx context.Context, tx db.Engine, p *packages_model.Package, repoID int64) error {
	if repoID == 0 {
		return nil
	}
	id := strconv.FormatInt(repoID, 10)
	last, err := packages_model.GetProperty(ctx, tx, packages_model.PropertyTypePackage, p.ID, propRepository)
	if err != nil || last == id {
		return err
	}
	if err := packages_model.SetRepositoryLink(ctx, tx, p.ID, repoID); err != nil {
		return err
	}
	return packages_model.SetProperty(ctx, tx, packages_model.PropertyTypePackage, p.ID, propRepository, id)
}

// resolveRepository finds the repository a manifest's URL names, as the
// publisher sees it (nil when it names none the publisher can see).
func (s *Service) resolveRepository(ctx context.Context, a *packages_service.Access, url string) (*repo_service.Context, error) {
	var owner, name string
	if m := shorthand.FindStringSubmatch(strings.TrimSpace(url)); m != nil {
		owner, name = m[1], strings.TrimSuffix(m[2], ".git")
	} else {
		r, err := s.d.Repos.ResolveURL(ctx, url)
		if err != nil {
			if apperr.KindOf(err) == apperr.NotFound {
				return nil, nil
			}
			return nil, err
		}
		owner, name = r.OwnerName, r.Name
	}
	rc, err := s.d.Repos.Get(ctx, a.Doer, owner, name)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil, nil
	}
	return rc, err
}

// updateMetadata applies what a document without a tarball may change:
// the deprecation message of existing versions ("" removes it).
func (s *Service) updateMetadata(ctx context.Context, a *packages_service.Access, name string, doc *npm_module.Document) error {
	p, err := s.d.Packages.GetPackage(ctx, a, packages_model.TypeNpm, name)
	if err != nil {
		return err
	}
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		// Every change of npm's state takes the package's lock, as the
		// core's uploads and removals do: the change counter is read and
		// written by one change at a time.
		if err := packages_model.LockPackage(ctx, tx, p.ID); err != nil {
			return err
		}
		touched := false
		for version, raw := range doc.Versions {
			var upd struct {
				Deprecated *string `json:"deprecated"`
			}
			if err := json.Unmarshal(raw, &upd); err != nil {
				return apperr.New(apperr.Invalid, "versions[%q] is not an object", version)
			}
			pv, err := packages_model.GetVersion(ctx, tx, p.ID, version)
			if apperr.KindOf(err) == apperr.NotFound {
				continue // a version the client still lists but we no longer have
			}
			if err != nil {
				return err
			}
			manifest := map[string]any{}
			if pv.MetadataJSON != "" {
				if err := json.Unmarshal([]byte(pv.MetadataJSON), &manifest); err != nil {
					return fmt.Errorf("stored metadata of %s@%s: %w", name, version, err)
				}
			}
			before, had := manifest["deprecated"]
			switch {
			case upd.Deprecated == nil:
				continue
			case *upd.Deprecated == "":
				delete(manifest, "deprecated")
			default:
				manifest["deprecated"] = *upd.Deprecated
			}
			if after, has := manifest["deprecated"]; had == has && before == after {
				continue
			}
			b, _ := json.Marshal(manifest)
			if err := packages_model.UpdateVersionMetadata(ctx, tx, pv.ID, string(b)); err != nil {
				return err
			}
			touched = true
		}
		if touched {
			return changed(ctx, tx, p.ID)
		}
		return nil
	})
}
