package tests

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReview17NpmPublishOutsidePatterns: was a defect, fixed (the test keeps it so). A publish through the
// virtual URL of a name the publishing member's include/exclude patterns
// do not let through is stored at that member (201), but the virtual URL
// never serves it: Resolve skips the member for that name, so the GET of
// the URL just published to is 404. virtualPublish
// (routers/api/packages/npm/virtual.go) checks the name with its own
// Resolve-based test instead of virtual.CheckPublishName, which refuses
// such a name (and a name held by a member the publisher may not read).
func TestReview17NpmPublishOutsidePatterns(t *testing.T) {
	f := newVirtualFixture(t)
	cfg := `{"members":[{"owner":"team-a"},{"owner":"team-b","include":["b-*"]}],"publish_to":"team-b"}`
	if status, body := f.putVirtual(t, "hub", "npm", cfg, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT virtual: %d %s", status, body)
	}
	status, _, body := f.s.do(t, "PUT", "/api/packages/hub/npm/fresh", npmVersionBody("fresh", "1.0.0", nil), f.rootH)
	if status != http.StatusCreated {
		if status >= 500 {
			t.Fatalf("publish outside the member's patterns: %d %s", status, body)
		}
		return // refused: what the fix does
	}
	if status, _, body := f.s.do(t, "GET", "/api/packages/hub/npm/fresh", "", f.rootH); status != http.StatusOK {
		t.Fatalf("PUT /api/packages/hub/npm/fresh answered 201, but its GET answers %d %s", status, body)
	}
}

// TestReview17NpmInstancePublishIntoVirtualOwner: was a defect, fixed (the test keeps it so). The
// instance-level endpoint (/api/packages/-/npm/, routers/api/packages/
// npm/npm.go access) finds the owner by the @scope and knows nothing of
// virtual registries: a publish of @hub/x there is stored as a package of
// the virtual organisation itself — the cache owner — instead of going to
// publish_to (or being refused), and the virtual URL never serves it (a
// name under a local owner's scope that no member holds is 404). The
// instance endpoint should answer a virtual owner's scope as the owner's
// URL does (publish to publish_to, or refuse with its message).
func TestReview17NpmInstancePublishIntoVirtualOwner(t *testing.T) {
	f := newVirtualFixture(t)
	if status, body := f.putVirtual(t, "hub", "npm", `{"members":[{"owner":"team-a"},{"owner":"team-b"}],"publish_to":"team-b"}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT virtual: %d %s", status, body)
	}
	status, _, body := f.s.do(t, "PUT", "/api/packages/-/npm/@hub%2fsneak", npmVersionBody("@hub/sneak", "1.0.0", nil), f.rootH)
	if status != http.StatusCreated {
		if status >= 500 {
			t.Fatalf("publish of @hub/sneak at the instance endpoint: %d %s", status, body)
		}
		return // refused: a fix may do this
	}
	if status, _, body := f.s.do(t, "GET", "/api/packages/hub/npm/@hub%2fsneak", "", f.rootH); status != http.StatusOK {
		_, _, own := f.s.do(t, "GET", "/api/v1/packages/hub/npm/@hub%2Fsneak", "", f.rootH)
		t.Fatalf("PUT /api/packages/-/npm/@hub%%2fsneak answered 201, but hub's virtual URL answers %d %s; the package is the cache owner's: %s", status, body, own)
	}
}

// TestReview17NpmNameSpellingPoisonsDocument: was a defect, fixed (the test keeps it so). One request for
// a package with its name in other letter case (anonymous: B-UTIL for
// b-util) decides the name every later caller's document carries: the
// packument's cache key (services/packages/npm/packument.go
// PackumentRefOf: kind, package, stamp, copy, base) leaves out the name,
// while the document is built with the name as requested — "name", "_id"
// and every dist.tarball. Through the virtual URL b-util's document then
// says "B-UTIL" with tarball URLs under B-UTIL/-/B-UTIL-1.0.0.tgz, for
// everyone, until the package changes. The document should carry the
// stored package's name (p.Name), or the key hold the name asked for.
func TestReview17NpmNameSpellingPoisonsDocument(t *testing.T) {
	f := newVirtualNpmFixture(t)
	if status, _, body := f.s.do(t, "GET", "/api/packages/hub/npm/B-UTIL", "", nil); status >= 500 {
		t.Fatalf("B-UTIL: %d %s", status, body)
	}
	// bob shares the anonymous caller's copy of the document.
	status, _, body := f.s.do(t, "GET", "/api/packages/hub/npm/b-util", "", f.bobH)
	p := decodePackument(t, body)
	if status != http.StatusOK || p.Name != "b-util" || p.ID != "b-util" {
		t.Errorf("b-util's document after an anonymous GET of B-UTIL: %d name %q _id %q", status, p.Name, p.ID)
	}
	if tb := p.Versions["1.0.0"].Dist.Tarball; tb != f.hub+"b-util/-/b-util-1.0.0.tgz" {
		t.Errorf("b-util's tarball URL after an anonymous GET of B-UTIL: %s", tb)
	} else if status, _, _ := f.s.do(t, "GET", strings.TrimPrefix(tb, f.s.URL), "", f.bobH); status != http.StatusOK {
		t.Errorf("b-util's tarball: %d", status)
	}
}

// TestReview17NpmUpstreamNameSpellingBreaksPackage: was a defect (fixed), through the
// one above. With a Wharf upstream, one anonymous GET of LEFT-PAD at the
// virtual URL makes the upstream's left-pad document name "LEFT-PAD";
// RewriteUpstreamPackument (services/packages/npm/virtual.go) then takes
// the upstream's left-pad document for garbage (the names differ in
// case) and every left-pad tarball download through the virtual URL is a
// 503 for everyone. Beside the fix above, a document naming another
// spelling is at most "not this package" (404), not a failed upstream.
func TestReview17NpmUpstreamNameSpellingBreaksPackage(t *testing.T) {
	f := newVirtualNpmFixture(t)
	if status, _, body := f.s.do(t, "GET", "/api/packages/hub/npm/LEFT-PAD", "", nil); status >= 500 {
		t.Fatalf("LEFT-PAD: %d %s", status, body)
	}
	status, h, body := f.s.do(t, "GET", "/api/packages/hub/npm/left-pad/-/left-pad-1.0.0.tgz", "", f.rootH)
	if status != http.StatusOK {
		t.Fatalf("left-pad's tarball after an anonymous GET of LEFT-PAD: %d %q %.200s", status, h.Values("Warning"), body)
	}
}

// TestReview17NpmSearchOffsetOverflow: was a defect, fixed (the test keeps it so). A search's from near the
// largest int is a 500: virtualSearch (routers/api/packages/npm/
// virtual.go) asks each member for from+size hits, which overflows to a
// negative limit. The owner's own search answers 200 for the same query.
// A client's mistake is a 4xx (or an empty page), never a 500.
func TestReview17NpmSearchOffsetOverflow(t *testing.T) {
	f := newVirtualFixture(t)
	if status, body := f.putVirtual(t, "hub", "npm", `{"members":[{"owner":"team-a"}]}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT virtual: %d %s", status, body)
	}
	npmPut(t, f.s, "team-a", "a-lib", "1.0.0", nil, f.rootH)
	status, _, body := f.s.do(t, "GET", "/api/packages/hub/npm/-/v1/search?text=&from=9223372036854775807", "", nil)
	if status >= 500 {
		t.Fatalf("search with a huge from: %d %s", status, body)
	}
}

// TestReview17NpmSha1IntegrityRefused: was a defect, fixed (the test keeps it so). An upstream version whose
// dist.integrity is a valid Subresource Integrity string without a sha512
// entry ("sha1-…", as registries serve for tarballs published before
// npm 5, and which npm itself accepts) is refused with a 503, although its
// dist.shasum and the integrity both match the bytes: npm_module.CheckDist
// (used by CacheUpstreamTarball, services/packages/npm/virtual.go) takes
// an integrity without sha512 for a mismatch. Such a package can never be
// installed through the virtual registry. An integrity whose algorithms
// cannot be checked here should fall back to the shasum (and sha1-, which
// is the shasum, be checked as such).
func TestReview17NpmSha1IntegrityRefused(t *testing.T) {
	tgz := npmTarball(pkgJSON("oldpkg", "0.1.0"))
	s1 := sha1.Sum(tgz)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oldpkg":
			doc := map[string]any{"name": "oldpkg", "dist-tags": map[string]string{"latest": "0.1.0"}, "versions": map[string]any{"0.1.0": map[string]any{
				"name": "oldpkg", "version": "0.1.0", "dist": map[string]string{
					"tarball":   "http://" + r.Host + "/oldpkg/-/oldpkg-0.1.0.tgz",
					"shasum":    hex.EncodeToString(s1[:]),
					"integrity": "sha1-" + base64.StdEncoding.EncodeToString(s1[:]),
				}}}}
			_ = json.NewEncoder(w).Encode(doc)
		case "/oldpkg/-/oldpkg-0.1.0.tgz":
			_, _ = w.Write(tgz)
		default:
			http.NotFound(w, r)
		}
	}))
	defer up.Close()
	f := newVirtualFixture(t)
	if status, body := f.putVirtual(t, "hub", "npm", fmt.Sprintf(`{"members":[{"url":%q}]}`, up.URL+"/"), f.rootH); status != http.StatusOK {
		t.Fatalf("PUT virtual: %d %s", status, body)
	}
	status, h, body := f.s.do(t, "GET", "/api/packages/hub/npm/oldpkg/-/oldpkg-0.1.0.tgz", "", nil)
	if status != http.StatusOK || body != string(tgz) {
		t.Fatalf("a tarball matching its shasum and sha1 integrity: %d %q %.200s", status, h.Values("Warning"), body)
	}
}

// TestReview17NpmSearchTotal: was a defect (low), fixed (the test keeps it so). The merged search's total is
// the number of hits read for this page, not the number of matches:
// virtualSearch (routers/api/packages/npm/virtual.go) asks each member for
// from+size hits and counts what it got, so 25 matches in one member are
// "total": 20 for the first page through the virtual URL while the
// member's own URL says 25; a client paging by total stops early.
func TestReview17NpmSearchTotal(t *testing.T) {
	f := newVirtualFixture(t)
	if status, body := f.putVirtual(t, "hub", "npm", `{"members":[{"owner":"team-a"}]}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT virtual: %d %s", status, body)
	}
	for i := range 25 {
		npmPut(t, f.s, "team-a", fmt.Sprintf("many-%02d", i), "1.0.0", nil, f.rootH)
	}
	total := func(path string) int {
		t.Helper()
		status, _, body := f.s.do(t, "GET", path+"-/v1/search?text=many&size=20", "", nil)
		var out struct {
			Objects []json.RawMessage `json:"objects"`
			Total   int               `json:"total"`
			Time    string            `json:"time"`
		}
		d := json.NewDecoder(strings.NewReader(body))
		d.DisallowUnknownFields()
		if err := d.Decode(&out); status != http.StatusOK || err != nil || len(out.Objects) != 20 {
			t.Fatalf("search at %s: %d %v %.200s", path, status, err, body)
		}
		return out.Total
	}
	if own, merged := total("/api/packages/team-a/npm/"), total("/api/packages/hub/npm/"); own != 25 || merged != own {
		t.Fatalf("total of 25 matches: %d at team-a's URL, %d through hub's", own, merged)
	}
}
