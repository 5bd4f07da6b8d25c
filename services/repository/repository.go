// Package repository holds the rules for git repositories: creating and
// deleting them (database row and bare repository together), who may read
// or write them, their refs, archives and files, and the ref-change events
// every push, tag and deletion publishes.
package repository

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"wharf/models/db"
	"wharf/models/organization"
	packages_model "wharf/models/packages"
	repo_model "wharf/models/repo"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/git"
	"wharf/modules/validation"
	jobs_service "wharf/services/jobs"
	user_service "wharf/services/user"
)

// Deps are the service's dependencies.
type Deps struct {
	DB    *db.DB
	Log   *slog.Logger
	Now   func() time.Time
	Users *user_service.Service
	// Root holds the bare repositories; see setting.Repository.
	Root          string
	DefaultBranch string
	// RootURL and HostAliases decide which repository URLs are ours.
	RootURL     string
	HostAliases []string
	// Jobs delivers ref-change events durably.
	Jobs *jobs_service.Runner
	// Fault, when set, is called at each FaultPoint; an error stops the
	// operation there as a crash would. Tests only: nil in production.
	Fault func(ctx context.Context, p FaultPoint, repoID int64) error
}

// Service implements the repository rules.
type Service struct {
	d           Deps
	subscribers []string
}

// New returns the service; Init must run before it serves.
func New(d Deps) *Service { return &Service{d: d} }

// Init prepares the repository root (the shared hooks and the temp dir)
// and registers the reconciliation job.
func (s *Service) Init() error {
	s.d.Jobs.Register(JobReconcile, s.reconcileJob)
	for _, dir := range []string{s.d.Root, s.tmpDir()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
	}
	return git.InstallHooks(s.HooksDir())
}

// Owner names cannot start with '.', so these never collide with owners.
func (s *Service) tmpDir() string { return filepath.Join(s.d.Root, ".tmp") }

// HooksDir holds the hooks every repository runs (core.hooksPath).
func (s *Service) HooksDir() string { return filepath.Join(s.d.Root, ".hooks") }

// TmpDir is scratch space on the repositories' file system.
func (s *Service) TmpDir() string { return s.tmpDir() }

// Path is where a repository lives on disk.
func (s *Service) Path(r *repo_model.Repository) string {
	return filepath.Join(s.d.Root, strings.ToLower(r.OwnerName), r.LowerName+".git")
}

// Mode is what a caller may do with a repository.
type Mode int

// The modes, each including the ones before.
const (
	ModeNone Mode = iota
	ModeRead
	ModeWrite
	ModeAdmin
)

// Context is a repository as one caller sees it.
type Context struct {
	Repo  *repo_model.Repository
	Owner *user_model.User
	Mode  Mode
}

// Permission decides viewer's mode on a repository of owner: admins and
// the owning user are admins; organisation members get their role (owner
// → admin, write → write, read → read); anyone who may see the owner may
// read its public repositories.
func (s *Service) Permission(ctx context.Context, viewer, owner *user_model.User, r *repo_model.Repository) (Mode, error) {
	if viewer != nil {
		if viewer.IsAdmin || viewer.ID == owner.ID {
			return ModeAdmin, nil
		}
		if owner.IsOrganization() {
			role, err := organization.GetRole(ctx, s.d.DB.Engine(), owner.ID, viewer.ID)
			if err != nil {
				return ModeNone, err
			}
			switch role {
			case organization.RoleOwner:
				return ModeAdmin, nil
			case organization.RoleWrite:
				return ModeWrite, nil
			case organization.RoleRead:
				return ModeRead, nil
			}
		}
	}
	if r.IsPrivate {
		return ModeNone, nil
	}
	visible, err := s.d.Users.CanSee(ctx, viewer, owner)
	if err != nil || !visible {
		return ModeNone, err
	}
	return ModeRead, nil
}

// Get returns the repository as viewer sees it; not-found if viewer may not
// read it (a private repository is not revealed).
func (s *Service) Get(ctx context.Context, viewer *user_model.User, ownerName, name string) (*Context, error) {
	owner, err := s.d.Users.GetVisible(ctx, viewer, ownerName)
	if err != nil {
		return nil, err
	}
	r, err := repo_model.GetRepositoryByName(ctx, s.d.DB.Engine(), owner.ID, name)
	if err != nil {
		return nil, err
	}
	mode, err := s.Permission(ctx, viewer, owner, r)
	if err != nil {
		return nil, err
	}
	if mode < ModeRead {
		return nil, repo_model.ErrRepoNotExist
	}
	return &Context{Repo: r, Owner: owner, Mode: mode}, nil
}

// Require fails unless the caller has at least mode: Unauthorized for an
// anonymous caller (so that clients send credentials), Forbidden otherwise.
func (rc *Context) Require(viewer *user_model.User, mode Mode) error {
	if rc.Mode >= mode {
		return nil
	}
	if viewer == nil {
		return apperr.New(apperr.Unauthorized, "sign in to change %s", rc.Repo.FullName())
	}
	return apperr.New(apperr.Forbidden, "you may not change %s", rc.Repo.FullName())
}

// CreateOptions describes a new repository.
type CreateOptions struct {
	Name          string
	Description   string
	Private       bool
	DefaultBranch string
	// AutoInit makes a first commit with a README on the default branch.
	AutoInit bool
}

// Create makes a repository for owner: the bare repository is built in a
// temp dir, the row is inserted, and the directory is renamed into place
// only after the transaction commits. doer must be owner or a member of the
// organisation owner with write.
func (s *Service) Create(ctx context.Context, doer *user_model.User, ownerName string, opts CreateOptions) (*Context, error) {
	owner, err := s.d.Users.GetVisible(ctx, doer, ownerName)
	if err != nil {
		return nil, err
	}
	if err := s.canCreateIn(ctx, doer, owner); err != nil {
		return nil, err
	}
	if err := validation.RepoName(opts.Name); err != nil {
		return nil, err
	}
	if len(opts.Description) > 2048 {
		return nil, apperr.New(apperr.Unprocessable, "description is longer than 2048 characters")
	}
	branch := opts.DefaultBranch
	if branch == "" {
		branch = s.d.DefaultBranch
	}
	if err := git.ValidRefName(branch); err != nil {
		return nil, apperr.Wrap(apperr.Unprocessable, err, "default branch")
	}

	tmp, err := s.newTempRepo(branch)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed

	now := s.d.Now()
	if opts.AutoInit {
		g, err := git.Open(tmp)
		if err != nil {
			return nil, err
		}
		readme := "# " + opts.Name + "\n"
		if opts.Description != "" {
			readme += "\n" + opts.Description + "\n"
		}
		author := git.Signature{Name: doer.Name, Email: commitEmail(doer), When: now}
		if _, err := g.InitialCommit(branch, []git.File{{Path: "README.md", Content: []byte(readme)}}, author, "Initial commit\n"); err != nil {
			return nil, fmt.Errorf("initial commit: %w", err)
		}
	}

	r := &repo_model.Repository{
		OwnerID: owner.ID, OwnerName: owner.Name, Name: opts.Name, Description: opts.Description,
		IsPrivate: opts.Private, IsEmpty: !opts.AutoInit, DefaultBranch: branch,
		CreatedUnix: now.Unix(), UpdatedUnix: now.Unix(),
		RefsRecorded: true, // none yet: the initial commit is announced below
	}
	err = s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		return repo_model.InsertRepository(ctx, tx, r)
	})
	if err != nil {
		return nil, err
	}
	if err := s.moveIntoPlace(tmp, s.Path(r)); err != nil {
		// The row is committed but the repository has no home: take the row
		// back so the name is free again.
		if derr := repo_model.DeleteRepositoryByID(context.WithoutCancel(ctx), s.d.DB.Engine(), r.ID); derr != nil {
			return nil, errors.Join(err, derr)
		}
		return nil, err
	}
	if opts.AutoInit {
		s.afterRefsMoved(ctx, doer, r.ID, nil) // the initial commit's branch
	}
	return &Context{Repo: r, Owner: owner, Mode: ModeAdmin}, nil
}

func commitEmail(u *user_model.User) string {
	if u.Email != "" {
		return u.Email
	}
	return u.LowerName + "@noreply.wharf"
}

func (s *Service) canCreateIn(ctx context.Context, doer, owner *user_model.User) error {
	if doer.ID == owner.ID || doer.IsAdmin {
		return nil
	}
	if owner.IsOrganization() {
		role, err := organization.GetRole(ctx, s.d.DB.Engine(), owner.ID, doer.ID)
		if err != nil {
			return err
		}
		if role >= organization.RoleWrite {
			return nil
		}
	}
	return apperr.New(apperr.Forbidden, "you may not create repositories for %q", owner.Name)
}

func (s *Service) newTempRepo(branch string) (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	dir := filepath.Join(s.tmpDir(), "new-"+hex.EncodeToString(b)+".git")
	if err := git.InitBare(dir, branch); err != nil {
		return "", err
	}
	return dir, nil
}

// moveIntoPlace renames a finished repository to its path. A directory left
// there by a crash (no row can point at it, the insert just succeeded) is
// moved out of the way first.
func (s *Service) moveIntoPlace(tmp, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("create owner directory: %w", err)
	}
	if _, err := os.Stat(dst); err == nil {
		if err := s.removeDir(dst); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("move repository into place: %w", err)
	}
	return nil
}

// removeDir renames dir into the temp dir (atomic: the path is free at
// once) and then removes it.
func (s *Service) removeDir(dir string) error {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	trash := filepath.Join(s.tmpDir(), "trash-"+hex.EncodeToString(b))
	if err := os.Rename(dir, trash); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove repository directory: %w", err)
	}
	return os.RemoveAll(trash)
}

// Delete removes a repository. One transaction deletes the row (and its
// packages' links to it and its recorded refs) and queues the deletion
// events: a ref deleted, with RepoDeleted set, for every ref announced or
// on disk. Then the directory goes and the events are delivered; a crash
// before that leaves the events to the job runner and the directory to
// the next repository created at that path. Admins of the repository
// only.
func (s *Service) Delete(ctx context.Context, doer *user_model.User, ownerName, name string) error {
	rc, err := s.Get(ctx, doer, ownerName, name)
	if err != nil {
		return err
	}
	if err := rc.Require(doer, ModeAdmin); err != nil {
		return err
	}
	var ids []int64
	err = s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		// Under the lock no reconciliation of the repository runs: what it
		// announced is what is recorded.
		r, err := repo_model.LockRepository(ctx, tx, rc.Repo.ID)
		if err != nil {
			return err
		}
		recorded, err := repo_model.GetRefs(ctx, tx, r.ID)
		if err != nil {
			return err
		}
		onDisk, err := s.diskRefsIfAny(r)
		if err != nil {
			return fmt.Errorf("read refs before deleting: %w", err)
		}
		// A ref on disk that was never announced may still have been used
		// (a Composer version registered from it), so it goes too.
		refs := maps.Clone(onDisk)
		maps.Copy(refs, recorded)
		changes := make([]RefChange, 0, len(refs))
		for ref, id := range refs {
			changes = append(changes, RefChange{RepoID: r.ID, OwnerName: r.OwnerName, RepoName: r.Name, Ref: ref,
				OldID: id, NewID: git.ZeroID, DoerID: doer.ID, RepoDeleted: true})
		}
		sortChanges(changes)
		if err := packages_model.UnlinkRepository(ctx, tx, r.ID); err != nil {
			return err
		}
		if err := repo_model.DeleteRefsOfRepo(ctx, tx, r.ID); err != nil {
			return err
		}
		if err := repo_model.DeleteRepositoryByID(ctx, tx, r.ID); err != nil {
			return err
		}
		if ids, err = s.enqueue(ctx, tx, changes); err != nil {
			return err
		}
		return s.fault(ctx, FaultDeleteTx, r.ID)
	})
	if err != nil {
		return err
	}
	if err := s.fault(ctx, FaultDeleted, rc.Repo.ID); err != nil {
		return err
	}
	path := s.Path(rc.Repo)
	if err := s.removeDir(path); err != nil {
		s.d.Log.ErrorContext(ctx, "repository row deleted but its directory was not", "repo", rc.Repo.FullName(), "path", path, "err", err)
	}
	s.deliver(ctx, ids)
	return nil
}

// ListForOwner lists the repositories of ownerName that viewer may read.
func (s *Service) ListForOwner(ctx context.Context, viewer *user_model.User, ownerName string, opts db.ListOptions) ([]*Context, int64, error) {
	owner, err := s.d.Users.GetVisible(ctx, viewer, ownerName)
	if err != nil {
		return nil, 0, err
	}
	// Whoever reads one private repository of an owner reads them all
	// (roles are per owner), so one probe decides which rows to load, and
	// the rows' modes are decided once per privacy (modeCache): a fixed
	// number of queries, whatever the number of repositories.
	modes := s.newModeCache(viewer)
	mode, err := modes.of(ctx, owner, &repo_model.Repository{OwnerID: owner.ID, IsPrivate: true})
	if err != nil {
		return nil, 0, err
	}
	repos, total, err := repo_model.SearchRepositories(ctx, s.d.DB.Engine(), repo_model.SearchOptions{ListOptions: opts, OwnerID: owner.ID, IncludePrivate: mode >= ModeRead})
	if err != nil {
		return nil, 0, err
	}
	out := make([]*Context, len(repos))
	for i, r := range repos {
		m, err := modes.of(ctx, owner, r)
		if err != nil {
			return nil, 0, err
		}
		out[i] = &Context{Repo: r, Owner: owner, Mode: m}
	}
	return out, total, nil
}

// ContextFor is the repository of rc as viewer sees it, for work done on a
// user's behalf by the system (an auto-registration as the user who set
// it up): not-found if viewer may not read it.
func (s *Service) ContextFor(ctx context.Context, viewer *user_model.User, rc *Context) (*Context, error) {
	mode, err := s.Permission(ctx, viewer, rc.Owner, rc.Repo)
	if err != nil {
		return nil, err
	}
	if mode < ModeRead {
		return nil, repo_model.ErrRepoNotExist
	}
	return &Context{Repo: rc.Repo, Owner: rc.Owner, Mode: mode}, nil
}

// SystemContext loads a repository by id for work done on the system's
// behalf (jobs, event subscribers), with full rights.
func (s *Service) SystemContext(ctx context.Context, repoID int64) (*Context, error) {
	r, err := repo_model.GetRepositoryByID(ctx, s.d.DB.Engine(), repoID)
	if err != nil {
		return nil, err
	}
	owner, err := s.d.Users.GetByID(ctx, r.OwnerID)
	if err != nil {
		return nil, err
	}
	return &Context{Repo: r, Owner: owner, Mode: ModeAdmin}, nil
}

// CloneURL is the repository's HTTP clone URL.
func (s *Service) CloneURL(r *repo_model.Repository) string {
	return s.d.RootURL + r.OwnerName + "/" + r.Name + ".git"
}
