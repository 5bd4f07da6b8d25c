package tests

import (
	"context"
	"net/http"
	"testing"

	"wharf/modules/setting"
)

// storedBlobs counts the blobs in the app's store.
func storedBlobs(t *testing.T, s *server) int {
	t.Helper()
	n := 0
	if err := s.App.Store.Iterate(context.Background(), func(string, int64) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReviewIntegrityRefusedUploadsStoreNoBlob: an upload refused for a
// reason known before any byte is stored (a version or file that exists,
// an owner over its quota) leaves no blob behind. Nothing removes
// unreferenced blobs, so each such refusal used to add its bytes to the
// disk for good: an owner at its quota could fill the disk by uploading
// again and again.
func TestReviewIntegrityRefusedUploadsStoreNoBlob(t *testing.T) {
	s := newServer(t, func(c *setting.Config) { c.Packages.LimitTotalOwnerSize = 1000 })
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")

	p := newNpmPackage(t, s, "blobs")
	p.publish("1.0.0")
	if status, _, body := s.do(t, "PUT", "/api/packages/acme/generic/g/1/a.bin", "first content", h); status != http.StatusCreated {
		t.Fatalf("generic upload: %d %s", status, body)
	}
	before := storedBlobs(t, s)

	// npm: a republish of 1.0.0 with other bytes.
	status, _, body := s.do(t, "PUT", p.path, npmPublishBody(p.name, "1.0.0", nil, npmTarball(map[string]string{
		"package/package.json": `{"name":"@acme/blobs","version":"1.0.0","description":"other bytes"}`})), p.h)
	if status != http.StatusForbidden {
		t.Fatalf("npm republish: %d %s", status, body)
	}
	npmError(t, body)
	if n := storedBlobs(t, s); n != before {
		t.Fatalf("npm republish refused, but the store went from %d to %d blobs", before, n)
	}

	// generic: the same file of the same version again, other bytes.
	if status, _, body := s.do(t, "PUT", "/api/packages/acme/generic/g/1/a.bin", "second content", h); status != http.StatusConflict {
		t.Fatalf("generic re-upload: %d %s", status, body)
	}
	if n := storedBlobs(t, s); n != before {
		t.Fatalf("generic re-upload refused, but the store went from %d to %d blobs", before, n)
	}

	// Over the owner's size quota.
	big := make([]byte, 1500)
	for i := range big {
		big[i] = byte(i)
	}
	if status, _, body := s.do(t, "PUT", "/api/packages/acme/generic/g/2/big.bin", string(big), h); status != http.StatusForbidden {
		t.Fatalf("upload over the quota: %d %s", status, body)
	}
	if n := storedBlobs(t, s); n != before {
		t.Fatalf("upload over the quota refused, but the store went from %d to %d blobs", before, n)
	}
}

// TestReviewIntegrityCountQuotaCountsVersions: LIMIT_TOTAL_OWNER_COUNT
// limits package versions; a file added to a version that exists creates
// none, so an owner at the limit may still add it. A new version is
// refused.
func TestReviewIntegrityCountQuotaCountsVersions(t *testing.T) {
	s := newServer(t, func(c *setting.Config) { c.Packages.LimitTotalOwnerCount = 1 })
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")
	if status, _, body := s.do(t, "PUT", "/api/packages/acme/generic/g/1/a.bin", "a", h); status != http.StatusCreated {
		t.Fatalf("first upload: %d %s", status, body)
	}
	if status, _, body := s.do(t, "PUT", "/api/packages/acme/generic/g/1/b.bin", "b", h); status != http.StatusCreated {
		t.Fatalf("a second file of the existing version: %d %s", status, body)
	}
	if status, _, body := s.do(t, "PUT", "/api/packages/acme/generic/g/2/a.bin", "c", h); status != http.StatusForbidden {
		t.Fatalf("a second version past the count limit: %d %s", status, body)
	}
}
