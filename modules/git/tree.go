package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ParentIDs are the ids of the commit's parents, in order.
func (c *Commit) ParentIDs() []string {
	out := make([]string, len(c.c.ParentHashes))
	for i, h := range c.c.ParentHashes {
		out[i] = h.String()
	}
	return out
}

// TreeID is the id of the commit's root tree.
func (c *Commit) TreeID() string { return c.c.TreeHash.String() }

// WalkFunc is called by WalkTree for each directory and regular file of a
// tree. size reads a file's length (0 for a directory) only when called,
// so that a walk that looks at names only reads no blob. Returning
// fs.SkipDir from a directory skips it; any other error stops the walk.
type WalkFunc func(name string, isDir bool, size func() (int64, error)) error

// WalkTree visits the commit's tree in git's order. Symlinks and
// submodules are not visited. ctx is checked between entries.
func (c *Commit) WalkTree(ctx context.Context, visit WalkFunc) error {
	tree, err := c.c.Tree()
	if err != nil {
		return fmt.Errorf("read tree: %w", err)
	}
	return walkNames(ctx, tree, "", visit)
}

func walkNames(ctx context.Context, tree *object.Tree, dir string, visit WalkFunc) error {
	for i := range tree.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		te := &tree.Entries[i]
		name := path.Join(dir, te.Name)
		switch te.Mode {
		case filemode.Dir:
			err := visit(name, true, func() (int64, error) { return 0, nil })
			if errors.Is(err, fs.SkipDir) {
				continue
			}
			if err != nil {
				return err
			}
			sub, err := tree.Tree(te.Name)
			if err != nil {
				return fmt.Errorf("read tree %s: %w", name, err)
			}
			if err := walkNames(ctx, sub, name, visit); err != nil {
				return err
			}
		case filemode.Regular, filemode.Deprecated, filemode.Executable:
			size := func() (int64, error) {
				f, err := tree.TreeEntryFile(te)
				if err != nil {
					return 0, fmt.Errorf("read %s: %w", name, err)
				}
				return f.Size, nil
			}
			if err := visit(name, false, size); err != nil && !errors.Is(err, fs.SkipDir) {
				return err
			}
		}
	}
	return nil
}

// TreeFile is one entry of a commit's tree below a directory, as Files
// lists it: a regular or executable file, or a symbolic link (which a
// caller building a module zip leaves out, as the go command does).
type TreeFile struct {
	Path    string // relative to the directory Files was given
	Size    int64
	Symlink bool
	file    *object.File
}

// Open reads the file's bytes.
func (f *TreeFile) Open() (io.ReadCloser, error) {
	r, err := f.file.Reader()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", f.Path, err)
	}
	return r, nil
}

// Files lists every file and symbolic link below dir ("" for the root)
// of the commit's tree, in git's order, without reading their bytes.
// Submodules are not listed. A dir that is not in the tree is
// ErrPathNotExist. ctx is checked between entries.
func (c *Commit) Files(ctx context.Context, dir string) ([]*TreeFile, error) {
	tree, err := c.c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree: %w", err)
	}
	if dir != "" {
		if tree, err = tree.Tree(dir); err != nil {
			return nil, ErrPathNotExist
		}
	}
	var out []*TreeFile
	var list func(t *object.Tree, at string) error
	list = func(t *object.Tree, at string) error {
		for i := range t.Entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			te := &t.Entries[i]
			name := path.Join(at, te.Name)
			switch te.Mode {
			case filemode.Dir:
				sub, err := t.Tree(te.Name)
				if err != nil {
					return fmt.Errorf("read tree %s: %w", name, err)
				}
				if err := list(sub, name); err != nil {
					return err
				}
			case filemode.Regular, filemode.Deprecated, filemode.Executable, filemode.Symlink:
				f, err := t.TreeEntryFile(te)
				if err != nil {
					return fmt.Errorf("read %s: %w", name, err)
				}
				out = append(out, &TreeFile{Path: name, Size: f.Size, Symlink: te.Mode == filemode.Symlink, file: f})
			}
		}
		return nil
	}
	if err := list(tree, ""); err != nil {
		return nil, err
	}
	return out, nil
}

// IsAncestorOf reports whether c is an ancestor of other, or other itself.
func (c *Commit) IsAncestorOf(other *Commit) (bool, error) {
	if c.c.Hash == other.c.Hash {
		return true, nil
	}
	return c.c.IsAncestor(other.c)
}
