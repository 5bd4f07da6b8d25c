package goproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	goproxy_model "wharf/models/packages/go"
	repo_model "wharf/models/repo"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/git"
	packages_module "wharf/modules/packages"
	goproxy_module "wharf/modules/packages/go"
	packages_service "wharf/services/packages"
	repo_service "wharf/services/repository"
)

// maxGoMod bounds a go.mod read from a repository (the module zip rules'
// limit).
const maxGoMod = 16 << 20

func sourceKey(repoID int64, ref string) string { return strconv.FormatInt(repoID, 10) + ":" + ref }

// OnRefChange keeps the versions in step with the tags: a new tag
// registers its module version, a deleted one removes it, and a moved one
// leaves the published version as it is (go.sum pins its hash) and notes
// the move. Idempotent; runs as a job.
func (s *Service) OnRefChange(ctx context.Context, c repo_service.RefChange) error {
	e := s.d.DB.Engine()
	if c.IsDelete() && c.RepoDeleted {
		// Any ref's deletion event of a deleted repository (a branch's
		// too: pseudo-versions need no tag) takes all its versions.
		if err := goproxy_model.ClearRepo(ctx, e, c.RepoID); err != nil {
			return err
		}
		return s.removeVersions(ctx, propRepo, strconv.FormatInt(c.RepoID, 10))
	}
	if !c.IsTag() {
		return nil
	}
	tag := c.ShortName()
	if c.IsDelete() {
		gone, err := s.tagGone(ctx, c)
		if err != nil || !gone {
			// A stale deletion (the tag was pushed again): the versions
			// follow the tag as it is now, which its creation's event
			// handles.
			return err
		}
		if err := goproxy_model.ClearNote(ctx, e, c.RepoID, tag); err != nil {
			return err
		}
		return s.removeVersions(ctx, propSource, sourceKey(c.RepoID, c.Ref))
	}
	rc, err := s.d.Repos.SystemContext(ctx, c.RepoID)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil // deleted meanwhile; its deletion events remove the versions
	} else if err != nil {
		return fmt.Errorf("load repository %d: %w", c.RepoID, err)
	}
	return s.registerTag(ctx, rc, tag)
}

// removeVersions removes the versions whose property name has value.
func (s *Service) removeVersions(ctx context.Context, name, value string) error {
	e := s.d.DB.Engine()
	ids, err := packages_model.RefIDsWithProperty(ctx, e, packages_model.PropertyTypeVersion, name, value)
	if err != nil {
		return err
	}
	for _, id := range ids {
		pv, err := packages_model.GetVersionByID(ctx, e, id)
		if apperr.KindOf(err) == apperr.NotFound {
			continue
		} else if err != nil {
			return err
		}
		// The core's removal: files, hooks, the package when empty.
		if err := s.d.Packages.RemoveVersionBySystem(ctx, pv); err != nil && apperr.KindOf(err) != apperr.NotFound {
			return err
		}
	}
	return nil
}

// tagGone reports whether a deleted tag is still absent.
func (s *Service) tagGone(ctx context.Context, c repo_service.RefChange) (bool, error) {
	rc, err := s.d.Repos.SystemContext(ctx, c.RepoID)
	if apperr.KindOf(err) == apperr.NotFound {
		return true, nil
	} else if err != nil {
		return false, fmt.Errorf("load repository %d: %w", c.RepoID, err)
	}
	if _, err := s.d.Repos.Commit(ctx, rc, c.Ref); err == nil {
		return false, nil
	} else if apperr.KindOf(err) == apperr.NotFound {
		return true, nil
	} else {
		return false, fmt.Errorf("resolve %s in %s: %w", c.Ref, rc.Repo.FullName(), err)
	}
}

type syncPayload struct {
	RepoID int64 `json:"repo_id"`
}

// SyncRepository is the job that registers every tag of a repository
// (those pushed before this instance served Go modules). Registering a
// tag registered already changes nothing.
func (s *Service) SyncRepository(ctx context.Context, payload string) error {
	var p syncPayload
	if err := json.Unmarshal([]byte(payload), &p); err != nil {
		return err
	}
	rc, err := s.d.Repos.SystemContext(ctx, p.RepoID)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil
	} else if err != nil {
		return err
	}
	tags, err := s.d.Repos.Tags(ctx, rc)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range tags {
		if err := s.registerTag(ctx, rc, t.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// found is where a commit holds a module version: the module path, the
// directory the zip is made of, and its go.mod.
type found struct {
	module  string
	version string
	dir     string
	goMod   []byte
	// synthesized: the version has no go.mod (goMod is made up).
	synthesized bool
}

// errNotModule is a tag or commit that is no module version and needs no
// note (no go.mod and no Go files: a repository of another language).
var errNotModule = errors.New("not a go module")

// locate finds the module version at commit c for the module of
// repository rc at dir ("" for the root) with major suffix ("" or "/vN"),
// by the go command's rules: a go.mod in dir declaring the module, or for
// a /vN module one in dir/vN (the major subdirectory convention); with no
// go.mod at all, a v2+ version is version+incompatible of the module
// without the suffix, and a v0/v1 version is the module itself when dir
// holds Go files. An Invalid error says why the version cannot be.
func (s *Service) locate(ctx context.Context, rc *repo_service.Context, c *git.Commit, dir, suffix, version string) (*found, error) {
	owner, repo := rc.Owner.Name, rc.Repo.Name
	primary := s.hosts[0] + "/" + owner + "/" + repo
	if dir != "" {
		primary += "/" + dir
	}
	gm1, err := readGoMod(c, path.Join(dir, "go.mod"))
	if err != nil {
		return nil, err
	}
	var gm2 []byte
	if suffix != "" {
		if gm2, err = readGoMod(c, path.Join(dir, suffix[1:], "go.mod")); err != nil {
			return nil, err
		}
	}
	switch {
	case gm1 != nil && s.declares(goproxy_module.ModulePath(gm1), owner, repo, dir, suffix):
		return &found{module: goproxy_module.ModulePath(gm1), version: version, dir: dir, goMod: gm1}, nil
	case gm2 != nil && s.declares(goproxy_module.ModulePath(gm2), owner, repo, dir, suffix):
		return &found{module: goproxy_module.ModulePath(gm2), version: version, dir: path.Join(dir, suffix[1:]), goMod: gm2}, nil
	case gm1 != nil:
		want := s.onHostOf(goproxy_module.ModulePath(gm1), primary) + suffix
		return nil, apperr.New(apperr.Invalid, "%s declares module %q; a %s version of this repository needs %q", path.Join(dir, "go.mod"), goproxy_module.ModulePath(gm1), majorOf(version), want)
	case gm2 != nil:
		return nil, apperr.New(apperr.Invalid, "%s declares module %q; a %s version of this repository needs %q", path.Join(dir, suffix[1:], "go.mod"), goproxy_module.ModulePath(gm2), majorOf(version), s.onHostOf(goproxy_module.ModulePath(gm2), primary)+suffix)
	}
	// No go.mod: a module from before modules, if dir holds Go code.
	hasGo, err := hasGoFiles(ctx, c, dir)
	if err != nil {
		return nil, err
	}
	if !hasGo || dir != "" && suffix == "" && !hasGo {
		return nil, errNotModule
	}
	if dir != "" {
		return nil, apperr.New(apperr.Invalid, "%s has no go.mod: a nested module needs one", dir)
	}
	if suffix != "" {
		version += "+incompatible"
	}
	return &found{module: primary, version: version, dir: dir, goMod: []byte("module " + primary + "\n"), synthesized: true}, nil
}

// onHostOf is module path p (on ROOT_URL's host) moved to the host of
// declared when that is one of this instance's hosts: a go.mod naming a
// host alias is told the path on that alias, not on ROOT_URL's host.
func (s *Service) onHostOf(declared, p string) string {
	host, _, _ := strings.Cut(declared, "/")
	if !s.isHost(host) {
		return p
	}
	return host + strings.TrimPrefix(p, s.hosts[0])
}

func majorOf(v string) string {
	if i := strings.Index(v, "."); i > 0 {
		return v[:i]
	}
	return v
}

// readGoMod reads a go.mod of the commit; nil when there is none.
func readGoMod(c *git.Commit, p string) ([]byte, error) {
	r, size, err := c.OpenFile(p)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	defer r.Close()
	if size > maxGoMod {
		return nil, apperr.New(apperr.Invalid, "%s is larger than %d bytes", p, maxGoMod)
	}
	b, err := io.ReadAll(io.LimitReader(r, maxGoMod+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return b, nil
}

// hasGoFiles reports whether dir of the commit holds a .go file itself.
func hasGoFiles(ctx context.Context, c *git.Commit, dir string) (bool, error) {
	files, err := c.Files(ctx, dir)
	if apperr.KindOf(err) == apperr.NotFound {
		return false, nil
	} else if err != nil {
		return false, err
	}
	for _, f := range files {
		if !strings.Contains(f.Path, "/") && strings.HasSuffix(f.Path, ".go") {
			return true, nil
		}
	}
	return false, nil
}

// registerTag makes the module version tag publishes, unless it is
// published already. A tag that cannot be a version gets a note with the
// reason (Notes, the API); so does a tag moved after its version was
// published, which keeps the first zip.
func (s *Service) registerTag(ctx context.Context, rc *repo_service.Context, tag string) error {
	dir, version, ok, verr := goproxy_module.TagVersion(tag)
	if !ok && verr == nil {
		return nil // not a version tag
	}
	ref := git.TagPrefix + tag
	c, err := s.d.Repos.Commit(ctx, rc, ref)
	if apperr.KindOf(err) == apperr.NotFound {
		if _, terr := s.d.Repos.Tag(ctx, rc, tag); errors.Is(terr, git.ErrTagNotCommit) {
			// git lets a tag name a tree or a blob: no commit, no version.
			return goproxy_model.SetNote(ctx, s.d.DB.Engine(), &goproxy_model.TagNote{RepoID: rc.Repo.ID, Tag: tag,
				Reason: "tag " + tag + " names no commit (a tree or a blob), so it is no module version", CreatedUnix: s.d.Now().Unix()})
		}
		return nil // deleted meanwhile: its deletion's event follows
	} else if err != nil {
		return fmt.Errorf("resolve %s in %s: %w", ref, rc.Repo.FullName(), err)
	}
	note := func(reason string) error {
		s.d.Log.InfoContext(ctx, "go: a tag is not a module version", "repo", rc.Repo.FullName(), "tag", tag, "reason", reason)
		return goproxy_model.SetNote(ctx, s.d.DB.Engine(), &goproxy_model.TagNote{RepoID: rc.Repo.ID, Tag: tag, Commit: c.ID(), Reason: reason, CreatedUnix: s.d.Now().Unix()})
	}
	if verr != nil {
		return note(verr.Error())
	}
	f, err := s.locate(ctx, rc, c, dir, goproxy_module.MajorSuffix(version), version)
	if errors.Is(err, errNotModule) {
		return goproxy_model.ClearNote(ctx, s.d.DB.Engine(), rc.Repo.ID, tag)
	} else if apperr.KindOf(err) == apperr.Invalid {
		return note(apperr.PublicMessage(err))
	} else if err != nil {
		return err
	}
	_, err = s.publish(ctx, rc, c, f, tag)
	if err == nil && f.synthesized {
		// A version without go.mod names no module path: the go command
		// calls it by the import path it asked for, the repository's path
		// on any of this instance's hosts. Each is a module of its own
		// (the zip's file names hold the path).
		for _, h := range s.hosts[1:] {
			g := *f
			g.module = h + strings.TrimPrefix(f.module, s.hosts[0])
			g.goMod = []byte("module " + g.module + "\n")
			if _, err = s.publish(ctx, rc, c, &g, tag); err != nil {
				break
			}
		}
	}
	switch {
	case errors.Is(err, errGone):
		return nil // its deletion's event follows, or ran and found nothing to do
	case err == nil:
		// The tag and its version agree (again, for a tag moved back): a
		// note of the tag is stale.
		return goproxy_model.ClearNote(ctx, s.d.DB.Engine(), rc.Repo.ID, tag)
	case apperr.KindOf(err) == apperr.Invalid || apperr.KindOf(err) == apperr.TooLarge:
		return note(apperr.PublicMessage(err))
	case apperr.KindOf(err) == apperr.Forbidden:
		// The owner's quota: the reason is shown, and the job retried (the
		// quota may grow).
		if nerr := note(apperr.PublicMessage(err)); nerr != nil {
			return nerr
		}
		return err
	case errors.Is(err, errMoved):
		return note(err.Error())
	}
	return err
}

// publishable refuses the versions of a private repository whose owner's
// packages others may read: a version is a package of the owner, listed
// and described to every reader of its packages, and its zip is the
// repository's code. Where the owner is private, its packages' readers
// are its members, who read all its repositories (roles are per owner).
func publishable(rc *repo_service.Context) error {
	if rc.Repo.IsPrivate && rc.Owner.Visibility != user_model.VisibilityPrivate {
		return apperr.New(apperr.Invalid, "%s is private, and the packages of %s are visible to others: its module versions are not published (make the repository public or the owner private)", rc.Repo.FullName(), rc.Owner.Name)
	}
	return nil
}

// errGone is a publish undone because its repository or tag went away
// while the zip was built.
var errGone = apperr.New(apperr.NotFound, "the repository or tag is gone")

// stillPublishable checks again, inside the transaction that adds a
// version and after the owner's row is locked, what was decided before
// the zip was built: the repository still exists and may publish (the
// owner's visibility may have changed), and for a tag that the tag is
// still recorded. The repository's row is locked, so a deletion of the
// repository or the tag (which records the refs and queues its events
// under that lock) commits either before this check or after this version,
// whose removal its event then finds.
func stillPublishable(ctx context.Context, tx db.Engine, repoID int64, tag string) error {
	r, err := repo_model.LockRepository(ctx, tx, repoID)
	if apperr.KindOf(err) == apperr.NotFound {
		return errGone
	} else if err != nil {
		return err
	}
	owner, err := user_model.GetUserByID(ctx, tx, r.OwnerID)
	if err != nil {
		return err
	}
	if err := publishable(&repo_service.Context{Repo: r, Owner: owner}); err != nil {
		return err
	}
	if tag == "" {
		return nil
	}
	recorded, err := repo_model.RefRecorded(ctx, tx, repoID, git.TagPrefix+tag)
	if err != nil {
		return err
	}
	if !recorded {
		return errGone
	}
	return nil
}

var errMoved = errors.New("published already for another commit")

// publish stores the module version f of commit c (tag "" for a
// pseudo-version) with its zip, unless it is there already. The zip is
// built before the version's row is written, and both commit together.
func (s *Service) publish(ctx context.Context, rc *repo_service.Context, c *git.Commit, f *found, tag string) (*packages_model.PackageVersion, error) {
	if err := publishable(rc); err != nil {
		return nil, err
	}
	e := s.d.DB.Engine()
	if err := s.sameCase(ctx, rc.Owner.ID, f.module); err != nil {
		return nil, err
	}
	if p, err := packages_model.GetPackageByName(ctx, e, rc.Owner.ID, packages_model.TypeGo, f.module); err == nil {
		if pv, err := packages_model.GetVersion(ctx, e, p.ID, f.version); err == nil {
			if pv.Version != f.version {
				// The registry's versions are case-insensitive, semantic
				// versions' pre-releases are not.
				return nil, apperr.New(apperr.Invalid, "version %s differs only in case from version %s, published before: the registry keeps only one of them", f.version, pv.Version)
			}
			return s.samePublished(ctx, rc, pv, c, tag)
		} else if apperr.KindOf(err) != apperr.NotFound {
			return nil, err
		}
	} else if apperr.KindOf(err) != apperr.NotFound {
		return nil, err
	}
	hb, err := s.buildZip(ctx, c, f)
	if err != nil {
		return nil, err
	}
	defer hb.Close()
	meta := metadata{GoMod: string(f.goMod), Time: goproxy_module.NewInfo(f.version, c.Committer().When).Time,
		RepoID: rc.Repo.ID, Tag: tag, Commit: c.ID(), Dir: f.dir}
	props := map[string]string{propRepo: strconv.FormatInt(rc.Repo.ID, 10)}
	if tag != "" {
		props[propSource] = sourceKey(rc.Repo.ID, git.TagPrefix+tag)
	}
	added, err := s.d.Packages.CreatePackageAndAddFile(ctx, &packages_service.VersionInfo{
		Owner: rc.Owner, Type: packages_model.TypeGo, Name: f.module, Version: f.version, Metadata: meta, Properties: props,
		// The owner's row is locked first: an organisation made visible
		// meanwhile waits for this publish, then sees it (services/org).
		SerializeOwner: true,
		// The repository's lock before the package's, the order of the
		// repository's deletion (which unlinks its packages under it).
		BeforePackage: func(ctx context.Context, tx db.Engine) error { return stillPublishable(ctx, tx, rc.Repo.ID, tag) },
	}, &packages_service.FileInfo{Name: f.version + ".zip", IsLead: true, Data: hb}, func(ctx context.Context, tx db.Engine, added *packages_service.Added) error {
		if err := exactName(added, f.module); err != nil {
			return err
		}
		if added.Package.RepoID == 0 {
			if err := packages_model.SetRepositoryLink(ctx, tx, added.Package.ID, rc.Repo.ID); err != nil {
				return err
			}
		}
		if tag == "" {
			return nil
		}
		return goproxy_model.ClearNote(ctx, tx, rc.Repo.ID, tag)
	})
	if apperr.KindOf(err) == apperr.Conflict {
		// Published meanwhile (a concurrent delivery or request).
		p, perr := packages_model.GetPackageByName(ctx, e, rc.Owner.ID, packages_model.TypeGo, f.module)
		if perr != nil {
			return nil, err
		}
		pv, verr := packages_model.GetVersion(ctx, e, p.ID, f.version)
		if verr != nil {
			return nil, err
		}
		return s.samePublished(ctx, rc, pv, c, tag)
	}
	if err != nil {
		return nil, err
	}
	return added.Version, nil
}

// samePublished is pv, published already, when it is of commit c;
// otherwise the tag moved after publication (errMoved, noted by the
// caller): the first zip stays, as go.sum files pin its hash.
func (s *Service) samePublished(ctx context.Context, rc *repo_service.Context, pv *packages_model.PackageVersion, c *git.Commit, tag string) (*packages_model.PackageVersion, error) {
	var m metadata
	_ = json.Unmarshal([]byte(pv.MetadataJSON), &m)
	if m.Commit == c.ID() || m.Commit == "" && tag == "" {
		return pv, nil
	}
	if m.Commit == "" {
		return nil, fmt.Errorf("%w: version %s was uploaded, so tag %s (%s) is not used", errMoved, pv.Version, tag, c.ID()[:12])
	}
	s.d.Log.WarnContext(ctx, "go: a tag moved after its version was published; the published version stays", "repo", rc.Repo.FullName(), "tag", tag, "published", m.Commit, "now", c.ID())
	return nil, fmt.Errorf("%w: tag %s now points at %s, but version %s was published from %s and stays (go.sum files pin it)", errMoved, tag, c.ID()[:12], pv.Version, m.Commit[:12])
}

// buildZip writes the module zip of f from the commit's tree into an
// upload buffer. A module in a subdirectory without a LICENSE gets the
// repository root's, as the go command gives it.
func (s *Service) buildZip(ctx context.Context, c *git.Commit, f *found) (*packages_module.HashedBuffer, error) {
	files, err := c.Files(ctx, f.dir)
	if err != nil {
		return nil, fmt.Errorf("list the files of %s: %w", f.dir, err)
	}
	zf := make([]goproxy_module.ZipFile, 0, len(files)+1)
	haveLicense := false
	for _, tf := range files {
		if tf.Path == "LICENSE" {
			haveLicense = true
		}
		zf = append(zf, goproxy_module.ZipFile{Path: tf.Path, Size: tf.Size, Symlink: tf.Symlink, Open: tf.Open})
	}
	if f.dir != "" && !haveLicense {
		root, err := c.Files(ctx, "")
		if err != nil {
			return nil, err
		}
		for _, tf := range root {
			if tf.Path == "LICENSE" && !tf.Symlink {
				zf = append(zf, goproxy_module.ZipFile{Path: "LICENSE", Size: tf.Size, Open: tf.Open})
			}
		}
	}
	pr, pw := io.Pipe()
	written := make(chan error, 1)
	go func() {
		err := goproxy_module.WriteZip(pw, f.module, f.version, zf)
		pw.CloseWithError(err)
		written <- err
	}()
	hb, err := s.d.Packages.NewUploadBuffer(pr, packages_model.TypeGo)
	pr.CloseWithError(errBuildStopped)
	if werr := <-written; werr != nil && !errors.Is(werr, errBuildStopped) {
		if hb != nil {
			_ = hb.Close()
		}
		return nil, werr
	}
	if err != nil {
		return nil, err
	}
	return hb, nil
}

var errBuildStopped = errors.New("the zip buffer stopped reading")
