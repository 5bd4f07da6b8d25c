package tests

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestReview17ComposerUploadOverEarlierMember: was a defect, fixed (the test keeps it so). An upload through
// the virtual URL of a package an earlier member holds is stored at
// publish_to (201), but the virtual URL keeps serving the earlier
// member's package: the version just uploaded is never read back through
// the URL it was uploaded to. virtualUpload (and virtualRegister) in
// routers/api/packages/composer/virtual.go never call
// virtual.CheckPublishName, as the generic and Cargo views do; the name is
// known only after the archive is read (composer_service.Upload), so the
// check belongs there, before CreatePackageAndAddFile.
func TestReview17ComposerUploadOverEarlierMember(t *testing.T) {
	f := newVirtualFixture(t)
	s := f.s
	if status, _, body := s.do(t, "PUT", "/api/packages/team-a/composer?version=1.0.0", string(composerClass("acme/lib", "Lib", "team-a's", nil)), f.rootH); status != http.StatusCreated {
		t.Fatalf("upload to team-a: %d %s", status, body)
	}
	if status, body := f.putVirtual(t, "hub", "composer", `{"members":[{"owner":"team-a"},{"owner":"team-b"}],"publish_to":"team-b"}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT virtual: %d %s", status, body)
	}
	status, _, body := s.do(t, "PUT", "/api/packages/hub/composer?version=2.0.0", string(composerClass("acme/lib", "Lib", "through hub", nil)), f.rootH)
	if status != http.StatusCreated {
		if status >= 500 {
			t.Fatalf("upload over team-a's acme/lib through hub: %d %s", status, body)
		}
		return // refused: what the fix does
	}
	status, _, body = s.do(t, "GET", "/api/packages/hub/composer/p2/acme/lib.json", "", f.rootH)
	var doc composerP2
	decodeComposerStrict(t, body, &doc)
	for _, v := range doc.Packages["acme/lib"] {
		if string(v["version"]) == `"2.0.0"` {
			return
		}
	}
	t.Fatalf("the upload through hub answered 201, but hub's p2 (%d) has no 2.0.0: %s", status, body)
}

// TestReview17ComposerCacheServesOwnersOwnPackage: was a defect (fixed:
// the organisation's own versions refuse the marking, and a stored
// version is served only if it came from an upstream the caller may use). The cache
// owner's Composer versions are taken for archives fetched from an
// upstream: UpstreamDist (services/packages/composer/virtual.go) serves
// whatever version of the name the virtual organisation holds, without
// checking that it came from an upstream or matches the dist the served
// p2 describes. The organisation's own packages — published before it
// was marked virtual (or while it was unmarked), or registered later by a
// composer source set up on it (autoRegister never asks whether the owner
// is virtual) — are then served as the upstream's package of that name
// and version, to everyone. With Packagist-style dists that carry no
// shasum, composer installs them without complaint: cache poisoning by
// whoever may write the organisation's packages or push a tag to one of
// its source repositories. The served archive should be the upstream's
// (cache entries marked as fetched and checked against the dist's
// reference/shasum, or the owner's own packages of the type refused when
// it is marked virtual and its sources stopped).
func TestReview17ComposerCacheServesOwnersOwnPackage(t *testing.T) {
	archive := composerClass("vend/pkg", "Pkg", "the upstream's", nil)
	repo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/repo/packages.json":
			io.WriteString(w, `{"packages":[],"metadata-url":"/repo/p2/%package%.json"}`)
		case "/repo/p2/vend/pkg.json":
			// A Packagist-like dist: a zipball URL and no shasum.
			fmt.Fprintf(w, `{"packages":{"vend/pkg":[{"name":"vend/pkg","version":"1.0.0","dist":{"type":"zip","url":%q,"reference":"abc"}}]}}`,
				"http://"+r.Host+"/zipball/abc")
		case "/zipball/abc":
			w.Write(archive)
		default:
			http.NotFound(w, r)
		}
	}))
	defer repo.Close()

	f := newVirtualFixture(t)
	s := f.s
	// hub, still an ordinary organisation, holds a vend/pkg 1.0.0 of its own.
	if status, _, body := s.do(t, "PUT", "/api/packages/hub/composer?version=1.0.0", string(composerClass("vend/pkg", "Pkg", "planted in hub", nil)), f.rootH); status != http.StatusCreated {
		t.Fatalf("upload to hub: %d %s", status, body)
	}
	cfg := fmt.Sprintf(`{"members":[{"owner":"team-a"},{"url":%q}]}`, repo.URL+"/repo/")
	// Fixed: an organisation holding packages of its own of the type is
	// not made virtual for it (422 naming them)…
	if status, body := f.putVirtual(t, "hub", "composer", cfg, f.rootH); status != http.StatusUnprocessableEntity || !strings.Contains(body, "of its own") {
		t.Fatalf("PUT virtual over hub's own package: %d %s (want 422)", status, body)
	}
	// …and once they are gone it is, and the upstream's archive is served.
	if status, _, body := s.do(t, "DELETE", "/api/v1/packages/hub/composer/vend%2Fpkg/1.0.0", "", f.rootH); status != http.StatusNoContent {
		t.Fatalf("delete hub's own version: %d %s", status, body)
	}
	if status, body := f.putVirtual(t, "hub", "composer", cfg, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT virtual: %d %s", status, body)
	}
	status, _, body := s.do(t, "GET", "/api/packages/hub/composer/p2/vend/pkg.json", "", nil)
	var doc composerP2
	decodeComposerStrict(t, body, &doc)
	if status != http.StatusOK || len(doc.Packages["vend/pkg"]) != 1 {
		t.Fatalf("p2 of vend/pkg: %d %s", status, body)
	}
	var d composerDistRef
	decodeComposerStrict(t, string(doc.Packages["vend/pkg"][0]["dist"]), &d)
	path := strings.TrimPrefix(d.URL, s.URL)
	status, _, got := s.do(t, "GET", path, "", nil)
	if status != http.StatusOK || got != string(archive) {
		t.Fatalf("the dist the upstream's p2 names (%s) answers %d with %d bytes that are not the upstream's archive (%d bytes): the organisation's own vend/pkg 1.0.0 is served as the upstream's",
			d.URL, status, len(got), len(archive))
	}
}

// TestReview17ComposerWrongFileNameFetchesAgain: was a defect (low), fixed (the test keeps it so). A
// download of an upstream version that is already cached, under a file
// name the version does not have, fetches the whole archive from the
// upstream again on every request before answering 404: UpstreamDist
// (services/packages/composer/virtual.go) takes the NotFound of the file
// for a version not yet cached and runs cacheUpstreamDist, whose
// CreatePackageAndAddFile then finds the version and discards the bytes.
// Any caller can so make the instance pull an archive from the upstream
// (and spool it to disk) as often as it likes. A version the cache
// already holds should answer 404 for another file name at once.
func TestReview17ComposerWrongFileNameFetchesAgain(t *testing.T) {
	archive := composerClass("vend/pkg", "Pkg", "the upstream's", nil)
	var fetched atomic.Int64
	repo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/repo/packages.json":
			io.WriteString(w, `{"packages":[],"metadata-url":"/repo/p2/%package%.json"}`)
		case "/repo/p2/vend/pkg.json":
			fmt.Fprintf(w, `{"packages":{"vend/pkg":[{"name":"vend/pkg","version":"1.0.0","dist":{"type":"zip","url":%q}}]}}`, "http://"+r.Host+"/zipball/abc")
		case "/zipball/abc":
			fetched.Add(1)
			w.Write(archive)
		default:
			http.NotFound(w, r)
		}
	}))
	defer repo.Close()
	f := newVirtualFixture(t)
	s := f.s
	if status, body := f.putVirtual(t, "hub", "composer", fmt.Sprintf(`{"members":[{"url":%q}]}`, repo.URL+"/repo/"), f.rootH); status != http.StatusOK {
		t.Fatalf("PUT virtual: %d %s", status, body)
	}
	const files = "/api/packages/hub/composer/files/vend/pkg/1.0.0/"
	if status, _, body := s.do(t, "GET", files+"vend-pkg.1.0.0.zip", "", nil); status != http.StatusOK || body != string(archive) {
		t.Fatalf("archive: %d (%d bytes)", status, len(body))
	}
	before := fetched.Load()
	for range 3 {
		if status, _, body := s.do(t, "GET", files+"other.zip", "", nil); status != http.StatusNotFound {
			t.Fatalf("another file name: %d %s", status, body)
		}
	}
	if n := fetched.Load() - before; n != 0 {
		t.Fatalf("3 requests for a file name the cached version does not have fetched the archive from the upstream %d more times", n)
	}
}

// TestReview17ComposerNameReachesUpstreamUnchecked: was a defect, fixed (the test keeps it so). The Composer
// view sends the name from the request path into the upstream's URL as it
// is: virtualMetadata (routers/api/packages/composer/virtual.go) checks
// no Composer name rule, and upstreamVersions (services/packages/
// composer/virtual.go) puts it into the metadata-url template unescaped.
// Any caller, anonymous too, makes this instance send the upstream's
// credentials to any path and query of the upstream's origin
// (p2/vend/..%2F..%2Fanything.json, p2/vend/x%3Fq=1.json), and each
// answer is stored in the document cache under that URL. The npm view
// refuses such names (validVirtualName) and escapes them; the Composer
// view should answer a name that is not vendor/name of Composer's
// characters with 404 (or 400) before asking anyone.
func TestReview17ComposerNameReachesUpstreamUnchecked(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	repo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.RequestURI()+" (Authorization: "+r.Header.Get("Authorization")+")")
		mu.Unlock()
		if r.URL.Path == "/repo/packages.json" {
			io.WriteString(w, `{"packages":[],"metadata-url":"/repo/p2/%package%.json"}`)
			return
		}
		http.NotFound(w, r)
	}))
	defer repo.Close()
	f := newVirtualFixture(t)
	cfg := fmt.Sprintf(`{"members":[{"url":%q,"token":"up-token"}]}`, repo.URL+"/repo/")
	if status, body := f.putVirtual(t, "hub", "composer", cfg, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT virtual: %d %s", status, body)
	}
	for _, p := range []string{"p2/vend/..%2F..%2Fadmin%2Fusers.json", "p2/vend/x%3Fdelete=1.json"} {
		if status, _, body := f.s.do(t, "GET", "/api/packages/hub/composer/"+p, "", nil); status >= 500 {
			t.Fatalf("%s: %d %s", p, status, body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range asked {
		if strings.Contains(a, "..") || strings.Contains(a, "?") {
			t.Errorf("the upstream was asked %s", a)
		}
	}
}
