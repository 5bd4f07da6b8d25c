package tests

import (
	"archive/zip"
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoProxy drives the module proxy with the real go command: modules
// published from git tags (two versions, a dependency between modules, a
// /v2 module by either convention, a nested module), a build through the
// proxy, pseudo-versions for an untagged commit and a branch, upper-case
// module paths and versions, and a tag deleted.
func TestGoProxy(t *testing.T) {
	requireClient(t, "git")
	requireClient(t, "go")
	s := newGoServer(t)
	s.createUser(t, "alice")
	proxy := s.URL + "/api/packages/alice/go"
	h := basic("alice", "alice-password")

	// a: v1.0.0 and v1.1.0.
	ga, ra := goRepo(t, s, "alice", "alice", "a", false)
	writeTree(t, ga.dir, map[string]string{
		"go.mod":  goMod(goHost + "/alice/a"),
		"a.go":    "package a\n\nfunc V() string { return \"a1.0.0\" }\n",
		"LICENSE": "MIT\n",
	})
	commitAll(ga, "a 1.0.0", "v1.0.0")
	writeTree(t, ga.dir, map[string]string{"a.go": "package a\n\nfunc V() string { return \"a1.1.0\" }\n"})
	commitAll(ga, "a 1.1.0", "v1.1.0")
	ga.must("push", "-q", ra, "main", "--tags")

	// b depends on a v1.0.0.
	gb, rb := goRepo(t, s, "alice", "alice", "b", false)
	writeTree(t, gb.dir, map[string]string{
		"go.mod": goMod(goHost+"/alice/b", goHost+"/alice/a v1.0.0"),
		"b.go":   "package b\n\nimport \"" + goHost + "/alice/a\"\n\nfunc V() string { return \"b1.0.0+\" + a.V() }\n",
	})
	commitAll(gb, "b", "v1.0.0")
	gb.must("push", "-q", rb, "main", "--tags")

	// c: a /v2 module at the root (major branch convention).
	gc, rc := goRepo(t, s, "alice", "alice", "c", false)
	writeTree(t, gc.dir, map[string]string{
		"go.mod": goMod(goHost + "/alice/c/v2"),
		"c.go":   "package c\n\nfunc V() string { return \"c2.0.0\" }\n",
	})
	commitAll(gc, "c", "v2.0.0")
	gc.must("push", "-q", rc, "main", "--tags")

	// d: v1 at the root, v2 in the major subdirectory v2/.
	gd, rd := goRepo(t, s, "alice", "alice", "d", false)
	writeTree(t, gd.dir, map[string]string{
		"go.mod": goMod(goHost + "/alice/d"),
		"d.go":   "package d\n\nfunc V() string { return \"d1.0.0\" }\n",
	})
	commitAll(gd, "d1", "v1.0.0")
	writeTree(t, gd.dir, map[string]string{
		"v2/go.mod": goMod(goHost + "/alice/d/v2"),
		"v2/d.go":   "package d\n\nfunc V() string { return \"d2.0.0\" }\n",
	})
	commitAll(gd, "d2", "v2.0.0")
	gd.must("push", "-q", rd, "main", "--tags")

	// multi: a root module and a nested one in sub/, tagged sub/v1.0.0.
	gm, rm := goRepo(t, s, "alice", "alice", "multi", false)
	writeTree(t, gm.dir, map[string]string{
		"go.mod":             goMod(goHost + "/alice/multi"),
		"multi.go":           "package multi\n",
		"LICENSE":            "root licence\n",
		"sub/go.mod":         goMod(goHost + "/alice/multi/sub"),
		"sub/sub.go":         "package sub\n\nfunc V() string { return \"sub1.0.0\" }\n",
		"sub/inner/inner.go": "package inner\n\nfunc V() string { return \"inner\" }\n",
	})
	commitAll(gm, "multi", "v1.0.0", "sub/v1.0.0")
	gm.must("push", "-q", rm, "main", "--tags")

	// Hello: upper case in the module path and in a version.
	gh, rh := goRepo(t, s, "alice", "alice", "Hello", false)
	writeTree(t, gh.dir, map[string]string{
		"go.mod":   goMod(goHost + "/alice/Hello"),
		"hello.go": "package hello\n\nfunc V() string { return \"hello1.0.0\" }\n",
	})
	commitAll(gh, "hello", "v1.0.0")
	writeTree(t, gh.dir, map[string]string{"hello.go": "package hello\n\nfunc V() string { return \"hello-rc\" }\n"})
	commitAll(gh, "hello rc", "v1.1.0-RC1")
	gh.must("push", "-q", rh, "main", "--tags")

	// r: v1.1.0 retracts v1.0.0 (the go command reads retractions from
	// the latest version's go.mod).
	gr, rr := goRepo(t, s, "alice", "alice", "r", false)
	writeTree(t, gr.dir, map[string]string{"go.mod": goMod(goHost + "/alice/r"), "r.go": "package r\n"})
	commitAll(gr, "r1", "v1.0.0")
	writeTree(t, gr.dir, map[string]string{"go.mod": goMod(goHost+"/alice/r") + "\nretract v1.0.0 // broken\n"})
	commitAll(gr, "r2", "v1.1.0")
	gr.must("push", "-q", rr, "main", "--tags")

	runGoJobs(t, s)

	work := t.TempDir()
	writeTree(t, work, map[string]string{
		"go.mod": goMod("example.com/consumer"),
		"main.go": "package main\n\nimport (\n" +
			"\tb \"" + goHost + "/alice/b\"\n" +
			"\tc \"" + goHost + "/alice/c/v2\"\n" +
			"\td \"" + goHost + "/alice/d/v2\"\n" +
			"\tsub \"" + goHost + "/alice/multi/sub\"\n" +
			"\thello \"" + goHost + "/alice/Hello\"\n" +
			"\tinner \"" + goHost + "/alice/multi/sub/inner\"\n" +
			")\n\nfunc main() { println(b.V(), c.V(), d.V(), sub.V(), hello.V(), inner.V()) }\n",
	})
	gocmd := newGoCmd(t, work, "GOPROXY="+proxy)

	t.Run("build", func(t *testing.T) {
		gocmd.must("get", goHost+"/alice/b@latest")
		// A package path: the go command probes each prefix
		// (.../multi/sub/inner, .../multi/sub, .../multi, ...); only
		// multi/sub holds the package (multi's zip leaves sub/ out).
		gocmd.must("get", goHost+"/alice/c/v2@v2.0.0", goHost+"/alice/d/v2@latest", goHost+"/alice/multi/sub/inner@v1.0.0", goHost+"/alice/Hello@v1.0.0")
		bin := filepath.Join(t.TempDir(), "consumer")
		gocmd.must("build", "-o", bin, ".")
		out, err := exec.CommandContext(t.Context(), bin).CombinedOutput()
		if err != nil {
			t.Fatalf("run: %v %s", err, out)
		}
		if got := strings.TrimSpace(string(out)); got != "b1.0.0+a1.0.0 c2.0.0 d2.0.0 sub1.0.0 hello1.0.0 inner" {
			t.Fatalf("the program built from the proxy's modules says %q", got)
		}
		if out := gocmd.must("list", "-m", "-versions", goHost+"/alice/a"); strings.TrimSpace(out) != goHost+"/alice/a v1.0.0 v1.1.0" {
			t.Fatalf("go list -m -versions: %q", out)
		}
		if out := gocmd.must("list", "-m", "-versions", goHost+"/alice/d"); strings.TrimSpace(out) != goHost+"/alice/d v1.0.0" {
			t.Fatalf("go list -m -versions of d: %q", out)
		}
		// The nested module's zip holds the root LICENSE, as the go
		// command's own zips do; the root module's zip leaves sub/ out.
		list := gocmd.must("mod", "download", "-json", goHost+"/alice/multi@v1.0.0", goHost+"/alice/multi/sub@v1.0.0")
		if !strings.Contains(list, `"Sum": "h1:`) {
			t.Fatalf("downloads: %s", list)
		}
		if status, _, body := s.do(t, "GET", "/api/packages/alice/go/"+goHost+"/alice/multi/@v/list", "", h); status != 200 || body != "v1.0.0\n" {
			t.Fatalf("the root module of multi: %d %q (sub/v1.0.0 is not its version)", status, body)
		}
	})

	t.Run("retracted", func(t *testing.T) {
		out := gocmd.must("get", goHost+"/alice/r@v1.0.0")
		if !strings.Contains(out, "retracted by module author: broken") {
			t.Fatalf("go get of a retracted version: %s", out)
		}
		gocmd.must("get", goHost+"/alice/r@latest")
		if out := strings.TrimSpace(gocmd.must("list", "-m", goHost+"/alice/r")); out != goHost+"/alice/r v1.1.0" {
			t.Fatalf("latest of r: %q", out)
		}
	})

	t.Run("upper case", func(t *testing.T) {
		gocmd.must("get", goHost+"/alice/Hello@v1.1.0-RC1")
		out := gocmd.must("list", "-m", "-versions", goHost+"/alice/Hello")
		if strings.TrimSpace(out) != goHost+"/alice/Hello v1.0.0 v1.1.0-RC1" {
			t.Fatalf("versions of Hello: %q", out)
		}
		status, hdr, body := s.do(t, "GET", "/api/packages/alice/go/"+goHost+"/alice/%21hello/@v/v1.1.0-%21r%21c1.info", "", nil)
		if status != 200 || !strings.Contains(body, `"Version":"v1.1.0-RC1"`) || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Fatalf("escaped .info: %d %s", status, body)
		}
	})

	t.Run("pseudo-version", func(t *testing.T) {
		writeTree(t, ga.dir, map[string]string{"a.go": "package a\n\nfunc V() string { return \"a-next\" }\n"})
		commitAll(ga, "untagged")
		ga.must("push", "-q", ra, "main")
		runGoJobs(t, s)
		hash := strings.TrimSpace(ga.must("rev-parse", "HEAD"))
		pw := t.TempDir()
		writeTree(t, pw, map[string]string{
			"go.mod":  goMod("example.com/pseudo"),
			"main.go": "package main\n\nimport \"" + goHost + "/alice/a\"\n\nfunc main() { println(a.V()) }\n",
		})
		g := newGoCmd(t, pw, "GOPROXY="+proxy)
		out := g.must("get", goHost+"/alice/a@"+hash[:12])
		want := "v1.1.1-0."
		if !strings.Contains(out, want) || !strings.Contains(out, hash[:12]) {
			t.Fatalf("go get a@%s: %s", hash[:12], out)
		}
		g.must("build", "-o", filepath.Join(t.TempDir(), "p"), ".")
		listed := strings.TrimSpace(g.must("list", "-m", goHost+"/alice/a"))
		g.must("get", goHost+"/alice/a@v1.0.0")
		out = g.must("get", goHost+"/alice/a@main")
		if again := strings.TrimSpace(g.must("list", "-m", goHost+"/alice/a")); again != listed {
			t.Fatalf("a@main is %q, the commit's hash gave %q (%s)", again, listed, out)
		}
		if _, err := g.run("get", goHost+"/alice/a@0123456789ab"); err == nil {
			t.Fatal("an unknown commit resolved")
		}
	})

	t.Run("tag deleted", func(t *testing.T) {
		ga.must("push", "-q", ra, "--delete", "v1.1.0")
		runGoJobs(t, s)
		if status, _, body := s.do(t, "GET", "/api/packages/alice/go/"+goHost+"/alice/a/@v/list", "", nil); status != 200 || body != "v1.0.0\n" {
			t.Fatalf("list after the deletion: %d %q", status, body)
		}
		for _, p := range []string{"v1.1.0.info", "v1.1.0.mod", "v1.1.0.zip"} {
			status, hdr, body := s.do(t, "GET", "/api/packages/alice/go/"+goHost+"/alice/a/@v/"+p, "", nil)
			if status != 404 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
				t.Fatalf("%s of a deleted tag: %d %s %q", p, status, hdr.Get("Content-Type"), body)
			}
		}
		gocmd.must("clean", "-modcache")
		out, err := gocmd.run("get", goHost+"/alice/a@v1.1.0")
		if err == nil {
			t.Fatalf("go get of a deleted version worked: %s", out)
		}
		if !strings.Contains(out, "404") && !strings.Contains(out, "not found") && !strings.Contains(out, "unknown revision") {
			t.Fatalf("go get of a deleted version: %s", out)
		}
		if strings.Contains(out, "500") || strings.Contains(out, "internal") {
			t.Fatalf("go get of a deleted version met a server error: %s", out)
		}
		// The remaining versions still build.
		gocmd.must("get", goHost+"/alice/a@v1.0.0")
		gocmd.must("build", "-o", filepath.Join(t.TempDir(), "consumer"), ".")
	})
}

// TestGoProxyUpload is Gitea's upload: a module zip made by
// golang.org/x/mod/zip, then fetched by the go command; the same version
// again is a conflict.
func TestGoProxyUpload(t *testing.T) {
	requireClient(t, "go")
	s := newGoServer(t)
	s.createUser(t, "alice")
	src := t.TempDir()
	writeTree(t, src, map[string]string{
		"go.mod": goMod("example.com/uploaded"),
		"up.go":  "package uploaded\n\nfunc V() string { return \"up1.0.0\" }\n",
	})
	body := moduleZip(t, src, "example.com/uploaded", "v1.0.0")
	h := basic("alice", "alice-password")
	if status, _, resp := s.do(t, "PUT", "/api/packages/alice/go/upload", body, nil); status != 401 && status != 403 {
		t.Fatalf("anonymous upload: %d %s", status, resp)
	}
	if status, _, resp := s.do(t, "PUT", "/api/packages/alice/go/upload", body, h); status != 201 {
		t.Fatalf("upload: %d %s", status, resp)
	}
	if status, _, resp := s.do(t, "PUT", "/api/packages/alice/go/upload", body, h); status != 409 {
		t.Fatalf("second upload of the version: %d %s", status, resp)
	}
	if status, _, resp := s.do(t, "PUT", "/api/packages/alice/go/upload", "not a zip", h); status != 400 {
		t.Fatalf("upload of junk: %d %s", status, resp)
	}
	work := t.TempDir()
	writeTree(t, work, map[string]string{
		"go.mod":  goMod("example.com/consumer"),
		"main.go": "package main\n\nimport \"example.com/uploaded\"\n\nfunc main() { println(uploaded.V()) }\n",
	})
	g := newGoCmd(t, work, "GOPROXY="+s.URL+"/api/packages/alice/go")
	g.must("get", "example.com/uploaded@v1.0.0")
	d := g.download("example.com/uploaded@v1.0.0")
	if want := dirHash(t, src, "example.com/uploaded", "v1.0.0"); d.Sum != want {
		t.Fatalf("the proxy's zip hashes to %s, the uploaded tree to %s", d.Sum, want)
	}
	g.must("build", "-o", filepath.Join(t.TempDir(), "c"), ".")
}

// TestGoProxyUploadBadInput: zips the module zip rules refuse are 400 with
// the reason; another's registry is refused; nothing is stored.
func TestGoProxyUploadBadInput(t *testing.T) {
	s := newGoServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	h := basic("alice", "alice-password")
	rawZip := func(files map[string]string) string {
		var b bytes.Buffer
		w := zip.NewWriter(&b)
		for name, content := range files {
			f, err := w.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write([]byte(content)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for name, body := range map[string]string{
		"two prefixes":      rawZip(map[string]string{"example.com/x@v1.0.0/go.mod": "module example.com/x\n", "example.com/y@v1.0.0/y.go": "package y\n"}),
		"no prefix":         rawZip(map[string]string{"go.mod": "module example.com/x\n"}),
		"v2 without suffix": rawZip(map[string]string{"example.com/x@v2.0.0/go.mod": "module example.com/x\n"}),
		"go.mod of another": rawZip(map[string]string{"example.com/x@v1.0.0/go.mod": "module example.com/other\n"}),
		"invalid file name": rawZip(map[string]string{"example.com/x@v1.0.0/go.mod": "module example.com/x\n", "example.com/x@v1.0.0/a?.go": "package x\n"}),
		"case collision":    rawZip(map[string]string{"example.com/x@v1.0.0/go.mod": "module example.com/x\n", "example.com/x@v1.0.0/A.go": "package x\n", "example.com/x@v1.0.0/a.go": "package x\n"}),
		"non-canonical":     rawZip(map[string]string{"example.com/x@v1.0/go.mod": "module example.com/x\n"}),
		"invalid path":      rawZip(map[string]string{"Example.com/x@v1.0.0/go.mod": "module Example.com/x\n"}),
		"escaped prefix":    rawZip(map[string]string{"example.com/!x@v1.0.0/go.mod": "module example.com/X\n"}),
		"empty zip":         rawZip(map[string]string{}),
		"dot-dot":           rawZip(map[string]string{"example.com/x@v1.0.0/../go.mod": "module example.com/x\n"}),
		"truncated":         rawZip(map[string]string{"example.com/x@v1.0.0/go.mod": "module example.com/x\n"})[:40],
		"build metadata":    rawZip(map[string]string{"example.com/x@v1.0.0+meta/go.mod": "module example.com/x\n"}),
	} {
		status, hdr, resp := s.do(t, "PUT", "/api/packages/alice/go/upload", body, h)
		if status != 400 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") || resp == "" {
			t.Errorf("%s: %d %q %s", name, status, hdr.Get("Content-Type"), resp)
		}
	}
	good := rawZip(map[string]string{"example.com/x@v1.0.0/go.mod": "module example.com/x\n", "example.com/x@v1.0.0/x.go": "package x\n"})
	if status, _, resp := s.do(t, "PUT", "/api/packages/alice/go/upload", good, basic("bob", "bob-password")); status != 403 && status != 404 {
		t.Errorf("bob's upload to alice: %d %s", status, resp)
	}
	if status, _, body := s.do(t, "GET", "/api/packages/alice/go/example.com/x/@v/list", "", h); status != 404 {
		t.Fatalf("refused uploads stored a version: %d %q", status, body)
	}
	if status, _, resp := s.do(t, "PUT", "/api/packages/alice/go/upload", good, h); status != 201 {
		t.Fatalf("upload: %d %s", status, resp)
	}
	if status, _, body := s.do(t, "GET", "/api/packages/alice/go/example.com/x/@v/v1.0.0.mod", "", nil); status != 200 || body != "module example.com/x\n" {
		t.Fatalf(".mod of the upload: %d %q", status, body)
	}
}
