package tests

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// pgWaitFor polls PostgreSQL until query counts at least one row's worth
// (its single integer result > 0), or fails the test after a while.
func pgWaitFor(t *testing.T, d *sql.DB, what, query string, done <-chan struct{}) bool {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		if err := d.QueryRow(query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n > 0 {
			return true
		}
		select {
		case <-done:
			return false
		default:
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
	return false
}

// TestReviewIntegrityUploadRacesRemovalOfLastVersion: an upload of a new
// version and the removal of the package's only other version run at
// the same time on PostgreSQL. The removal counts the versions left (the
// upload's is not committed yet), finds none and deletes the package row;
// the upload then committed a version of a package that no longer exists:
// answered 201, shown nowhere, kept for ever. Both sides now take the
// package's row lock, so one waits for the other and the new version
// stays with its package.
func TestReviewIntegrityUploadRacesRemovalOfLastVersion(t *testing.T) {
	raceUploadAndRemoval(t, `BEFORE INSERT ON package_version FOR EACH ROW WHEN (NEW.version = '2')`,
		"/api/packages/acme/generic/g/2/b.bin", "/api/v1/packages/acme/generic/g/1", "/api/v1/packages/acme/generic/g/2")
}

// TestReviewIntegrityUploadRacesRemovalOfLastFile: a file added to a
// version while the version's only other file is removed. The removal
// counted no file left and removed the version with every file in it,
// the one just uploaded (201) too. The removal now takes the package's
// lock before it counts.
func TestReviewIntegrityUploadRacesRemovalOfLastFile(t *testing.T) {
	raceUploadAndRemoval(t, `BEFORE INSERT ON package_file FOR EACH ROW WHEN (NEW.name = 'b.bin')`,
		"/api/packages/acme/generic/g/1/b.bin", "/api/packages/acme/generic/g/1/a.bin", "/api/packages/acme/generic/g/1/b.bin")
}

// raceUploadAndRemoval uploads to uploadPath (held inside its transaction
// by a trigger at hold until the removal has finished or waits for a
// lock) while removePath is deleted, then checks that what the upload
// was answered 201 for is at checkPath.
//
// On PostgreSQL the interleaving is forced with an advisory lock held in a
// trigger. SQLite lets one writer in at a time, so there the two simply
// run at once and the same outcome is checked, whichever goes first.
func raceUploadAndRemoval(t *testing.T, hold, uploadPath, removePath, checkPath string) {
	s := newServer(t)
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")
	if status, _, body := s.do(t, "PUT", "/api/packages/acme/generic/g/1/a.bin", "version one", h); status != http.StatusCreated {
		t.Fatalf("upload 1: %d %s", status, body)
	}
	send := func(method, path, body string) result {
		req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
		if err != nil {
			return result{err: err}
		}
		req.SetBasicAuth("acme", "acme-password")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return result{err: err}
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return result{resp.StatusCode, string(b), err}
	}
	var up, rm result
	if s.App.DB.Type() == "postgres" {
		up, rm = forceUploadBeforeRemoval(t, s, hold, func() result { return send("PUT", uploadPath, "version two") },
			func() result { return send("DELETE", removePath, "") })
	} else {
		uploaded := make(chan result, 1)
		go func() { uploaded <- send("PUT", uploadPath, "version two") }()
		rm = send("DELETE", removePath, "")
		up = <-uploaded
	}
	if up.err != nil || up.status != http.StatusCreated {
		t.Fatalf("upload: %d %s %v", up.status, up.body, up.err)
	}
	if rm.err != nil || rm.status != http.StatusNoContent {
		t.Fatalf("removal: %d %s %v", rm.status, rm.body, rm.err)
	}
	var orphans int
	if err := s.App.DB.SQL().QueryRow(`SELECT count(*) FROM package_version WHERE package_id NOT IN (SELECT id FROM package)`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 {
		t.Errorf("%d version rows belong to no package", orphans)
	}
	var orphanFiles int
	if err := s.App.DB.SQL().QueryRow(`SELECT count(*) FROM package_file WHERE version_id NOT IN (SELECT id FROM package_version)`).Scan(&orphanFiles); err != nil {
		t.Fatal(err)
	}
	if orphanFiles != 0 {
		t.Errorf("%d file rows belong to no version", orphanFiles)
	}
	if status, _, body := s.do(t, "GET", checkPath, "", h); status != http.StatusOK {
		t.Fatalf("what the upload was answered 201 for is not there (%s): %d %s", checkPath, status, body)
	}
}

type result struct {
	status int
	body   string
	err    error
}

// forceUploadBeforeRemoval holds the upload inside its transaction (at the
// trigger point hold) until the removal has finished or waits for a lock,
// then lets it go on (PostgreSQL only).
func forceUploadBeforeRemoval(t *testing.T, s *server, hold string, upload, remove func() result) (up, rm result) {
	t.Helper()
	x := s.App.DB.Xorm()
	// The upload stops at hold until the test releases advisory lock 4242.
	for _, q := range []string{
		`CREATE FUNCTION review_hold() RETURNS trigger AS $$ BEGIN PERFORM pg_advisory_lock(4242); PERFORM pg_advisory_unlock(4242); RETURN NEW; END $$ LANGUAGE plpgsql`,
		`CREATE TRIGGER review_hold ` + hold + ` EXECUTE FUNCTION review_hold()`,
	} {
		if _, err := x.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	holder, err := s.App.DB.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, `SELECT pg_advisory_lock(4242)`); err != nil {
		t.Fatal(err)
	}
	released := false
	release := func() {
		if !released {
			released = true
			if _, err := holder.ExecContext(ctx, `SELECT pg_advisory_unlock(4242)`); err != nil {
				t.Error(err)
			}
		}
	}
	defer release()

	uploaded := make(chan result, 1)
	go func() { uploaded <- upload() }()
	pgWaitFor(t, s.App.DB.SQL(), "the upload to wait in its transaction",
		`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`, nil)

	removedDone := make(chan struct{})
	removed := make(chan result, 1)
	go func() {
		defer close(removedDone)
		removed <- remove()
	}()
	// Either the removal finishes while the upload waits (the race), or it
	// waits for the upload's lock on the package.
	pgWaitFor(t, s.App.DB.SQL(), "the removal to finish or wait for a row lock",
		`SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype IN ('transactionid', 'tuple')`, removedDone)
	release()
	return <-uploaded, <-removed
}
