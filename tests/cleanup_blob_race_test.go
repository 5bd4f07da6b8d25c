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

// TestCleanupBlobRunRacingReupload: bytes of a removed version, old enough
// for the blob task, are uploaded again (the same version published
// again) while a blobs run happens. Whatever the order, no file row may
// point at a blob row or bytes the run deleted: the file must download.
//
//   - Between the upload's Save and its transaction: Save found the bytes
//     present and wrote nothing; the run deletes them before the upload
//     records its row. The upload must notice and write them again.
//   - Inside the upload's transaction, after recordBlob: the upload reused
//     the old, unreferenced blob row (GetOrInsertBlob reads it back,
//     created_unix stays old) and found the bytes there; the run, from
//     another connection, does not see the upload's file yet. On SQLite
//     writers take turns (the run waits for the upload), so the race itself
//     shows on PostgreSQL.
func TestCleanupBlobRunRacingReupload(t *testing.T) {
	for _, c := range []struct {
		name  string
		point packages_service.FaultPoint
		// during: the run must finish while the upload waits (no
		// transaction of the upload is open then).
		during bool
	}{
		{"after the blob is saved", packages_service.FaultAfterBlob, true},
		{"inside the upload's transaction", packages_service.FaultBeforeCommit, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var clock atomic.Int64
			clock.Store(time.Now().Unix())
			now := func() time.Time { return time.Unix(clock.Load(), 0) }
			var s *server
			var armed atomic.Bool
			during := make(chan int, 1) // the run's status, when it finished while the upload waited
			late := make(chan int, 1)   // the run's status, when it waited for the upload
			s = newServerWithOptions(t, routers.Options{Now: now, PackagesFault: func(_ context.Context, p packages_service.FaultPoint) error {
				if p != c.point || !armed.CompareAndSwap(true, false) {
					return nil
				}
				go func() {
					status, _, _ := s.do(t, "POST", "/api/v1/admin/cleanup/blobs", "", tokenHeader(s.AdminToken))
					late <- status
				}()
				select {
				case st := <-late:
					during <- st
				case <-time.After(3 * time.Second):
					// The run waits for the upload's transaction: collected below.
				}
				return nil
			}}, func(c *setting.Config) { c.Packages.BlobGCGrace = time.Hour })
			s.createUser(t, "acme")
			h := basic("acme", "acme-password")
			body := "bytes published, removed, and published again while a blobs run happens: " + c.name
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
			var st int
			select {
			case st = <-during:
				t.Logf("the blobs run finished during the upload: %d", st)
			default:
				if c.during {
					t.Fatal("the blobs run did not happen during the upload")
				}
				st = <-late
				t.Logf("the blobs run waited for the upload's transaction: %d", st)
			}
			if st != http.StatusOK && st != http.StatusCreated && st != http.StatusAccepted {
				t.Fatalf("blobs run: %d", st)
			}
			status, _, got := s.do(t, "GET", "/api/packages/acme/generic/lib/1.0/a.bin", "", h)
			if status != http.StatusOK || got != body {
				t.Fatalf("download after the race: %d %q (a file row points at a blob row or bytes the blobs run deleted)", status, got)
			}
			if _, err := s.App.Store.Stat(context.Background(), blobKey(body)); err != nil {
				t.Fatalf("the recorded blob's bytes: %v", err)
			}
		})
	}
}
