package packages_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"testing/iotest"
	"time"

	jobs_model "wharf/models/jobs"
	packages_model "wharf/models/packages"
	"wharf/models/unittest"
	"wharf/modules/apperr"
	"wharf/modules/setting"
	"wharf/modules/storage"
	jobs_service "wharf/services/jobs"
	org_service "wharf/services/org"
	packages_service "wharf/services/packages"
	repo_service "wharf/services/repository"
	user_service "wharf/services/user"
)

// fastFixture is a service with a small memory limit (so that uploads of
// a few MiB spill), a job runner with the digests job, and a fault hook.
type fastFixture struct {
	*fixture
	jobs     *jobs_service.Runner
	storeDir string
	fault    packages_service.FaultPoint
}

const fastMemoryLimit = 1 << 20

func newFastFixture(t *testing.T) *fastFixture {
	t.Helper()
	d := unittest.NewDB(t)
	log := unittest.DiscardLogger()
	now := func() time.Time { return time.Unix(1_800_000_000, 0) }
	ff := &fastFixture{storeDir: t.TempDir()}
	store, err := storage.NewLocal(ff.storeDir)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: d, store: store}
	f.users = user_service.New(user_service.Deps{DB: d, Log: log, Now: now, MinPasswordLength: 8})
	f.orgs = org_service.New(org_service.Deps{DB: d, Now: now, Users: f.users})
	ff.jobs = jobs_service.NewRunner(d, log, now)
	f.repos = repo_service.New(repo_service.Deps{DB: d, Log: log, Now: now, Users: f.users, Jobs: ff.jobs,
		Root: t.TempDir(), DefaultBranch: "main", RootURL: "http://localhost/"})
	if err := f.repos.Init(); err != nil {
		t.Fatal(err)
	}
	cfg := setting.Packages{UploadTempPath: t.TempDir(), LimitSize: map[string]int64{}, LimitTotalOwnerCount: -1, LimitTotalOwnerSize: -1}
	f.pkgs, err = packages_service.New(packages_service.Deps{DB: d, Store: store, Log: log, Now: now, Users: f.users, Repos: f.repos, Cfg: cfg,
		MemoryLimit: fastMemoryLimit,
		Fault: func(_ context.Context, p packages_service.FaultPoint) error {
			if p == ff.fault {
				return errors.New("injected fault at " + string(p))
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ff.jobs.Register(packages_service.JobFillDigests, f.pkgs.FillDigests)
	ff.fixture = f
	return ff
}

// bytesOf is n bytes that differ with seed.
func bytesOf(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*13) ^ seed ^ byte(i>>9)
	}
	return b
}

func hexOf(sum []byte) string { return hex.EncodeToString(sum) }

// wantBlob checks the row of data's blob: its size and all four digests,
// or only the SHA-256 when complete is false.
func (f *fastFixture) wantBlob(t *testing.T, data []byte, complete bool) *packages_model.PackageBlob {
	t.Helper()
	s := sha256.Sum256(data)
	var rows []*packages_model.PackageBlob
	if err := f.db.Xorm().Where("hash_sha256 = ?", hexOf(s[:])).Find(&rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d blob rows for the bytes", len(rows))
	}
	b := rows[0]
	m, s1, s5 := md5.Sum(data), sha1.Sum(data), sha512.Sum512(data)
	want := packages_model.PackageBlob{ID: b.ID, Size: int64(len(data)), HashMD5: hexOf(m[:]), HashSHA1: hexOf(s1[:]),
		HashSHA256: hexOf(s[:]), HashSHA512: hexOf(s5[:]), CreatedUnix: b.CreatedUnix}
	if !complete {
		want.HashMD5, want.HashSHA1, want.HashSHA512 = "", "", ""
	}
	if *b != want {
		t.Fatalf("blob row %+v, want %+v", *b, want)
	}
	return b
}

func (f *fastFixture) pendingDigestJobs(t *testing.T) int {
	t.Helper()
	n, err := f.db.Xorm().Where("kind = ? AND failed = ?", packages_service.JobFillDigests, false).Count(new(jobs_model.Job))
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// upload stores data as a generic file through the large-upload path.
func (f *fastFixture) upload(t *testing.T, v *packages_service.VersionInfo, name string, data []byte, declared int64) error {
	t.Helper()
	buf, err := f.pkgs.NewLargeUploadBuffer(iotest.HalfReader(bytes.NewReader(data)), packages_model.TypeGeneric, declared)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	_, err = f.pkgs.CreatePackageOrAddFileToExisting(context.Background(), v, &packages_service.FileInfo{Name: name, IsLead: true, Data: buf}, nil)
	return err
}

func (f *fastFixture) tmpEmpty(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(f.storeDir, ".tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("left in the store's temp directory: %v", entries)
	}
}

func (f *fastFixture) stored(t *testing.T, data []byte) bool {
	t.Helper()
	s := sha256.Sum256(data)
	o, err := f.store.Open(context.Background(), hexOf(s[:]))
	if errors.Is(err, storage.ErrNotExist) {
		return false
	} else if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	got, err := io.ReadAll(o)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored bytes differ (%d bytes, %v)", len(got), err)
	}
	return true
}

// TestDeferredDigests: a large upload is recorded with its SHA-256 and
// size, the job fills in MD5, SHA-1 and SHA-512 from storage (equal to
// the crypto packages' digests) and is idempotent; a small one gets all
// four at once and no job; the spill file became the blob and nothing is
// left in the store's temp directory.
func TestDeferredDigests(t *testing.T) {
	f := newFastFixture(t)
	ctx := context.Background()
	alice := f.user(t, "alice", false)
	v := &packages_service.VersionInfo{Owner: alice, Creator: alice, Type: packages_model.TypeGeneric, Name: "big", Version: "1.0"}

	large := bytesOf(3*fastMemoryLimit+777, 1)
	if err := f.upload(t, v, "large.bin", large, -1); err != nil {
		t.Fatal(err)
	}
	blob := f.wantBlob(t, large, false)
	if !f.stored(t, large) {
		t.Fatal("the large upload's bytes are not stored")
	}
	f.tmpEmpty(t)
	if n := f.pendingDigestJobs(t); n != 1 {
		t.Fatalf("%d digest jobs queued, want 1", n)
	}
	if ran, err := f.jobs.RunOnce(ctx); err != nil || ran != 1 {
		t.Fatalf("ran %d jobs, %v", ran, err)
	}
	f.wantBlob(t, large, true)
	if n := f.pendingDigestJobs(t); n != 0 {
		t.Fatalf("%d digest jobs left", n)
	}
	// Running it again (a retry after a lost lease) changes nothing.
	if err := f.pkgs.FillDigests(ctx, `{"blob_id":`+strconv.FormatInt(blob.ID, 10)+`}`); err != nil {
		t.Fatal(err)
	}
	f.wantBlob(t, large, true)
	// A blob removed before its job ran is done.
	if err := f.pkgs.FillDigests(ctx, `{"blob_id":999999}`); err != nil {
		t.Fatalf("a missing blob: %v", err)
	}

	// Declared over the memory limit: spilled from the first byte.
	declared := bytesOf(2*fastMemoryLimit, 2)
	if err := f.upload(t, v, "declared.bin", declared, int64(len(declared))); err != nil {
		t.Fatal(err)
	}
	f.wantBlob(t, declared, false)
	if _, err := f.jobs.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	f.wantBlob(t, declared, true)

	small := bytesOf(fastMemoryLimit/2, 3)
	if err := f.upload(t, v, "small.bin", small, int64(len(small))); err != nil {
		t.Fatal(err)
	}
	f.wantBlob(t, small, true)
	if n := f.pendingDigestJobs(t); n != 0 {
		t.Fatalf("a small upload queued %d digest jobs", n)
	}
	f.tmpEmpty(t)
}

// TestDeferredDigestsDedup: the same large bytes uploaded twice share one
// blob row and one queued job; an upload of them with every digest (a
// format that shows them) fills the row in its own transaction, and the
// job then has nothing to do.
func TestDeferredDigestsDedup(t *testing.T) {
	f := newFastFixture(t)
	ctx := context.Background()
	alice := f.user(t, "alice", false)
	data := bytesOf(2*fastMemoryLimit+5, 4)
	for _, version := range []string{"1.0", "2.0"} {
		v := &packages_service.VersionInfo{Owner: alice, Creator: alice, Type: packages_model.TypeGeneric, Name: "twice", Version: version}
		if err := f.upload(t, v, "f.bin", data, -1); err != nil {
			t.Fatal(err)
		}
	}
	f.wantBlob(t, data, false)
	if n := f.pendingDigestJobs(t); n != 1 {
		t.Fatalf("%d digest jobs for one blob, want 1", n)
	}
	all, err := f.pkgs.NewUploadBuffer(bytes.NewReader(data), packages_model.TypeGeneric)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	if !all.Hashes().Complete() {
		t.Fatalf("NewUploadBuffer deferred digests: %+v", all.Hashes())
	}
	v := &packages_service.VersionInfo{Owner: alice, Creator: alice, Type: packages_model.TypeGeneric, Name: "twice", Version: "3.0"}
	if _, err := f.pkgs.CreatePackageOrAddFileToExisting(ctx, v, &packages_service.FileInfo{Name: "f.bin", IsLead: true, Data: all}, nil); err != nil {
		t.Fatal(err)
	}
	f.wantBlob(t, data, true)
	if _, err := f.jobs.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	f.wantBlob(t, data, true)
	f.tmpEmpty(t)
}

// TestDeferredDigestsFaults: an upload that fails after its bytes were
// linked into the store (before its transaction, or inside it) leaves no
// row and no job: the bytes are an orphan for the blob task, never a row
// without bytes; a retry then records them.
func TestDeferredDigestsFaults(t *testing.T) {
	for _, p := range []packages_service.FaultPoint{packages_service.FaultAfterBlob, packages_service.FaultAfterRows, packages_service.FaultBeforeCommit} {
		t.Run(string(p), func(t *testing.T) {
			f := newFastFixture(t)
			alice := f.user(t, "alice", false)
			v := &packages_service.VersionInfo{Owner: alice, Creator: alice, Type: packages_model.TypeGeneric, Name: "crash", Version: "1.0"}
			data := bytesOf(2*fastMemoryLimit+9, 5)
			f.fault = p
			if err := f.upload(t, v, "f.bin", data, -1); err == nil {
				t.Fatal("the fault did not fail the upload")
			}
			n, err := f.db.Xorm().Count(new(packages_model.PackageBlob))
			if err != nil || n != 0 {
				t.Fatalf("%d blob rows after the fault, %v", n, err)
			}
			if n := f.pendingDigestJobs(t); n != 0 {
				t.Fatalf("%d digest jobs after the fault", n)
			}
			if !f.stored(t, data) {
				t.Fatal("the bytes were not stored before the transaction")
			}
			f.tmpEmpty(t)
			f.fault = ""
			if err := f.upload(t, v, "f.bin", data, -1); err != nil {
				t.Fatal(err)
			}
			f.wantBlob(t, data, false)
			if _, err := f.jobs.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			f.wantBlob(t, data, true)
		})
	}
}

// TestInterruptedLargeUpload: a body that fails after it spilled is the
// client's error and leaves nothing in the store, its temp directory, or
// the database.
func TestInterruptedLargeUpload(t *testing.T) {
	f := newFastFixture(t)
	data := bytesOf(3*fastMemoryLimit, 6)
	body := io.MultiReader(bytes.NewReader(data), iotest.ErrReader(errors.New("connection reset")))
	_, err := f.pkgs.NewLargeUploadBuffer(body, packages_model.TypeGeneric, int64(len(data))+100)
	if apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("interrupted upload: %v (%v), want Invalid", err, apperr.KindOf(err))
	}
	f.tmpEmpty(t)
	n := 0
	if err := f.store.Iterate(context.Background(), func(string, int64) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("%d blobs stored, %v", n, err)
	}
}

// TestBlobRestoredQueuesDigests: the blob task removed an incomplete row,
// the digests job ran meanwhile and found nothing, then the task put the
// row back (an upload had recorded a file against it): BlobRestored
// queues the job again, which completes the row; a complete row, or one
// that is gone, gets no job.
func TestBlobRestoredQueuesDigests(t *testing.T) {
	f := newFastFixture(t)
	ctx := context.Background()
	alice := f.user(t, "alice", false)
	v := &packages_service.VersionInfo{Owner: alice, Creator: alice, Type: packages_model.TypeGeneric, Name: "big", Version: "1.0"}
	large := bytesOf(2*fastMemoryLimit+5, 7)
	if err := f.upload(t, v, "large.bin", large, -1); err != nil {
		t.Fatal(err)
	}
	blob := f.wantBlob(t, large, false)
	saved := *blob
	if _, err := f.db.Xorm().Exec("DELETE FROM package_blob WHERE id = ?", blob.ID); err != nil {
		t.Fatal(err)
	}
	if ran, err := f.jobs.RunOnce(ctx); err != nil || ran != 1 {
		t.Fatalf("ran %d jobs, %v", ran, err)
	}
	if err := packages_model.RestoreBlob(ctx, f.db.Engine(), &saved); err != nil {
		t.Fatal(err)
	}
	f.wantBlob(t, large, false)
	if err := f.pkgs.BlobRestored(ctx, saved.ID); err != nil {
		t.Fatal(err)
	}
	if n := f.pendingDigestJobs(t); n != 1 {
		t.Fatalf("%d digest jobs queued after the restore, want 1", n)
	}
	if ran, err := f.jobs.RunOnce(ctx); err != nil || ran != 1 {
		t.Fatalf("ran %d jobs, %v", ran, err)
	}
	f.wantBlob(t, large, true)
	if err := f.pkgs.BlobRestored(ctx, saved.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.pkgs.BlobRestored(ctx, 999999); err != nil {
		t.Fatal(err)
	}
	if n := f.pendingDigestJobs(t); n != 0 {
		t.Fatalf("%d digest jobs queued for a complete or missing row", n)
	}
}
