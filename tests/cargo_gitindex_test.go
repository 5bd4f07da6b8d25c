package tests

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runJobs runs the job queue until nothing is left to run.
func runJobs(t testing.TB, s *server) {
	t.Helper()
	for range 100 {
		n, err := s.App.Jobs.RunOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the jobs never ran out")
}

// failedJobs counts jobs that failed at least once and are kept with
// their error.
func failedJobs(t *testing.T, s *server) int {
	t.Helper()
	var n int
	if err := s.App.DB.SQL().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM job WHERE COALESCE(last_error, '') <> ''").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

type cargoIndexStatus struct {
	Exists         bool   `json:"exists"`
	Repository     string `json:"repository"`
	IndexURL       string `json:"index_url"`
	LastCommit     string `json:"last_commit"`
	LastCommitTime string `json:"last_commit_time"`
}

func gitIndexCall(t *testing.T, s *server, method, owner, suffix string, h map[string]string, want int) cargoIndexStatus {
	t.Helper()
	status, _, body := s.do(t, method, "/api/v1/packages/"+owner+"/cargo/-/index"+suffix, "", h)
	if status != want {
		t.Fatalf("%s …/cargo/-/index%s: %d %s, want %d", method, suffix, status, body, want)
	}
	var st cargoIndexStatus
	if want < 300 {
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
	} else {
		apiMessage(t, body)
	}
	return st
}

// gitIndexFile reads a file of the git index through the repository API
// ("" when it is not there).
func gitIndexFile(t *testing.T, s *server, owner, path string) string {
	t.Helper()
	status, _, body := s.do(t, "GET", "/api/v1/repos/"+owner+"/_cargo-index/raw/"+path, "", tokenHeader(s.AdminToken))
	switch status {
	case http.StatusOK:
		return body
	case http.StatusNotFound:
		return ""
	}
	t.Fatalf("raw %s: %d %s", path, status, body)
	return ""
}

func sparseFile(t *testing.T, s *server, owner, path string) (int, string) {
	t.Helper()
	status, _, body := s.do(t, "GET", "/api/packages/"+owner+"/cargo/"+path, "", tokenHeader(s.AdminToken))
	return status, body
}

// TestCargoGitIndex: the git index exists only when an owner asks for it;
// from then on every publish, yank and removal reaches it through the job,
// committed by the system, so that a publisher who may not write the index
// repository publishes as well; cargo builds through it over smart HTTP; a
// deleted index repository leaves the registry working and can be made
// again.
func TestCargoGitIndex(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	aliceH := basic("alice", "alice-password")
	if status, _, body := s.do(t, "POST", "/api/v1/orgs", `{"username":"crew","visibility":"public"}`, aliceH); status != 201 {
		t.Fatalf("create org: %d %s", status, body)
	}
	if status, _, body := s.do(t, "PUT", "/api/v1/orgs/crew/members/bob", `{"role":"write"}`, aliceH); status != 204 {
		t.Fatalf("add bob: %d %s", status, body)
	}
	sparse := "sparse+" + s.URL + "/api/packages/crew/cargo/"
	alice := newCargo(t, []cargoRegistry{{name: "wharf", index: sparse, token: packageToken(t, s, "alice", "cargo", "write:package")}}, "")
	// bob's token may write packages and nothing else: no repository
	// scope, so not the index repository either.
	bobTok := packageToken(t, s, "bob", "cargo", "write:package")
	bob := newCargo(t, []cargoRegistry{{name: "wharf", index: sparse, token: bobTok}}, "")
	work := t.TempDir()
	alice.must(writeCrate(t, work, "acorn", acornFiles("0.1.0", "41")), "publish", "--registry", "wharf", "--no-verify", "--allow-dirty")
	alice.must(writeCrate(t, work, "bramble", brambleFiles("0.2.0")), "publish", "--registry", "wharf", "--no-verify", "--allow-dirty")

	// Publishing made no git index, and its jobs find none to update.
	if st := gitIndexCall(t, s, "GET", "crew", "", nil, 200); st.Exists || st.Repository != "" {
		t.Fatalf("git index after publishing: %+v", st)
	}
	runJobs(t, s)
	if status, _, body := s.do(t, "GET", "/api/v1/repos/crew/_cargo-index", "", tokenHeader(s.AdminToken)); status != 404 {
		t.Fatalf("the index repository exists after publishing: %d %s", status, body)
	}

	// Who may make it: an owner of the organisation (or an admin).
	gitIndexCall(t, s, "POST", "crew", "", nil, 401)
	gitIndexCall(t, s, "POST", "crew", "", basic("bob", "bob-password"), 403)
	gitIndexCall(t, s, "POST", "crew", "", tokenHeader(packageToken(t, s, "alice", "read-only", "read:package")), 403)
	st := gitIndexCall(t, s, "POST", "crew", "", aliceH, 201)
	if !st.Exists || st.Repository != "crew/_cargo-index" || st.IndexURL != s.URL+"/crew/_cargo-index.git" || len(st.LastCommit) != 40 || st.LastCommitTime == "" {
		t.Fatalf("created: %+v", st)
	}
	if again := gitIndexCall(t, s, "POST", "crew", "", aliceH, 200); again != st {
		t.Fatalf("second POST: %+v, first %+v", again, st)
	}
	if got := gitIndexCall(t, s, "GET", "crew", "", nil, 200); got != st {
		t.Fatalf("GET: %+v", got)
	}
	// Its files are the sparse index's, byte for byte.
	for _, p := range []string{"ac/or/acorn", "br/am/bramble"} {
		_, want := sparseFile(t, s, "crew", p)
		if got := gitIndexFile(t, s, "crew", p); got != want {
			t.Fatalf("git index %s:\n%s\nsparse index:\n%s", p, got, want)
		}
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(gitIndexFile(t, s, "crew", "config.json")), &cfg); err != nil ||
		cfg["dl"] != s.URL+"/api/packages/crew/cargo/api/v1/crates" || cfg["api"] != s.URL+"/api/packages/crew/cargo" {
		t.Fatalf("config.json: %v (%v)", cfg, err)
	}

	// cargo builds through it, fetching over smart HTTP.
	use := newCargo(t, []cargoRegistry{{name: "wharf", index: s.URL + "/crew/_cargo-index.git"}}, "")
	app := writeCrate(t, work, "app", appFiles())
	if out := use.must(app, "run", "-q"); !strings.Contains(out, "bramble says 42 extra on") {
		t.Fatalf("the app says:\n%s", out)
	}

	// bob cannot push to the index repository, and publishes anyway: the
	// system writes the index.
	clone := filepath.Join(t.TempDir(), "ix")
	gitCmd{t, work}.must("clone", "-q", s.URL+"/crew/_cargo-index.git", clone)
	if err := os.WriteFile(filepath.Join(clone, "README"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCmd{t, clone}.must("add", "README")
	gitCmd{t, clone}.must("commit", "-q", "-m", "bob was here")
	if out, err := (gitCmd{t, clone}).run("push", authURL(s.URL, "bob", bobTok, "crew/_cargo-index.git"), "HEAD:main"); err == nil || !strings.Contains(out, "403") {
		t.Fatalf("bob's package token must be refused with 403 by the index repository:\n%s", out)
	}
	bob.must(writeCrate(t, t.TempDir(), "acorn", acornFiles("0.1.1", "49")), "publish", "--registry", "wharf", "--no-verify", "--allow-dirty")
	runJobs(t, s)
	if got := gitIndexFile(t, s, "crew", "ac/or/acorn"); !strings.Contains(got, `"vers":"0.1.1"`) {
		t.Fatalf("git index after bob's publish:\n%s", got)
	}
	use.must(app, "update")
	if out := use.must(app, "run", "-q"); !strings.Contains(out, "bramble says 50 extra on") {
		t.Fatalf("after bob's publish the app says:\n%s", out)
	}

	// A yank reaches it.
	bob.must(work, "yank", "--registry", "wharf", "acorn@0.1.1")
	runJobs(t, s)
	if got := gitIndexFile(t, s, "crew", "ac/or/acorn"); !strings.Contains(got, `"vers":"0.1.1",`) || !strings.Contains(got, `"yanked":true`) {
		t.Fatalf("git index after the yank:\n%s", got)
	}
	bob.must(work, "yank", "--registry", "wharf", "--undo", "acorn@0.1.1")

	// A version removed through the packages API leaves both indexes, and
	// the last version of a crate takes its file with it.
	if status, _, body := s.do(t, "DELETE", "/api/v1/packages/crew/cargo/acorn/0.1.1", "", aliceH); status != 204 {
		t.Fatalf("delete: %d %s", status, body)
	}
	if _, body := sparseFile(t, s, "crew", "ac/or/acorn"); strings.Contains(body, "0.1.1") {
		t.Fatalf("sparse index after the removal:\n%s", body)
	}
	runJobs(t, s)
	if got := gitIndexFile(t, s, "crew", "ac/or/acorn"); strings.Contains(got, "0.1.1") || !strings.Contains(got, `"vers":"0.1.0"`) {
		t.Fatalf("git index after the removal:\n%s", got)
	}
	use.must(app, "update")
	if v := lockedVersion(t, app, "acorn"); v != "0.1.0" {
		t.Fatalf("after the removal, resolution picks acorn %s", v)
	}
	if status, _, body := s.do(t, "DELETE", "/api/v1/packages/crew/cargo/bramble/0.2.0", "", aliceH); status != 204 {
		t.Fatalf("delete: %d %s", status, body)
	}
	if status, body := sparseFile(t, s, "crew", "br/am/bramble"); status != 404 {
		t.Fatalf("sparse index of a removed crate: %d %s", status, body)
	}
	runJobs(t, s)
	if got := gitIndexFile(t, s, "crew", "br/am/bramble"); got != "" {
		t.Fatalf("git index of a removed crate:\n%s", got)
	}

	// A file changed behind the registry's back comes back with a rebuild.
	gitCmd{t, clone}.must("pull", "-q", "--rebase", "origin", "main")
	gitCmd{t, clone}.must("rm", "-q", "ac/or/acorn")
	gitCmd{t, clone}.must("commit", "-q", "-m", "drop acorn")
	gitCmd{t, clone}.must("push", "-q", authURL(s.URL, "alice", "alice-password", "crew/_cargo-index.git"), "HEAD:main")
	if got := gitIndexFile(t, s, "crew", "ac/or/acorn"); got != "" {
		t.Fatal("the push did not remove acorn's file")
	}
	gitIndexCall(t, s, "POST", "crew", "/rebuild", basic("bob", "bob-password"), 403)
	rebuilt := gitIndexCall(t, s, "POST", "crew", "/rebuild", aliceH, 200)
	_, want := sparseFile(t, s, "crew", "ac/or/acorn")
	if got := gitIndexFile(t, s, "crew", "ac/or/acorn"); got != want || gitIndexFile(t, s, "crew", "README") != "" {
		t.Fatalf("after the rebuild: acorn %q (want %q), README %q", got, want, gitIndexFile(t, s, "crew", "README"))
	}
	if rebuilt.LastCommit == st.LastCommit {
		t.Fatalf("the rebuild made no commit: %+v", rebuilt)
	}

	// The index repository deleted: the registry goes on, its jobs do not
	// fail, and the index can be made again.
	if status, _, body := s.do(t, "DELETE", "/api/v1/repos/crew/_cargo-index", "", aliceH); status != 204 {
		t.Fatalf("delete the index repository: %d %s", status, body)
	}
	if st := gitIndexCall(t, s, "GET", "crew", "", nil, 200); st.Exists {
		t.Fatalf("status after the deletion: %+v", st)
	}
	gitIndexCall(t, s, "POST", "crew", "/rebuild", aliceH, 404)
	bob.must(writeCrate(t, t.TempDir(), "acorn", acornFiles("0.1.2", "59")), "publish", "--registry", "wharf", "--no-verify", "--allow-dirty")
	runJobs(t, s)
	if n := failedJobs(t, s); n != 0 {
		t.Fatalf("%d jobs failed", n)
	}
	gitIndexCall(t, s, "POST", "crew", "", aliceH, 201)
	if got := gitIndexFile(t, s, "crew", "ac/or/acorn"); !strings.Contains(got, `"vers":"0.1.2"`) {
		t.Fatalf("the index made again:\n%s", got)
	}
}
