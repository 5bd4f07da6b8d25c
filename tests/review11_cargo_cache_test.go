package tests

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wharf/models/unittest"
	"wharf/routers"
)

// TestReview11CargoTwoProcessesOneDatabase: two app processes share the
// database and storage. Process A serves and caches acorn's index file;
// process B yanks, publishes, and removes versions (cargo and the
// packages API). A's next answers — a revalidation with the ETag it gave
// out, and a plain GET — must show each change at once: never a 304 for a
// changed file, never a body from its cache that is older (holds).
func TestReview11CargoTwoProcessesOneDatabase(t *testing.T) {
	a := newServer(t)
	appB, err := routers.NewApp(context.Background(), a.App.Cfg, routers.Options{Version: "test", Log: unittest.DiscardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	srvB := httptest.NewServer(appB.Handler)
	t.Cleanup(func() { srvB.Close(); _ = appB.Close() })
	b := &server{URL: srvB.URL, App: appB}
	a.createUser(t, "alice")
	tok := packageToken(t, a, "alice", "cargo", "write:package")
	h := cargoAuth(tok)
	path := "/api/packages/alice/cargo/ac/or/acorn"
	publish := "/api/packages/alice/cargo/api/v1/crates/new"
	if status, _, body := a.do(t, "PUT", publish, cargoPublishBody("acorn", "1.0.0"), h); status != 200 {
		t.Fatalf("publish: %d %s", status, body)
	}
	if status, _, body := a.do(t, "PUT", publish, cargoPublishBody("acorn", "1.0.1"), h); status != 200 {
		t.Fatalf("publish: %d %s", status, body)
	}
	steps := []struct {
		name   string
		change func()
		want   func(string) bool
	}{
		{"yank by B", func() {
			if st, _, body := b.do(t, "DELETE", "/api/packages/alice/cargo/api/v1/crates/acorn/1.0.1/yank", "", h); st != 200 {
				t.Fatalf("yank: %d %s", st, body)
			}
		}, func(s string) bool {
			return strings.Contains(s, `"vers":"1.0.1","deps":[],"cksum"`) && strings.Count(s, `"yanked":true`) == 1
		}},
		{"unyank by B", func() {
			if st, _, body := b.do(t, "PUT", "/api/packages/alice/cargo/api/v1/crates/acorn/1.0.1/unyank", "", h); st != 200 {
				t.Fatalf("unyank: %d %s", st, body)
			}
		}, func(s string) bool { return !strings.Contains(s, `"yanked":true`) }},
		{"publish by B", func() {
			if st, _, body := b.do(t, "PUT", publish, cargoPublishBody("acorn", "1.0.2"), h); st != 200 {
				t.Fatalf("publish: %d %s", st, body)
			}
		}, func(s string) bool { return strings.Count(s, "\n") == 3 }},
		{"API removal by B", func() {
			if st, _, body := b.do(t, "DELETE", "/api/v1/packages/alice/cargo/acorn/1.0.2", "", basic("alice", "alice-password")); st != 204 {
				t.Fatalf("delete: %d %s", st, body)
			}
		}, func(s string) bool { return strings.Count(s, "\n") == 2 && !strings.Contains(s, "1.0.2") }},
	}
	for _, st := range steps {
		_, hdr, _ := a.do(t, "GET", path, "", nil)
		_, _, _ = b.do(t, "GET", path, "", nil)
		etag := hdr.Get("ETag")
		st.change()
		status, hdr2, body := a.do(t, "GET", path, "", map[string]string{"If-None-Match": etag})
		if status == http.StatusNotModified {
			t.Fatalf("after %s: A answers 304 to the ETag it gave before the change (%s, now %s)", st.name, etag, hdr2.Get("ETag"))
		}
		if !st.want(body) {
			t.Fatalf("after %s: A serves\n%s", st.name, body)
		}
		if _, _, plain := a.do(t, "GET", path, "", nil); plain != body {
			t.Fatalf("after %s: A's plain GET differs from its revalidation", st.name)
		}
	}
}
