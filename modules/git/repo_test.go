package git_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"wharf/modules/git"
)

// fixtureRepo builds a bare repository with the system git: nested
// directories, an executable, a symlink and two commits, tagged.
func fixtureRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("git is required in CI")
		}
		t.Skip("git not installed; CI=true makes this a failure")
	}
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	bare := filepath.Join(dir, "repo.git")
	run := func(cwd string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = cwd
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T",
			"GIT_COMMITTER_EMAIL=t@example.com", "GIT_AUTHOR_DATE=2024-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2024-01-02T03:04:05Z",
			"GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.MkdirAll(filepath.Join(work, "src", "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"README.md": "hello\n", "src/main.go": "package main\n", "src/deep/data.txt": strings.Repeat("x", 3<<20)}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(work, "run.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("README.md", filepath.Join(work, "link")); err != nil {
		t.Fatal(err)
	}
	run(dir, "init", "-q", "-b", "main", work)
	run(work, "add", ".")
	run(work, "commit", "-qm", "first")
	run(work, "tag", "-a", "v1.0.0", "-m", "release one")
	run(work, "tag", "light")
	run(dir, "clone", "-q", "--bare", work, bare)
	return bare
}

func TestReadRefsAndFiles(t *testing.T) {
	g, err := git.Open(fixtureRepo(t))
	if err != nil {
		t.Fatal(err)
	}
	branches, err := g.Branches()
	if err != nil || len(branches) != 1 || branches[0].Name != "main" {
		t.Fatalf("Branches = %+v, %v", branches, err)
	}
	tags, err := g.Tags()
	if err != nil || len(tags) != 2 || tags[0].Name != "light" || tags[1].Name != "v1.0.0" {
		t.Fatalf("Tags = %+v, %v", tags, err)
	}
	annotated, err := g.TagInfo("v1.0.0")
	if err != nil || annotated.Message != "release one\n" || annotated.CommitID != branches[0].CommitID || annotated.ObjectID == annotated.CommitID {
		t.Fatalf("annotated tag = %+v, %v", annotated, err)
	}
	for _, rev := range []string{"main", "v1.0.0", "light", "refs/heads/main", "refs/tags/v1.0.0", branches[0].CommitID} {
		c, err := g.ResolveCommit(rev)
		if err != nil || c.ID() != branches[0].CommitID {
			t.Errorf("ResolveCommit(%q) = %v, %v", rev, c, err)
		}
	}
	for _, rev := range []string{"nope", "0123456789012345678901234567890123456789", "../main"} {
		if _, err := g.ResolveCommit(rev); err != git.ErrRefNotExist {
			t.Errorf("ResolveCommit(%q) = %v", rev, err)
		}
	}
	c, _ := g.ResolveCommit("main")
	r, size, err := c.OpenFile("src/main.go")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "package main\n" || size != 13 {
		t.Fatalf("file = %q (%d)", b, size)
	}
	for _, p := range []string{"missing", "src", "link/x"} {
		if _, _, err := c.OpenFile(p); err != git.ErrPathNotExist {
			t.Errorf("OpenFile(%q) = %v", p, err)
		}
	}
}

func TestArchiveIsDeterministicAndComplete(t *testing.T) {
	path := fixtureRepo(t)
	g, err := git.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.ResolveCommit("v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []git.ArchiveFormat{git.ArchiveZip, git.ArchiveTarGz} {
		var a, b bytes.Buffer
		if err := c.WriteArchive(&a, format, "proj"); err != nil {
			t.Fatal(err)
		}
		g2, _ := git.Open(path) // a fresh reader: no shared state
		c2, _ := g2.ResolveCommit("main")
		if err := c2.WriteArchive(&b, format, "proj/"); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("%s: the same commit gave different bytes", format)
		}
		entries := listArchive(t, format, a.Bytes())
		want := []string{
			"proj/ dir 755", "proj/README.md file 644", "proj/link symlink README.md", "proj/run.sh file 755",
			"proj/src/ dir 755", "proj/src/deep/ dir 755", "proj/src/deep/data.txt file 644", "proj/src/main.go file 644",
		}
		if strings.Join(entries, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s entries:\n%s\nwant:\n%s", format, strings.Join(entries, "\n"), strings.Join(want, "\n"))
		}
	}
	var noPrefix bytes.Buffer
	if err := c.WriteArchive(&noPrefix, git.ArchiveZip, ""); err != nil {
		t.Fatal(err)
	}
	if e := listArchive(t, git.ArchiveZip, noPrefix.Bytes()); e[0] != "README.md file 644" {
		t.Fatalf("without prefix: %v", e)
	}
}

// listArchive describes each entry as "name kind detail", checking that
// every time stamp is the commit's.
func listArchive(t *testing.T, format git.ArchiveFormat, data []byte) []string {
	t.Helper()
	want := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	var out []string
	if format == git.ArchiveZip {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			if !f.Modified.Equal(want) {
				t.Fatalf("%s: time %v", f.Name, f.Modified)
			}
			m := f.Mode()
			switch {
			case m.IsDir():
				out = append(out, f.Name+" dir "+perm(m))
			case m&os.ModeSymlink != 0:
				rc, _ := f.Open()
				target, _ := io.ReadAll(rc)
				rc.Close()
				out = append(out, f.Name+" symlink "+string(target))
			default:
				rc, _ := f.Open()
				n, _ := io.Copy(io.Discard, rc)
				rc.Close()
				if f.Name == "proj/src/deep/data.txt" && n != 3<<20 {
					t.Fatalf("data.txt has %d bytes", n)
				}
				out = append(out, f.Name+" file "+perm(m))
			}
		}
		return out
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(want) {
			t.Fatalf("%s: time %v", h.Name, h.ModTime)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			out = append(out, h.Name+" dir "+perm(os.FileMode(h.Mode)))
		case tar.TypeSymlink:
			out = append(out, h.Name+" symlink "+h.Linkname)
		default:
			out = append(out, h.Name+" file "+perm(os.FileMode(h.Mode)))
		}
	}
	return out
}

func perm(m os.FileMode) string { return strconv.FormatUint(uint64(m.Perm()), 8) }

func TestWriteInProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new.git")
	if err := git.InitBare(dir, "trunk"); err != nil {
		t.Fatal(err)
	}
	g, err := git.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	when := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	id, err := g.InitialCommit("trunk", []git.File{{Path: "README.md", Content: []byte("# x\n")}}, git.Signature{Name: "A", Email: "a@example.com", When: when}, "Initial commit\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.InitialCommit("trunk", nil, git.Signature{When: when}, "again"); err != git.ErrRefExists {
		t.Fatalf("second initial commit: %v", err)
	}
	ref, err := g.CreateTag("v0.1.0", id, "first\n", git.Signature{Name: "A", Email: "a@example.com", When: when})
	if err != nil || ref.CommitID != id || ref.ObjectID == id {
		t.Fatalf("annotated CreateTag = %+v, %v", ref, err)
	}
	if _, err := g.CreateTag("v0.1.0", id, "", git.Signature{}); err != git.ErrRefExists {
		t.Fatalf("duplicate tag: %v", err)
	}
	if _, err := g.CreateTag("bad..name", id, "", git.Signature{}); err == nil {
		t.Fatal("invalid tag name accepted")
	}
	light, err := g.CreateTag("light", id, "", git.Signature{})
	if err != nil || light.ObjectID != id {
		t.Fatalf("lightweight CreateTag = %+v, %v", light, err)
	}
	if err := g.DeleteRef("refs/tags/light", ref.ObjectID); err == nil {
		t.Fatal("DeleteRef with a stale id must fail")
	}
	if err := g.DeleteRef("refs/tags/light", id); err != nil {
		t.Fatal(err)
	}
	// The system git reads what go-git wrote.
	if _, err := exec.LookPath("git"); err == nil {
		out, err := exec.Command("git", "--git-dir", dir, "log", "--format=%an %s", "v0.1.0").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "A Initial commit" {
			t.Fatalf("git log: %s %v", out, err)
		}
		if out, err := exec.Command("git", "--git-dir", dir, "fsck", "--strict").CombinedOutput(); err != nil {
			t.Fatalf("git fsck: %s %v", out, err)
		}
	}
}

// TestAllRefsSkipsInFlightWrites: a writer's "<ref>.lock" (git's update
// protocol, and CommitFiles') is not a ref, whether it has content yet or
// not; packed refs count, and a loose ref wins over its packed copy.
func TestAllRefsSkipsInFlightWrites(t *testing.T) {
	bare := fixtureRepo(t)
	g, err := git.Open(bare)
	if err != nil {
		t.Fatal(err)
	}
	before, err := g.AllRefs()
	if err != nil {
		t.Fatal(err)
	}
	main := before["refs/heads/main"]
	if main == "" || before["refs/tags/v1.0.0"] == "" || before["refs/tags/light"] == "" {
		t.Fatalf("refs of the fixture: %v", before)
	}
	cmd := exec.Command("git", "pack-refs", "--all")
	cmd.Dir = bare
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git pack-refs: %v\n%s", err, out)
	}
	heads := filepath.Join(bare, "refs", "heads")
	if err := os.MkdirAll(heads, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"main.lock": main + "\n", "other.lock": "", "half": ""} {
		if err := os.WriteFile(filepath.Join(heads, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	after, err := g.AllRefs()
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("with writes in flight: %v, want %v", after, before)
	}
	for name, id := range before {
		if after[name] != id {
			t.Fatalf("with writes in flight %s = %q, want %q", name, after[name], id)
		}
	}
	// A loose ref wins over the packed one.
	if err := os.WriteFile(filepath.Join(heads, "main"), []byte(before["refs/tags/v1.0.0"]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := g.AllRefs(); got["refs/heads/main"] != before["refs/tags/v1.0.0"] {
		t.Fatalf("loose over packed: %v", got)
	}
}
