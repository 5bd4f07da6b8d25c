package tests

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"wharf/modules/packages/rubygems/gemtest"
)

// review12CheckIndex fetches versions and, for every gem it names, the
// info/{name} body; the MD5 on the gem's last versions line must be the
// MD5 of the served info body (Bundler trusts it), and versions must only
// have grown since prev (no rebuild in these tests).
func review12CheckIndex(t *testing.T, s *server, owner, step, prev string) string {
	t.Helper()
	status, hdr, body := s.do(t, "GET", gemsPath(owner)+"versions", "", nil)
	if status != http.StatusOK {
		t.Fatalf("%s: versions %d %s", step, status, body)
	}
	checkCompactHeaders(t, step+": versions", hdr, body)
	if prev != "" && !strings.HasPrefix(body, prev) {
		t.Errorf("%s: versions is not an append of the previous body:\nprev:\n%s\nnow:\n%s", step, prev, body)
	}
	_, rest, _ := strings.Cut(body, "---\n")
	last := map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(rest, "\n"), "\n") {
		if l == "" {
			continue
		}
		f := strings.Fields(l)
		last[f[0]] = f[len(f)-1]
	}
	for name, m := range last {
		st, ih, ib := s.do(t, "GET", gemsPath(owner)+"info/"+name, "", nil)
		if st != http.StatusOK {
			t.Errorf("%s: info/%s %d %q, but versions names it with MD5 %s", step, name, st, ib, m)
			continue
		}
		checkCompactHeaders(t, step+": info/"+name, ih, ib)
		if got := md5Hex([]byte(ib)); got != m {
			t.Errorf("%s: versions lists %s with MD5 %s, served info body has MD5 %s:\n%s", step, name, m, got, ib)
		}
	}
	return body
}

var review12CreatedAt = regexp.MustCompile(`(?m)^created_at: .*\n`)

// TestReview12CompactIndexEveryPath pushes, platform-pushes, yanks (gem
// yank and packages API), unyanks, removes through the packages API and
// by a cleanup rule, checking after each step that versions' MD5s match
// the served info bodies.
func TestReview12CompactIndexEveryPath(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	key := packageToken(t, s, "alice", "gem", "write:package")
	api := map[string]string{"Authorization": "token " + key}
	hola, _ := gemFixture(t, "hola-1.0.0.gem")
	holaLinux, _ := gemFixture(t, "hola-1.0.0-x86_64-linux.gem")
	holaBeta, _ := gemFixture(t, "hola-2.0.0.beta1.gem")
	tiny, _ := gemFixture(t, "tiny-0.1.2.gem")

	var v string
	s.mustPushGem(t, "alice", key, hola)
	v = review12CheckIndex(t, s, "alice", "push hola", v)
	s.mustPushGem(t, "alice", key, holaLinux)
	v = review12CheckIndex(t, s, "alice", "platform push", v)
	s.mustPushGem(t, "alice", key, holaBeta)
	s.mustPushGem(t, "alice", key, tiny)
	v = review12CheckIndex(t, s, "alice", "push beta+tiny", v)
	if st, b := s.yankGem(t, "alice", key, url.Values{"gem_name": {"hola"}, "version": {"2.0.0.beta1"}}); st != http.StatusOK {
		t.Fatalf("gem yank: %d %s", st, b)
	}
	v = review12CheckIndex(t, s, "alice", "gem yank", v)
	if st, _, b := s.do(t, "POST", "/api/v1/packages/alice/rubygems/hola/2.0.0.beta1/-/unyank", "", api); st/100 != 2 {
		t.Fatalf("unyank: %d %s", st, b)
	}
	v = review12CheckIndex(t, s, "alice", "api unyank", v)
	if st, _, b := s.do(t, "POST", "/api/v1/packages/alice/rubygems/hola/1.0.0/-/yank", "", api); st/100 != 2 {
		t.Fatalf("api yank: %d %s", st, b)
	}
	v = review12CheckIndex(t, s, "alice", "api yank of a version with two platforms", v)
	if st, _, b := s.do(t, "POST", "/api/v1/packages/alice/rubygems/hola/1.0.0/-/unyank", "", api); st/100 != 2 {
		t.Fatalf("unyank: %d %s", st, b)
	}
	v = review12CheckIndex(t, s, "alice", "api unyank of two platforms", v)
	if st, _, b := s.do(t, "DELETE", "/api/v1/packages/alice/rubygems/hola/2.0.0.beta1", "", api); st/100 != 2 {
		t.Fatalf("api delete: %d %s", st, b)
	}
	v = review12CheckIndex(t, s, "alice", "api delete", v)
	// A cleanup rule removing tiny's only version.
	ruleCall(t, s, "alice", "rubygems", `"enabled":true,"keep_count":0,"remove_pattern":"0\\.1\\.2"`, api)
	v = review12CheckIndex(t, s, "alice", "cleanup rule", v)
	if st, _, b := s.do(t, "DELETE", "/api/v1/packages/alice/rubygems/hola/1.0.0", "", api); st/100 != 2 {
		t.Fatalf("api delete: %d %s", st, b)
	}
	v = review12CheckIndex(t, s, "alice", "api delete of the last version", v)
	// The same name pushed again.
	s.mustPushGem(t, "alice", key, hola)
	v = review12CheckIndex(t, s, "alice", "repush after removal", v)
	_ = gemtest.Metadata
	t.Logf("final versions:\n%s", v)
}
