package tests

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	packages_model "wharf/models/packages"
	"wharf/routers"
	packages_service "wharf/services/packages"
)

// TestReview13EmptyTaskRemovesFreshVersion: the empty-packages task lists
// packages without versions, then removes each with RemovePackage, which
// removes the package with every version it has by then. A package left
// empty (a crash, as the task's comment says) that receives a version
// between the listing and the removal loses that version: the task must
// remove only a package still empty under its lock.
func TestReview13EmptyTaskRemovesFreshVersion(t *testing.T) {
	var s *server
	var armed atomic.Bool
	taskDone := make(chan int, 1)
	s = newServerWithOptions(t, routers.Options{PackagesFault: func(_ context.Context, p packages_service.FaultPoint) error {
		if p == packages_service.FaultBeforeCommit && armed.CompareAndSwap(true, false) {
			// Inside the upload's transaction (version written, not yet
			// committed): the empty task lists "lib" as empty and then
			// waits for the package's lock (or the writer's turn).
			go func() {
				status, _, _ := s.do(t, "POST", "/api/v1/admin/cleanup/empty", "", tokenHeader(s.AdminToken))
				taskDone <- status
			}()
			time.Sleep(1500 * time.Millisecond)
		}
		return nil
	}})
	s.createUser(t, "acme")
	ctx := context.Background()
	owner, err := s.App.Users.GetByName(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := packages_model.GetOrInsertPackage(ctx, s.App.DB.Engine(), &packages_model.Package{OwnerID: owner.ID, Type: packages_model.TypeGeneric, Name: "lib", CreatedUnix: time.Now().Unix()}); err != nil {
		t.Fatal(err)
	}
	h := basic("acme", "acme-password")
	armed.Store(true)
	const body = "a version published into a package left empty"
	if status, _, got := s.do(t, "PUT", "/api/packages/acme/generic/lib/1.0/a.bin", body, h); status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, got)
	}
	t.Logf("empty task: %d", <-taskDone)
	if status, _, got := s.do(t, "GET", "/api/packages/acme/generic/lib/1.0/a.bin", "", h); status != http.StatusOK || got != body {
		t.Fatalf("the version published a moment ago: %d %q (the empty-packages task removed it)", status, got)
	}
}
