package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"code.gitea.io/sdk/gitea"

	packages_model "wharf/models/packages"
)

// review17CargoUpstream is a fake sparse index with one crate version:
// walnut 1.0.0 with the given bytes (its index line carries their
// SHA-256). down makes every request a 500.
type review17CargoUpstream struct {
	srv   *httptest.Server
	crate []byte
	has   atomic.Bool
	down  atomic.Bool
}

func newReview17CargoUpstream(t *testing.T, crate string, has bool) *review17CargoUpstream {
	t.Helper()
	u := &review17CargoUpstream{crate: []byte(crate)}
	u.has.Store(has)
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u.down.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		switch {
		case r.URL.Path == "/index/config.json":
			_, _ = w.Write([]byte(`{"dl":"` + u.srv.URL + `/dl"}`))
		case r.URL.Path == "/index/wa/ln/walnut" && u.has.Load():
			_, _ = w.Write([]byte(`{"name":"walnut","vers":"1.0.0","deps":[],"cksum":"` + u.cksum() + `","features":{},"yanked":false}` + "\n"))
		case r.URL.Path == "/dl/walnut/1.0.0/download" && u.has.Load():
			_, _ = w.Write(u.crate)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *review17CargoUpstream) cksum() string {
	sum := sha256.Sum256(u.crate)
	return hex.EncodeToString(sum[:])
}

func (u *review17CargoUpstream) index() string { return u.srv.URL + "/index/" }

// TestReview17CargoCachedCrateOfPrivateNestedUpstream: (a defect the review found, fixed; the test keeps it so) a nested virtual
// registry lends its members (here an upstream) only to callers who may
// see it, but a crate fetched from that upstream is stored with the outer
// registry's cache owner, and OpenVirtualCrate (services/packages/cargo/
// virtual.go:212-214) serves the cache before it asks which upstream the
// caller may use: anyone for whom the name resolves to any upstream (here a
// public one that has no walnut at all) downloads the private upstream's
// crate. VirtualIndexFile's fallback (virtual.go:58-64) likewise serves the
// cached versions' index lines when the caller's own upstreams fail.
// The copy is also a package of hub itself, which the package API lists
// to anyone who may see hub. Defect: the private upstream's crate, index
// lines and metadata leak to anonymous callers; each should be 404 (the
// public upstream has no walnut) or 503.
func TestReview17CargoCachedCrateOfPrivateNestedUpstream(t *testing.T) {
	v := newVirtualCargo(t)
	s := v.s
	private := newReview17CargoUpstream(t, "the private upstream's walnut", true)
	public := newReview17CargoUpstream(t, "unused", false)
	root := s.client(t, gitea.SetToken(s.AdminToken))
	if _, _, err := root.CreateOrg(gitea.CreateOrgOption{Name: "inner", Visibility: gitea.VisibleTypePrivate}); err != nil {
		t.Fatal(err)
	}
	if status, body := v.putVirtual(t, "inner", "cargo", `{"members":[{"url":"`+private.index()+`"}]}`, v.rootH); status != http.StatusOK {
		t.Fatalf("PUT inner: %d %s", status, body)
	}
	if status, body := v.putVirtual(t, "hub", "cargo", `{"members":[{"owner":"inner"},{"url":"`+public.index()+`"}]}`, v.rootH); status != http.StatusOK {
		t.Fatalf("PUT hub: %d %s", status, body)
	}
	const download = "/api/packages/hub/cargo/api/v1/crates/walnut/1.0.0/download"
	// root may see inner: walnut is the private upstream's.
	if status, _, body := s.do(t, "GET", download, "", cargoAuth(v.rootTok)); status != http.StatusOK || body != string(private.crate) {
		t.Fatalf("root downloads walnut: %d %q", status, body)
	}
	// The public upstream fails before it was ever asked for walnut: the
	// outsider's index must not be the cached versions of the private
	// upstream's walnut.
	public.down.Store(true)
	status, _, body := s.do(t, "GET", "/api/packages/hub/cargo/wa/ln/walnut", "", nil)
	if status == http.StatusOK || strings.Contains(body, private.cksum()) {
		t.Errorf("with the public upstream down an anonymous caller reads the private upstream's walnut index: %d %q, want 503", status, body)
	}
	public.down.Store(false)
	// What held: for bob and anonymous callers the name resolves to the
	// public upstream only, whose index has no walnut.
	for _, h := range []map[string]string{nil, cargoAuth(v.bobTok)} {
		status, hdr, body := s.do(t, "GET", "/api/packages/hub/cargo/wa/ln/walnut", "", h)
		wantCargoError(t, "walnut's index for an outsider", status, hdr, body, http.StatusNotFound, "")
	}
	for _, h := range []map[string]string{nil, cargoAuth(v.bobTok)} {
		status, _, body := s.do(t, "GET", download, "", h)
		if status != http.StatusNotFound || strings.Contains(body, string(private.crate)) {
			t.Errorf("an outsider downloads the private upstream's walnut through hub: %d %q, want 404", status, body)
		}
	}
	// The same copy is a package of hub, public: the package API shows
	// the private upstream's crate (and its metadata) to anyone.
	if status, _, body := s.do(t, "GET", "/api/v1/packages/hub/cargo/walnut/1.0.0", "", nil); status != http.StatusNotFound {
		t.Errorf("an anonymous caller reads the private upstream's walnut as a package of hub: %d %.200s, want 404", status, body)
	}
}

// TestReview17CargoCachedCrateOfAnotherUpstream: (a defect the review found, fixed; the test keeps it so) the cache owner keeps
// one copy of a crate version for the whole registry, whichever upstream it
// came from, and OpenVirtualCrate (services/packages/cargo/virtual.go:
// 212-214) serves it without comparing it with the index line the caller
// was given. When the name later resolves to another upstream (an earlier
// member publishes the name, or the members are reordered or replaced),
// the index file is that upstream's while the .crate is still the first
// one's: cargo fails with "failed to verify the checksum of `walnut
// v1.0.0`" for good, and the registry serves a mix of two members' crate
// (issue 17: never a mix of versions from two members). The cached copy
// should be used only when its cksum is the one of the line in force
// (or the cache be kept per upstream).
func TestReview17CargoCachedCrateOfAnotherUpstream(t *testing.T) {
	v := newVirtualCargo(t)
	s := v.s
	first := newReview17CargoUpstream(t, "the first upstream's walnut", false)
	second := newReview17CargoUpstream(t, "the second upstream's walnut", true)
	if status, body := v.putVirtual(t, "hub", "cargo", `{"members":[{"url":"`+first.index()+`"},{"url":"`+second.index()+`"}]}`, v.rootH); status != http.StatusOK {
		t.Fatalf("PUT hub: %d %s", status, body)
	}
	const download = "/api/packages/hub/cargo/api/v1/crates/walnut/1.0.0/download"
	if status, _, body := s.do(t, "GET", download, "", nil); status != http.StatusOK || body != string(second.crate) {
		t.Fatalf("walnut from the second upstream: %d %q", status, body)
	}
	// The first upstream (earlier in order) now has walnut 1.0.0: the
	// index through hub is its file, as the order says.
	first.has.Store(true)
	lines := indexLines(t, s, "hub", "wa/ln/walnut", nil)
	if len(lines) != 1 || lines[0]["cksum"] != first.cksum() {
		t.Fatalf("walnut's index through hub: %v, want the first upstream's line", lines)
	}
	status, _, body := s.do(t, "GET", download, "", nil)
	sum := sha256.Sum256([]byte(body))
	if status != http.StatusOK || hex.EncodeToString(sum[:]) != lines[0]["cksum"] {
		t.Fatalf("walnut's .crate through hub does not match its index line (cargo: failed to verify the checksum): %d %q, index cksum %v", status, body, lines[0]["cksum"])
	}
}

// TestReview17CargoVirtualSearchPageOverflow: (a defect the review found, fixed; the test keeps it so) a page number whose offset
// overflows int makes VirtualSearch (services/packages/cargo/virtual.go:
// 378 and 414-416) slice merged[start:end] with a negative start: a panic,
// answered as a 500 for a client's mistake. It should be a 400 in cargo's
// shape (or an empty page), as the member search bounds must be checked
// before multiplying.
func TestReview17CargoVirtualSearchPageOverflow(t *testing.T) {
	f := newVirtualFixture(t)
	if status, body := f.putVirtual(t, "hub", "cargo", `{"members":[{"owner":"team-a"}]}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT hub: %d %s", status, body)
	}
	status, _, body := f.s.do(t, "GET", "/api/packages/hub/cargo/api/v1/crates?q=a&per_page=10&page=9223372036854775807", "", nil)
	if status >= 500 {
		t.Fatalf("search with a huge page: %d %s, want a 4xx or an empty page", status, body)
	}
	if status == http.StatusOK {
		var found vcargoSearch
		decodeStrict(t, body, &found)
		if len(found.Crates) != 0 {
			t.Fatalf("search with a huge page: %+v", found)
		}
	} else {
		cargoErrors(t, body)
	}
}

// TestReview17CargoOtherSpellingOfAnEarlierMembersCrate: (a defect the review found, fixed; the test keeps it so) '-' and '_' are
// one in crate names (cargo retries the other spelling, crates.io and each
// owner here refuse both), and ResolveCrate (services/packages/cargo/
// virtual.go:85-104) keeps a name a member holds in another spelling from
// every upstream, and PublishVirtual refuses it, but Resolve's exact
// lower-case match lets a later member's nut-tree answer in place of the
// first member's nut_tree: team-b (later in order) takes the crate a
// developer writing `nut-tree = "1"` gets from team-a (first), the
// precedence a team pins is bypassed by a spelling. The later member's
// file should be 404 through hub, as it would be for an upstream's.
func TestReview17CargoOtherSpellingOfAnEarlierMembersCrate(t *testing.T) {
	f := newVirtualFixture(t)
	tok := cargoAuth(packageToken(t, f.s, "root", "cargo", "write:package"))
	for _, p := range []struct{ owner, name string }{{"team-a", "nut_tree"}, {"team-b", "nut-tree"}} {
		if status, _, body := f.s.do(t, "PUT", "/api/packages/"+p.owner+"/cargo/api/v1/crates/new", cargoPublishBody(p.name, "1.0.0"), tok); status != http.StatusOK {
			t.Fatalf("publish %s to %s: %d %s", p.name, p.owner, status, body)
		}
	}
	if status, body := f.putVirtual(t, "hub", "cargo", `{"members":[{"owner":"team-a"},{"owner":"team-b"}]}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT hub: %d %s", status, body)
	}
	if got := indexLines(t, f.s, "hub", "nu/t_/nut_tree", nil); len(got) != 1 || got[0]["name"] != "nut_tree" {
		t.Fatalf("team-a's nut_tree through hub: %v", got)
	}
	status, hdr, body := f.s.do(t, "GET", "/api/packages/hub/cargo/nu/t-/nut-tree", "", nil)
	wantCargoError(t, "team-b's nut-tree, another spelling of team-a's nut_tree", status, hdr, body, http.StatusNotFound, "")
}

// TestReview17CargoUpstreamVersionLongerThanItsColumn: (a defect the review found, fixed; the test keeps it so) an upstream's index
// may list a version of any length (semver puts no bound on pre-release
// tags), and its crate is stored with the cache owner as it is
// (fetchCrate, services/packages/cargo/virtual.go:281-284) into
// VARCHAR(255) columns (package_version.version, package_file.name): on
// PostgreSQL the insert fails and the download is a 500 "internal error"
// with an ERROR logged (SQLite does not enforce the length, so this fails
// only with WHARF_TEST_DB=postgres). What the registry cannot store should
// be refused as the upstream's (503 with a Warning), in cargo's shape.
func TestReview17CargoUpstreamVersionLongerThanItsColumn(t *testing.T) {
	v := newVirtualCargo(t)
	crate := []byte("a crate with a long version")
	sum := sha256.Sum256(crate)
	version := "1.0.0-" + strings.Repeat("a", 300)
	var url string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/index/config.json":
			_, _ = w.Write([]byte(`{"dl":"` + url + `/dl"}`))
		case "/index/wa/ln/walnut":
			_, _ = w.Write([]byte(`{"name":"walnut","vers":"` + version + `","deps":[],"cksum":"` + hex.EncodeToString(sum[:]) + `","features":{},"yanked":false}` + "\n"))
		case "/dl/walnut/" + version + "/download":
			_, _ = w.Write(crate)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(fake.Close)
	url = fake.URL
	if status, body := v.putVirtual(t, "hub", "cargo", `{"members":[{"url":"`+fake.URL+`/index/"}]}`, v.rootH); status != http.StatusOK {
		t.Fatalf("PUT hub: %d %s", status, body)
	}
	status, _, body := v.s.do(t, "GET", "/api/packages/hub/cargo/api/v1/crates/walnut/"+version+"/download", "", nil)
	if status == http.StatusOK && body == string(crate) {
		return // stored and served: fine
	}
	if status == http.StatusInternalServerError {
		t.Fatalf("an upstream crate whose version is longer than its column: %d %q", status, body)
	}
	cargoErrors(t, body)
}

// TestReview17CargoVirtualSearchTotalOfLargeMembers: (a defect the review found, fixed; the test keeps it so) VirtualSearch
// (services/packages/cargo/virtual.go:382-416) adds each member's whole
// total and subtracts only the shadowed crates among the hits it read,
// and it stops reading a member once the page is full: with 120 crates
// in team-a and the same 120 names in team-b (all shadowed), meta.total
// through hub is 140 (120 + 120 - the 100 shadowed hits read from team-b)
// where 120 crates can be shown, so cargo search's
// "... and N crates more" and a client paging by meta.total are wrong.
func TestReview17CargoVirtualSearchTotalOfLargeMembers(t *testing.T) {
	f := newVirtualFixture(t)
	meta := func(v string) string { return `{"name":"x","vers":"` + v + `"}` }
	file := func(v string) string { return "x-" + v + ".crate" }
	for _, owner := range []string{"team-a", "team-b"} {
		for i := range 120 {
			seedVersions(t, f.s, owner, packages_model.TypeCargo, fmt.Sprintf("oak%03d", i), 1, meta, file)
		}
	}
	if status, body := f.putVirtual(t, "hub", "cargo", `{"members":[{"owner":"team-a"},{"owner":"team-b"}]}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT hub: %d %s", status, body)
	}
	var found vcargoSearch
	decodeStrict(t, mustGetWith(t, f.s, "/api/packages/hub/cargo/api/v1/crates?q=oak&per_page=10", nil), &found)
	if len(found.Crates) != 10 || found.Meta.Total != 120 {
		t.Fatalf("search through hub: %d crates, total %d, want 10 of 120", len(found.Crates), found.Meta.Total)
	}
}

// TestReview17CargoRefusedCredentialsServedFromTheCache: (a defect the review found, fixed; the test keeps it so) the README says
// an upstream's documents are served from the stored copy when it fails,
// "but not when it refuses the credentials (401/403)" (FetchDocument keeps
// to it), yet VirtualIndexFile (services/packages/cargo/virtual.go:58-64)
// takes the refusal for any upstream failure and answers the crate's index
// file from the versions the cache owner holds, 200 with a Warning: an
// upstream that revoked this registry's access still has its crate listed.
// A Denied upstream error should not fall back to the cached versions
// (503 naming the refusal, as with no cached versions).
func TestReview17CargoRefusedCredentialsServedFromTheCache(t *testing.T) {
	v := newVirtualCargo(t)
	crate := []byte("walnut bytes")
	sum := sha256.Sum256(crate)
	var revoked atomic.Bool
	var url string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if revoked.Load() || r.Header.Get("Authorization") != "Bearer good" {
			http.Error(w, "credentials refused", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/index/config.json":
			_, _ = w.Write([]byte(`{"dl":"` + url + `/dl"}`))
		case "/index/wa/ln/walnut":
			_, _ = w.Write([]byte(`{"name":"walnut","vers":"1.0.0","deps":[],"cksum":"` + hex.EncodeToString(sum[:]) + `","features":{},"yanked":false}` + "\n"))
		case "/dl/walnut/1.0.0/download":
			_, _ = w.Write(crate)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(fake.Close)
	url = fake.URL
	if status, body := v.putVirtual(t, "hub", "cargo", `{"members":[{"url":"`+fake.URL+`/index/","token":"good"}]}`, v.rootH); status != http.StatusOK {
		t.Fatalf("PUT hub: %d %s", status, body)
	}
	if status, _, body := v.s.do(t, "GET", "/api/packages/hub/cargo/api/v1/crates/walnut/1.0.0/download", "", nil); status != http.StatusOK || body != string(crate) {
		t.Fatalf("walnut: %d %q", status, body)
	}
	revoked.Store(true)
	status, hdr, body := v.s.do(t, "GET", "/api/packages/hub/cargo/wa/ln/walnut", "", nil)
	if status == http.StatusOK {
		t.Fatalf("walnut's index after the upstream refused the credentials: %d %q, Warning %q; want 503", status, body, hdr.Values("Warning"))
	}
	wantCargoError(t, "walnut's index after the upstream refused the credentials", status, hdr, body, http.StatusServiceUnavailable, "upstream")
}
