package tests

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wharf/modules/setting"
	"wharf/routers"
	packages_service "wharf/services/packages"
)

// TestReview11CargoPublishLockOrder: with an owner quota configured, a
// non-administrator's publish takes the owner's lock first (checkQuotas)
// and then the crate's (lockedPackage); an administrator's publish (exempt
// from quotas) and every publish without quotas take the crate's lock
// first and the owner's after it (checkUnique's LockOwner). Two publishes
// of one crate, one by an administrator, then wait for each other: on
// PostgreSQL one is killed as a deadlock and its publisher gets a 500.
// (On SQLite writers take turns, so this needs WHARF_TEST_DB=postgres.)
func TestReview11CargoPublishLockOrder(t *testing.T) {
	var calls atomic.Int32
	reachedA := make(chan struct{})
	s := newServerWithOptions(t, routers.Options{PackagesFault: func(_ context.Context, p packages_service.FaultPoint) error {
		if p == packages_service.FaultAfterRows && calls.Add(1) == 1 {
			close(reachedA)
			time.Sleep(1500 * time.Millisecond) // B takes the owner's lock and waits for the crate's
		}
		return nil
	}}, func(c *setting.Config) { c.Packages.LimitTotalOwnerCount = 1000 })
	s.createUser(t, "alice")
	aliceH := cargoAuth(packageToken(t, s, "alice", "cargo", "write:package"))
	adminH := cargoAuth(s.AdminToken)
	publish := "/api/packages/alice/cargo/api/v1/crates/new"
	// The crate exists (published by the admin, which does not reach the
	// counter: the fault hook is armed for the next one only).
	calls.Store(-1)
	if status, _, body := s.do(t, "PUT", publish, cargoPublishBody("acorn", "1.0.0"), adminH); status != 200 {
		t.Fatalf("first publish: %d %s", status, body)
	}
	calls.Store(0)

	var wg sync.WaitGroup
	var statusA, statusB int
	var bodyA, bodyB string
	wg.Add(2)
	go func() {
		defer wg.Done()
		statusA, _, bodyA = s.do(t, "PUT", publish, cargoPublishBody("acorn", "1.0.1"), adminH)
	}()
	go func() {
		defer wg.Done()
		<-reachedA
		statusB, _, bodyB = s.do(t, "PUT", publish, cargoPublishBody("acorn", "1.0.2"), aliceH)
	}()
	wg.Wait()
	t.Logf("admin: %d %s; alice: %d %s", statusA, bodyA, statusB, bodyB)
	if s.App.Cfg.Database.Type == "postgres" {
		time.Sleep(time.Second) // statistics are flushed when a backend goes idle
		var deadlocks int64
		if err := s.App.DB.SQL().QueryRowContext(t.Context(), "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").Scan(&deadlocks); err == nil {
			t.Logf("PostgreSQL counted %d deadlock(s) in this database", deadlocks)
		}
	}
	if statusA >= 500 || statusB >= 500 {
		t.Errorf("concurrent publishes of one crate by an admin and a user with a quota configured: admin %d, alice %d", statusA, statusB)
	}
}

// TestReview11CargoConcurrentPublishesOneCrate: many publishes of one crate
// at once (distinct versions, and one version twice): each distinct version
// stored once, the duplicate 409, no 5xx, and the crate's change serial
// counts every change (so that no two contents share an ETag). Holds on
// SQLite and PostgreSQL.
func TestReview11CargoConcurrentPublishesOneCrate(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	h := cargoAuth(packageToken(t, s, "alice", "cargo", "write:package"))
	publish := "/api/packages/alice/cargo/api/v1/crates/new"
	versions := []string{"1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4", "1.0.0", "1.0.5+b", "1.0.5"}
	statuses := make([]int, len(versions))
	var wg sync.WaitGroup
	for i, v := range versions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body string
			statuses[i], _, body = s.do(t, "PUT", publish, cargoPublishBody("acorn", v), h)
			if statuses[i] >= 500 {
				t.Errorf("publish %s: %d %s", v, statuses[i], body)
			}
		}()
	}
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		if st == 200 {
			ok++
		}
	}
	_, body := sparseFile(t, s, "alice", "ac/or/acorn")
	lines := strings.Count(body, "\n")
	var stamp string
	if err := s.App.DB.SQL().QueryRowContext(t.Context(), "SELECT value FROM package_property WHERE name = 'cargo.modified'").Scan(&stamp); err != nil {
		t.Fatal(err)
	}
	t.Logf("statuses %v, %d lines, stamp %q", statuses, lines, stamp)
	if ok != 6 || lines != 6 || !strings.HasSuffix(stamp, " 6") {
		t.Errorf("%d publishes accepted, %d index lines, stamp %q; want 6, 6, serial 6", ok, lines, stamp)
	}
}
