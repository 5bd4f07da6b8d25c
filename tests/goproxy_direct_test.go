package tests

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// goImportProxy is an HTTP proxy for the go command that stands in for
// goHost's web server: it answers `GET http://goHost/owner/repo/...?go-get=1`
// with only a git go-import meta tag naming Wharf's clone URL, so that the
// go command fetches the module with git over Wharf's smart HTTP. HTTPS
// (CONNECT) is refused, so the go command falls back to http (GOINSECURE).
type goImportProxy struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []string
}

func newGoImportProxy(t *testing.T, wharfURL string) *goImportProxy {
	p := &goImportProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, r.Method+" "+r.URL.String())
		p.mu.Unlock()
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if r.Method != http.MethodGet || r.URL.Host != goHost || r.URL.Query().Get("go-get") != "1" || len(parts) < 2 {
			http.Error(w, "this proxy only answers go-get requests for "+goHost, http.StatusForbidden)
			return
		}
		prefix := goHost + "/" + parts[0] + "/" + parts[1]
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<html><head><meta name="go-import" content="` + prefix + ` git ` + wharfURL + "/" + parts[0] + "/" + parts[1] + `.git"></head></html>`))
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *goImportProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// TestGoProxyMatchesDirect: the proxy's zips hash exactly as the go
// command's own zips made from a git checkout (GOPROXY=direct, git over
// Wharf's smart HTTP), for a root module, a nested module (which gets the
// root LICENSE), both /v2 conventions, and the pseudo-version of an
// untagged commit. Then Wharf's own go-get discovery: the go command,
// sent to Wharf for goHost's pages, finds the "mod" meta tag and
// downloads from the proxy.
func TestGoProxyMatchesDirect(t *testing.T) {
	requireClient(t, "git")
	requireClient(t, "go")
	s := newGoServer(t)
	s.createUser(t, "alice")

	ga, ra := goRepo(t, s, "alice", "alice", "a", false)
	writeTree(t, ga.dir, map[string]string{
		"go.mod":         goMod(goHost + "/alice/a"),
		"a.go":           "package a\n\nfunc V() string { return \"a1.0.0\" }\n",
		"LICENSE":        "MIT\n",
		"internal/x.go":  "package internal\n",
		"vendor/v/v.go":  "package v\n",
		"testdata/t.txt": "data\n",
		"nested/go.mod":  goMod(goHost + "/alice/a/nested"),
		"nested/n.go":    "package nested\n",
	})
	commitAll(ga, "a", "v1.0.0")
	writeTree(t, ga.dir, map[string]string{"a.go": "package a\n\nfunc V() string { return \"next\" }\n"})
	commitAll(ga, "untagged")
	ga.must("push", "-q", ra, "main", "--tags")
	head := strings.TrimSpace(ga.must("rev-parse", "HEAD"))

	gm, rm := goRepo(t, s, "alice", "alice", "multi", false)
	writeTree(t, gm.dir, map[string]string{
		"go.mod":     goMod(goHost + "/alice/multi"),
		"LICENSE":    "root licence\n",
		"sub/go.mod": goMod(goHost + "/alice/multi/sub"),
		"sub/sub.go": "package sub\n",
	})
	commitAll(gm, "multi", "sub/v1.0.0")
	gm.must("push", "-q", rm, "main", "--tags")

	gc, rc := goRepo(t, s, "alice", "alice", "c", false)
	writeTree(t, gc.dir, map[string]string{"go.mod": goMod(goHost + "/alice/c/v2"), "c.go": "package c\n"})
	commitAll(gc, "c", "v2.0.0")
	gc.must("push", "-q", rc, "main", "--tags")

	gd, rd := goRepo(t, s, "alice", "alice", "d", false)
	writeTree(t, gd.dir, map[string]string{
		"go.mod": goMod(goHost + "/alice/d"), "d.go": "package d\n",
		"v2/go.mod": goMod(goHost + "/alice/d/v2"), "v2/d.go": "package d\n",
	})
	commitAll(gd, "d", "v2.0.0")
	gd.must("push", "-q", rd, "main", "--tags")
	// attrs: git attributes the go command neutralises (export-ignore,
	// export-subst) or applies (eol) when it archives a commit, and a
	// symbolic link, which module zips leave out.
	gt, rt := goRepo(t, s, "alice", "alice", "attrs", false)
	writeTree(t, gt.dir, map[string]string{
		"go.mod":         goMod(goHost + "/alice/attrs"),
		"attrs.go":       "package attrs\n",
		".gitattributes": "ignored.txt export-ignore\nsubst.txt export-subst\n",
		"ignored.txt":    "kept in module zips\n",
		"subst.txt":      "$Format:%H$\n",
		"crlf.txt":       "line\r\nline\r\n",
	})
	if err := os.Symlink("attrs.go", filepath.Join(gt.dir, "link.go")); err != nil {
		t.Fatal(err)
	}
	commitAll(gt, "attrs", "v1.0.0")
	gt.must("push", "-q", rt, "main", "--tags")

	// legacy: no go.mod, a v2 tag is v2.0.0+incompatible.
	gl, rl := goRepo(t, s, "alice", "alice", "legacy", false)
	writeTree(t, gl.dir, map[string]string{"legacy.go": "package legacy\n"})
	commitAll(gl, "legacy", "v1.0.0")
	legacyFirst := strings.TrimSpace(gl.must("rev-parse", "HEAD"))
	writeTree(t, gl.dir, map[string]string{"more.go": "package legacy\n"})
	commitAll(gl, "legacy 2", "v2.0.0")
	legacyV2 := strings.TrimSpace(gl.must("rev-parse", "HEAD"))
	writeTree(t, gl.dir, map[string]string{"third.go": "package legacy\n"})
	commitAll(gl, "legacy 3")
	gl.must("push", "-q", rl, "main", "--tags")

	// ann: annotated tags (tag objects, peeled to their commits).
	gn, rn := goRepo(t, s, "alice", "alice", "ann", false)
	writeTree(t, gn.dir, map[string]string{"go.mod": goMod(goHost + "/alice/ann"), "ann.go": "package ann\n"})
	gn.must("add", "-A")
	gn.must("commit", "-qm", "ann")
	gn.must("tag", "-a", "-m", "release 1.0.0", "v1.0.0")
	gn.must("tag", "-a", "-m", "release 1.1.0-rc.1", "v1.1.0-rc.1")
	writeTree(t, gn.dir, map[string]string{"more.go": "package ann\n"})
	commitAll(gn, "after")
	gn.must("push", "-q", rn, "main", "--tags")
	annHead := strings.TrimSpace(gn.must("rev-parse", "HEAD"))

	// notag: no tags at all; its pseudo-version is v0.0.0-….
	gz, rz := goRepo(t, s, "alice", "alice", "notag", false)
	writeTree(t, gz.dir, map[string]string{"go.mod": goMod(goHost + "/alice/notag"), "z.go": "package notag\n"})
	commitAll(gz, "notag")
	gz.must("push", "-q", rz, "main")

	// fresh: no tags either, asked for @latest.
	gf, rf := goRepo(t, s, "alice", "alice", "fresh", false)
	writeTree(t, gf.dir, map[string]string{"go.mod": goMod(goHost + "/alice/fresh"), "f.go": "package fresh\n"})
	commitAll(gf, "fresh")
	gf.must("push", "-q", rf, "main")

	// A nested module at v2: sub/go.mod declares .../sub/v2, tag sub/v2.0.0.
	writeTree(t, gm.dir, map[string]string{
		"sub/go.mod": goMod(goHost + "/alice/multi/sub/v2"),
		"sub/two.go": "package sub\n",
	})
	commitAll(gm, "sub v2", "sub/v2.0.0")
	gm.must("push", "-q", rm, "main", "--tags")
	runGoJobs(t, s)

	proxy := s.URL + "/api/packages/alice/go"
	viaProxy := newGoCmd(t, t.TempDir(), "GOPROXY="+proxy)
	fake := newGoImportProxy(t, s.URL)
	direct := newGoCmd(t, t.TempDir(), "GOPROXY=direct", "GOINSECURE="+goHost, "GOPRIVATE="+goHost,
		"HTTP_PROXY="+fake.srv.URL, "HTTPS_PROXY="+fake.srv.URL, "NO_PROXY=127.0.0.1,localhost")

	for _, mv := range []string{
		goHost + "/alice/a@v1.0.0",
		goHost + "/alice/multi/sub@v1.0.0",
		goHost + "/alice/c/v2@v2.0.0",
		goHost + "/alice/d/v2@v2.0.0",
		goHost + "/alice/a@" + head[:12],
		goHost + "/alice/attrs@v1.0.0",
		goHost + "/alice/ann@v1.0.0",
		goHost + "/alice/ann@" + annHead[:12],
		goHost + "/alice/multi/sub/v2@v2.0.0",
		goHost + "/alice/legacy@v1.0.0",
		goHost + "/alice/legacy@v2.0.0+incompatible",
		goHost + "/alice/legacy@main",
		goHost + "/alice/fresh@latest",
		goHost + "/alice/d/v2@main",
		goHost + "/alice/multi/sub/v2@main",
		goHost + "/alice/legacy@" + legacyV2[:12],
		goHost + "/alice/legacy@" + legacyFirst[:12],
	} {
		p, d := viaProxy.download(mv), direct.download(mv)
		t.Logf("%s: %s %s", mv, p.Version, p.Sum)
		if !strings.Contains(string(d.Origin), `"VCS":"git"`) && !strings.Contains(string(d.Origin), `"VCS": "git"`) {
			t.Errorf("%s in direct mode does not come from git: origin %s", mv, d.Origin)
		}
		if p.Version != d.Version || p.Sum != d.Sum || p.GoModSum != d.GoModSum {
			t.Errorf("%s: the proxy gives %s %s %s, a git checkout %s %s %s", mv, p.Version, p.Sum, p.GoModSum, d.Version, d.Sum, d.GoModSum)
		}
	}
	// A pseudo-version the proxy never made, asked for by its canonical
	// name (as a go.mod or go.sum written elsewhere names it).
	d := direct.download(goHost + "/alice/notag@main")
	if !strings.HasPrefix(d.Version, "v0.0.0-") {
		t.Fatalf("notag@main in direct mode: %s", d.Version)
	}
	if p := viaProxy.download(goHost + "/alice/notag@" + d.Version); p.Sum != d.Sum || p.GoModSum != d.GoModSum {
		t.Errorf("notag@%s: the proxy gives %s %s, a git checkout %s %s", d.Version, p.Sum, p.GoModSum, d.Sum, d.GoModSum)
	}

	// A pseudo-version pinned before a tag was put on an ancestor of its
	// commit stays valid (the go command's rule), though the proxy would
	// make another one for that commit today.
	gp, rp := goRepo(t, s, "alice", "alice", "pinned", false)
	writeTree(t, gp.dir, map[string]string{"go.mod": goMod(goHost + "/alice/pinned"), "p.go": "package pinned\n"})
	commitAll(gp, "first")
	first := strings.TrimSpace(gp.must("rev-parse", "HEAD"))
	writeTree(t, gp.dir, map[string]string{"q.go": "package pinned\n"})
	commitAll(gp, "second")
	gp.must("push", "-q", rp, "main")
	pinned := direct.download(goHost + "/alice/pinned@main")
	gp.must("tag", "v1.0.0", first)
	gp.must("push", "-q", rp, "v1.0.0")
	runGoJobs(t, s)
	if !strings.HasPrefix(pinned.Version, "v0.0.0-") {
		t.Fatalf("pinned@main before the tag: %s", pinned.Version)
	}
	if p := viaProxy.download(goHost + "/alice/pinned@" + pinned.Version); p.Sum != pinned.Sum || p.GoModSum != pinned.GoModSum {
		t.Errorf("pinned@%s: the proxy gives %s %s, a git checkout %s %s", pinned.Version, p.Sum, p.GoModSum, pinned.Sum, pinned.GoModSum)
	}
	if p := viaProxy.download(goHost + "/alice/pinned@main"); !strings.HasPrefix(p.Version, "v1.0.1-0.") {
		t.Errorf("pinned@main after the tag: %s", p.Version)
	}

	gitSeen := false
	for _, r := range fake.requests() {
		if strings.HasPrefix(r, "GET http://"+goHost+"/alice/a?go-get=1") {
			gitSeen = true
		}
	}
	if !gitSeen {
		t.Fatalf("the go command did not use the go-get proxy for direct mode: %q", fake.requests())
	}

	t.Run("discovery", func(t *testing.T) {
		// Wharf answers for goHost itself (the go command sends absolute
		// URLs to an HTTP proxy): its "mod" meta tag sends the go
		// command to the module proxy.
		g := newGoCmd(t, t.TempDir(), "GOPROXY=direct", "GOINSECURE="+goHost, "GOPRIVATE="+goHost,
			"HTTP_PROXY="+s.URL, "HTTPS_PROXY="+s.URL, "NO_PROXY=127.0.0.1,localhost")
		for _, mv := range []string{goHost + "/alice/a@v1.0.0", goHost + "/alice/multi/sub@v1.0.0"} {
			d, p := g.download(mv), viaProxy.download(mv)
			if len(d.Origin) != 0 {
				// Only a VCS download has an origin: the module came by
				// git, not by the "mod" meta tag.
				t.Errorf("%s through discovery came from %s", mv, d.Origin)
			}
			if d.Sum != p.Sum || d.GoModSum != p.GoModSum {
				t.Errorf("%s through discovery: %s %s, through GOPROXY %s %s", mv, d.Sum, d.GoModSum, p.Sum, p.GoModSum)
			}
		}
		status, hdr, body := s.do(t, "GET", "/alice/multi/sub/pkg?go-get=1", "", nil)
		want := []string{
			`<meta name="go-import" content="127.0.0.1/alice/multi mod ` + s.URL + `/api/packages/alice/go">`,
			`<meta name="go-import" content="127.0.0.1/alice/multi git ` + s.URL + `/alice/multi.git">`,
		}
		if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
			t.Fatalf("discovery: %d %s", status, body)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Fatalf("discovery lacks %s:\n%s", w, body)
			}
		}
	})
}
