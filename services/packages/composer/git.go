package composer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"wharf/models/db"
	jobs_model "wharf/models/jobs"
	packages_model "wharf/models/packages"
	composer_model "wharf/models/packages/composer"
	"wharf/modules/apperr"
	"wharf/modules/git"
	packages_module "wharf/modules/packages"
	composer_module "wharf/modules/packages/composer"
	packages_service "wharf/services/packages"
	repo_service "wharf/services/repository"
)

// Property and job names.
const (
	propSource = "composer.source" // on a version: "<repo id>:<full ref>"
	// propModified is on a package: when a version last changed or went
	// away, for Last-Modified (creation times alone miss both).
	propModified = "composer.modified"
	// JobBuildArchive is the job kind that builds a registered version's zip.
	JobBuildArchive = "composer.build_archive"
	maxComposer     = 1 << 20
)

// sourceInfo is where a registered version comes from.
type sourceInfo struct {
	RepoID int64  `json:"repo_id"`
	Ref    string `json:"ref"` // refs/tags/v1.0.0 or refs/heads/main
	Commit string `json:"commit"`
	URL    string `json:"url"` // clone URL
}

func sourceKey(repoID int64, ref string) string { return strconv.FormatInt(repoID, 10) + ":" + ref }

// RegisterOptions names what to register: a repository ("name" of the
// owner's, or "other-owner/name") and exactly one of a tag or a branch.
type RegisterOptions struct {
	Repository string
	Tag        string
	Branch     string
}

// Registered is what Register made.
type Registered struct {
	Name    string
	Version string
	Created bool // false: it was already registered for this commit
}

// Register records a version from a tag or branch of a repository the
// publisher can read (the API's and the web's registration). The archive
// is built by a job (or on the first download, whichever comes first).
func (s *Service) Register(ctx context.Context, a *packages_service.Access, opts RegisterOptions) (*Registered, error) {
	if err := a.RequireWrite(); err != nil {
		return nil, err
	}
	if (opts.Tag == "") == (opts.Branch == "") {
		return nil, apperr.New(apperr.Invalid, "give exactly one of tag or branch")
	}
	if opts.Repository == "" {
		return nil, apperr.New(apperr.Invalid, "the repository is missing")
	}
	ownerName, repoName := a.Owner.Name, opts.Repository
	if o, n, ok := strings.Cut(opts.Repository, "/"); ok {
		ownerName, repoName = o, n
	}
	rc, err := s.d.Repos.Get(ctx, a.Doer, ownerName, repoName)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil, apperr.New(apperr.NotFound, "repository %q does not exist", opts.Repository)
	} else if err != nil {
		return nil, err
	}
	return s.register(ctx, a, rc, opts.Tag, opts.Branch)
}

// register records a version from a tag or branch of rc, the repository
// as the publisher sees it. It is the one registration: the API's, and a
// pushed tag's for every registry it feeds (registerFromSource), which
// hold the access and the repository already. Registering what is
// registered for the same commit again changes nothing (a retried
// auto-registration); the check is made in the transaction that would
// create the version.
func (s *Service) register(ctx context.Context, a *packages_service.Access, rc *repo_service.Context, tag, branch string) (*Registered, error) {
	if err := a.RequireWrite(); err != nil {
		return nil, err
	}
	ref, short := git.TagPrefix+tag, tag
	if branch != "" {
		ref, short = git.BranchPrefix+branch, branch
	}
	if err := git.ValidRefName(short); err != nil {
		return nil, err
	}
	commit, err := s.d.Repos.Commit(ctx, rc, ref)
	if err != nil && apperr.KindOf(err) == apperr.Internal {
		return nil, fmt.Errorf("resolve %s in %s: %w", ref, rc.Repo.FullName(), err)
	} else if err != nil {
		return nil, apperr.New(apperr.NotFound, "%s %q does not exist in %s", map[bool]string{true: "tag", false: "branch"}[tag != ""], short, rc.Repo.FullName())
	}
	meta, err := s.readComposerJSON(ctx, rc, commit.ID())
	if err != nil {
		return nil, err
	}
	var name string
	_ = json.Unmarshal(meta["name"], &name)
	if err := composer_module.ValidateName(name); err != nil {
		return nil, err
	}
	version, normalized, err := versionFromRef(tag, branch)
	if err != nil {
		return nil, err
	}
	src := sourceInfo{RepoID: rc.Repo.ID, Ref: ref, Commit: commit.ID(), URL: s.d.Repos.CloneURL(rc.Repo)}
	// The package is linked to its source when it has no link yet and the
	// repository is the owner's or the publisher may write it (the rule
	// npm's auto-link follows).
	link := rc.Repo.OwnerID == a.Owner.ID || rc.Mode >= repo_service.ModeWrite
	added, err := s.d.Packages.CreateOrGetVersion(ctx, &packages_service.VersionInfo{
		Owner: a.Owner, Creator: a.Doer, Type: packages_model.TypeComposer, Name: name, Version: version,
		Metadata:   storedMetadata{ComposerJSON: meta, VersionNormalized: normalized, DistType: "zip", Source: &src},
		Properties: map[string]string{propSource: sourceKey(src.RepoID, src.Ref)},
	}, func(ctx context.Context, tx db.Engine, added *packages_service.Added) error {
		if !added.VersionCreated {
			var m storedMetadata
			_ = json.Unmarshal([]byte(added.Version.MetadataJSON), &m)
			if m.Source != nil && m.Source.RepoID == src.RepoID && m.Source.Commit == src.Commit {
				return nil // registered already, for this commit
			}
			return apperr.New(apperr.Conflict, "version %s of %s is already registered for another commit or source", version, name)
		}
		if link && added.Package.RepoID == 0 {
			if err := packages_model.SetRepositoryLink(ctx, tx, added.Package.ID, rc.Repo.ID); err != nil {
				return err
			}
		}
		return s.enqueueBuild(ctx, tx, added.Version.ID, src.Commit)
	})
	if err != nil {
		return nil, err
	}
	return &Registered{Name: name, Version: version, Created: added.VersionCreated}, nil
}

// versionFromRef derives the version: v1.2.3 → 1.2.3 from a tag; from a
// branch dev-<branch>, or 1.x-dev / 2.0.x-dev for version-like branches.
func versionFromRef(tag, branch string) (version, normalized string, err error) {
	if tag != "" {
		version = tag
		if len(tag) > 1 && (tag[0] == 'v' || tag[0] == 'V') && tag[1] >= '0' && tag[1] <= '9' {
			version = tag[1:]
		}
		normalized, err = composer_module.Normalize(version)
		if err != nil || composer_module.IsDev(normalized) {
			return "", "", apperr.New(apperr.Invalid, "tag %q is not a version composer accepts", tag)
		}
		return version, normalized, nil
	}
	normalized, err = composer_module.NormalizeBranch(branch)
	if err != nil {
		return "", "", err
	}
	if strings.HasPrefix(normalized, "dev-") {
		return "dev-" + branch, normalized, nil
	}
	v := strings.TrimPrefix(strings.TrimPrefix(branch, "v"), "V")
	if last := v[len(v)-1]; last != 'x' && last != 'X' && last != '*' {
		v += ".x"
	}
	return v + "-dev", normalized, nil
}

// readComposerJSON reads composer.json at the root of the commit's tree,
// bounded.
func (s *Service) readComposerJSON(ctx context.Context, rc *repo_service.Context, commit string) (map[string]json.RawMessage, error) {
	f, _, _, err := s.d.Repos.OpenFile(ctx, rc, commit, "composer.json")
	if apperr.KindOf(err) == apperr.NotFound {
		return nil, apperr.New(apperr.Invalid, "composer.json is missing at the root of %s at %s", rc.Repo.FullName(), commit[:12])
	} else if err != nil {
		return nil, fmt.Errorf("open composer.json of %s at %s: %w", rc.Repo.FullName(), commit[:12], err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxComposer+1))
	if err != nil {
		return nil, fmt.Errorf("read composer.json of %s at %s: %w", rc.Repo.FullName(), commit[:12], err)
	}
	if len(b) > maxComposer {
		return nil, apperr.New(apperr.Invalid, "composer.json is larger than %d bytes", maxComposer)
	}
	// The upload's checks (UTF-8, depth, JSON): a registered version is
	// served like an uploaded one.
	return composer_module.ParseComposerJSON(b)
}

type buildPayload struct {
	VersionID int64  `json:"version_id"`
	Commit    string `json:"commit"`
}

func (s *Service) enqueueBuild(ctx context.Context, tx db.Engine, versionID int64, commit string) error {
	b, _ := json.Marshal(buildPayload{VersionID: versionID, Commit: commit})
	_, err := jobs_model.Enqueue(ctx, tx, JobBuildArchive, string(b), s.d.Now())
	return err
}

// archiveName names a version's archive by its commit, so that a moved tag
// gets a new URL (and composer a new cache key).
func archiveName(pkg, version, commit string) string {
	return strings.ReplaceAll(pkg, "/", "-") + "-" + version + "-" + commit[:12] + ".zip"
}

// BuildArchive is the job that builds and stores a registered version's
// zip. It is idempotent: an archive of the same commit is not rebuilt, and
// a version that moved on or went away is left alone.
func (s *Service) BuildArchive(ctx context.Context, payload string) error {
	var p buildPayload
	if err := json.Unmarshal([]byte(payload), &p); err != nil {
		return err
	}
	_, err := s.ensureArchive(ctx, p.VersionID, p.Commit)
	switch apperr.KindOf(err) {
	case apperr.NotFound:
		return nil
	case apperr.TooLarge:
		// Retrying cannot help until the limit is raised; a download tries
		// again (and says why it fails).
		s.d.Log.WarnContext(ctx, "composer archive over the size limit; not stored", "version_id", p.VersionID, "commit", p.Commit, "err", err)
		return nil
	}
	return err
}

// ensureArchive returns the version's archive file for commit, building it
// when it is not there yet.
func (s *Service) ensureArchive(ctx context.Context, versionID int64, commit string) (*packages_model.PackageFile, error) {
	e := s.d.DB.Engine()
	pv, err := packages_model.GetVersionByID(ctx, e, versionID)
	if err != nil {
		return nil, err
	}
	var m storedMetadata
	if err := json.Unmarshal([]byte(pv.MetadataJSON), &m); err != nil || m.Source == nil {
		return nil, fmt.Errorf("version %d has no git source", versionID)
	}
	if m.Source.Commit != commit {
		return nil, apperr.New(apperr.NotFound, "version %d moved on from %s", versionID, commit)
	}
	p, err := packages_model.GetPackageByID(ctx, e, pv.PackageID)
	if err != nil {
		return nil, err
	}
	name := archiveName(p.LowerName, pv.Version, commit)
	if f, err := packages_model.GetFile(ctx, e, pv.ID, name, ""); err == nil {
		return f, nil
	} else if apperr.KindOf(err) != apperr.NotFound {
		return nil, err
	}
	// A build known to go over the limit is not tried again (it would
	// read the whole limit's worth of the repository on every download)
	// until the limit changes or the version moves to another commit.
	limit := s.d.Packages.SizeLimit(packages_model.TypeComposer)
	if limit >= 0 {
		over, err := composer_model.ArchiveTooLarge(ctx, e, pv.ID, commit, limit)
		if err != nil {
			return nil, err
		}
		if over {
			return nil, apperr.New(apperr.TooLarge, "the archive of %s %s cannot be stored: it is larger than the limit of %d bytes", p.LowerName, pv.Version, limit)
		}
	}
	rc, err := s.d.Repos.SystemContext(ctx, m.Source.RepoID)
	if err != nil {
		return nil, err
	}
	c, err := s.d.Repos.Commit(ctx, rc, commit)
	if err != nil {
		return nil, err
	}
	hb, err := s.buildArchive(ctx, c)
	if err != nil {
		if apperr.KindOf(err) == apperr.TooLarge {
			s.rememberTooLarge(ctx, pv.ID, commit, limit)
			return nil, apperr.Wrap(apperr.TooLarge, err, "the archive of %s %s cannot be stored", p.LowerName, pv.Version)
		}
		return nil, fmt.Errorf("build the archive of %s %s: %w", p.LowerName, pv.Version, err)
	}
	defer hb.Close()
	// The version may have moved to another commit while this one was
	// built (a pushed tag): then the build is stale and the old file stays
	// for the newer build to replace.
	stillAt := func(_ context.Context, _ db.Engine, added *packages_service.Added) error {
		var cur storedMetadata
		if err := json.Unmarshal([]byte(added.Version.MetadataJSON), &cur); err != nil || cur.Source == nil || cur.Source.Commit != commit {
			return apperr.New(apperr.NotFound, "version %d moved on from %s while its archive was built", versionID, commit)
		}
		return nil
	}
	if err := s.d.Packages.ReplaceLeadFile(ctx, pv, &packages_service.FileInfo{Name: name, IsLead: true, Data: hb}, stillAt); err != nil {
		if errors.Is(err, packages_model.ErrFileExists) { // built by a concurrent request
			return packages_model.GetFile(ctx, e, pv.ID, name, "")
		}
		return nil, err
	}
	// Stored: an older refusal (a lower limit) no longer holds.
	if err := composer_model.ClearArchiveTooLarge(ctx, e, pv.ID); err != nil {
		s.d.Log.WarnContext(ctx, "clear a composer archive's over-limit record", "version_id", pv.ID, "err", err)
	}
	return packages_model.GetFile(ctx, e, pv.ID, name, "")
}

// rememberTooLarge records that the version's archive of commit is over
// limit, if the version still exists. The record only saves later
// downloads the build: failing to write it is logged, and the download
// answers the same.
func (s *Service) rememberTooLarge(ctx context.Context, versionID int64, commit string, limit int64) {
	err := s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		if _, err := packages_model.GetVersionByID(ctx, tx, versionID); apperr.KindOf(err) == apperr.NotFound {
			return nil // removed meanwhile: nothing to remember it on
		} else if err != nil {
			return err
		}
		return composer_model.SetArchiveTooLarge(ctx, tx, versionID, commit, limit)
	})
	if err != nil {
		s.d.Log.WarnContext(ctx, "record that a composer archive is over the size limit", "version_id", versionID, "commit", commit, "err", err)
	}
}

// errBuildStopped is what the archive writer gets once the buffer stopped
// reading.
var errBuildStopped = errors.New("the archive buffer stopped reading")

// buildArchive writes the commit's zip into an upload buffer, which
// enforces Composer's size limit. The writer runs beside the buffer and
// always ends before buildArchive returns: when the buffer stops early (the
// archive is over the limit, the temp file cannot be written), the pipe is
// closed from the reading side, so the writer's next write fails and it
// lets go of the repository. ctx ends the writing too.
func (s *Service) buildArchive(ctx context.Context, c *git.Commit) (*packages_module.HashedBuffer, error) {
	pr, pw := io.Pipe()
	written := make(chan error, 1)
	go func() {
		err := c.WriteArchiveContext(ctx, pw, git.ArchiveZip, "")
		pw.CloseWithError(err)
		written <- err
	}()
	hb, err := s.d.Packages.NewUploadBuffer(pr, packages_model.TypeComposer)
	// Read to the end (then this is a no-op) or not: the writer must not
	// block on a pipe nobody reads.
	pr.CloseWithError(errBuildStopped)
	werr := <-written
	if werr != nil && !errors.Is(werr, errBuildStopped) {
		// The writer failed first (a git read, ctx): that is the cause,
		// not the "interrupted upload" the buffer saw.
		if hb != nil {
			_ = hb.Close()
		}
		return nil, fmt.Errorf("write archive: %w", werr)
	}
	if err != nil {
		return nil, err
	}
	return hb, nil
}

// OnRefChange follows registered sources: a deleted tag or branch removes
// its version, a moved one updates the version's commit and metadata and
// rebuilds its archive, and a new tag of an auto-registering repository
// registers itself. Idempotent; runs as a job.
func (s *Service) OnRefChange(ctx context.Context, c repo_service.RefChange) error {
	e := s.d.DB.Engine()
	if c.RepoDeleted {
		if err := composer_model.RemoveSourcesOfRepo(ctx, e, c.RepoID); err != nil {
			return err
		}
	}
	if c.IsTag() && c.IsCreate() {
		return s.autoRegister(ctx, c)
	}
	ids, err := packages_model.RefIDsWithProperty(ctx, e, packages_model.PropertyTypeVersion, propSource, sourceKey(c.RepoID, c.Ref))
	if err != nil || len(ids) == 0 {
		return err
	}
	remove := c.IsDelete()
	if remove && !c.RepoDeleted {
		// Deliveries are retried and not ordered with later pushes: a
		// delete that failed may arrive after the tag was pushed again
		// (and registered again). It acts only if the ref is still gone;
		// otherwise the versions follow the ref as it is now.
		gone, err := s.refGone(ctx, c)
		if err != nil {
			return err
		}
		if !gone {
			s.d.Log.InfoContext(ctx, "composer: a stale ref deletion; the ref exists again, its versions stay", "repo_id", c.RepoID, "ref", c.Ref)
			remove = false // follow the ref instead
		}
	}
	for _, id := range ids {
		pv, err := packages_model.GetVersionByID(ctx, e, id)
		if apperr.KindOf(err) == apperr.NotFound {
			continue
		}
		if err != nil {
			return err
		}
		if remove {
			// The core's removal moves the stamps (Format.VersionRemoved).
			if err := s.d.Packages.RemoveVersionBySystem(ctx, pv); err != nil && apperr.KindOf(err) != apperr.NotFound {
				return err
			}
			continue
		}
		if err := s.follow(ctx, pv, c); err != nil {
			return err
		}
	}
	return nil
}

// refGone reports whether the ref of a deletion event is still absent
// from its repository (a deleted repository has no refs). A failure to
// read the repository is an error, so that the delivery is retried rather
// than a version removed on a guess.
func (s *Service) refGone(ctx context.Context, c repo_service.RefChange) (bool, error) {
	rc, err := s.d.Repos.SystemContext(ctx, c.RepoID)
	if apperr.KindOf(err) == apperr.NotFound {
		return true, nil
	} else if err != nil {
		return false, fmt.Errorf("load repository %d: %w", c.RepoID, err)
	}
	_, err = s.d.Repos.Commit(ctx, rc, c.Ref)
	if err == nil {
		return false, nil
	} else if apperr.KindOf(err) == apperr.NotFound {
		return true, nil
	}
	return false, fmt.Errorf("resolve %s in %s: %w", c.Ref, rc.Repo.FullName(), err)
}

// follow moves a version to the ref's new commit.
func (s *Service) follow(ctx context.Context, pv *packages_model.PackageVersion, c repo_service.RefChange) error {
	var m storedMetadata
	if err := json.Unmarshal([]byte(pv.MetadataJSON), &m); err != nil || m.Source == nil {
		return err
	}
	rc, err := s.d.Repos.SystemContext(ctx, c.RepoID)
	if err != nil {
		return err
	}
	commit, err := s.d.Repos.Commit(ctx, rc, c.Ref)
	if err != nil {
		return err
	}
	if commit.ID() == m.Source.Commit {
		return nil
	}
	meta, err := s.readComposerJSON(ctx, rc, commit.ID())
	if apperr.KindOf(err) == apperr.Invalid {
		s.d.Log.WarnContext(ctx, "registered ref moved to a commit without a usable composer.json; keeping the old one", "ref", c.Ref, "err", err)
		return nil
	} else if err != nil {
		return err // retried
	}
	m.ComposerJSON, m.Source.Commit = meta, commit.ID()
	b, _ := json.Marshal(m)
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		// The package's lock before its version's row, the order of every
		// removal (the reverse deadlocked with a cleanup removing this
		// version); under it the version is there or gone for good.
		if found, err := touch(ctx, tx, pv.PackageID, s.d.Now()); err != nil || !found {
			return err // nil when removed with its package
		}
		if _, err := packages_model.GetVersionByID(ctx, tx, pv.ID); errors.Is(err, packages_model.ErrVersionNotExist) {
			return nil // removed meanwhile: nothing to move
		} else if err != nil {
			return err
		}
		if err := packages_model.UpdateVersionMetadata(ctx, tx, pv.ID, string(b)); err != nil {
			return err
		}
		if err := composer_model.ClearArchiveTooLarge(ctx, tx, pv.ID); err != nil {
			return err
		}
		return s.enqueueBuild(ctx, tx, pv.ID, commit.ID())
	})
}

// listModified is modifiedOf for a document that lists the owner's
// packages (packages.json, list.json): the owner's stamp counts too, which
// a removed package moved.
func (s *Service) listModified(ctx context.Context, ownerID int64, packageIDs []int64, vs []*packages_model.PackageVersion) (time.Time, error) {
	modified, err := s.modifiedOf(ctx, packageIDs, vs)
	if err != nil {
		return time.Time{}, err
	}
	stamp, err := composer_model.GetStamp(ctx, s.d.DB.Engine(), ownerID)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(max(modified.Unix(), stamp), 0).UTC(), nil
}

// modifiedOf is the latest of the versions' creation and the packages'
// recorded changes.
func (s *Service) modifiedOf(ctx context.Context, packageIDs []int64, vs []*packages_model.PackageVersion) (time.Time, error) {
	var modified int64
	for _, v := range vs {
		modified = max(modified, v.CreatedUnix)
	}
	props, err := packages_model.GetPropertiesOf(ctx, s.d.DB.Engine(), packages_model.PropertyTypePackage, packageIDs, propModified)
	if err != nil {
		return time.Time{}, err
	}
	for _, p := range props {
		if n, err := strconv.ParseInt(p.Value, 10, 64); err == nil {
			modified = max(modified, n)
		}
	}
	return time.Unix(modified, 0).UTC(), nil
}
