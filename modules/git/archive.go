package git

import (
	"archive/tar"
	"archive/zip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"

	"wharf/modules/apperr"
)

// ArchiveFormat is zip or tar.gz.
type ArchiveFormat string

// The formats.
const (
	ArchiveZip   ArchiveFormat = "zip"
	ArchiveTarGz ArchiveFormat = "tar.gz"
)

// ParseArchiveName splits "<ref>.zip" or "<ref>.tar.gz".
func ParseArchiveName(name string) (ref string, f ArchiveFormat, err error) {
	switch {
	case strings.HasSuffix(name, ".tar.gz"):
		return strings.TrimSuffix(name, ".tar.gz"), ArchiveTarGz, nil
	case strings.HasSuffix(name, ".zip"):
		return strings.TrimSuffix(name, ".zip"), ArchiveZip, nil
	}
	return "", "", apperr.New(apperr.Invalid, "unknown archive format in %q: want .zip or .tar.gz", name)
}

// WriteArchive is WriteArchiveContext without cancellation. Callers that
// serve a request should use WriteArchiveContext with the request's
// context, so that a client that goes away stops the work.
func (c *Commit) WriteArchive(w io.Writer, format ArchiveFormat, prefix string) error {
	return c.WriteArchiveContext(context.Background(), w, format, prefix)
}

// WriteArchiveContext streams the commit's tree to w as a zip or tar.gz.
// The bytes depend only on the commit, the format and the prefix: entries
// come in tree order, every time stamp is the committer's time, and no
// other metadata is written — the same commit always gives the same
// archive, as git archive does. prefix, if not empty, is a directory every
// entry is put under ("name/"). Memory stays bounded: one blob is streamed
// at a time.
//
// ctx is checked before every entry and while a blob is copied: once it is
// done, writing stops and its error is returned (the archive written so far
// is incomplete).
func (c *Commit) WriteArchiveContext(ctx context.Context, w io.Writer, format ArchiveFormat, prefix string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	tree, err := c.c.Tree()
	if err != nil {
		return fmt.Errorf("read tree: %w", err)
	}
	mtime := c.c.Committer.When.UTC()
	switch format {
	case ArchiveZip:
		zw := zip.NewWriter(w)
		zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
			return flate.NewWriter(w, flate.DefaultCompression)
		})
		if err := zw.SetComment(c.ID()); err != nil {
			return err
		}
		if err := walk(ctx, tree, prefix, func(e entry) error { return e.writeZip(ctx, zw, mtime) }); err != nil {
			return err
		}
		return zw.Close()
	case ArchiveTarGz:
		gz, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
		if err != nil {
			return err
		}
		tw := tar.NewWriter(gz)
		if err := walk(ctx, tree, prefix, func(e entry) error { return e.writeTar(ctx, tw, mtime) }); err != nil {
			return err
		}
		if err := tw.Close(); err != nil {
			return err
		}
		return gz.Close()
	}
	return apperr.New(apperr.Invalid, "unknown archive format %q", format)
}

// entry is one item of the archive.
type entry struct {
	name string // with prefix; directories end in "/"
	mode filemode.FileMode
	file *object.File // nil for directories
}

// walk visits the prefix directory, then every directory and file of the
// tree in git's tree order. Submodules are skipped, as git archive does.
// It stops with ctx's error before the first entry after ctx is done.
func walk(ctx context.Context, tree *object.Tree, prefix string, visit func(entry) error) error {
	if prefix != "" {
		if err := visit(entry{name: prefix, mode: filemode.Dir}); err != nil {
			return err
		}
	}
	return walkTree(ctx, tree, prefix, visit)
}

func walkTree(ctx context.Context, tree *object.Tree, dir string, visit func(entry) error) error {
	for _, te := range tree.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := path.Join(dir, te.Name)
		switch te.Mode {
		case filemode.Dir:
			sub, err := tree.Tree(te.Name)
			if err != nil {
				return fmt.Errorf("read tree %s: %w", name, err)
			}
			if err := visit(entry{name: name + "/", mode: filemode.Dir}); err != nil {
				return err
			}
			if err := walkTree(ctx, sub, name, visit); err != nil {
				return err
			}
		case filemode.Submodule:
			continue
		default:
			f, err := tree.TreeEntryFile(&te)
			if err != nil {
				return fmt.Errorf("read %s: %w", name, err)
			}
			if err := visit(entry{name: name, mode: te.Mode, file: f}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e entry) permissions() int64 {
	switch e.mode {
	case filemode.Dir, filemode.Executable:
		return 0o755
	case filemode.Symlink:
		return 0o777
	}
	return 0o644
}

func (e entry) writeTar(ctx context.Context, tw *tar.Writer, mtime time.Time) error {
	hdr := &tar.Header{Name: e.name, Mode: e.permissions(), ModTime: mtime, Format: tar.FormatPAX}
	switch {
	case e.file == nil:
		hdr.Typeflag = tar.TypeDir
	case e.mode == filemode.Symlink:
		target, err := e.file.Contents()
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	default:
		hdr.Typeflag, hdr.Size = tar.TypeReg, e.file.Size
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	return e.copyTo(ctx, tw)
}

func (e entry) writeZip(ctx context.Context, zw *zip.Writer, mtime time.Time) error {
	hdr := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: mtime}
	hdr.SetMode(e.fsMode())
	if e.file == nil {
		hdr.Method = zip.Store
		_, err := zw.CreateHeader(hdr)
		return err
	}
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	return e.copyTo(ctx, w)
}

func (e entry) copyTo(ctx context.Context, w io.Writer) error {
	r, err := e.file.Reader()
	if err != nil {
		return fmt.Errorf("open %s: %w", e.name, err)
	}
	defer r.Close()
	if _, err := io.Copy(w, ctxReader{ctx: ctx, r: r}); err != nil {
		return fmt.Errorf("write %s: %w", e.name, err)
	}
	return nil
}

// ctxReader stops a long copy (a big blob) once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (e entry) fsMode() fs.FileMode {
	switch {
	case e.file == nil:
		return fs.ModeDir | 0o755
	case e.mode == filemode.Symlink:
		return fs.ModeSymlink | 0o777
	}
	return fs.FileMode(e.permissions())
}
