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

// TestReview13BlobGCReuseOfOldRow: a version is removed, its blob row
// (old, unreferenced) stays. The same bytes are published again: the
// upload's transaction reuses the old row (GetOrInsertBlob's ON CONFLICT
// DO NOTHING reads it back, created_unix stays old) and checks the bytes
// are there (recordBlob's Stat). A blobs run then happens while the
// upload's transaction is still open: it deletes the row (the upload's
// package_file is not visible to it yet), BlobReferenced sees no file and
// no row, the claim succeeds, and the bytes go. The upload then commits a
// file whose blob_id has neither row nor bytes. On SQLite writers take
// turns (the blobs run waits), so this shows on PostgreSQL.
func TestReview13BlobGCReuseOfOldRow(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().Unix())
	now := func() time.Time { return time.Unix(clock.Load(), 0) }
	var s *server
	var armed atomic.Bool
	gcStatus := make(chan int, 1)
	late := make(chan int, 1)
	s = newServerWithOptions(t, routers.Options{Now: now, PackagesFault: func(_ context.Context, p packages_service.FaultPoint) error {
		if p == packages_service.FaultBeforeCommit && armed.CompareAndSwap(true, false) {
			// Inside the upload's transaction, after recordBlob: a blobs
			// run from another connection. Bounded, since on SQLite it
			// waits for this transaction.
			done := late
			go func() {
				status, _, _ := s.do(t, "POST", "/api/v1/admin/cleanup/blobs", "", tokenHeader(s.AdminToken))
				done <- status
			}()
			select {
			case st := <-done:
				gcStatus <- st
			case <-time.After(3 * time.Second):
				// SQLite: the run waits for this transaction; collected
				// below.
			}
		}
		return nil
	}}, func(c *setting.Config) { c.Packages.BlobGCGrace = time.Hour })
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")
	const body = "bytes whose old row an upload reuses while a blobs run deletes it"
	if status, _, got := s.do(t, "PUT", "/api/packages/acme/generic/lib/1.0/a.bin", body, h); status != http.StatusCreated {
		t.Fatalf("first upload: %d %s", status, got)
	}
	if status, _, got := s.do(t, "DELETE", "/api/v1/packages/acme/generic/lib/1.0", "", h); status != http.StatusNoContent {
		t.Fatalf("remove: %d %s", status, got)
	}
	clock.Add(int64(2 * time.Hour / time.Second)) // the row is past the grace period
	armed.Store(true)
	if status, _, got := s.do(t, "PUT", "/api/packages/acme/generic/lib/1.0/a.bin", body, h); status != http.StatusCreated {
		t.Fatalf("upload again: %d %s", status, got)
	}
	select {
	case st := <-gcStatus:
		t.Logf("blobs run inside the upload's transaction: %d", st)
	default:
		st := <-late
		t.Logf("the blobs run waited for the upload (SQLite: writers take turns): %d", st)
	}
	// Whatever happened, a recorded file must download.
	status, _, got := s.do(t, "GET", "/api/packages/acme/generic/lib/1.0/a.bin", "", h)
	if status != http.StatusOK || got != body {
		t.Fatalf("download after the race: %d %q (a file row points at a blob row or bytes the blobs run deleted)", status, got)
	}
	if _, err := s.App.Store.Stat(context.Background(), blobKey(body)); err != nil {
		t.Fatalf("the recorded blob's bytes: %v", err)
	}
}
