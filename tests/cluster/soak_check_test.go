//go:build cluster && soak

package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wharf/modules/storage"
)

// The database as the consistency check reads it: whole tables, joined in
// the test, so that one reading serves PostgreSQL and SQLite alike.
type (
	dbPackage struct {
		id, ownerID int64
		typ, name   string
	}
	dbVersion struct {
		id, packageID int64
		version       string
	}
	dbFile struct {
		id, versionID, blobID int64
		name                  string
	}
	dbBlob struct {
		id, size int64
		sha256   string
	}
	dbJob struct {
		id, runAt, lockedUntil int64
		kind, lastError        string
		attempts               int
		failed                 bool
	}
)

type dbState struct {
	users    map[int64]string // id → lower name
	packages map[int64]dbPackage
	versions map[int64]dbVersion
	files    []dbFile
	blobs    map[int64]dbBlob
	jobs     []dbJob
}

func readDBState(ctx context.Context, db *sql.DB) (*dbState, error) {
	s := &dbState{users: map[int64]string{}, packages: map[int64]dbPackage{}, versions: map[int64]dbVersion{}, blobs: map[int64]dbBlob{}}
	scan := func(query string, row func(*sql.Rows) error) error {
		rows, err := db.QueryContext(ctx, query)
		if err != nil {
			return fmt.Errorf("%s: %w", query, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := row(rows); err != nil {
				return fmt.Errorf("%s: %w", query, err)
			}
		}
		return rows.Err()
	}
	return s, errors.Join(
		scan(`SELECT id, lower_name FROM "user"`, func(r *sql.Rows) error {
			var id int64
			var name string
			err := r.Scan(&id, &name)
			s.users[id] = name
			return err
		}),
		scan(`SELECT id, owner_id, type, lower_name FROM package`, func(r *sql.Rows) error {
			var p dbPackage
			err := r.Scan(&p.id, &p.ownerID, &p.typ, &p.name)
			s.packages[p.id] = p
			return err
		}),
		scan(`SELECT id, package_id, lower_version FROM package_version`, func(r *sql.Rows) error {
			var v dbVersion
			err := r.Scan(&v.id, &v.packageID, &v.version)
			s.versions[v.id] = v
			return err
		}),
		scan(`SELECT id, version_id, blob_id, lower_name FROM package_file`, func(r *sql.Rows) error {
			var f dbFile
			err := r.Scan(&f.id, &f.versionID, &f.blobID, &f.name)
			s.files = append(s.files, f)
			return err
		}),
		scan(`SELECT id, size, hash_sha256 FROM package_blob`, func(r *sql.Rows) error {
			var b dbBlob
			err := r.Scan(&b.id, &b.size, &b.sha256)
			s.blobs[b.id] = b
			return err
		}),
		scan(`SELECT id, kind, run_at, locked_until, attempts, COALESCE(last_error, ''), failed FROM job`, func(r *sql.Rows) error {
			var j dbJob
			err := r.Scan(&j.id, &j.kind, &j.runAt, &j.lockedUntil, &j.attempts, &j.lastError, &j.failed)
			s.jobs = append(s.jobs, j)
			return err
		}),
	)
}

// soakJobLease is Wharf's job lease (services/jobs.NewRunner): a job
// locked further than this from now holds an impossible lease.
const soakJobLease = 10 * time.Minute

// drainJobs waits until no job is due: every job the load enqueued has run
// (periodic jobs wait for their next time). A job that stays due is
// reported by the check.
func drainJobs(ctx context.Context, t *testing.T, db *sql.DB, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		var n int
		err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM job WHERE failed = $1 AND run_at <= $2`, false, time.Now().Unix()).Scan(&n)
		if err == nil && n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Logf("jobs still due after %s (%d; err %v): the check reports them", limit, n, err)
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// checkConsistency reads the database and every stored object, and
// returns what is wrong:
//   - a file whose blob row is missing;
//   - a blob row whose object is missing, of another size, or whose bytes
//     do not hash to its SHA-256 (every object is read);
//   - a version without files;
//   - a failed job, a job due long ago and not taken, a job locked beyond
//     any lease;
//   - what a client saw committed (201) and did not delete, missing or
//     with other bytes; what it deleted (and was told so), still there.
func checkConsistency(ctx context.Context, db *sql.DB, store storage.Store, ledger *soakLedger) ([]string, string, error) {
	st, err := readDBState(ctx, db)
	if err != nil {
		return nil, "", err
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	filesOf := map[int64][]dbFile{}
	for _, f := range st.files {
		filesOf[f.versionID] = append(filesOf[f.versionID], f)
		if _, ok := st.blobs[f.blobID]; !ok {
			bad("package_file %d (%q of version %d) points at blob %d, which has no row", f.id, f.name, f.versionID, f.blobID)
		}
	}
	var bytesRead int64
	for _, b := range st.blobs {
		n, sum, err := hashObject(ctx, store, b.sha256)
		switch {
		case errors.Is(err, storage.ErrNotExist):
			bad("blob %d (%s, %d bytes) has no stored object", b.id, b.sha256, b.size)
		case err != nil:
			bad("blob %d (%s): read the object: %v", b.id, b.sha256, err)
		case n != b.size:
			bad("blob %d (%s): stored object is %d bytes, the row says %d", b.id, b.sha256, n, b.size)
		case sum != b.sha256:
			bad("blob %d: stored object hashes to %s, the row says %s", b.id, sum, b.sha256)
		}
		bytesRead += n
	}
	for _, v := range st.versions {
		if len(filesOf[v.id]) == 0 {
			p := st.packages[v.packageID]
			bad("version %s of %s package %s/%s has no files", v.version, p.typ, st.users[p.ownerID], p.name)
		}
	}
	now := time.Now().Unix()
	for _, j := range st.jobs {
		switch {
		case j.failed:
			bad("job %d (%s) failed after %d attempts: %s", j.id, j.kind, j.attempts, j.lastError)
		case j.runAt <= now-120 && j.lockedUntil <= now-120:
			bad("job %d (%s) is due since %ds and nobody holds it (attempts %d, last error %q)", j.id, j.kind, now-j.runAt, j.attempts, j.lastError)
		case j.lockedUntil > now+int64((soakJobLease+time.Minute).Seconds()):
			bad("job %d (%s) is locked %ds ahead, beyond any lease", j.id, j.kind, j.lockedUntil-now)
		}
	}
	// What the clients were told.
	type key struct{ owner, typ, name, version string }
	present := map[key][]string{} // → the SHA-256 of its files
	for _, f := range st.files {
		v, p := st.versions[f.versionID], st.packages[st.versions[f.versionID].packageID]
		k := key{st.users[p.ownerID], p.typ, p.name, v.version}
		present[k] = append(present[k], st.blobs[f.blobID].sha256)
	}
	committed, deleted := 0, 0
	for _, it := range ledger.all() {
		k := key{it.owner, it.kind, strings.ToLower(it.name), strings.ToLower(it.version)}
		switch it.state() {
		case itemLive:
			committed++
			sums, ok := present[k]
			if !ok {
				bad("%s %s/%s %s was committed (201 at %s) and not deleted, but is not in the database", it.kind, it.owner, it.name, it.version, it.committed.Format(time.RFC3339Nano))
			} else if it.sha256 != "" && !containsString(sums, it.sha256) {
				bad("%s %s/%s %s: its files hash to %v, the client uploaded %s", it.kind, it.owner, it.name, it.version, sums, it.sha256)
			}
		case itemDeleted:
			deleted++
			if _, ok := present[k]; ok {
				bad("%s %s/%s %s was deleted (the client was told so) but is still in the database", it.kind, it.owner, it.name, it.version)
			}
		}
	}
	// Figures of the cleanup task's work: blob rows no file references
	// (released, not yet collected), objects without a row.
	referenced := map[int64]bool{}
	for _, f := range st.files {
		referenced[f.blobID] = true
	}
	unreferenced := 0
	rowOf := map[string]bool{}
	for _, b := range st.blobs {
		rowOf[b.sha256] = true
		if !referenced[b.id] {
			unreferenced++
		}
	}
	objects, orphans := 0, 0
	if err := store.Iterate(ctx, func(key string, _ int64) error {
		objects++
		if !rowOf[key] {
			orphans++
		}
		return nil
	}); err != nil {
		return nil, "", fmt.Errorf("list the stored objects: %w", err)
	}
	jobsLeft := map[string]int{}
	for _, j := range st.jobs {
		jobsLeft[j.kind]++
	}
	info := fmt.Sprintf("consistency: %d packages, %d versions, %d files, %d blob rows (%.1f MiB read and hashed; %d not referenced), "+
		"%d stored objects (%d without a row), jobs left %s; ledger: %d committed and kept, %d deleted; %d problems",
		len(st.packages), len(st.versions), len(st.files), len(st.blobs), float64(bytesRead)/(1<<20), unreferenced,
		objects, orphans, fmtCounts(jobsLeft), committed, deleted, len(problems))
	return problems, info, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// hashObject reads a stored object whole and returns its size and SHA-256.
func hashObject(ctx context.Context, store storage.Store, key string) (int64, string, error) {
	o, err := store.Open(ctx, key)
	if err != nil {
		return 0, "", err
	}
	defer o.Close()
	h := sha256.New()
	n, err := io.Copy(h, o)
	if err != nil {
		return n, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// TestSoakCheck: the consistency check finds nothing on what a server
// wrote, and finds each kind of damage put into it afterwards — a
// corrupted object, a missing object, a version without files, a failed
// job, a committed version gone, a deleted version still there.
func TestSoakCheck(t *testing.T) {
	p, db, store, root := startSQLiteProc(t)
	createUser(t, p, "checker")
	tok := token(t, p, "checker", "check", "write:package")
	ledger := &soakLedger{}
	items := map[string]*soakItem{}
	for i, v := range []string{"1.0.0", "2.0.0", "3.0.0", "4.0.0"} {
		b := content(uint64(i), 10<<10)
		if status, _, out := do(t, "PUT", p.URL+"/api/packages/checker/generic/gen/"+v+"/f.bin", bytes.NewReader(b), basic("checker", tok)); status != http.StatusCreated {
			t.Fatalf("upload %s: %d %s", v, status, out)
		}
		it := &soakItem{kind: "generic", owner: "checker", name: "gen", version: v, file: "f.bin", sha256: hexSHA256(b), size: int64(len(b)), committed: time.Now()}
		ledger.add(it)
		items[v] = it
	}
	problems, info, err := checkConsistency(t.Context(), db, store, ledger)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("problems on an untouched instance (%s):\n%s", info, strings.Join(problems, "\n"))
	}

	// 1.0.0's object is corrupted (same size), 2.0.0's is gone, 3.0.0
	// loses its file row, 4.0.0 is said to be deleted, 5.0.0 said to be
	// committed, and a job has failed.
	key := items["1.0.0"].sha256
	corrupt := filepath.Join(root, key[0:2], key[2:4], key)
	_ = os.Chmod(corrupt, 0o644)
	if err := os.WriteFile(corrupt, content(99, 10<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(t.Context(), items["2.0.0"].sha256); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), `DELETE FROM package_file WHERE version_id IN (SELECT id FROM package_version WHERE lower_version = '3.0.0')`); err != nil {
		t.Fatal(err)
	}
	items["4.0.0"].set(itemDeleted)
	ledger.add(&soakItem{kind: "generic", owner: "checker", name: "gen", version: "5.0.0", sha256: hexSHA256([]byte("x")), committed: time.Now()})
	if _, err := db.ExecContext(t.Context(), `INSERT INTO job (kind, payload, run_at, locked_until, attempts, last_error, failed, created_unix) VALUES ('soak.check', '', 0, 0, 10, 'injected', 1, 0)`); err != nil {
		t.Fatal(err)
	}
	problems, info, err = checkConsistency(t.Context(), db, store, ledger)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(info)
	all := strings.Join(problems, "\n")
	for _, want := range []string{
		"stored object hashes to", // 1.0.0
		"has no stored object",    // 2.0.0
		"version 3.0.0 of generic package checker/gen has no files",
		"generic checker/gen 3.0.0 was committed", // and is not in the database
		"generic checker/gen 4.0.0 was deleted",
		"generic checker/gen 5.0.0 was committed",
		"(soak.check) failed after 10 attempts: injected",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the check does not report %q; it reports:\n%s", want, all)
		}
	}
	if len(problems) != 7 {
		t.Errorf("%d problems, want 7:\n%s", len(problems), all)
	}
}
