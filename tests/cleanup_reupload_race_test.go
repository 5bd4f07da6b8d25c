package tests

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"wharf/modules/setting"
	"wharf/routers"
	packages_service "wharf/services/packages"
)

// TestCleanupBlobGCRacingReupload: bytes of a removed version, old enough
// for the blob task, are uploaded again (the same version published
// again). The upload's Save finds them present and writes nothing; the
// blob task then deletes them before the upload records its row. The
// upload must notice and write them again: no row may point at missing
// bytes, and the file must download.
func TestCleanupBlobGCRacingReupload(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().Unix())
	now := func() time.Time { return time.Unix(clock.Load(), 0) }
	var s *server
	var armed atomic.Bool
	gcStatus := make(chan int, 1)
	s = newServerWithOptions(t, routers.Options{Now: now, PackagesFault: func(_ context.Context, p packages_service.FaultPoint) error {
		if p == packages_service.FaultAfterBlob && armed.CompareAndSwap(true, false) {
			// Between the upload's Save and its transaction: a blobs run.
			status, _, _ := s.do(t, "POST", "/api/v1/admin/cleanup/blobs", "", tokenHeader(s.AdminToken))
			gcStatus <- status
		}
		return nil
	}}, func(c *setting.Config) { c.Packages.BlobGCGrace = time.Hour })
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")
	const body = "bytes published, removed, and published again"
	if status, _, got := s.do(t, "PUT", "/api/packages/acme/generic/lib/1.0/a.bin", body, h); status != http.StatusCreated {
		t.Fatalf("first upload: %d %s", status, got)
	}
	if status, _, got := s.do(t, "DELETE", "/api/v1/packages/acme/generic/lib/1.0", "", h); status != http.StatusNoContent {
		t.Fatalf("remove: %d %s", status, got)
	}
	clock.Add(int64(2 * time.Hour / time.Second)) // past the grace period
	armed.Store(true)
	if status, _, got := s.do(t, "PUT", "/api/packages/acme/generic/lib/1.0/a.bin", body, h); status != http.StatusCreated {
		t.Fatalf("upload again: %d %s", status, got)
	}
	select {
	case st := <-gcStatus:
		if st != http.StatusOK && st != http.StatusCreated && st != http.StatusAccepted {
			t.Fatalf("blobs run during the upload: %d", st)
		}
	default:
		t.Fatal("the blobs run did not happen during the upload")
	}
	status, _, got := s.do(t, "GET", "/api/packages/acme/generic/lib/1.0/a.bin", "", h)
	if status != http.StatusOK || got != body {
		t.Fatalf("download after the race: %d %q", status, got)
	}
	if _, err := s.App.Store.Stat(context.Background(), blobKey(body)); err != nil {
		t.Fatalf("the recorded blob's bytes: %v", err)
	}
}
