package git_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"wharf/modules/git"
)

// manyFilesRepo is a bare repository whose main branch holds n files of
// size random (incompressible) bytes each.
func manyFilesRepo(t *testing.T, n, size int) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("git is required in CI")
		}
		t.Skip("git not installed; CI=true makes this a failure")
	}
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	run := func(cwd string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = cwd
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T",
			"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		b := make([]byte, size)
		_, _ = rand.Read(b)
		if err := os.WriteFile(filepath.Join(work, fmt.Sprintf("f%03d.bin", i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(dir, "init", "-q", "-b", "main", work)
	run(work, "add", ".")
	run(work, "commit", "-qm", "many")
	bare := filepath.Join(dir, "repo.git")
	run(dir, "clone", "-q", "--bare", work, bare)
	return bare
}

// cancelOnWrite cancels its context at the first write and counts what
// it is given.
type cancelOnWrite struct {
	cancel context.CancelFunc
	n      int64
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.cancel()
	w.n += int64(len(p))
	return len(p), nil
}

// TestArchiveStopsWhenContextEnds: a client that goes away stops the work.
// Before WriteArchiveContext, the whole archive was written whatever
// happened to the request.
func TestArchiveStopsWhenContextEnds(t *testing.T) {
	g, err := git.Open(manyFilesRepo(t, 40, 64<<10))
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.ResolveCommit("main")
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []git.ArchiveFormat{git.ArchiveZip, git.ArchiveTarGz} {
		full := &countWriter{}
		if err := c.WriteArchiveContext(context.Background(), full, format, "p"); err != nil {
			t.Fatal(err)
		}
		if full.n < 40*64<<10 {
			t.Fatalf("%s: the whole archive is %d bytes", format, full.n)
		}

		// Already cancelled: nothing is written.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		none := &countWriter{}
		if err := c.WriteArchiveContext(ctx, none, format, "p"); !errors.Is(err, context.Canceled) || none.n != 0 {
			t.Fatalf("%s: cancelled before the start: %v, %d bytes written", format, err, none.n)
		}

		// Cancelled as soon as the first bytes go out: the walk stops at the
		// next entry (or inside the blob being copied), far from the end.
		ctx, cancel = context.WithCancel(context.Background())
		w := &cancelOnWrite{cancel: cancel}
		err := c.WriteArchiveContext(ctx, w, format, "p")
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: cancelled during the walk: err = %v, want context.Canceled", format, err)
		}
		if w.n > full.n/4 {
			t.Fatalf("%s: %d of %d bytes written after the context ended", format, w.n, full.n)
		}
	}
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

var _ io.Writer = (*countWriter)(nil)
