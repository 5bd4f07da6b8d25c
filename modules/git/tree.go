package git

import (
	"context"
	"errors"
	"fmt"
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
