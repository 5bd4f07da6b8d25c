package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"

	"wharf/modules/setting"
	"wharf/routers"
	packages_service "wharf/services/packages"
)

// testClock is an app clock the test moves.
type testClock struct{ unix atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.unix.Store(time.Now().Add(-time.Hour).Unix())
	return c
}

func (c *testClock) now() time.Time          { return time.Unix(c.unix.Load(), 0) }
func (c *testClock) advance(d time.Duration) { c.unix.Add(int64(d / time.Second)) }

// removalPath is one way a version leaves the registry.
type removalPath struct {
	name string
	// formats are the formats the path exists for.
	formats []string
	remove  func(t *testing.T, s *server, f *contractPackage, version string)
}

// contractPackage is a package of one format under test, published with
// versions in ascending order.
type contractPackage struct {
	format  string
	name    string // as the format names it
	apiName string // as the packages API's path carries it
	// repoTag maps a Composer version registered from git to its tag.
	repoTag map[string]string
	repo    gitCmd
	remote  string
}

var removalPaths = []removalPath{
	{"packages API", []string{"npm", "composer", "generic"}, func(t *testing.T, s *server, f *contractPackage, version string) {
		status, _, body := s.do(t, "DELETE", "/api/v1/packages/acme/"+f.format+"/"+url.PathEscape(f.apiName)+"/"+version, "", basic("acme", "acme-password"))
		if status != http.StatusNoContent {
			t.Fatalf("DELETE through the packages API: %d %s", status, body)
		}
	}},
	{"npm unpublish", []string{"npm"}, func(t *testing.T, s *server, f *contractPackage, version string) {
		// What `npm unpublish name@version` sends: the document read for
		// writing, without the version, to /-rev/{rev}.
		path := "/api/packages/acme/npm/" + strings.Replace(f.name, "/", "%2f", 1)
		status, _, body := s.do(t, "GET", path+"?write=true", "", basic("acme", "acme-password"))
		if status != 200 {
			t.Fatalf("GET for writing: %d %s", status, body)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatal(err)
		}
		delete(doc["versions"].(map[string]any), version)
		b, _ := json.Marshal(doc)
		status, _, body = s.do(t, "PUT", path+"/-rev/"+doc["_rev"].(string), string(b), basic("acme", "acme-password"))
		if status != 201 && status != 200 {
			t.Fatalf("unpublish: %d %s", status, body)
		}
	}},
	{"generic DELETE", []string{"generic"}, func(t *testing.T, s *server, f *contractPackage, version string) {
		status, _, body := s.do(t, "DELETE", "/api/packages/acme/generic/"+f.name+"/"+version, "", basic("acme", "acme-password"))
		if status != http.StatusNoContent && status != 200 {
			t.Fatalf("generic DELETE: %d %s", status, body)
		}
	}},
	{"git tag deleted", []string{"composer"}, func(t *testing.T, s *server, f *contractPackage, version string) {
		f.repo.must("push", "-q", f.remote, "--delete", f.repoTag[version])
		for range 3 {
			if _, err := s.App.Jobs.RunOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}},
}

// publishContract publishes versions of a package of format, in order,
// one clock step apart. npm's highest version also carries a "beta" tag.
func publishContract(t *testing.T, s *server, clock *testClock, format, bare string, versions []string) *contractPackage {
	t.Helper()
	h := basic("acme", "acme-password")
	f := &contractPackage{format: format}
	switch format {
	case "npm":
		f.name = "@acme/" + bare
		f.apiName = f.name
		path := "/api/packages/acme/npm/@acme%2f" + bare
		for i, v := range versions {
			var doc map[string]any
			_ = json.Unmarshal([]byte(npmPublishBody(f.name, v, nil, npmTarball(pkgJSON(f.name, v)))), &doc)
			if i == len(versions)-1 {
				doc["dist-tags"] = map[string]string{"latest": v, "beta": v}
			}
			b, _ := json.Marshal(doc)
			if status, _, body := s.do(t, "PUT", path, string(b), h); status != 201 {
				t.Fatalf("publish %s: %d %s", v, status, body)
			}
			clock.advance(10 * time.Second)
		}
	case "composer":
		f.name = "acme/" + bare
		f.apiName = f.name
		requireClient(t, "git")
		acme := s.client(t, gitea.SetBasicAuth("acme", "acme-password"))
		if _, _, err := acme.CreateRepo(gitea.CreateRepoOption{Name: bare}); err != nil {
			t.Fatal(err)
		}
		work := t.TempDir()
		f.repo = gitCmd{t, filepath.Join(work, bare)}
		gitCmd{t, work}.must("init", "-q", "-b", "main", bare)
		f.remote = authURL(s.URL, "acme", "acme-password", "acme/"+bare+".git")
		f.repoTag = map[string]string{}
		for _, v := range versions {
			writeLib(t, f.repo.dir, f.name, `Acme\`+strings.ToUpper(bare[:1])+bare[1:], "says "+v, "")
			f.repo.must("add", ".")
			f.repo.must("commit", "-qm", v)
			f.repo.must("tag", "v"+v)
			f.repo.must("push", "-q", f.remote, "main", "v"+v)
			f.repoTag[v] = "v" + v
			status, _, body := s.do(t, "POST", "/api/packages/acme/composer", fmt.Sprintf(`{"repository":"acme/%s","tag":"v%s"}`, bare, v),
				map[string]string{"Authorization": h["Authorization"], "Content-Type": "application/json"})
			if status != 201 {
				t.Fatalf("register %s: %d %s", v, status, body)
			}
			clock.advance(10 * time.Second)
		}
	case "generic":
		f.name, f.apiName = bare, bare
		for _, v := range versions {
			if status, _, body := s.do(t, "PUT", "/api/packages/acme/generic/"+bare+"/"+v+"/"+bare+".bin", "bytes of "+v, h); status != 201 {
				t.Fatalf("upload %s: %d %s", v, status, body)
			}
			clock.advance(10 * time.Second)
		}
	}
	return f
}

// formatState is what a format derives from its versions, as its clients
// read it.
type formatState struct {
	versions []string // ascending
	// npm
	tags map[string]string
	rev  string
	// composer
	lastModified     string // p2
	listLastModified string // packages.json
}

func readState(t *testing.T, s *server, f *contractPackage) formatState {
	t.Helper()
	h := basic("acme", "acme-password")
	var st formatState
	switch f.format {
	case "npm":
		status, _, body := s.do(t, "GET", "/api/packages/acme/npm/"+strings.Replace(f.name, "/", "%2f", 1), "", h)
		if status == 404 {
			return st
		}
		var doc struct {
			Rev      string            `json:"_rev"`
			DistTags map[string]string `json:"dist-tags"`
			Versions map[string]any    `json:"versions"`
		}
		if status != 200 || json.Unmarshal([]byte(body), &doc) != nil {
			t.Fatalf("packument: %d %s", status, body)
		}
		st.rev, st.tags = doc.Rev, doc.DistTags
		for v := range doc.Versions {
			st.versions = append(st.versions, v)
		}
	case "composer":
		status, hdr, body := s.do(t, "GET", "/api/packages/acme/composer/packages.json", "", h)
		if status != 200 {
			t.Fatalf("packages.json: %d %s", status, body)
		}
		st.listLastModified = hdr.Get("Last-Modified")
		status, hdr, body = s.do(t, "GET", "/api/packages/acme/composer/p2/"+f.name+".json", "", h)
		if status == 404 {
			return st
		}
		var doc struct {
			Packages map[string][]struct {
				Version string `json:"version"`
			} `json:"packages"`
		}
		if status != 200 || json.Unmarshal([]byte(body), &doc) != nil {
			t.Fatalf("p2: %d %s", status, body)
		}
		st.lastModified = hdr.Get("Last-Modified")
		for _, v := range doc.Packages[f.name] {
			st.versions = append(st.versions, v.Version)
		}
	case "generic":
		var vs []struct {
			Version string `json:"version"`
		}
		status, _, body := s.do(t, "GET", "/api/v1/packages/acme/generic/"+f.name, "", h)
		if status == 404 {
			return st
		}
		if status != 200 || json.Unmarshal([]byte(body), &vs) != nil {
			t.Fatalf("versions: %d %s", status, body)
		}
		for _, v := range vs {
			st.versions = append(st.versions, v.Version)
		}
	}
	slices.Sort(st.versions)
	return st
}

// TestFormatContractRemovals removes versions by every path that exists
// for each format and checks that the format's derived state is current
// afterwards: npm's latest and other dist-tags and its _rev, Composer's
// Last-Modified of p2 and of packages.json (a 304 for a stale document is
// the bug this guards against), and that nothing of the removed version
// is left in the format's own tables.
func TestFormatContractRemovals(t *testing.T) {
	for _, path := range removalPaths {
		for _, format := range path.formats {
			t.Run(path.name+"/"+format, func(t *testing.T) {
				clock := newTestClock()
				s := newServerWithClock(t, clock.now)
				s.createUser(t, "acme")
				f := publishContract(t, s, clock, format, "lib", []string{"1.0.0", "1.1.0", "2.0.0"})
				before := readState(t, s, f)
				if !slices.Equal(before.versions, []string{"1.0.0", "1.1.0", "2.0.0"}) {
					t.Fatalf("published %v", before.versions)
				}
				clock.advance(10 * time.Second)

				// The highest version: the one npm's latest and beta name.
				path.remove(t, s, f, "2.0.0")
				removedAt := clock.now()
				// Read once the second of the change is over: until then
				// Composer's documents carry no Last-Modified.
				clock.advance(10 * time.Second)
				after := readState(t, s, f)
				if !slices.Equal(after.versions, []string{"1.0.0", "1.1.0"}) {
					t.Fatalf("after removing 2.0.0: %v", after.versions)
				}
				switch format {
				case "npm":
					if !mapsEqual(after.tags, map[string]string{"latest": "1.1.0"}) {
						t.Errorf("dist-tags after removing 2.0.0: %v, want only latest → 1.1.0", after.tags)
					}
					if after.rev == before.rev {
						t.Errorf("_rev did not change: %s", after.rev)
					}
					var n int64
					if _, err := s.App.DB.Xorm().SQL("SELECT COUNT(*) FROM npm_dist_tag WHERE version_id NOT IN (SELECT id FROM package_version)").Get(&n); err != nil || n != 0 {
						t.Errorf("dist-tags left pointing at removed versions: %d %v", n, err)
					}
				case "composer":
					want := removedAt.UTC().Format(http.TimeFormat)
					if after.lastModified != want || after.listLastModified != want {
						t.Errorf("Last-Modified after the removal: p2 %q, packages.json %q; want both %q (before: %q)",
							after.lastModified, after.listLastModified, want, before.lastModified)
					}
					// composer asks with the Last-Modified it has: it must get
					// the new document, not a 304.
					clock.advance(10 * time.Second)
					status, _, body := s.do(t, "GET", "/api/packages/acme/composer/p2/"+f.name+".json", "",
						map[string]string{"Authorization": basic("acme", "acme-password")["Authorization"], "If-Modified-Since": before.lastModified})
					if status != 200 || strings.Contains(body, `"2.0.0"`) {
						t.Errorf("conditional GET with the old Last-Modified: %d %s", status, body)
					}
				}

				// Every version: the package goes, and so does what the format
				// derived from it.
				clock.advance(10 * time.Second)
				path.remove(t, s, f, "1.1.0")
				path.remove(t, s, f, "1.0.0")
				goneAt := clock.now()
				clock.advance(10 * time.Second)
				gone := readState(t, s, f)
				if len(gone.versions) != 0 {
					t.Fatalf("after removing every version: %v", gone.versions)
				}
				switch format {
				case "npm":
					var n int64
					if _, err := s.App.DB.Xorm().SQL("SELECT COUNT(*) FROM npm_dist_tag").Get(&n); err != nil || n != 0 {
						t.Errorf("dist-tags left after the package went: %d %v", n, err)
					}
				case "composer":
					if want := goneAt.UTC().Format(http.TimeFormat); gone.listLastModified != want {
						t.Errorf("packages.json Last-Modified after the package went: %q, want %q", gone.listLastModified, want)
					}
				}
				var props int64
				if _, err := s.App.DB.Xorm().SQL("SELECT COUNT(*) FROM package_property WHERE ref_type = 2 AND ref_id NOT IN (SELECT id FROM package)").Get(&props); err != nil || props != 0 {
					t.Errorf("package properties left behind: %d %v", props, err)
				}
			})
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestFormatContractNpmUnpublishRulesOnEveryPath: ALLOW_UNPUBLISH off
// refuses a removal through the packages API as it does npm's own
// unpublish (the rule is npm's, kept by the format, not by one path).
func TestFormatContractNpmUnpublishRulesOnEveryPath(t *testing.T) {
	s := newServer(t, func(c *setting.Config) { c.Packages.Npm.AllowUnpublish = false })
	s.createUser(t, "acme")
	p := newNpmPackage(t, s, "kept")
	p.publish("1.0.0")
	status, _, body := s.do(t, "DELETE", "/api/v1/packages/acme/npm/"+url.PathEscape(p.name)+"/1.0.0", "", p.h)
	if status != http.StatusForbidden || !strings.Contains(body, "unpublishing is disabled") {
		t.Fatalf("packages API DELETE with unpublish off: %d %s", status, body)
	}
	if got := p.versions(); !slices.Equal(got, []string{"1.0.0"}) {
		t.Fatalf("versions after the refused removal: %v", got)
	}
}

// TestFormatContractNpmPublishCrash: a publish that fails at any point
// between storing the tarball and its commit leaves nothing of itself —
// no version, no dist-tag, no repository link — and the client's retry
// then publishes it whole.
func TestFormatContractNpmPublishCrash(t *testing.T) {
	for _, point := range []packages_service.FaultPoint{packages_service.FaultAfterBlob, packages_service.FaultAfterRows, packages_service.FaultBeforeCommit} {
		t.Run(string(point), func(t *testing.T) {
			var armed atomic.Bool
			s := newServerWithOptions(t, routers.Options{PackagesFault: func(_ context.Context, p packages_service.FaultPoint) error {
				if p == point && armed.Load() {
					return errors.New("injected crash at " + string(p))
				}
				return nil
			}})
			s.createUser(t, "acme")
			acme := s.client(t, gitea.SetBasicAuth("acme", "acme-password"))
			if _, _, err := acme.CreateRepo(gitea.CreateRepoOption{Name: "widget"}); err != nil {
				t.Fatal(err)
			}
			p := newNpmPackage(t, s, "crash")
			p.publish("1.0.0")
			beforeRev := p.rev()
			body := npmPublishBody(p.name, "1.1.0", s.URL+"/acme/widget.git", npmTarball(pkgJSON(p.name, "1.1.0")))
			armed.Store(true)
			if status, _, out := s.do(t, "PUT", p.path, body, p.h); status != http.StatusInternalServerError {
				t.Fatalf("publish with a crash at %s: %d %s", point, status, out)
			}
			armed.Store(false)
			if got := p.versions(); !slices.Equal(got, []string{"1.0.0"}) {
				t.Fatalf("versions after the crash: %v", got)
			}
			_, d := p.doc(p.h)
			if d.DistTags["latest"] != "1.0.0" || len(d.DistTags) != 1 || d.Rev != beforeRev {
				t.Fatalf("after the crash: dist-tags %v, _rev %s (was %s)", d.DistTags, d.Rev, beforeRev)
			}
			if pkg, _, err := acme.GetPackage("acme", "npm", p.name, "1.0.0"); err != nil || pkg.Repository != nil {
				t.Fatalf("linked after the crash: %+v %v", pkg, err)
			}
			// The retry is a whole publish.
			if status, _, out := s.do(t, "PUT", p.path, body, p.h); status != 201 {
				t.Fatalf("retry: %d %s", status, out)
			}
			// Read plainly: the manifest's repository field is not in npmDoc.
			_, _, out := s.do(t, "GET", p.path, "", p.h)
			var raw struct {
				DistTags map[string]string `json:"dist-tags"`
			}
			if err := json.Unmarshal([]byte(out), &raw); err != nil || raw.DistTags["latest"] != "1.1.0" {
				t.Fatalf("latest after the retry: %v %v", raw.DistTags, err)
			}
			if pkg, _, err := acme.GetPackage("acme", "npm", p.name, "1.1.0"); err != nil || pkg.Repository == nil || pkg.Repository.Name != "widget" {
				t.Fatalf("not linked after the retry: %+v %v", pkg, err)
			}
		})
	}
}

// TestFormatContractComposerRemovalSeenByComposer is the regression test
// of the bug the contract fixes, with the real composer: a version
// removed through the packages API moved p2's Last-Modified back to the
// creation of the highest version left, composer got a 304 for its cached
// document and installed the removed version from its cache.
func TestFormatContractComposerRemovalSeenByComposer(t *testing.T) {
	requireClient(t, "composer")
	requireClient(t, "php")
	clock := newTestClock()
	s := newServerWithClock(t, clock.now)
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")
	for _, v := range []string{"1.0.0", "1.1.0"} {
		zip := composerZip("", map[string]string{
			"composer.json": `{"name":"acme/lib","autoload":{"psr-4":{"Acme\\Lib\\":"src/"}}}`,
			"src/Lib.php":   `<?php namespace Acme\Lib; class Lib { public static function say() { return "lib ` + v + `"; } }`,
		})
		if status, _, body := s.do(t, "PUT", "/api/packages/acme/composer?version="+v, string(zip), h); status != 201 {
			t.Fatalf("upload %s: %d %s", v, status, body)
		}
		clock.advance(10 * time.Second)
	}
	app := newComposerProject(t, s, "acme", "acme", "acme-password", map[string]string{"acme/lib": "^1.0"})
	app.must("composer", "update", "--no-progress")
	if got := app.say(`Acme\Lib\Lib`); got != "lib 1.1.0" {
		t.Fatalf("installed: %q", got)
	}
	clock.advance(10 * time.Second)
	if status, _, body := s.do(t, "DELETE", "/api/v1/packages/acme/composer/acme%2Flib/1.1.0", "", h); status != http.StatusNoContent {
		t.Fatalf("remove 1.1.0: %d %s", status, body)
	}
	clock.advance(10 * time.Second)
	out := app.must("composer", "update", "--no-progress")
	if got := app.say(`Acme\Lib\Lib`); got != "lib 1.0.0" {
		t.Fatalf("after 1.1.0 was removed composer installed %q, want lib 1.0.0 (a stale cached document?)\n%s", got, out)
	}
	lock, err := os.ReadFile(filepath.Join(app.dir, "composer.lock"))
	if err != nil || strings.Contains(string(lock), `"1.1.0"`) {
		t.Fatalf("composer.lock still names 1.1.0: %v\n%s", err, lock)
	}
}

// TestFormatContractConcurrentDistTags: two publishes racing to take the
// same tag leave exactly one row for it (the unique index), pointing at
// one of them.
func TestFormatContractConcurrentDistTags(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	p := newNpmPackage(t, s, "race")
	p.publish("1.0.0")
	var wg sync.WaitGroup
	for _, v := range []string{"1.1.0", "1.2.0", "1.3.0", "1.4.0"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.do(t, "PUT", p.path, npmPublishBody(p.name, v, nil, npmTarball(pkgJSON(p.name, v))), p.h)
		}()
	}
	wg.Wait()
	var n int64
	if _, err := s.App.DB.Xorm().SQL("SELECT COUNT(*) FROM npm_dist_tag WHERE tag = 'latest'").Get(&n); err != nil || n != 1 {
		t.Fatalf("latest rows: %d %v", n, err)
	}
	_, d := p.doc(p.h)
	if len(d.Versions) != 5 || d.DistTags["latest"] == "" || d.DistTags["latest"] == "1.0.0" {
		t.Fatalf("after racing publishes: %d versions, dist-tags %v", len(d.Versions), d.DistTags)
	}
}
