package cargo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"wharf/models/organization"
	packages_model "wharf/models/packages"
	cargo_model "wharf/models/packages/cargo"
	repo_model "wharf/models/repo"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/git"
	cargo_module "wharf/modules/packages/cargo"
	packages_service "wharf/services/packages"
	repo_service "wharf/services/repository"
)

// IndexRepoName is the repository an owner's git index lives in.
const IndexRepoName = "_cargo-index"

// GitIndex describes an owner's git index.
type GitIndex struct {
	Exists     bool
	Repository string // owner/name
	CloneURL   string
	// LastCommit and LastCommitTime are the default branch's head ("" and
	// zero before the first commit).
	LastCommit     string
	LastCommitTime time.Time
}

// mayManageIndex: the owner itself, an owner of the organisation, or an
// administrator creates and rebuilds the git index (it makes a
// repository in the owner's name).
func (s *Service) mayManageIndex(ctx context.Context, a *packages_service.Access) error {
	if err := a.RequireWrite(); err != nil {
		return err
	}
	d := a.Doer
	if d.IsAdmin || d.ID == a.Owner.ID {
		return nil
	}
	if a.Owner.IsOrganization() {
		role, err := organization.GetRole(ctx, s.d.DB.Engine(), a.Owner.ID, d.ID)
		if err != nil {
			return err
		}
		if role >= organization.RoleOwner {
			return nil
		}
	}
	return apperr.New(apperr.Forbidden, "only an owner of %s may set up its cargo git index", a.Owner.Name)
}

// indexRepo is the owner's git index repository, nil when there is none
// (never made, or its repository was deleted: then the record goes too,
// and the registry goes on with its sparse index).
func (s *Service) indexRepo(ctx context.Context, ownerID int64) (*repo_service.Context, error) {
	e := s.d.DB.Engine()
	ix, err := cargo_model.GetIndex(ctx, e, ownerID)
	if err != nil || ix == nil {
		return nil, err
	}
	rc, err := s.d.Repos.SystemContext(ctx, ix.RepoID)
	if errors.Is(err, repo_model.ErrRepoNotExist) || apperr.KindOf(err) == apperr.NotFound {
		if err := cargo_model.DeleteIndex(ctx, e, ownerID); err != nil {
			return nil, err
		}
		return nil, nil
	}
	return rc, err
}

// IndexStatus says whether the owner has a git index, and its head.
func (s *Service) IndexStatus(ctx context.Context, a *packages_service.Access) (*GitIndex, error) {
	rc, err := s.indexRepo(ctx, a.Owner.ID)
	if err != nil || rc == nil {
		return &GitIndex{}, err
	}
	gi := &GitIndex{Exists: true, Repository: rc.Repo.FullName(), CloneURL: s.d.Repos.CloneURL(rc.Repo)}
	c, err := s.d.Repos.Commit(ctx, rc, git.BranchPrefix+rc.Repo.DefaultBranch)
	if err == nil {
		gi.LastCommit, gi.LastCommitTime = c.ID(), c.Committer().When.UTC()
	} else if apperr.KindOf(err) != apperr.NotFound {
		return nil, err
	}
	return gi, nil
}

// InitIndex creates the owner's git index: the repository
// {owner}/_cargo-index, with config.json and a file for every crate
// published so far. created is false when it existed already (nothing
// changes then). From now on every change of a crate reaches it through a
// job (Format.changed).
func (s *Service) InitIndex(ctx context.Context, a *packages_service.Access) (gi *GitIndex, created bool, err error) {
	if err := s.mayManageIndex(ctx, a); err != nil {
		return nil, false, err
	}
	rc, err := s.indexRepo(ctx, a.Owner.ID)
	if err != nil {
		return nil, false, err
	}
	if rc == nil {
		if rc, err = s.createIndexRepo(ctx, a); err != nil {
			return nil, false, err
		}
		created = true
	}
	if err := s.rebuild(ctx, rc, a.Owner, "Initialise the index"); err != nil {
		return nil, false, err
	}
	gi, err = s.IndexStatus(ctx, a)
	return gi, created, err
}

// createIndexRepo makes the repository and records it. A repository of
// that name the record does not know is adopted only when it is empty (a
// crash between making ours and recording it); one with commits is the
// owner's own, and refused.
func (s *Service) createIndexRepo(ctx context.Context, a *packages_service.Access) (*repo_service.Context, error) {
	rc, err := s.d.Repos.Create(ctx, a.Doer, a.Owner.Name, repo_service.CreateOptions{
		Name:        IndexRepoName,
		Description: "Cargo index of " + a.Owner.Name + "'s crates, written by the registry",
		// Not private: a repository that is not private is read by whoever
		// may see its owner, which is exactly who may read the owner's
		// packages (a limited owner's signed-in users, a private one's
		// members). A private repository would shut out a limited owner's
		// users who are not members.
		Private: false,
	})
	if apperr.KindOf(err) == apperr.Conflict {
		rc, err = s.d.Repos.Get(ctx, a.Doer, a.Owner.Name, IndexRepoName)
		if err != nil {
			return nil, err
		}
		if !rc.Repo.IsEmpty {
			return nil, apperr.New(apperr.Conflict, "%s/%s exists and is not the registry's index; rename or delete it to set up the cargo git index", a.Owner.Name, IndexRepoName)
		}
		if rc.Repo.IsPrivate {
			// The index must be read by whoever may read the owner's
			// packages, which a private repository is not (a limited
			// owner's signed-in users); the repository service has no edit
			// to make it public, and the registry does not go around it.
			return nil, apperr.New(apperr.Conflict, "%s/%s exists and is private, so not everyone who may read %s's crates could read it; delete it (it is empty) and set up the cargo git index again", a.Owner.Name, IndexRepoName, a.Owner.Name)
		}
	} else if err != nil {
		return nil, err
	}
	err = cargo_model.SetIndex(ctx, s.d.DB.Engine(), &cargo_model.Index{OwnerID: a.Owner.ID, RepoID: rc.Repo.ID, CreatedUnix: s.d.Now().Unix()})
	if err != nil {
		return nil, err
	}
	return s.d.Repos.SystemContext(ctx, rc.Repo.ID)
}

// RebuildIndex regenerates every file of the owner's git index from the
// registry.
func (s *Service) RebuildIndex(ctx context.Context, a *packages_service.Access) (*GitIndex, error) {
	if err := s.mayManageIndex(ctx, a); err != nil {
		return nil, err
	}
	rc, err := s.indexRepo(ctx, a.Owner.ID)
	if err != nil {
		return nil, err
	}
	if rc == nil {
		return nil, apperr.New(apperr.NotFound, "%s has no cargo git index; create it first", a.Owner.Name)
	}
	if err := s.rebuild(ctx, rc, a.Owner, "Rebuild the index"); err != nil {
		return nil, err
	}
	return s.IndexStatus(ctx, a)
}

// rebuild commits a tree holding exactly config.json and every crate's
// file (no commit when that is what the branch has). The registry is read
// while the repository's writer is held, as in UpdateIndex.
func (s *Service) rebuild(ctx context.Context, rc *repo_service.Context, owner *user_model.User, message string) error {
	_, err := s.d.Repos.CommitTreeBuiltAsSystem(ctx, rc, rc.Repo.DefaultBranch, func(ctx context.Context) ([]git.File, error) {
		return s.indexTree(ctx, owner)
	}, message)
	return err
}

// indexTree is every file of the owner's git index.
func (s *Service) indexTree(ctx context.Context, owner *user_model.User) ([]git.File, error) {
	e := s.d.DB.Engine()
	cfg, err := s.configFile(owner)
	if err != nil {
		return nil, err
	}
	files := []git.File{{Path: "config.json", Content: cfg}}
	crates, err := cargo_model.ListCrates(ctx, e, owner.ID)
	if err != nil {
		return nil, err
	}
	for _, p := range crates {
		body, _, err := s.indexBody(ctx, e, p)
		if err != nil {
			return nil, err
		}
		if len(body) > 0 {
			files = append(files, git.File{Path: cargo_module.IndexPath(p.Name), Content: body})
		}
	}
	return files, nil
}

// UpdateIndex is the job that writes one crate's file into its owner's git
// index as the registry has it now (removed when the crate is gone), and
// config.json as it should be now: the owner's visibility (auth-required)
// and the instance's ROOT_URL change without a hook into the index, so
// every update puts them right (a rebuild does too). Idempotent: files
// that are already right make no commit. An owner without a git index
// (never made, or deleted) has nothing to update.
//
// A push to the index repository can leave a tree the crate's file cannot
// be written into (a file where its directory goes): that commit fails as
// Invalid, and the whole index is then rebuilt, which restores the
// registry's tree, rather than failing this crate's every update.
func (s *Service) UpdateIndex(ctx context.Context, payload string) error {
	var u indexUpdate
	if err := json.Unmarshal([]byte(payload), &u); err != nil {
		return fmt.Errorf("cargo index update payload %q: %w", payload, err)
	}
	rc, err := s.indexRepo(ctx, u.OwnerID)
	if err != nil || rc == nil {
		return err
	}
	owner, err := s.d.Users.GetByID(ctx, u.OwnerID)
	if err != nil {
		return err
	}
	// The crate's file as the registry has it, read while the repository's
	// writer is held: a reading older than the last commit's is never
	// committed over it.
	build := func(ctx context.Context) ([]git.FileChange, error) {
		e := s.d.DB.Engine()
		cfg, err := s.configFile(owner)
		if err != nil {
			return nil, err
		}
		change := git.FileChange{Path: cargo_module.IndexPath(u.Crate)}
		p, err := packages_model.GetPackageByName(ctx, e, u.OwnerID, packages_model.TypeCargo, u.Crate)
		switch {
		case errors.Is(err, packages_model.ErrPackageNotExist):
			change.Delete = true
		case err != nil:
			return nil, err
		default:
			if change.Content, _, err = s.indexBody(ctx, e, p); err != nil {
				return nil, err
			}
			change.Delete = len(change.Content) == 0
		}
		return []git.FileChange{{Path: "config.json", Content: cfg}, change}, nil
	}
	upd, err := s.d.Repos.CommitBuiltAsSystem(ctx, rc, rc.Repo.DefaultBranch, build, "Update "+u.Crate)
	if apperr.KindOf(err) == apperr.Invalid {
		s.d.Log.WarnContext(ctx, "cargo git index: a crate's file does not fit the index's tree; rebuilding the index", "owner", owner.Name, "crate", u.Crate, "err", err)
		return s.rebuild(ctx, rc, owner, "Rebuild the index (its tree did not fit "+u.Crate+"'s file)")
	}
	if err != nil {
		return err
	}
	if upd.OldID == git.ZeroID {
		// The branch was gone (deleted by a push): the commit holds this
		// crate alone; write the whole index back.
		return s.rebuild(ctx, rc, owner, "Rebuild the index (its branch was deleted)")
	}
	return nil
}

// configFile is the git index's config.json.
func (s *Service) configFile(owner *user_model.User) ([]byte, error) {
	cfg, err := json.MarshalIndent(s.ConfigFor(owner), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(cfg, '\n'), nil
}
