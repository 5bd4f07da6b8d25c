package repository

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/git"
)

// open opens the repository's git directory.
func (s *Service) open(rc *Context) (*git.Repo, error) {
	return git.Open(s.Path(rc.Repo))
}

// Branches lists the repository's branches with their head commits.
func (s *Service) Branches(ctx context.Context, rc *Context) ([]Branch, error) {
	g, err := s.open(rc)
	if err != nil {
		return nil, err
	}
	refs, err := g.Branches()
	if err != nil {
		return nil, err
	}
	out := make([]Branch, len(refs))
	for i, r := range refs {
		c, err := g.ResolveCommit(r.CommitID)
		if err != nil {
			return nil, fmt.Errorf("branch %s: %w", r.Name, err)
		}
		out[i] = Branch{Ref: r, Commit: c}
	}
	return out, nil
}

// Branch returns one branch with its head commit, reading only that ref.
func (s *Service) Branch(ctx context.Context, rc *Context, name string) (Branch, error) {
	if err := git.ValidRefName(name); err != nil {
		return Branch{}, err
	}
	g, err := s.open(rc)
	if err != nil {
		return Branch{}, err
	}
	ref, err := g.Ref(git.BranchPrefix + name)
	if err != nil {
		return Branch{}, apperr.New(apperr.NotFound, "branch %q does not exist", name)
	}
	c, err := g.ResolveCommit(ref.CommitID)
	if err != nil {
		return Branch{}, fmt.Errorf("branch %s: %w", name, err)
	}
	return Branch{Ref: ref, Commit: c}, nil
}

// Branch is a branch with its head commit.
type Branch struct {
	git.Ref
	Commit *git.Commit
}

// Tags lists the repository's tags.
func (s *Service) Tags(ctx context.Context, rc *Context) ([]git.TagInfo, error) {
	g, err := s.open(rc)
	if err != nil {
		return nil, err
	}
	refs, err := g.Tags()
	if err != nil {
		return nil, err
	}
	out := make([]git.TagInfo, 0, len(refs))
	for _, r := range refs {
		ti, err := g.TagInfo(r.Name)
		if errors.Is(err, git.ErrTagNotCommit) {
			continue // a tag of a tree or blob: nothing a tag list shows
		} else if err != nil {
			return nil, err
		}
		out = append(out, ti)
	}
	return out, nil
}

// Tag returns one tag.
func (s *Service) Tag(ctx context.Context, rc *Context, name string) (git.TagInfo, error) {
	if err := git.ValidRefName(name); err != nil {
		return git.TagInfo{}, err
	}
	g, err := s.open(rc)
	if err != nil {
		return git.TagInfo{}, err
	}
	t, err := g.TagInfo(name)
	if errors.Is(err, git.ErrTagNotCommit) {
		return git.TagInfo{}, err // there, but naming no commit
	} else if err != nil {
		return git.TagInfo{}, apperr.New(apperr.NotFound, "tag %q does not exist", name)
	}
	return t, nil
}

// CreateTag tags target (a branch, tag or commit id; the default branch
// when empty). A message makes an annotated tag signed by doer.
func (s *Service) CreateTag(ctx context.Context, doer *user_model.User, rc *Context, name, target, message string) (git.TagInfo, error) {
	if err := rc.Require(doer, ModeWrite); err != nil {
		return git.TagInfo{}, err
	}
	if err := git.ValidRefName(name); err != nil {
		return git.TagInfo{}, apperr.Wrap(apperr.Unprocessable, err, "tag name")
	}
	if target == "" {
		target = rc.Repo.DefaultBranch
	}
	g, err := s.open(rc)
	if err != nil {
		return git.TagInfo{}, err
	}
	c, err := g.ResolveCommit(target)
	if err != nil {
		return git.TagInfo{}, apperr.New(apperr.NotFound, "target %q does not exist", target)
	}
	tagger := git.Signature{Name: doer.Name, Email: commitEmail(doer), When: s.d.Now()}
	ref, err := g.CreateTag(name, c.ID(), message, tagger)
	if err != nil {
		if err == git.ErrRefExists {
			return git.TagInfo{}, apperr.New(apperr.Conflict, "tag %q already exists", name)
		}
		return git.TagInfo{}, err
	}
	if err := s.fault(ctx, FaultRefsMoved, rc.Repo.ID); err != nil {
		return git.TagInfo{}, err
	}
	s.afterRefsMoved(ctx, doer, rc.Repo.ID, []git.RefUpdate{{Ref: ref.FullName, OldID: git.ZeroID, NewID: ref.ObjectID}})
	return g.TagInfo(name)
}

// DeleteTag deletes a tag.
func (s *Service) DeleteTag(ctx context.Context, doer *user_model.User, rc *Context, name string) error {
	if err := rc.Require(doer, ModeWrite); err != nil {
		return err
	}
	t, err := s.Tag(ctx, rc, name)
	if err != nil {
		return err
	}
	g, err := s.open(rc)
	if err != nil {
		return err
	}
	if err := g.DeleteRef(t.FullName, t.ObjectID); err != nil {
		return err
	}
	if err := s.fault(ctx, FaultRefsMoved, rc.Repo.ID); err != nil {
		return err
	}
	s.afterRefsMoved(ctx, doer, rc.Repo.ID, []git.RefUpdate{{Ref: t.FullName, OldID: t.ObjectID, NewID: git.ZeroID}})
	return nil
}

// resolve checks a ref given in a URL and finds its commit.
func (s *Service) resolve(rc *Context, ref string) (*git.Commit, error) {
	if ref == "" {
		ref = rc.Repo.DefaultBranch
	}
	if !git.IsCommitID(ref) {
		if err := git.ValidRefName(ref); err != nil {
			return nil, err
		}
	}
	g, err := s.open(rc)
	if err != nil {
		return nil, err
	}
	c, err := g.ResolveCommit(ref)
	if err != nil {
		return nil, apperr.New(apperr.NotFound, "ref %q does not exist", ref)
	}
	return c, nil
}

// Commit resolves a branch, tag or commit id of the repository.
func (s *Service) Commit(ctx context.Context, rc *Context, ref string) (*git.Commit, error) {
	return s.resolve(rc, ref)
}

// WriteArchive streams an archive of ref (see git.Commit.WriteArchive),
// with the repository name as its top directory.
func (s *Service) WriteArchive(ctx context.Context, c *git.Commit, rc *Context, format git.ArchiveFormat, w io.Writer) error {
	return c.WriteArchiveContext(ctx, w, format, rc.Repo.Name)
}

// OpenFile opens a file of ref for reading. The path is checked: no ".."
// segments, no absolute paths.
func (s *Service) OpenFile(ctx context.Context, rc *Context, ref, filePath string) (io.ReadCloser, int64, *git.Commit, error) {
	clean := path.Clean("/" + filePath)[1:]
	if filePath == "" || clean != strings.TrimSuffix(filePath, "/") || strings.Contains(filePath, "\x00") {
		return nil, 0, nil, apperr.New(apperr.Invalid, "invalid file path %q", filePath)
	}
	c, err := s.resolve(rc, ref)
	if err != nil {
		return nil, 0, nil, err
	}
	r, size, err := c.OpenFile(clean)
	if err != nil {
		return nil, 0, nil, err
	}
	return r, size, c, nil
}

// RPC prepares a smart HTTP run of service for the repository; the caller
// must have read (upload-pack) or write (receive-pack).
func (s *Service) RPC(viewer *user_model.User, rc *Context, svc git.Service, protocol string) (*git.RPC, error) {
	need := ModeRead
	if svc == git.ReceivePack {
		need = ModeWrite
	}
	if err := rc.Require(viewer, need); err != nil {
		return nil, err
	}
	return &git.RPC{Service: svc, Dir: s.Path(rc.Repo), Protocol: protocol, HooksDir: s.HooksDir(), TempDir: s.tmpDir()}, nil
}

// AfterPush announces what a push changed: it reconciles the repository's
// refs with the recorded ones (see Reconcile) and delivers the events.
// Call it after every receive-pack run, also one that failed (git may
// have moved some refs before failing); updates are the refs git reported
// moved, if any. A crash before this runs loses nothing: the next push or
// start-up announces the changes.
func (s *Service) AfterPush(ctx context.Context, doer *user_model.User, rc *Context, updates []git.RefUpdate) {
	if err := s.fault(ctx, FaultRefsMoved, rc.Repo.ID); err != nil {
		s.d.Log.ErrorContext(ctx, "push not announced", "repo", rc.Repo.FullName(), "err", err)
		return
	}
	if updates == nil {
		updates = []git.RefUpdate{} // what else changed is not the doer's
	}
	s.afterRefsMoved(ctx, doer, rc.Repo.ID, updates)
}

// CommitByPrefix finds the commit whose id starts with prefix (7 to 40
// lower-case hex digits); none or several is NotFound.
func (s *Service) CommitByPrefix(ctx context.Context, rc *Context, prefix string) (*git.Commit, error) {
	g, err := s.open(rc)
	if err != nil {
		return nil, err
	}
	c, err := g.CommitByPrefix(prefix)
	if err != nil {
		return nil, apperr.New(apperr.NotFound, "commit %q does not exist", prefix)
	}
	return c, nil
}
