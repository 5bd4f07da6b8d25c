package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"wharf/modules/apperr"
)

// FileChange is one change CommitFiles makes to a tree: the file at Path
// gets Content, or, with Delete, is removed.
type FileChange struct {
	Path    string // slash-separated, relative: se/rd/serde
	Content []byte
	Delete  bool
}

// ErrRefMoved is returned by CommitFiles and CommitTree when the branch
// no longer points at the expected parent, or another writer is updating
// it right now. Nothing was changed: read the branch again and retry.
var ErrRefMoved = apperr.New(apperr.Conflict, "branch moved while it was being committed to")

// ValidFilePath checks a path given to CommitFiles or CommitTree: slash
// separated and relative, no empty, "." or ".." segment, no ".git"
// segment in any case (git refuses to check those out), no NUL.
func ValidFilePath(p string) error {
	bad := func(why string) error {
		return apperr.New(apperr.Invalid, "invalid file path %q: %s", p, why)
	}
	if p == "" {
		return bad("empty")
	}
	if strings.IndexByte(p, 0) >= 0 {
		return bad("contains NUL")
	}
	for _, seg := range strings.Split(p, "/") {
		switch {
		case seg == "":
			return bad("empty segment (leading, trailing or double '/')")
		case seg == "." || seg == "..":
			return bad("'.' or '..' segment")
		case strings.EqualFold(seg, ".git"):
			return bad("\".git\" segment")
		}
	}
	return nil
}

// CommitFiles writes a commit on branch whose tree is expectedParent's
// with changes applied, and moves the branch to it. Directories are
// created as needed; a directory left empty by a deletion is removed.
// Files are written as regular files (mode 100644); deleting a file that
// is not there is no change. It is an error (Invalid) to name a path
// twice, to write a file where a directory is or below a file, or to
// delete a directory.
//
// expectedParent "" makes a root commit on a branch that must not exist
// yet; otherwise the branch must point at expectedParent. The branch is
// moved with git's own locking protocol (refs/heads/<branch>.lock, created
// exclusively, then renamed over the ref), so a concurrent git push or
// another writer is never overwritten and readers never see a partly
// written ref: when the branch is elsewhere, or locked by another writer,
// the result is ErrRefMoved and nothing changed.
//
// When the changes leave the tree as it is, no commit is written: the
// branch stays (it is checked to still be at expectedParent) and
// expectedParent is returned. Callers that re-apply the same change (an
// idempotent job run again) thus add no empty commits; newID ==
// expectedParent tells them nothing was committed.
//
// The committer is the author. A message without a final newline gets
// one, as git writes it. A Repo is not safe for concurrent writes: each
// writer opens its own.
func (g *Repo) CommitFiles(branch, expectedParent string, changes []FileChange, author Signature, message string) (newID string, err error) {
	seen := make(map[string]bool, len(changes))
	cs := make([]change, len(changes))
	for i, c := range changes {
		if err := ValidFilePath(c.Path); err != nil {
			return "", err
		}
		if seen[c.Path] {
			return "", apperr.New(apperr.Invalid, "file %q is changed twice", c.Path)
		}
		seen[c.Path] = true
		cs[i] = change{path: c.Path, content: c.Content, del: c.Delete}
	}
	return g.commit(branch, expectedParent, false, cs, author, message)
}

// CommitTree is CommitFiles for a tree that is exactly files, whatever
// expectedParent held: a rebuild of every file at once.
func (g *Repo) CommitTree(branch, expectedParent string, files []File, author Signature, message string) (newID string, err error) {
	seen := make(map[string]bool, len(files))
	cs := make([]change, len(files))
	for i, f := range files {
		if err := ValidFilePath(f.Path); err != nil {
			return "", err
		}
		if seen[f.Path] {
			return "", apperr.New(apperr.Invalid, "file %q is given twice", f.Path)
		}
		seen[f.Path] = true
		cs[i] = change{path: f.Path, content: f.Content}
	}
	return g.commit(branch, expectedParent, true, cs, author, message)
}

// ReadFile reads a regular file of the commit a branch, tag or commit id
// names, whole: for small files (an index entry, a config).
func (g *Repo) ReadFile(rev, filePath string) ([]byte, error) {
	c, err := g.ResolveCommit(rev)
	if err != nil {
		return nil, err
	}
	r, _, err := c.OpenFile(filePath)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// change is a validated FileChange, its path relative to the tree being
// built.
type change struct {
	path    string
	content []byte
	del     bool
}

func (g *Repo) commit(branch, expectedParent string, replace bool, cs []change, author Signature, message string) (string, error) {
	if err := ValidRefName(branch); err != nil {
		return "", err
	}
	if expectedParent != "" && !IsCommitID(expectedParent) {
		return "", apperr.New(apperr.Invalid, "expected parent %q is not a commit id", expectedParent)
	}
	name := plumbing.NewBranchReferenceName(branch)
	// The branch is checked again, under its lock, when it is moved; this
	// early look saves writing objects for a parent that is already stale.
	if err := g.checkRef(name, expectedParent); err != nil {
		return "", err
	}
	var base, parentTree plumbing.Hash
	var parents []plumbing.Hash
	if expectedParent != "" {
		parent, err := g.r.CommitObject(plumbing.NewHash(expectedParent))
		if err != nil {
			return "", fmt.Errorf("read parent %s: %w", expectedParent, err)
		}
		parents = []plumbing.Hash{parent.Hash}
		parentTree = parent.TreeHash
		if !replace {
			base = parent.TreeHash
		}
	}
	tree, _, err := g.buildTree(base, cs, "")
	if err != nil {
		return "", err
	}
	if expectedParent != "" && tree == parentTree {
		return expectedParent, g.checkRef(name, expectedParent)
	}
	if !strings.HasSuffix(message, "\n") {
		message += "\n"
	}
	c := &object.Commit{Author: author.object(), Committer: author.object(), Message: message, TreeHash: tree, ParentHashes: parents}
	obj := g.r.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return "", err
	}
	id, err := g.writeObject(obj)
	if err != nil {
		return "", fmt.Errorf("write commit: %w", err)
	}
	if err := g.casRef(name, expectedParent, id); err != nil {
		return "", err
	}
	return id.String(), nil
}

// buildTree writes the tree that is base (zero: none) with cs applied and
// returns its id; empty reports that nothing is left in it (the root is
// then the empty tree; a subdirectory is not written). Subtrees no change touches keep their ids
// and are not read.
func (g *Repo) buildTree(base plumbing.Hash, cs []change, dir string) (id plumbing.Hash, empty bool, err error) {
	entries := map[string]object.TreeEntry{}
	if !base.IsZero() {
		t, err := object.GetTree(g.r.Storer, base)
		if err != nil {
			return plumbing.ZeroHash, false, fmt.Errorf("read tree %q: %w", dir, err)
		}
		for _, e := range t.Entries {
			entries[e.Name] = e
		}
	}
	files := map[string]change{}
	subdirs := map[string][]change{}
	for _, c := range cs {
		first, rest, nested := strings.Cut(c.path, "/")
		if nested {
			subdirs[first] = append(subdirs[first], change{path: rest, content: c.content, del: c.del})
		} else {
			files[first] = c
		}
	}
	for name, c := range files {
		full := path.Join(dir, name)
		if _, ok := subdirs[name]; ok {
			return plumbing.ZeroHash, false, apperr.New(apperr.Invalid, "%q is changed both as a file and as a directory", full)
		}
		if e, ok := entries[name]; ok && e.Mode == filemode.Dir {
			return plumbing.ZeroHash, false, apperr.New(apperr.Invalid, "%q is a directory", full)
		}
		if c.del {
			delete(entries, name)
			continue
		}
		obj := g.r.Storer.NewEncodedObject()
		obj.SetType(plumbing.BlobObject)
		obj.SetSize(int64(len(c.content)))
		w, err := obj.Writer()
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		if _, err := w.Write(c.content); err != nil {
			return plumbing.ZeroHash, false, err
		}
		if err := w.Close(); err != nil {
			return plumbing.ZeroHash, false, err
		}
		h, err := g.writeObject(obj)
		if err != nil {
			return plumbing.ZeroHash, false, fmt.Errorf("write %q: %w", full, err)
		}
		entries[name] = object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: h}
	}
	for name, sub := range subdirs {
		full := path.Join(dir, name)
		var subBase plumbing.Hash
		if e, ok := entries[name]; ok {
			if e.Mode != filemode.Dir {
				if allDeletes(sub) {
					continue // nothing below a file to delete
				}
				return plumbing.ZeroHash, false, apperr.New(apperr.Invalid, "%q is a file", full)
			}
			subBase = e.Hash
		}
		h, subEmpty, err := g.buildTree(subBase, sub, full)
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		if subEmpty {
			delete(entries, name)
		} else {
			entries[name] = object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}
		}
	}
	if len(entries) == 0 && dir != "" {
		return plumbing.ZeroHash, true, nil // pruned: an empty directory is not written
	}
	t := &object.Tree{Entries: make([]object.TreeEntry, 0, len(entries))}
	for _, e := range entries {
		t.Entries = append(t.Entries, e)
	}
	// git orders entries by name, a directory's name compared as if it
	// ended in '/' ("a.txt" < "a/" < "a0"); fsck refuses other orders.
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(t.Entries, func(i, j int) bool { return key(t.Entries[i]) < key(t.Entries[j]) })
	obj := g.r.Storer.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, false, err
	}
	h, err := g.writeObject(obj)
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("write tree %q: %w", dir, err)
	}
	return h, len(t.Entries) == 0, nil
}

func allDeletes(cs []change) bool {
	for _, c := range cs {
		if !c.del {
			return false
		}
	}
	return true
}

// writeObject stores obj unless the repository has it already (as a
// loose object or in a pack).
func (g *Repo) writeObject(obj plumbing.EncodedObject) (plumbing.Hash, error) {
	h := obj.Hash()
	if g.r.Storer.HasEncodedObject(h) == nil {
		return h, nil
	}
	return g.r.Storer.SetEncodedObject(obj)
}

// current is the commit id a branch points at, "" when it does not exist.
func (g *Repo) current(name plumbing.ReferenceName) (string, error) {
	ref, err := g.r.Storer.Reference(name)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	if ref.Type() != plumbing.HashReference {
		return "", apperr.New(apperr.Conflict, "%s is a symbolic ref", name)
	}
	return ref.Hash().String(), nil
}

func (g *Repo) checkRef(name plumbing.ReferenceName, want string) error {
	cur, err := g.current(name)
	if err != nil {
		return err
	}
	if cur != want {
		return ErrRefMoved
	}
	return nil
}

func (g *Repo) fs() (billy.Filesystem, error) {
	st, ok := g.r.Storer.(*filesystem.Storage)
	if !ok {
		return nil, errors.New("in-process writes need a repository on disk")
	}
	return st.Filesystem(), nil
}

// casRef moves a ref from old ("": absent) to id as git does: the lock
// file <ref>.lock is created exclusively (git and every other writer that
// follows git's protocol fail while it exists), the ref is read and
// compared under it, and the lock file, holding the new id, is renamed
// over the ref, which readers therefore see either before or after.
// go-git's CheckAndSetReference is not used: it flocks the ref file and
// rewrites it in place, which git's writers (they rename over the file)
// do not see, readers may catch truncated, and a ref that must not exist
// yet is not checked at all.
func (g *Repo) casRef(name plumbing.ReferenceName, old string, id plumbing.Hash) (err error) {
	fs, err := g.fs()
	if err != nil {
		return err
	}
	refPath := filepath.Join(fs.Root(), filepath.FromSlash(name.String()))
	lockPath := refPath + ".lock"
	if err := os.MkdirAll(filepath.Dir(refPath), 0o755); err != nil {
		return apperr.Wrap(apperr.Conflict, err, "create %s", name)
	}
	f, err := os.OpenFile(lockPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s is being updated by another writer (%s exists): %w", name, lockPath, ErrRefMoved)
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	renamed := false
	defer func() {
		if !renamed {
			_ = f.Close()
			if rerr := os.Remove(lockPath); rerr != nil && err == nil {
				err = fmt.Errorf("unlock %s: %w", name, rerr)
			}
		}
	}()
	if err := g.checkRef(name, old); err != nil {
		return err
	}
	if _, err := f.WriteString(id.String() + "\n"); err != nil {
		return fmt.Errorf("write %s: %w", lockPath, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", lockPath, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", lockPath, err)
	}
	if err := os.Rename(lockPath, refPath); err != nil {
		return apperr.Wrap(apperr.Conflict, err, "move %s", name)
	}
	renamed = true
	return nil
}

// writeLockFile is flock(2)ed by LockWrites. It is not named *.lock: git
// takes such files for stale locks to be removed by hand, while this one
// is released by the kernel when its holder exits, and never removed.
const writeLockFile = "wharf-writer.flock"

// LockWrites waits until no other writer holds the repository's write
// lock, or ctx ends, and takes it; unlock releases it. Writers in this
// process and in others on the same host take turns, so that they do not
// race to move the same branch (CommitFiles stays safe without it: the
// lock saves retries and keeps one writer's commits in order). A writer
// that gives up waiting leaves nothing behind.
func (g *Repo) LockWrites(ctx context.Context) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fs, err := g.fs()
	if err != nil {
		return nil, err
	}
	f, err := fs.OpenFile(writeLockFile, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open write lock: %w", err)
	}
	// flock cannot be interrupted: it waits on its own, and whoever does
	// not take the outcome closes the file, which releases the lock.
	locked := make(chan error, 1)
	go func() { locked <- f.Lock() }()
	select {
	case err := <-locked:
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("take write lock: %w", err)
		}
		return func() { _ = f.Close() }, nil
	case <-ctx.Done():
		go func() {
			<-locked
			_ = f.Close()
		}()
		return nil, ctx.Err()
	}
}
