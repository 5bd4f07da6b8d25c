package tests

import (
	"encoding/json"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"

	jobs_model "wharf/models/jobs"
	goproxy_service "wharf/services/packages/go"
)

// TestGoProxyRepositoryLifecycle: the sync job (queued for the
// repositories that existed before the proxy) registers a repository's
// tags again without a change; a deleted repository's versions and notes
// go with it.
func TestGoProxyRepositoryLifecycle(t *testing.T) {
	requireClient(t, "git")
	s := newGoServer(t)
	s.createUser(t, "alice")
	g, remote := goRepo(t, s, "alice", "alice", "life", false)
	writeTree(t, g.dir, map[string]string{"go.mod": goMod(goHost + "/alice/life"), "l.go": "package life\n"})
	commitAll(g, "one", "v1.0.0", "v1.0")
	writeTree(t, g.dir, map[string]string{"m.go": "package life\n"})
	commitAll(g, "two", "v1.1.0")
	g.must("push", "-q", remote, "main", "--tags")
	runGoJobs(t, s)
	list := "/api/packages/alice/go/" + goHost + "/alice/life/@v/list"
	zip := "/api/packages/alice/go/" + goHost + "/alice/life/@v/v1.0.0.zip"
	status, _, firstZip := s.do(t, "GET", zip, "", nil)
	if status != 200 || !strings.HasPrefix(firstZip, "PK") {
		t.Fatalf("zip: %d", status)
	}

	var repoID int64
	if err := s.App.DB.SQL().QueryRowContext(t.Context(), "SELECT id FROM repository WHERE lower_name = 'life'").Scan(&repoID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{repoID, repoID + 1000} { // the second: a repository deleted since
		payload, _ := json.Marshal(map[string]int64{"repo_id": id})
		if _, err := jobs_model.Enqueue(t.Context(), s.App.DB.Engine(), goproxy_service.JobSyncRepository, string(payload), s.App.Jobs.Now()); err != nil {
			t.Fatal(err)
		}
	}
	runGoJobs(t, s)
	if status, _, body := s.do(t, "GET", list, "", nil); status != 200 || body != "v1.0.0\nv1.1.0\n" {
		t.Fatalf("list after the sync: %d %q", status, body)
	}
	if _, _, again := s.do(t, "GET", zip, "", nil); again != firstZip {
		t.Fatal("the sync changed a published zip")
	}
	var versions int
	if err := s.App.DB.SQL().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM package_version").Scan(&versions); err != nil || versions != 2 {
		t.Fatalf("%d versions after the sync (%v)", versions, err)
	}
	if notes := goNotes(t, s, "alice", nil); len(notes) != 1 || notes[0].Tag != "v1.0" {
		t.Fatalf("notes after the sync: %+v", notes)
	}

	if _, err := s.client(t, gitea.SetBasicAuth("alice", "alice-password")).DeleteRepo("alice", "life"); err != nil {
		t.Fatal(err)
	}
	runGoJobs(t, s)
	for _, p := range []string{list, zip, "/api/packages/alice/go/" + goHost + "/alice/life/@latest"} {
		if status, _, body := s.do(t, "GET", p, "", nil); status != 404 {
			t.Errorf("%s after the repository's deletion: %d %s", p, status, body)
		}
	}
	if err := s.App.DB.SQL().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM package_version").Scan(&versions); err != nil || versions != 0 {
		t.Errorf("%d versions stay after the repository's deletion (%v)", versions, err)
	}
	var notes int
	if err := s.App.DB.SQL().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM package_go_tag_note").Scan(&notes); err != nil || notes != 0 {
		t.Errorf("%d notes stay after the repository's deletion (%v)", notes, err)
	}
}

// TestGoProxyTagPushedAgain: a tag deleted and pushed again at its commit
// gives the same zip again (zips are made the same way every time);
// deleted and pushed at another commit, it is a new version of that commit
// (the deletion removed the first: deleting is how a publisher takes a
// version back), without a note; deleted for good, the version goes.
func TestGoProxyTagPushedAgain(t *testing.T) {
	requireClient(t, "git")
	s := newGoServer(t)
	s.createUser(t, "alice")
	g, remote := goRepo(t, s, "alice", "alice", "again", false)
	writeTree(t, g.dir, map[string]string{"go.mod": goMod(goHost + "/alice/again"), "a.go": "package again\n"})
	commitAll(g, "one", "v1.0.0")
	g.must("push", "-q", remote, "main", "--tags")
	runGoJobs(t, s)
	zip := "/api/packages/alice/go/" + goHost + "/alice/again/@v/v1.0.0.zip"
	_, _, first := s.do(t, "GET", zip, "", nil)

	g.must("push", "-q", remote, "--delete", "v1.0.0")
	g.must("push", "-q", remote, "v1.0.0")
	runGoJobs(t, s)
	if status, _, body := s.do(t, "GET", zip, "", nil); status != 200 || body != first {
		t.Fatalf("the tag pushed again at its commit: %d", status)
	}
	if notes := goNotes(t, s, "alice", nil); len(notes) != 0 {
		t.Fatalf("notes: %+v", notes)
	}

	writeTree(t, g.dir, map[string]string{"b.go": "package again\n"})
	commitAll(g, "two")
	g.must("push", "-q", remote, "--delete", "v1.0.0")
	g.must("tag", "-f", "v1.0.0")
	g.must("push", "-q", remote, "main", "v1.0.0")
	runGoJobs(t, s)
	if status, _, body := s.do(t, "GET", zip, "", nil); status != 200 || body == first {
		t.Fatalf("the tag deleted and pushed at another commit: %d, the zip is the old one: %v", status, body == first)
	}
	if notes := goNotes(t, s, "alice", nil); len(notes) != 0 {
		t.Fatalf("notes: %+v", notes)
	}

	// Deleted for good: the version goes, and so does the note.
	g.must("push", "-q", remote, "--delete", "v1.0.0")
	runGoJobs(t, s)
	if status, _, _ := s.do(t, "GET", zip, "", nil); status != 404 {
		t.Fatalf("the deleted tag's zip: %d", status)
	}
	if notes := goNotes(t, s, "alice", nil); len(notes) != 0 {
		t.Fatalf("notes after the deletion: %+v", notes)
	}
}
