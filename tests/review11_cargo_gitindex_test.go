package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// review11Publish publishes name@version to owner's registry with h.
func review11Publish(t *testing.T, s *server, owner, name, version string, h map[string]string) {
	t.Helper()
	if status, _, body := s.do(t, "PUT", "/api/packages/"+owner+"/cargo/api/v1/crates/new", cargoPublishBody(name, version), h); status != 200 {
		t.Fatalf("publish %s %s: %d %s", name, version, status, body)
	}
}

// TestReview11CargoGitIndexPushBlocksUpdates: someone with write access
// pushes a commit to {owner}/_cargo-index that puts a file where a crate's
// directory goes ("ac" instead of "ac/or/…"). From then on every job that
// writes acorn's file fails ("\"ac\" is a file") and, after its retries,
// gives up: publishes and yanks of acorn never reach the git index until
// someone happens to rebuild it, while the sparse index moves on. The next
// system commit does not recover the index.
func TestReview11CargoGitIndexPushBlocksUpdates(t *testing.T) {
	requireClient(t, "git")
	s := newServer(t)
	s.createUser(t, "alice")
	aliceH := basic("alice", "alice-password")
	review11Publish(t, s, "alice", "acorn", "1.0.0", aliceH)
	review11Publish(t, s, "alice", "bramble", "1.0.0", aliceH)
	gitIndexCall(t, s, "POST", "alice", "", aliceH, 201)

	work := t.TempDir()
	clone := filepath.Join(work, "ix")
	gitCmd{t, work}.must("clone", "-q", s.URL+"/alice/_cargo-index.git", clone)
	g := gitCmd{t, clone}
	g.must("rm", "-q", "-r", "ac")
	if err := os.WriteFile(filepath.Join(clone, "ac"), []byte("not a directory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// config.json pointed elsewhere too.
	if err := os.WriteFile(filepath.Join(clone, "config.json"), []byte(`{"dl":"http://evil.example/dl","api":"http://evil.example"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.must("add", "-A")
	g.must("commit", "-q", "-m", "oops")
	g.must("push", "-q", authURL(s.URL, "alice", "alice-password", "alice/_cargo-index.git"), "HEAD:main")

	review11Publish(t, s, "alice", "acorn", "1.0.1", aliceH)
	review11Publish(t, s, "alice", "bramble", "1.0.1", aliceH)
	runJobs(t, s)
	var lastErr string
	_ = s.App.DB.SQL().QueryRowContext(t.Context(), "SELECT COALESCE(last_error, '') FROM job WHERE COALESCE(last_error, '') <> '' ORDER BY id LIMIT 1").Scan(&lastErr)
	t.Logf("failed jobs: %d, first error: %s", failedJobs(t, s), lastErr)
	t.Logf("config.json after two system commits: %s", strings.TrimSpace(gitIndexFile(t, s, "alice", "config.json")))
	if got := gitIndexFile(t, s, "alice", "br/am/bramble"); !strings.Contains(got, `"vers":"1.0.1"`) {
		t.Fatalf("bramble's update did not reach the git index either:\n%s", got)
	}
	if got := gitIndexFile(t, s, "alice", "ac/or/acorn"); !strings.Contains(got, `"vers":"1.0.1"`) {
		t.Errorf("after the push, acorn 1.0.1 never reaches the git index (job error: %s); the sparse index has it", lastErr)
	}
	// Every update writes config.json as the registry has it, and the
	// conflicting push was repaired by a rebuild, not left to fail.
	if got := gitIndexFile(t, s, "alice", "config.json"); strings.Contains(got, "evil.example") || !strings.Contains(got, s.URL+"/api/packages/alice/cargo") {
		t.Errorf("config.json not restored by the system's commits:\n%s", got)
	}
	if n := failedJobs(t, s); n != 0 {
		t.Errorf("%d index jobs failed (first error: %s)", n, lastErr)
	}
}

// TestReview11CargoGitIndexConfigFollowsVisibility: config.json of the git
// index is written only when it is created or rebuilt. An organisation made
// private afterwards keeps "auth-required": false in its git index (cargo
// then sends no token for downloads, which are 401), while the sparse
// config.json says true; the jobs of later publishes never fix it.
func TestReview11CargoGitIndexConfigFollowsVisibility(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	aliceH := basic("alice", "alice-password")
	if status, _, body := s.do(t, "POST", "/api/v1/orgs", `{"username":"crew","visibility":"public"}`, aliceH); status != 201 {
		t.Fatalf("create org: %d %s", status, body)
	}
	review11Publish(t, s, "crew", "acorn", "1.0.0", aliceH)
	gitIndexCall(t, s, "POST", "crew", "", aliceH, 201)
	if status, _, body := s.do(t, "PATCH", "/api/v1/orgs/crew", `{"visibility":"private"}`, aliceH); status != 200 {
		t.Fatalf("make crew private: %d %s", status, body)
	}
	review11Publish(t, s, "crew", "acorn", "1.0.1", aliceH)
	runJobs(t, s)
	_, sparse := sparseFile(t, s, "crew", "config.json")
	var sp, gi map[string]any
	if err := json.Unmarshal([]byte(sparse), &sp); err != nil {
		t.Fatal(err)
	}
	gitCfg := gitIndexFile(t, s, "crew", "config.json")
	if err := json.Unmarshal([]byte(gitCfg), &gi); err != nil {
		t.Fatalf("%q: %v", gitCfg, err)
	}
	if sp["auth-required"] != gi["auth-required"] {
		t.Errorf("crew is private: sparse config.json auth-required=%v, git index config.json auth-required=%v\n%s", sp["auth-required"], gi["auth-required"], gitCfg)
	}

	// What the real cargo makes of it: the git index fetched with git's
	// credentials (read:repository), as the README says, and the crate
	// downloaded... without the token, since config.json says none is
	// needed.
	viaGit := newCargo(t, []cargoRegistry{{name: "wharf", index: s.URL + "/crew/_cargo-index.git", token: packageToken(t, s, "alice", "cargo-git", "read:package")}}, "")
	viaGit.env = append(viaGit.env, "CARGO_NET_GIT_FETCH_WITH_CLI=true")
	creds := filepath.Join(t.TempDir(), "git-credentials")
	gitConfig := filepath.Join(t.TempDir(), "gitconfig")
	u := authURL(s.URL, "alice", packageToken(t, s, "alice", "git-read", "read:repository"), "")
	if err := os.WriteFile(creds, []byte(strings.TrimSuffix(u, "/")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gitConfig, []byte("[credential]\n\thelper = store --file="+creds+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	viaGit.env = append(viaGit.env, "GIT_CONFIG_GLOBAL="+gitConfig)
	app := writeCrate(t, t.TempDir(), "app", map[string]string{
		"Cargo.toml":  "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nacorn = { version = \"1\", registry = \"wharf\" }\n",
		"src/main.rs": "fn main() { acorn::hello(); }\n",
	})
	if out, err := viaGit.run(app, "build"); err != nil {
		t.Errorf("cargo through crew's git index after crew went private: %v\n%s", err, out)
	}
}

// TestReview11CargoGitIndexAdoptsPrivateRepo: a write member (who may
// create the organisation's repositories) makes an empty, private
// _cargo-index before the owner sets up the git index; InitIndex adopts it
// as it is. The README promises the index "is readable by exactly who may
// read the owner's packages": in a limited organisation a signed-in
// non-member reads the packages but not this index.
func TestReview11CargoGitIndexAdoptsPrivateRepo(t *testing.T) {
	s := newServer(t)
	for _, u := range []string{"alice", "bob", "carol"} {
		s.createUser(t, u)
	}
	aliceH := basic("alice", "alice-password")
	if status, _, body := s.do(t, "POST", "/api/v1/orgs", `{"username":"lim","visibility":"limited"}`, aliceH); status != 201 {
		t.Fatalf("create org: %d %s", status, body)
	}
	if status, _, body := s.do(t, "PUT", "/api/v1/orgs/lim/members/bob", `{"role":"write"}`, aliceH); status != 204 {
		t.Fatalf("add bob: %d %s", status, body)
	}
	review11Publish(t, s, "lim", "acorn", "1.0.0", aliceH)
	if status, _, body := s.do(t, "POST", "/api/v1/orgs/lim/repos", `{"name":"_cargo-index","private":true}`, basic("bob", "bob-password")); status != 201 {
		t.Fatalf("bob creates _cargo-index: %d %s", status, body)
	}
	// The registry does not adopt a private repository (it has no way to
	// make it public through the repository service): 409 telling the
	// owner to delete it, and nothing recorded.
	gitIndexCall(t, s, "POST", "lim", "", aliceH, 409)
	if st := gitIndexCall(t, s, "GET", "lim", "", aliceH, 200); st.Exists {
		t.Fatalf("a refused adoption recorded the index: %+v", st)
	}
	if status, _, body := s.do(t, "DELETE", "/api/v1/repos/lim/_cargo-index", "", aliceH); status != 204 {
		t.Fatalf("delete the private _cargo-index: %d %s", status, body)
	}
	st := gitIndexCall(t, s, "POST", "lim", "", aliceH, 201)
	t.Logf("index: %+v", st)
	carol := basic("carol", "carol-password")
	if status, _, body := s.do(t, "GET", "/api/packages/lim/cargo/ac/or/acorn", "", carol); status != 200 {
		t.Fatalf("carol reads lim's packages: %d %s", status, body)
	}
	if status, _, body := s.do(t, "GET", "/lim/_cargo-index.git/info/refs?service=git-upload-pack", "", carol); status != 200 {
		t.Errorf("carol may read lim's crates but not its git index: %d %s", status, snippet(body))
	}
}

// TestReview11CargoGitIndexBranchDeleted: deleting the index's default
// branch by a push is refused by git itself (receive.denyDeleteCurrent), so
// the registry never sees its index branch vanish that way (holds).
func TestReview11CargoGitIndexBranchDeleted(t *testing.T) {
	requireClient(t, "git")
	s := newServer(t)
	s.createUser(t, "alice")
	aliceH := basic("alice", "alice-password")
	review11Publish(t, s, "alice", "acorn", "1.0.0", aliceH)
	gitIndexCall(t, s, "POST", "alice", "", aliceH, 201)
	work := t.TempDir()
	gitCmd{t, work}.must("init", "-q", "x")
	out, err := gitCmd{t, filepath.Join(work, "x")}.run("push", "-q", authURL(s.URL, "alice", "alice-password", "alice/_cargo-index.git"), ":main")
	if err == nil || !strings.Contains(out, "deletion of the current branch prohibited") {
		t.Fatalf("deleting main: %v\n%s", err, out)
	}
	if st := gitIndexCall(t, s, "GET", "alice", "", aliceH, 200); st.LastCommit == "" {
		t.Fatalf("branch gone: %+v", st)
	}
}
