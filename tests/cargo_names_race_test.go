package tests

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"wharf/routers"
	packages_service "wharf/services/packages"
)

// TestCargoCanonicalNameRace: first publishes of "a-b" and "a_b" at the
// same moment (one crate for crates.io's rule) leave exactly one crate;
// the other publish gets a 409. On PostgreSQL the two inserts cannot see
// each other until they commit, so this holds only by the owner's lock.
func TestCargoCanonicalNameRace(t *testing.T) {
	// Each publish waits, after inserting its rows and before its checks,
	// until the others have inserted theirs (or a moment has passed:
	// SQLite lets only one transaction write at a time), so the inserts
	// overlap as they can in production.
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	s := newServerWithOptions(t, routers.Options{PackagesFault: func(_ context.Context, p packages_service.FaultPoint) error {
		if p != packages_service.FaultAfterRows {
			return nil
		}
		mu.Lock()
		arrived++
		if arrived%3 == 0 {
			close(all)
			all = make(chan struct{})
		}
		wait := all
		mu.Unlock()
		select {
		case <-wait:
		case <-time.After(300 * time.Millisecond):
		}
		return nil
	}})
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")
	for round := range 5 {
		names := []string{fmt.Sprintf("race-%d", round), fmt.Sprintf("race_%d", round), fmt.Sprintf("Race-%d", round)}
		status := make([]int, len(names))
		var wg sync.WaitGroup
		for i, n := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status[i], _, _ = s.do(t, "PUT", "/api/packages/acme/cargo/api/v1/crates/new", cargoPublishBody(n, "1.0.0"), h)
			}()
		}
		wg.Wait()
		ok := 0
		for i, st := range status {
			switch st {
			case 200:
				ok++
			case 409:
			default:
				t.Fatalf("round %d: publish of %s: %d", round, names[i], st)
			}
		}
		var crates int64
		if _, err := s.App.DB.Xorm().SQL("SELECT COUNT(*) FROM package WHERE type = 'cargo' AND REPLACE(lower_name, '-', '_') = ?", fmt.Sprintf("race_%d", round)).Get(&crates); err != nil {
			t.Fatal(err)
		}
		if ok != 1 || crates != 1 {
			t.Fatalf("round %d: %d publishes succeeded and %d crates exist, want 1 and 1 (statuses %v)", round, ok, crates, status)
		}
	}
}
