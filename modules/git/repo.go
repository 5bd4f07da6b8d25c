package git

import (
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"wharf/modules/apperr"
)

// largeObjectThreshold: blobs above it are streamed from disk rather than
// read into memory, which keeps archives of big files in bounded memory.
const largeObjectThreshold = 1 << 20

// Repo is an open bare repository.
type Repo struct {
	r *gogit.Repository
}

// InitBare creates an empty bare repository at path whose HEAD names
// defaultBranch.
func InitBare(path, defaultBranch string) error {
	_, err := gogit.PlainInitWithOptions(path, &gogit.PlainInitOptions{
		Bare:        true,
		InitOptions: gogit.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(defaultBranch)},
	})
	if err != nil {
		return fmt.Errorf("init bare repository: %w", err)
	}
	return nil
}

// Open opens the bare repository at path.
func Open(path string) (*Repo, error) {
	st := filesystem.NewStorageWithOptions(osfs.New(path), cache.NewObjectLRU(8*cache.MiByte),
		filesystem.Options{LargeObjectThreshold: largeObjectThreshold})
	r, err := gogit.Open(st, nil)
	if err != nil {
		return nil, fmt.Errorf("open repository: %w", err)
	}
	return &Repo{r: r}, nil
}

// Ref is a branch or tag with what it points at.
type Ref struct {
	Name     string // short name: main, v1.0.0
	FullName string // refs/heads/main
	ObjectID string // what the ref points at (a tag object for annotated tags)
	CommitID string // the commit, tags peeled
}

// ErrRefNotExist is returned for a branch, tag or commit that is not there.
var ErrRefNotExist = apperr.New(apperr.NotFound, "ref does not exist")

// AllRefs lists every ref under refs/, as full name → object id.
//
// It reads the refs itself rather than through go-git's References(),
// which takes a writer's in-flight "<ref>.lock" file for a ref (git's
// and CommitFiles' update protocol: a push in progress would be recorded
// and announced as a branch "main.lock") and fails on one still empty.
// A name ending in ".lock" is never a valid ref, so skipping those files
// loses nothing; loose refs win over packed-refs, as in git.
func (g *Repo) AllRefs() (map[string]string, error) {
	fs, err := g.fs()
	if err != nil {
		return nil, err
	}
	root := fs.Root()
	out := map[string]string{}
	if err := readPackedRefs(filepath.Join(root, "packed-refs"), out); err != nil {
		return nil, err
	}
	err = filepath.WalkDir(filepath.Join(root, "refs"), func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, iofs.ErrNotExist) {
				return nil // removed while walking (a ref deleted, a directory pruned)
			}
			return err
		}
		if d.IsDir() || strings.HasSuffix(d.Name(), ".lock") {
			return nil
		}
		b, err := os.ReadFile(p)
		if errors.Is(err, iofs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		id := strings.TrimSpace(string(b))
		if !plumbing.IsHash(id) {
			return nil // a symbolic ref, or a file not written yet
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = id
		return nil
	})
	if err != nil && !errors.Is(err, iofs.ErrNotExist) {
		return nil, fmt.Errorf("read refs: %w", err)
	}
	return out, nil
}

// readPackedRefs adds the refs of a packed-refs file (none when it is
// missing) to out.
func readPackedRefs(path string, out map[string]string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, iofs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("read packed-refs: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' || line[0] == '^' {
			continue
		}
		id, name, ok := strings.Cut(strings.TrimSpace(line), " ")
		if ok && plumbing.IsHash(id) && strings.HasPrefix(name, "refs/") {
			out[name] = id
		}
	}
	return nil
}

// Branches lists branches sorted by name.
func (g *Repo) Branches() ([]Ref, error) { return g.refs(BranchPrefix) }

// Tags lists tags sorted by name, peeled to their commits.
func (g *Repo) Tags() ([]Ref, error) { return g.refs(TagPrefix) }

func (g *Repo) refs(prefix string) ([]Ref, error) {
	all, err := g.AllRefs()
	if err != nil {
		return nil, err
	}
	var out []Ref
	for full, id := range all {
		name, ok := strings.CutPrefix(full, prefix)
		if !ok {
			continue
		}
		commit, err := g.peel(plumbing.NewHash(id))
		if err != nil {
			return nil, fmt.Errorf("peel %s: %w", full, err)
		}
		out = append(out, Ref{Name: name, FullName: full, ObjectID: id, CommitID: commit.String()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// peel follows tag objects to the commit they name.
func (g *Repo) peel(h plumbing.Hash) (plumbing.Hash, error) {
	for range 10 {
		obj, err := g.r.Storer.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if obj.Type() != plumbing.TagObject {
			return h, nil
		}
		tag, err := object.DecodeTag(g.r.Storer, obj)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		h = tag.Target
	}
	return plumbing.ZeroHash, errors.New("tag chain too long")
}

// Ref returns one branch or tag by full name.
func (g *Repo) Ref(fullName string) (Ref, error) {
	ref, err := g.r.Reference(plumbing.ReferenceName(fullName), false)
	if err != nil {
		return Ref{}, ErrRefNotExist
	}
	commit, err := g.peel(ref.Hash())
	if err != nil {
		return Ref{}, fmt.Errorf("peel %s: %w", fullName, err)
	}
	short := strings.TrimPrefix(strings.TrimPrefix(fullName, BranchPrefix), TagPrefix)
	return Ref{Name: short, FullName: fullName, ObjectID: ref.Hash().String(), CommitID: commit.String()}, nil
}

// ResolveCommit finds the commit a branch name, tag name, full ref name or
// full commit id names (in git's order: exact ref, tag, branch, id).
func (g *Repo) ResolveCommit(rev string) (*Commit, error) {
	var h plumbing.Hash
	found := false
	for _, full := range []string{rev, TagPrefix + rev, BranchPrefix + rev} {
		if !strings.HasPrefix(full, "refs/") {
			continue
		}
		if ref, err := g.r.Reference(plumbing.ReferenceName(full), true); err == nil {
			h, found = ref.Hash(), true
			break
		}
	}
	if !found {
		if !IsCommitID(rev) {
			return nil, ErrRefNotExist
		}
		h = plumbing.NewHash(rev)
	}
	peeled, err := g.peel(h)
	if err != nil {
		return nil, ErrRefNotExist
	}
	c, err := g.r.CommitObject(peeled)
	if err != nil {
		return nil, ErrRefNotExist
	}
	return &Commit{c: c}, nil
}

// Commit is one commit.
type Commit struct{ c *object.Commit }

// ID is the commit id.
func (c *Commit) ID() string { return c.c.Hash.String() }

// Message is the full message.
func (c *Commit) Message() string { return c.c.Message }

// Author is the author's name, e-mail and time.
func (c *Commit) Author() Signature { return sig(c.c.Author) }

// Committer is the committer's name, e-mail and time.
func (c *Commit) Committer() Signature { return sig(c.c.Committer) }

// Signature is who made a commit or tag, and when.
type Signature struct {
	Name  string
	Email string
	When  time.Time
}

func sig(s object.Signature) Signature { return Signature{Name: s.Name, Email: s.Email, When: s.When} }

func (s Signature) object() object.Signature {
	return object.Signature{Name: s.Name, Email: s.Email, When: s.When}
}

// ErrPathNotExist is returned for a file that is not in the tree.
var ErrPathNotExist = apperr.New(apperr.NotFound, "file does not exist")

// OpenFile opens a regular file of the commit's tree for reading; size is
// its length.
func (c *Commit) OpenFile(path string) (rc io.ReadCloser, size int64, err error) {
	tree, err := c.c.Tree()
	if err != nil {
		return nil, 0, err
	}
	f, err := tree.File(path)
	if err != nil {
		return nil, 0, ErrPathNotExist
	}
	if !f.Mode.IsFile() {
		return nil, 0, ErrPathNotExist
	}
	r, err := f.Reader()
	if err != nil {
		return nil, 0, err
	}
	return r, f.Size, nil
}

// TagInfo is what a tag carries besides its ref.
type TagInfo struct {
	Ref
	Message    string // "" for lightweight tags
	CommitTime time.Time
}

// TagInfo returns a tag with its message.
func (g *Repo) TagInfo(name string) (TagInfo, error) {
	ref, err := g.Ref(TagPrefix + name)
	if err != nil {
		return TagInfo{}, err
	}
	ti := TagInfo{Ref: ref}
	if t, err := g.r.TagObject(plumbing.NewHash(ref.ObjectID)); err == nil {
		ti.Message = t.Message
	}
	c, err := g.r.CommitObject(plumbing.NewHash(ref.CommitID))
	if err != nil {
		if obj, oerr := g.r.Storer.EncodedObject(plumbing.AnyObject, plumbing.NewHash(ref.CommitID)); oerr == nil && obj.Type() != plumbing.CommitObject {
			return TagInfo{}, fmt.Errorf("tag %s names a %s: %w", name, obj.Type(), ErrTagNotCommit)
		}
		return TagInfo{}, fmt.Errorf("tag %s: %w", name, err)
	}
	ti.CommitTime = c.Committer.When.UTC()
	return ti, nil
}

// ErrTagNotCommit is a tag that names a tree or a blob (git allows it):
// it has no commit, so no history, archive or version.
var ErrTagNotCommit = apperr.New(apperr.NotFound, "the tag does not name a commit")

// ErrRefExists is returned when creating a ref that is already there.
var ErrRefExists = apperr.New(apperr.Conflict, "ref already exists")

// CreateTag creates a tag on the commit; annotated when message is not
// empty (tagger then required), lightweight otherwise.
func (g *Repo) CreateTag(name, commitID, message string, tagger Signature) (Ref, error) {
	if err := ValidRefName(name); err != nil {
		return Ref{}, err
	}
	var opts *gogit.CreateTagOptions
	if message != "" {
		t := tagger.object()
		opts = &gogit.CreateTagOptions{Tagger: &t, Message: message}
	}
	if _, err := g.r.CreateTag(name, plumbing.NewHash(commitID), opts); err != nil {
		if errors.Is(err, gogit.ErrTagExists) {
			return Ref{}, ErrRefExists
		}
		return Ref{}, fmt.Errorf("create tag %q: %w", name, err)
	}
	return g.Ref(TagPrefix + name)
}

// DeleteRef removes a ref if it still points at oldID.
func (g *Repo) DeleteRef(fullName, oldID string) error {
	ref, err := g.r.Reference(plumbing.ReferenceName(fullName), false)
	if err != nil {
		return ErrRefNotExist
	}
	if ref.Hash().String() != oldID {
		return apperr.New(apperr.Conflict, "%s moved while it was being deleted", fullName)
	}
	return g.r.Storer.RemoveReference(plumbing.ReferenceName(fullName))
}

// File is a file for InitialCommit.
type File struct {
	Path    string
	Content []byte
}

// InitialCommit writes a root commit with the files on branch, in-process.
// The branch must not exist yet.
func (g *Repo) InitialCommit(branch string, files []File, author Signature, message string) (string, error) {
	st := g.r.Storer
	tree := &object.Tree{}
	for _, f := range files {
		obj := st.NewEncodedObject()
		obj.SetType(plumbing.BlobObject)
		w, err := obj.Writer()
		if err != nil {
			return "", err
		}
		if _, err := w.Write(f.Content); err != nil {
			return "", err
		}
		if err := w.Close(); err != nil {
			return "", err
		}
		h, err := st.SetEncodedObject(obj)
		if err != nil {
			return "", err
		}
		tree.Entries = append(tree.Entries, object.TreeEntry{Name: f.Path, Mode: filemode.Regular, Hash: h})
	}
	sort.Slice(tree.Entries, func(i, j int) bool { return tree.Entries[i].Name < tree.Entries[j].Name })
	treeObj := st.NewEncodedObject()
	if err := tree.Encode(treeObj); err != nil {
		return "", err
	}
	treeHash, err := st.SetEncodedObject(treeObj)
	if err != nil {
		return "", err
	}
	commit := &object.Commit{Author: author.object(), Committer: author.object(), Message: message, TreeHash: treeHash}
	commitObj := st.NewEncodedObject()
	if err := commit.Encode(commitObj); err != nil {
		return "", err
	}
	commitHash, err := st.SetEncodedObject(commitObj)
	if err != nil {
		return "", err
	}
	name := plumbing.NewBranchReferenceName(branch)
	if _, err := g.r.Reference(name, false); err == nil {
		return "", ErrRefExists
	}
	if err := st.SetReference(plumbing.NewHashReference(name, commitHash)); err != nil {
		return "", err
	}
	return commitHash.String(), nil
}

// CommitByPrefix finds the one commit whose id starts with prefix (at
// least 7 lower-case hex digits; a pseudo-version names 12). No commit, or
// more than one, is ErrRefNotExist.
func (g *Repo) CommitByPrefix(prefix string) (*Commit, error) {
	if len(prefix) < 7 || len(prefix) > 40 || strings.Trim(prefix, "0123456789abcdef") != "" {
		return nil, ErrRefNotExist
	}
	if len(prefix) == 40 {
		return g.ResolveCommit(prefix)
	}
	h, err := g.r.ResolveRevision(plumbing.Revision(prefix))
	if err != nil {
		return nil, ErrRefNotExist
	}
	c, err := g.r.CommitObject(*h)
	if err != nil || !strings.HasPrefix(c.Hash.String(), prefix) {
		return nil, ErrRefNotExist
	}
	return &Commit{c: c}, nil
}
