package repository

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"time"

	"wharf/modules/apperr"
	"wharf/modules/git"
)

// commitAttempts bounds CommitAsSystem's retries when the branch moves
// under it. Wharf's own writers take turns (git.Repo.LockWrites), so only
// a push racing the commit makes one retry; five attempts outlast any
// plausible run of those.
const commitAttempts = 5

// SystemAuthor is who the system's commits are by: "Wharf" at
// noreply@ and the host of ROOT_URL. Users' no-reply addresses are
// {name}@noreply.{host}, so this one is nobody's.
func (s *Service) SystemAuthor() git.Signature {
	host := "localhost"
	if u, err := url.Parse(s.d.RootURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return git.Signature{Name: "Wharf", Email: "noreply@" + host, When: s.d.Now()}
}

// CommitAsSystem commits changes (see git.Repo.CommitFiles) on top of
// branch of rc's repository, as the system: for derived state the system
// keeps in a repository (the Cargo git index), whatever rc's rights are
// (the caller decided the system may write there). A branch that does not
// exist yet gets a root commit.
//
// Commits are made in-process. Writers of one repository take turns, in
// this process and in others on the host; a push that moves the branch
// meanwhile makes it read the branch again and retry (a few times, then
// ErrRefMoved, which a job's retry handles). Then the ref move is
// announced like any other (recorded, events queued and delivered, doer
// the system) before the next writer's turn, so each system commit is
// its own event, in order. A ref subscriber must therefore not call this
// for the same repository: it would wait for itself.
//
// The result is the branch's update: OldID is git.ZeroID for a root
// commit, and OldID == NewID when the changes were already there (no
// commit is written, nothing announced).
func (s *Service) CommitAsSystem(ctx context.Context, rc *Context, branch string, changes []git.FileChange, message string) (git.RefUpdate, error) {
	return s.CommitBuiltAsSystem(ctx, rc, branch, func(context.Context) ([]git.FileChange, error) { return changes, nil }, message)
}

// CommitBuiltAsSystem is CommitAsSystem with the changes made by build,
// which runs while this writer holds the repository (and again on a
// retry): content derived from the database is read after every earlier
// system commit of the repository landed, so an older reading can never
// be committed over a newer one.
func (s *Service) CommitBuiltAsSystem(ctx context.Context, rc *Context, branch string, build func(ctx context.Context) ([]git.FileChange, error), message string) (git.RefUpdate, error) {
	return s.commitAsSystem(ctx, rc, branch, func(g *git.Repo, parent string) (string, error) {
		changes, err := build(ctx)
		if err != nil {
			return "", err
		}
		return g.CommitFiles(branch, parent, changes, s.SystemAuthor(), message)
	})
}

// CommitTreeAsSystem is CommitAsSystem for a commit whose tree is exactly
// files (git.Repo.CommitTree): a rebuild that regenerates everything.
func (s *Service) CommitTreeAsSystem(ctx context.Context, rc *Context, branch string, files []git.File, message string) (git.RefUpdate, error) {
	return s.CommitTreeBuiltAsSystem(ctx, rc, branch, func(context.Context) ([]git.File, error) { return files, nil }, message)
}

// CommitTreeBuiltAsSystem is CommitTreeAsSystem with the files made by
// build while this writer holds the repository (see CommitBuiltAsSystem).
func (s *Service) CommitTreeBuiltAsSystem(ctx context.Context, rc *Context, branch string, build func(ctx context.Context) ([]git.File, error), message string) (git.RefUpdate, error) {
	return s.commitAsSystem(ctx, rc, branch, func(g *git.Repo, parent string) (string, error) {
		files, err := build(ctx)
		if err != nil {
			return "", err
		}
		return g.CommitTree(branch, parent, files, s.SystemAuthor(), message)
	})
}

func (s *Service) commitAsSystem(ctx context.Context, rc *Context, branch string, write func(g *git.Repo, parent string) (string, error)) (git.RefUpdate, error) {
	if err := git.ValidRefName(branch); err != nil {
		return git.RefUpdate{}, apperr.Wrap(apperr.Invalid, err, "branch")
	}
	g, err := s.open(rc)
	if err != nil {
		return git.RefUpdate{}, err
	}
	unlock, err := g.LockWrites(ctx)
	if err != nil {
		return git.RefUpdate{}, fmt.Errorf("wait for the writer of %s before this one: %w", rc.Repo.FullName(), err)
	}
	defer unlock()
	full := git.BranchPrefix + branch
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return git.RefUpdate{}, err
		}
		parent := ""
		if ref, err := g.Ref(full); err == nil {
			parent = ref.ObjectID
		} else if !errors.Is(err, git.ErrRefNotExist) {
			return git.RefUpdate{}, err
		}
		id, err := write(g, parent)
		if errors.Is(err, git.ErrRefMoved) && attempt < commitAttempts {
			if err := sleepCtx(ctx, time.Duration(attempt)*10*time.Millisecond+rand.N(10*time.Millisecond)); err != nil {
				return git.RefUpdate{}, err
			}
			continue
		}
		if err != nil {
			return git.RefUpdate{}, fmt.Errorf("commit to %s of %s: %w", branch, rc.Repo.FullName(), err)
		}
		u := git.RefUpdate{Ref: full, OldID: parent, NewID: id}
		if parent == "" {
			u.OldID = git.ZeroID
		}
		if id == parent {
			return u, nil
		}
		if err := s.fault(ctx, FaultRefsMoved, rc.Repo.ID); err != nil {
			return git.RefUpdate{}, err
		}
		s.afterRefsMoved(ctx, nil, rc.Repo.ID, []git.RefUpdate{u})
		return u, nil
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
