package tests

import (
	"encoding/json"
	"net/http"
	"testing"
)

// failInserts makes every insert into table fail inside the database.
func failInserts(t *testing.T, s *server, table string) {
	t.Helper()
	x := s.App.DB.Xorm()
	var stmts []string
	if s.App.DB.Type() == "postgres" {
		stmts = []string{
			`CREATE FUNCTION review_fail_insert() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER review_fail_insert BEFORE INSERT ON ` + table + ` FOR EACH ROW EXECUTE FUNCTION review_fail_insert()`,
		}
	} else {
		stmts = []string{`CREATE TRIGGER review_fail_insert BEFORE INSERT ON ` + table + ` BEGIN SELECT RAISE(ABORT, 'injected failure'); END`}
	}
	for _, q := range stmts {
		if _, err := x.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestReviewIntegrityNpmPublishIsOneTransaction: a publish stores its
// version and points its dist-tags at it in one transaction. When the
// dist-tag cannot be written, no version is left behind without its tag
// (the client was told the publish failed, so it publishes again and must
// not meet "cannot publish over").
func TestReviewIntegrityNpmPublishIsOneTransaction(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	p := newNpmPackage(t, s, "atomic")
	p.publish("1.0.0")
	failInserts(t, s, "npm_dist_tag")
	status, _, body := s.do(t, "PUT", p.path, npmPublishBody(p.name, "1.1.0", nil, npmTarball(pkgJSON(p.name, "1.1.0"))), p.h)
	if status != http.StatusInternalServerError {
		t.Fatalf("publish with the dist-tag write failing: %d %s", status, body)
	}
	if got := p.versions(); len(got) != 1 || got[0] != "1.0.0" {
		t.Fatalf("versions after a failed publish: %v, want only 1.0.0", got)
	}
}

// TestReviewIntegrityNpmPublishBadDistTag: a dist-tag that npm itself
// would refuse (a version as a tag name) is the client's mistake: 400 in
// npm's shape, and nothing stored.
func TestReviewIntegrityNpmPublishBadDistTag(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	p := newNpmPackage(t, s, "badtag")
	p.publish("1.0.0")
	var doc map[string]any
	if err := json.Unmarshal([]byte(npmPublishBody(p.name, "1.1.0", nil, npmTarball(pkgJSON(p.name, "1.1.0")))), &doc); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"1.1.0", "has space", ""} {
		doc["dist-tags"] = map[string]string{tag: "1.1.0"}
		b, _ := json.Marshal(doc)
		status, _, body := s.do(t, "PUT", p.path, string(b), p.h)
		if status != http.StatusBadRequest {
			t.Fatalf("publish with dist-tag %q: %d %s", tag, status, body)
		}
		npmError(t, body)
		if got := p.versions(); len(got) != 1 || got[0] != "1.0.0" {
			t.Fatalf("versions after a refused publish (tag %q): %v", tag, got)
		}
	}
}

// TestReviewIntegrityNpmPrereleaseAfterAPIDelete: deleting the release
// "latest" named through the packages API leaves "latest" to the highest
// remaining release; a prerelease published with the default tag then
// must not take "latest" from that release.
func TestReviewIntegrityNpmPrereleaseAfterAPIDelete(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	p := newNpmPackage(t, s, "pre")
	p.publish("1.0.0")
	p.publish("1.1.0")
	before := p.rev()
	status, _, body := s.do(t, "DELETE", "/api/v1/packages/acme/npm/"+"@acme%2fpre"+"/1.1.0", "", p.h)
	if status != http.StatusNoContent {
		t.Fatalf("API delete: %d %s", status, body)
	}
	_, d := p.doc(p.h)
	if d.DistTags["latest"] != "1.0.0" || d.Rev == before {
		t.Fatalf("after the API delete: dist-tags %v, rev %q (before %q)", d.DistTags, d.Rev, before)
	}
	p.publish("2.0.0-beta.1")
	_, d = p.doc(p.h)
	if d.DistTags["latest"] != "1.0.0" {
		t.Fatalf("a prerelease took latest from the release: dist-tags %v", d.DistTags)
	}
}
