package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"wharf/modules/packages/cargo/cargotest"
)

// TestReview11CargoOwnersLeakOrgMembers: the organisation API lets only
// members list an organisation's members; cargo's owners endpoint hands the
// logins of every write/owner member to anyone who may read the packages —
// an anonymous caller of a public organisation, or any signed-in user of a
// limited one.
func TestReview11CargoOwnersLeakOrgMembers(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "secretbob")
	s.createUser(t, "mallory")
	aliceH := basic("alice", "alice-password")
	if status, _, body := s.do(t, "POST", "/api/v1/orgs", `{"username":"crew","visibility":"public"}`, aliceH); status != 201 {
		t.Fatalf("create org: %d %s", status, body)
	}
	if status, _, body := s.do(t, "PUT", "/api/v1/orgs/crew/members/secretbob", `{"role":"write"}`, aliceH); status != 204 {
		t.Fatalf("add member: %d %s", status, body)
	}
	if status, _, body := s.do(t, "PUT", "/api/packages/crew/cargo/api/v1/crates/new", cargoPublishBody("acorn", "1.0.0"), aliceH); status != 200 {
		t.Fatalf("publish: %d %s", status, body)
	}
	// The organisation's own rule: outsiders may not list its members.
	for _, h := range []map[string]string{nil, basic("mallory", "mallory-password")} {
		if status, _, body := s.do(t, "GET", "/api/v1/orgs/crew/members", "", h); status == 200 {
			t.Fatalf("org members listed to an outsider: %s", body)
		}
	}
	for who, h := range map[string]map[string]string{"anonymous": nil, "mallory": basic("mallory", "mallory-password")} {
		status, _, body := s.do(t, "GET", "/api/packages/crew/cargo/api/v1/crates/acorn/owners", "", h)
		if status == 200 && strings.Contains(body, "secretbob") {
			t.Errorf("%s, who may not list crew's members, learns them through cargo owners: %s", who, body)
		}
		if status == 200 && !strings.Contains(body, `"login":"crew"`) {
			t.Errorf("%s: owners without the organisation itself: %s", who, body)
		}
	}
	// A member still sees who may publish.
	if status, _, body := s.do(t, "GET", "/api/packages/crew/cargo/api/v1/crates/acorn/owners", "", aliceH); status != 200 || !strings.Contains(body, `"login":"secretbob"`) {
		t.Errorf("a member's owner list: %d %s", status, body)
	}
}

// TestReview11CargoSearchPageOverflow: a huge page number overflows the
// offset ((page-1)*per_page), which must be a 4xx in cargo's shape, never a
// 5xx.
func TestReview11CargoSearchPageOverflow(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	for _, q := range []string{"page=922337203685477582", "page=922337203685477582&per_page=100", "page=9223372036854775807"} {
		status, _, body := s.do(t, "GET", "/api/packages/alice/cargo/api/v1/crates?q=a&"+q, "", nil)
		if status >= 500 {
			t.Errorf("search ?%s: %d %s", q, status, body)
			continue
		}
		if status != 200 {
			cargoErrors(t, body)
		}
	}
}

// TestReview11CargoRefusedPublishStoresNoBlob: the registry core keeps
// refused uploads from storing their bytes (precheck, see
// TestReviewIntegrityRefusedUploadsStoreNoBlob), since nothing removes an
// unreferenced blob. Cargo's own refusals — a name another crate holds
// ('-' = '_'), a different spelling of an existing crate, a version equal
// but for build metadata — are made only inside the transaction, after the
// .crate was saved: each refused publish leaves its bytes on disk for good
// (and outside the owner's quota).
func TestReview11CargoRefusedPublishStoresNoBlob(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	h := cargoAuth(packageToken(t, s, "alice", "cargo", "write:package"))
	publish := "/api/packages/alice/cargo/api/v1/crates/new"
	for _, nv := range [][2]string{{"foo-bar", "1.0.0"}, {"Baz", "1.0.0"}, {"qux", "1.0.0"}} {
		if status, _, body := s.do(t, "PUT", publish, cargoPublishBody(nv[0], nv[1]), h); status != 200 {
			t.Fatalf("publish %v: %d %s", nv, status, body)
		}
	}
	before := storedBlobs(t, s)
	for _, nv := range [][2]string{{"foo_bar", "2.0.0"}, {"baz", "2.0.0"}, {"qux", "1.0.0+build"}} {
		status, hdr, body := s.do(t, "PUT", publish, cargoPublishBody(nv[0], nv[1]), h)
		wantCargoError(t, nv[0]+" "+nv[1], status, hdr, body, http.StatusConflict, "")
		if n := storedBlobs(t, s); n != before {
			t.Errorf("publish of %s %s refused (%s), but the store went from %d to %d blobs", nv[0], nv[1], cargoErrors(t, body), before, n)
			before = n
		}
	}
}

// TestReview11CargoFeatureAndReqValidation: Validate says every index line
// it lets through parses in cargo, but a dependency's version requirement
// and feature names/values are not checked (crates.io checks both): a
// hand-made publish is stored, answered 200, and then silently skipped by
// cargo ("no matching package").
func TestReview11CargoFeatureAndReqValidation(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	h := cargoAuth(packageToken(t, s, "alice", "cargo", "write:package"))
	publish := "/api/packages/alice/cargo/api/v1/crates/new"
	cases := map[string]func(m map[string]any){
		"version_req not a requirement": func(m map[string]any) {
			m["deps"] = []any{map[string]any{"name": "rand", "version_req": "banana!", "features": []any{}, "optional": false, "default_features": true, "target": nil, "kind": "normal"}}
		},
		"feature name with a slash": func(m map[string]any) { m["features"] = map[string]any{"a/b": []any{}} },
		"feature name with a space": func(m map[string]any) { m["features"] = map[string]any{"a b": []any{}} },
	}
	i := 0
	for name, mutate := range cases {
		i++
		crate := "weird" + string(rune('a'+i))
		var m map[string]any
		if err := json.Unmarshal(cargotest.Metadata(crate, "1.0.0"), &m); err != nil {
			t.Fatal(err)
		}
		mutate(m)
		meta, _ := json.Marshal(m)
		status, _, body := s.do(t, "PUT", publish, string(cargotest.Body(meta, cargotest.GoodCrate(crate, "1.0.0"))), h)
		if status == 200 {
			_, line := sparseFile(t, s, "alice", "we/ir/"+crate)
			t.Errorf("%s: accepted (200 %s), an index line cargo cannot read: %s", name, strings.TrimSpace(body), line)
		}
	}
}

// TestReview11CargoMetadataDisagreesWithManifest: crates.io builds the
// index line's deps, features, links and rust_version from the .crate's
// own Cargo.toml (rust-lang/crates.io#7194, #7204, #7215, #7238), which is
// what cargo builds with. Here only name and version are compared: a
// publish whose JSON claims other dependencies, links and rust_version
// than its Cargo.toml is stored, and the index tells resolvers what the
// crate does not do.
func TestReview11CargoMetadataDisagreesWithManifest(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	h := cargoAuth(packageToken(t, s, "alice", "cargo", "write:package"))
	var m map[string]any
	if err := json.Unmarshal(cargotest.Metadata("liar", "1.0.0"), &m); err != nil {
		t.Fatal(err)
	}
	m["links"] = "z"
	m["rust_version"] = "1.0"
	m["features"] = map[string]any{"default": []any{"nothing"}, "nothing": []any{}}
	m["deps"] = []any{map[string]any{"name": "ghost", "version_req": "^9", "features": []any{}, "optional": false, "default_features": true, "target": nil, "kind": "normal"}}
	meta, _ := json.Marshal(m)
	// The .crate's Cargo.toml: no dependencies, no features, no links, no
	// rust-version.
	status, _, body := s.do(t, "PUT", "/api/packages/alice/cargo/api/v1/crates/new", string(cargotest.Body(meta, cargotest.GoodCrate("liar", "1.0.0"))), h)
	if status == 200 {
		_, line := sparseFile(t, s, "alice", "li/ar/liar")
		t.Fatalf("accepted; the index line says what Cargo.toml does not:\n%s", line)
	}
	if status != http.StatusBadRequest || !strings.Contains(body, "Cargo.toml") {
		t.Errorf("refused with %d %s, want 400 naming Cargo.toml and the field", status, body)
	}
}
