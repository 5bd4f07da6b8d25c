package tests

import (
	"net/http"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"
)

// TestReview17VirtualGenericUploadIsReadBack: was a defect (fixed; the test keeps it so). A generic upload
// through the virtual URL goes to publish_to even when an earlier member
// holds the name: the PUT answers 201, and a GET of the very same URL then
// serves the earlier member's file (or 404), never the one just uploaded.
// The npm view refuses such a publish; generic (routers/api/packages/
// generic/generic.go uploadVirtual) should too, with a 409/422 naming the
// member that holds the name.
func TestReview17VirtualGenericUploadIsReadBack(t *testing.T) {
	f := newVirtualFixture(t)
	f.upload(t, "team-a", "tool", "1.0.0", "team-a's tool", f.rootH)
	if status, body := f.putVirtual(t, "hub", "generic", `{"members":[{"owner":"team-a"},{"owner":"team-b"}],"publish_to":"team-b"}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, body)
	}
	const path = "/api/packages/hub/generic/tool/1.0.0/f.txt"
	status, _, body := f.s.do(t, "PUT", path, "uploaded through hub", f.rootH)
	if status != http.StatusCreated {
		// Refused: what the defect's fix does.
		if status >= 500 {
			t.Fatalf("upload over an earlier member's name: %d %s", status, body)
		}
		return
	}
	if status, _, body := f.s.do(t, "GET", path, "", nil); status != http.StatusOK || body != "uploaded through hub" {
		t.Fatalf("PUT %s answered 201, but a GET of the same URL answers %d %q", path, status, body)
	}
}

// TestReview17StrangerBlocksDeletion: was a defect (fixed; the test keeps it so). Anyone who owns an
// organisation may list any owner they can see as a member of its virtual
// registry, without that owner's consent; from then on CheckOwnsNothing
// (services/user/user.go) refuses to delete that owner, and its own
// owners cannot undo it (they may not configure the other organisation).
// The refusal also names the virtual registries, including a private one
// the deleter may not see. Deleting an owner should drop its memberships
// (Lookup already skips a member that is gone), or at least name only
// what the deleter may see and change.
func TestReview17StrangerBlocksDeletion(t *testing.T) {
	f := newVirtualFixture(t)
	bob := f.s.client(t, gitea.SetBasicAuth("bob", "bob-password"))
	if _, _, err := bob.CreateOrg(gitea.CreateOrgOption{Name: "bobs-team"}); err != nil {
		t.Fatal(err)
	}
	// alice's private organisation "secret" lists bob's organisation.
	if status, body := f.putVirtual(t, "secret", "generic", `{"members":[{"owner":"bobs-team"}]}`, f.aliceH); status != http.StatusOK {
		t.Fatalf("alice lists bobs-team: %d %s", status, body)
	}
	status, _, body := f.s.do(t, "DELETE", "/api/v1/orgs/bobs-team", "", f.bobH)
	if strings.Contains(body, "secret") {
		t.Errorf("deleting bobs-team names alice's private organisation to bob: %d %s", status, body)
	}
	if status != http.StatusNoContent {
		t.Errorf("bob may not delete his own organisation because alice listed it: %d %s", status, body)
	}
}

// TestReview17PublishToAVirtualMember: was a defect (fixed; the test keeps it so). publish_to may name a
// member that is itself a virtual registry of the type (Set only checks
// that it is a local member). A publish through the outer URL is then
// stored as the nested registry's own package: 201, but no virtual URL
// ever serves it (the nested registry is expanded to its members, and its
// own URL serves its members too). Set should refuse such a publish_to
// with 422 (or PublishAccess follow the nested registry's publish_to).
func TestReview17PublishToAVirtualMember(t *testing.T) {
	f := newVirtualFixture(t)
	if _, _, err := f.s.client(t, gitea.SetToken(f.s.AdminToken)).CreateOrg(gitea.CreateOrgOption{Name: "mid"}); err != nil {
		t.Fatal(err)
	}
	if status, body := f.putVirtual(t, "mid", "generic", `{"members":[{"owner":"team-b"}]}`, f.rootH); status != http.StatusOK {
		t.Fatalf("PUT mid: %d %s", status, body)
	}
	status, body := f.putVirtual(t, "hub", "generic", `{"members":[{"owner":"mid"},{"owner":"team-a"}],"publish_to":"mid"}`, f.rootH)
	if status == http.StatusUnprocessableEntity {
		return // refused: what the fix may do
	}
	if status != http.StatusOK {
		t.Fatalf("PUT hub: %d %s", status, body)
	}
	const path = "/api/packages/hub/generic/fresh/1.0.0/f.txt"
	status, _, body = f.s.do(t, "PUT", path, "published through hub", f.rootH)
	if status != http.StatusCreated {
		if status >= 500 {
			t.Fatalf("publish through hub: %d %s", status, body)
		}
		return
	}
	for _, p := range []string{path, "/api/packages/mid/generic/fresh/1.0.0/f.txt"} {
		if status, _, body := f.s.do(t, "GET", p, "", f.rootH); status == http.StatusOK && body == "published through hub" {
			return
		}
	}
	t.Fatalf("PUT %s answered 201, but neither hub's nor mid's URL serves the file", path)
}
