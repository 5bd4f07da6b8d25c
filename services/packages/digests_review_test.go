package packages_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	packages_model "wharf/models/packages"
	packages_service "wharf/services/packages"
)

// TestFillDigestsReview: the digests job run twice at once fills the row
// once and right; with the blob's bytes gone it fails (to be retried)
// and leaves the row as it was; and a later upload of the same bytes
// with every digest completes the row, after which the job has nothing
// to do.
func TestFillDigestsReview(t *testing.T) {
	f := newFastFixture(t)
	ctx := context.Background()
	alice := f.user(t, "alice", false)
	v := &packages_service.VersionInfo{Owner: alice, Creator: alice, Type: packages_model.TypeGeneric, Name: "big", Version: "1.0"}

	large := bytesOf(3*fastMemoryLimit+5, 7)
	if err := f.upload(t, v, "large.bin", large, -1); err != nil {
		t.Fatal(err)
	}
	blob := f.wantBlob(t, large, false)
	payload := `{"blob_id":` + strconv.FormatInt(blob.ID, 10) + `}`
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = f.pkgs.FillDigests(ctx, payload) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent run %d: %v", i, err)
		}
	}
	f.wantBlob(t, large, true)

	// Bytes gone under a row with its digests missing.
	other := bytesOf(2*fastMemoryLimit+3, 8)
	v2 := *v
	v2.Version = "2.0"
	if err := f.upload(t, &v2, "other.bin", other, int64(len(other))); err != nil {
		t.Fatal(err)
	}
	ob := f.wantBlob(t, other, false)
	sum := sha256.Sum256(other)
	key := hex.EncodeToString(sum[:])
	if err := os.Remove(filepath.Join(f.storeDir, key[0:2], key[2:4], key)); err != nil {
		t.Fatal(err)
	}
	if err := f.pkgs.FillDigests(ctx, `{"blob_id":`+strconv.FormatInt(ob.ID, 10)+`}`); err == nil {
		t.Fatal("the digests job succeeded without the bytes")
	}
	f.wantBlob(t, other, false)

	// The same bytes again, read with every digest (NewUploadBuffer).
	buf, err := f.pkgs.NewUploadBuffer(bytes.NewReader(other), packages_model.TypeGeneric)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	v3 := *v
	v3.Version = "3.0"
	if _, err := f.pkgs.CreatePackageOrAddFileToExisting(ctx, &v3, &packages_service.FileInfo{Name: "again.bin", IsLead: true, Data: buf}, nil); err != nil {
		t.Fatal(err)
	}
	f.wantBlob(t, other, true)
	if !f.stored(t, other) {
		t.Fatal("the bytes were not stored again")
	}
	for range 3 {
		if _, err := f.jobs.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	f.wantBlob(t, other, true)
	f.tmpEmpty(t)
}

// TestUploadBufferAllDigestsReview: the buffer every format but generic
// reads its upload with (NewUploadBuffer: npm, Composer uploads and
// archive builds, Cargo, RubyGems) has all four digests when the upload
// spills, so their documents' sha1/sha512 never wait for the job.
func TestUploadBufferAllDigestsReview(t *testing.T) {
	f := newFastFixture(t)
	data := bytesOf(3*fastMemoryLimit+11, 4)
	for _, typ := range []packages_model.Type{packages_model.TypeNpm, packages_model.TypeComposer, packages_model.TypeCargo, packages_model.TypeRubyGems} {
		buf, err := f.pkgs.NewUploadBuffer(bytes.NewReader(data), typ)
		if err != nil {
			t.Fatal(err)
		}
		h := buf.Hashes()
		if buf.InMemory() || !h.Complete() || h.SHA256 == "" {
			t.Fatalf("%s: in memory %v, hashes %+v", typ, buf.InMemory(), h)
		}
		if err := buf.Close(); err != nil {
			t.Fatal(err)
		}
	}
	f.tmpEmpty(t)
}

// TestAllDigestsFirstThenLargeReview: bytes stored first with every
// digest (a format's buffer), then again through the large path (SHA-256
// only, spilled): one row, complete, no job, the bytes stored once.
func TestAllDigestsFirstThenLargeReview(t *testing.T) {
	f := newFastFixture(t)
	ctx := context.Background()
	alice := f.user(t, "alice", false)
	data := bytesOf(2*fastMemoryLimit+9, 12)
	all, err := f.pkgs.NewUploadBuffer(bytes.NewReader(data), packages_model.TypeGeneric)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	v := &packages_service.VersionInfo{Owner: alice, Creator: alice, Type: packages_model.TypeGeneric, Name: "mix", Version: "1.0"}
	if _, err := f.pkgs.CreatePackageOrAddFileToExisting(ctx, v, &packages_service.FileInfo{Name: "a.bin", IsLead: true, Data: all}, nil); err != nil {
		t.Fatal(err)
	}
	f.wantBlob(t, data, true)
	v2 := *v
	v2.Version = "2.0"
	if err := f.upload(t, &v2, "b.bin", data, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	f.wantBlob(t, data, true)
	if n := f.pendingDigestJobs(t); n != 0 {
		t.Fatalf("%d digest jobs queued for a complete row", n)
	}
	if n, err := f.db.Xorm().Count(new(packages_model.PackageBlob)); err != nil || n != 1 {
		t.Fatalf("%d blob rows, %v", n, err)
	}
	if !f.stored(t, data) {
		t.Fatal("the bytes are not stored")
	}
	f.tmpEmpty(t)
}
