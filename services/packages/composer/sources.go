package composer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	composer_model "wharf/models/packages/composer"
	"wharf/modules/apperr"
	packages_service "wharf/services/packages"
	repo_service "wharf/services/repository"
)

// Source is a repository that registers its new tags into an owner's
// registry.
type Source struct {
	Repository string // owner/name
}

// sourceRepo finds "owner/name" as the caller sees it.
func (s *Service) sourceRepo(ctx context.Context, a *packages_service.Access, full string) (*repo_service.Context, error) {
	owner, name, ok := strings.Cut(full, "/")
	if !ok || owner == "" || name == "" {
		return nil, apperr.New(apperr.Invalid, "name the repository as owner/name")
	}
	rc, err := s.d.Repos.Get(ctx, a.Doer, owner, name)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil, apperr.New(apperr.NotFound, "repository %q does not exist", full)
	} else if err != nil {
		return nil, err
	}
	return rc, nil
}

// AddSource makes every tag pushed from now on to the repository register
// itself into the owner's registry, as the caller.
func (s *Service) AddSource(ctx context.Context, a *packages_service.Access, repository string) error {
	if err := a.RequireWrite(); err != nil {
		return err
	}
	rc, err := s.sourceRepo(ctx, a, repository)
	if err != nil {
		return err
	}
	return composer_model.AddSource(ctx, s.d.DB.Engine(), &composer_model.Source{OwnerID: a.Owner.ID, RepoID: rc.Repo.ID, CreatorID: a.Doer.ID, CreatedUnix: s.d.Now().Unix()})
}

// RemoveSource stops the auto-registration; registered versions stay.
func (s *Service) RemoveSource(ctx context.Context, a *packages_service.Access, repository string) error {
	if err := a.RequireWrite(); err != nil {
		return err
	}
	rc, err := s.sourceRepo(ctx, a, repository)
	if err != nil {
		return err
	}
	removed, err := composer_model.RemoveSource(ctx, s.d.DB.Engine(), a.Owner.ID, rc.Repo.ID)
	if err != nil {
		return err
	}
	if !removed {
		return apperr.New(apperr.NotFound, "%s does not register into %s", repository, a.Owner.Name)
	}
	return nil
}

// Sources lists the owner's auto-registering repositories that the caller
// may read: a source is a repository, shown only to whom may see it (by
// its own owner and privacy, never by the registry's), as a package's
// linked repository is.
func (s *Service) Sources(ctx context.Context, a *packages_service.Access) ([]Source, error) {
	rows, err := composer_model.SourcesOfOwner(ctx, s.d.DB.Engine(), a.Owner.ID)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(rows))
	for i, row := range rows {
		ids[i] = row.RepoID
	}
	readable, err := s.d.Packages.ReadableRepositories(ctx, a.Doer, ids)
	if err != nil {
		return nil, err
	}
	out := []Source{}
	for _, row := range rows {
		if rc, ok := readable[row.RepoID]; ok { // a deleted repository is not there either
			out = append(out, Source{Repository: rc.Repo.FullName()})
		}
	}
	return out, nil
}

// autoRegister registers a new tag into every registry its repository
// feeds, as the user who set the source up (with that user's rights as
// they are now). A tag that is not a version, a commit without a usable
// composer.json, or a source whose user or owner is gone or lost the
// right, is skipped (logged): the push was not a release for it. Any other
// failure (the database) fails the delivery, after trying every source, so
// that the job runner logs it and retries; sources already registered are
// found registered on the retry.
func (s *Service) autoRegister(ctx context.Context, c repo_service.RefChange) error {
	sources, err := composer_model.SourcesOfRepo(ctx, s.d.DB.Engine(), c.RepoID)
	if err != nil {
		return fmt.Errorf("list composer sources of repository %d: %w", c.RepoID, err)
	}
	if len(sources) == 0 {
		return nil
	}
	rc, err := s.d.Repos.SystemContext(ctx, c.RepoID)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil // deleted meanwhile; its sources go with it
	} else if err != nil {
		return fmt.Errorf("load repository %d: %w", c.RepoID, err)
	}
	var errs []error
	for _, src := range sources {
		if err := s.registerFromSource(ctx, rc, src, c.ShortName()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// registerFromSource registers tag into one source's registry. It returns
// only failures worth retrying.
func (s *Service) registerFromSource(ctx context.Context, rc *repo_service.Context, src *composer_model.Source, tag string) error {
	skip := func(reason string, err error) error {
		s.d.Log.InfoContext(ctx, "composer auto-registration skipped a tag", "repo", rc.Repo.FullName(), "tag", tag,
			"owner_id", src.OwnerID, "reason", reason, "err", err)
		return nil
	}
	creator, err := s.d.Users.GetByID(ctx, src.CreatorID)
	if apperr.KindOf(err) == apperr.NotFound {
		return skip("the user who set up the source no longer exists", err)
	} else if err != nil {
		return fmt.Errorf("auto-register %s %s: load user %d: %w", rc.Repo.FullName(), tag, src.CreatorID, err)
	}
	owner, err := s.d.Users.GetByID(ctx, src.OwnerID)
	if apperr.KindOf(err) == apperr.NotFound {
		return skip("the registry's owner no longer exists", err)
	} else if err != nil {
		return fmt.Errorf("auto-register %s %s: load owner %d: %w", rc.Repo.FullName(), tag, src.OwnerID, err)
	}
	a, err := s.d.Packages.AccessTo(ctx, creator, owner)
	switch {
	case err == nil:
	case apperr.KindOf(err) == apperr.Internal:
		return fmt.Errorf("auto-register %s %s into %s: %w", rc.Repo.FullName(), tag, owner.Name, err)
	default:
		return skip("the user who set up the source may no longer see the registry", err)
	}
	// The repository as that user sees it now: the rights are theirs.
	seen, err := s.d.Repos.ContextFor(ctx, creator, rc)
	switch {
	case err == nil:
	case apperr.KindOf(err) == apperr.Internal:
		return fmt.Errorf("auto-register %s %s into %s: %w", rc.Repo.FullName(), tag, owner.Name, err)
	default:
		return skip("the user who set up the source may no longer read the repository", err)
	}
	if _, err := s.register(ctx, a, seen, tag, ""); err != nil {
		if apperr.KindOf(err) == apperr.Internal {
			return fmt.Errorf("auto-register %s %s into %s: %w", rc.Repo.FullName(), tag, owner.Name, err)
		}
		return skip("not registrable", err)
	}
	return nil
}
