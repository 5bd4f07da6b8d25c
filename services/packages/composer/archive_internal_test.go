package composer

import (
	"archive/zip"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"wharf/modules/apperr"
	"wharf/modules/git"
	"wharf/modules/setting"
	packages_service "wharf/services/packages"
)

// bigCommit is a commit with a composer.json and size random bytes.
func bigCommit(t *testing.T, size int) *git.Commit {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("git is required in CI")
		}
		t.Skip("git not installed; CI=true makes this a failure")
	}
	dir := t.TempDir()
	work, bare := filepath.Join(dir, "work"), filepath.Join(dir, "repo.git")
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
	os.MkdirAll(work, 0o755)
	os.WriteFile(filepath.Join(work, "composer.json"), []byte(`{"name":"acme/big"}`), 0o644)
	b := make([]byte, size)
	_, _ = rand.Read(b)
	os.WriteFile(filepath.Join(work, "data.bin"), b, 0o644)
	run(dir, "init", "-q", "-b", "main", work)
	run(work, "add", ".")
	run(work, "commit", "-qm", "big")
	run(dir, "clone", "-q", "--bare", work, bare)
	g, err := git.Open(bare)
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.ResolveCommit("main")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func archiveService(t *testing.T, cfg setting.Packages, memoryLimit int) *Service {
	t.Helper()
	pkgs, err := packages_service.New(packages_service.Deps{Cfg: cfg, MemoryLimit: memoryLimit})
	if err != nil {
		t.Fatal(err)
	}
	return New(Deps{Packages: pkgs})
}

// settle polls runtime.NumGoroutine until it is at most want, with a
// deadline, and returns the last count.
func settle(want int) int {
	deadline := time.Now().Add(10 * time.Second)
	n := runtime.NumGoroutine()
	for n > want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// TestBuildArchiveFailuresEndTheWriter: whatever stops the buffer (the size
// limit, a temp file that cannot be written, a client gone), the goroutine
// writing the archive ends with it, and the error says why. Before, the
// writer stayed blocked on the pipe forever, once per failed build; and a
// cancelled context did not stop the build at all.
func TestBuildArchiveFailuresEndTheWriter(t *testing.T) {
	c := bigCommit(t, 512<<10)
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		svc   *Service
		ctx   context.Context
		check func(error) bool
	}{
		{"over the size limit", archiveService(t, setting.Packages{LimitSize: map[string]int64{"composer": 64 << 10}}, 0), ctx,
			func(err error) bool { return apperr.KindOf(err) == apperr.TooLarge }},
		{"temp file cannot be written", archiveService(t, setting.Packages{UploadTempPath: filepath.Join(notADir, "tmp")}, 16<<10), ctx,
			func(err error) bool { return err != nil && apperr.KindOf(err) == apperr.Internal }},
		{"client gone", archiveService(t, setting.Packages{}, 0), cancelled,
			func(err error) bool { return errors.Is(err, context.Canceled) && apperr.KindOf(err) == apperr.Internal }},
	}
	before := runtime.NumGoroutine()
	const attempts = 10
	for _, tc := range cases {
		for range attempts {
			hb, err := tc.svc.buildArchive(tc.ctx, c)
			if hb != nil {
				hb.Close()
			}
			if !tc.check(err) {
				t.Fatalf("%s: %v (kind %v)", tc.name, err, apperr.KindOf(err))
			}
		}
	}
	if n := settle(before + 1); n > before+1 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after %d failed builds, %d before:\n%s", n, attempts*len(cases), before, buf[:runtime.Stack(buf, true)])
	}

	// The same build, unhindered, gives a whole zip.
	hb, err := archiveService(t, setting.Packages{}, 0).buildArchive(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Close()
	zr, err := zip.NewReader(hb.Reader(), hb.Size())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, _ := f.Open()
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		rc.Close()
	}
	if strings.Join(names, ",") != "composer.json,data.bin" {
		t.Fatalf("entries %v", names)
	}
}
