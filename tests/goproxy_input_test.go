package tests

import (
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"
)

// TestGoProxyBadInput: every path the go command may probe that is not a
// module version answers 404 with a plain-text reason, never 5xx; tags
// that cannot be versions are skipped with a reason in the notes; a moved
// tag keeps its first zip.
func TestGoProxyBadInput(t *testing.T) {
	requireClient(t, "git")
	s := newGoServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	h := basic("alice", "alice-password")
	base := "/api/packages/alice/go/"

	ga, ra := goRepo(t, s, "alice", "alice", "a", false)
	writeTree(t, ga.dir, map[string]string{"go.mod": goMod(goHost + "/alice/a"), "a.go": "package a\n"})
	commitAll(ga, "a", "v1.0.0", "v1.2", "v2.0.0", "release-1")
	ga.must("push", "-q", ra, "main", "--tags")
	head := strings.TrimSpace(ga.must("rev-parse", "HEAD"))

	gw, rw := goRepo(t, s, "alice", "alice", "wrong", false)
	writeTree(t, gw.dir, map[string]string{"go.mod": goMod("example.com/other"), "w.go": "package other\n"})
	commitAll(gw, "wrong", "v1.0.0")
	gw.must("push", "-q", rw, "main", "--tags")

	gi, ri := goRepo(t, s, "alice", "alice", "badfile", false)
	writeTree(t, gi.dir, map[string]string{"go.mod": goMod(goHost + "/alice/badfile"), "b.go": "package badfile\n", "what?.txt": "x\n"})
	commitAll(gi, "bad file name", "v1.0.0")
	gi.must("push", "-q", ri, "main", "--tags")

	gc, rc := goRepo(t, s, "alice", "alice", "collide", false)
	writeTree(t, gc.dir, map[string]string{
		"go.mod": goMod(goHost + "/alice/collide"), "A.go": "package collide\n", "a.go": "package collide\n",
		"nogo/n.go": "package nogo\n",
	})
	commitAll(gc, "case collision", "v1.0.0", "nogo/v1.0.0")
	gc.must("push", "-q", rc, "main", "--tags")

	gl, rl := goRepo(t, s, "alice", "alice", "local", false)
	writeTree(t, gl.dir, map[string]string{"go.mod": goMod("127.0.0.1/alice/local"), "l.go": "package local\n"})
	commitAll(gl, "local", "v0.1.0")
	gl.must("push", "-q", rl, "main", "--tags")

	gm, rm := goRepo(t, s, "alice", "alice", "moved", false)
	writeTree(t, gm.dir, map[string]string{"go.mod": goMod(goHost + "/alice/moved"), "m.go": "package moved\n"})
	commitAll(gm, "first", "v1.0.0")
	gm.must("push", "-q", rm, "main", "--tags")
	if _, _, err := s.client(t, gitea.SetBasicAuth("alice", "alice-password")).CreateRepo(gitea.CreateRepoOption{Name: "empty"}); err != nil {
		t.Fatal(err)
	}
	runGoJobs(t, s)

	get := func(p string) (int, string, string) {
		t.Helper()
		status, hdr, body := s.do(t, "GET", p, "", h)
		return status, hdr.Get("Content-Type"), body
	}

	t.Run("not found", func(t *testing.T) {
		for _, p := range []string{
			"sumdb/sum.golang.org/supported",
			"sumdb/sum.golang.org/lookup/" + goHost + "/alice/a@v1.0.0",
			"127.0.0.1/@v/list",
			"127.0.0.1/alice/@v/list",
			goHost + "/@v/list",
			goHost + "/@latest",
			goHost + "/alice/@v/list",
			goHost + "/alice/@v/v1.0.0.info",
			goHost + "/alice/a/@v/v1.0.info",
			goHost + "/alice/a/@v/v1.0.mod",
			goHost + "/alice/a/@v/V1.0.0.zip",
			goHost + "/alice/a/@v/v1.0.0.txt",
			goHost + "/alice/a/@v/",
			goHost + "/alice/a/@v/.info",
			goHost + "/alice/a/@v/v2.0.0.info",
			goHost + "/alice/a/@v/v2.0.0.zip",
			goHost + "/alice/a/@v/v2.0.0+incompatible.info",
			goHost + "/alice/a/@v/..%2F..%2Fx.info",
			goHost + "/alice/a/@v/v0.0.0-20200101000000-000000000000.info",
			goHost + "/alice/a/@v/v1.0.1-0.20200101000000-" + head[:12] + ".zip",
			goHost + "/alice/a/@v/v1.0.1-0.20200101000000-" + head[:12] + ".info",
			goHost + "/alice/a/@v/0123456789abcdef.info",
			goHost + "/alice/A/@v/list",
			goHost + "/alice/%21%21a/@v/list",
			goHost + "/alice/%21A/@v/list",
			goHost + "/alice/a/v2/@v/list",
			goHost + "/alice/a/v2/@v/v2.0.0.info",
			goHost + "/alice/empty/@v/list",
			goHost + "/alice/empty/@latest",
			goHost + "/alice/empty/@v/main.info",
			goHost + "/alice/empty/@v/HEAD.info",
			goHost + "/alice/empty/@v/0123456.info",
			goHost + "/alice/empty/@v/v0.0.0-20200101000000-0123456789ab.zip",
			goHost + "/alice/a/@v/HEAD~1.info",
			goHost + "/alice/a/@v/refs%2Fheads%2Fmain.info",
			goHost + "/alice/a/@v/main..main.info",
			goHost + "/alice/a/@v/-main.info",
			goHost + "/alice/nope/@v/list",
			goHost + "/alice/nope/@v/main.info",
			goHost + "/alice/wrong/@v/list",
			goHost + "/alice/wrong/@v/v1.0.0.info",
			goHost + "/alice/wrong/@latest",
			goHost + "/alice/badfile/@v/v1.0.0.zip",
			goHost + "/bob/a/@v/list",
			"example.com/x/@v/list",
			"example.com/x/@latest",
			"-bad/@v/list",
			".",
			"@v/list",
		} {
			status, ctype, body := get(base + p)
			if status != 404 && status != 410 {
				t.Errorf("%s: %d %s", p, status, body)
				continue
			}
			if !strings.HasPrefix(ctype, "text/plain") || body == "" || strings.Contains(strings.ToLower(body), "internal") {
				t.Errorf("%s: %d %q %q: want a plain-text reason", p, status, ctype, body)
			}
		}
		for _, p := range []string{"/api/packages/nobody/go/" + goHost + "/nobody/a/@v/list", "/api/packages/alice/go/", "/api/packages/alice/go"} {
			if status, _, body := get(p); status >= 500 || status == 200 {
				t.Errorf("%s: %d %s", p, status, body)
			}
		}
	})

	t.Run("found", func(t *testing.T) {
		for p, want := range map[string]string{
			goHost + "/alice/a/@v/list":              "v1.0.0\n",
			goHost + "/alice/a/@v/v1.0.0.mod":        goMod(goHost + "/alice/a"),
			"127.0.0.1/alice/local/@v/list":          "v0.1.0\n",
			goHost + "/alice/a/@latest":              `"Version":"v1.0.0"`,
			goHost + "/alice/a/@v/v1.0.0.info":       `"Version":"v1.0.0"`,
			goHost + "/alice/a/@v/main.info":         `"Version":"v1.0.0"`,
			goHost + "/alice/a/@v/" + head + ".info": `"Version":"v1.0.0"`,
		} {
			status, _, body := get(base + p)
			if status != 200 || !strings.Contains(body, want) {
				t.Errorf("%s: %d %q, want %q", p, status, body, want)
			}
		}
	})

	t.Run("head", func(t *testing.T) {
		for _, p := range []string{"@v/list", "@v/v1.0.0.info", "@v/v1.0.0.mod", "@v/v1.0.0.zip", "@latest"} {
			status, _, body := s.do(t, "HEAD", base+goHost+"/alice/a/"+p, "", nil)
			if status != 200 || body != "" {
				t.Errorf("HEAD %s: %d %q", p, status, body)
			}
		}
		if status, _, _ := s.do(t, "HEAD", base+goHost+"/alice/a/@v/v9.0.0.zip", "", nil); status != 404 {
			t.Errorf("HEAD of a missing zip: %d", status)
		}
	})

	t.Run("notes", func(t *testing.T) {
		notes := goNotes(t, s, "alice", nil)
		reasons := map[string]string{}
		for _, n := range notes {
			if n.Commit == "" || n.Created == 0 {
				t.Errorf("note without commit or time: %+v", n)
			}
			reasons[n.Repository+" "+n.Tag] = n.Reason
		}
		for key, want := range map[string]string{
			"alice/a v1.2":              "canonical",
			"alice/a v2.0.0":            goHost + "/alice/a/v2",
			"alice/wrong v1.0.0":        "example.com/other",
			"alice/badfile v1.0.0":      "what?.txt",
			"alice/collide v1.0.0":      "a.go",
			"alice/collide nogo/v1.0.0": "nogo has no go.mod",
		} {
			if !strings.Contains(reasons[key], want) {
				t.Errorf("note of %s: %q, want it to mention %q (all: %+v)", key, reasons[key], want, notes)
			}
		}
		if _, ok := reasons["alice/a release-1"]; ok {
			t.Errorf("a tag that is no version got a note: %+v", notes)
		}
		if _, ok := reasons["alice/a v1.0.0"]; ok {
			t.Errorf("a published version got a note: %+v", notes)
		}
		// Deleting the tag removes its note.
		gw.must("push", "-q", rw, "--delete", "v1.0.0")
		runGoJobs(t, s)
		for _, n := range goNotes(t, s, "alice", nil) {
			if n.Repository == "alice/wrong" {
				t.Errorf("the deleted tag's note stays: %+v", n)
			}
		}
	})

	t.Run("moved tag", func(t *testing.T) {
		zipPath := base + goHost + "/alice/moved/@v/v1.0.0.zip"
		status, _, first := get(zipPath)
		if status != 200 || first == "" {
			t.Fatalf("zip: %d", status)
		}
		_, _, firstInfo := get(base + goHost + "/alice/moved/@v/v1.0.0.info")
		writeTree(t, gm.dir, map[string]string{"m.go": "package moved\n\n// changed\n"})
		commitAll(gm, "second")
		gm.must("tag", "-f", "v1.0.0")
		gm.must("push", "-q", "-f", rm, "main", "refs/tags/v1.0.0")
		runGoJobs(t, s)
		if status, _, again := get(zipPath); status != 200 || again != first {
			t.Fatalf("the moved tag's zip changed: %d, %d bytes then %d", status, len(first), len(again))
		}
		if _, _, info := get(base + goHost + "/alice/moved/@v/v1.0.0.info"); info != firstInfo {
			t.Fatalf("the moved tag's info changed: %s then %s", firstInfo, info)
		}
		moved := strings.TrimSpace(gm.must("rev-parse", "HEAD"))
		found := false
		for _, n := range goNotes(t, s, "alice", nil) {
			if n.Repository == "alice/moved" && n.Tag == "v1.0.0" {
				found = n.Commit == moved && strings.Contains(n.Reason, "stays")
				if !found {
					t.Errorf("the move's note: %+v", n)
				}
			}
		}
		if !found {
			t.Fatal("no note of the moved tag")
		}
	})
}
