package user_test

import (
	"context"
	"sync"
	"testing"

	"wharf/models/unittest"
)

// TestBootstrapRace: several processes starting at once on a new database
// each bootstrap the first administrator (here, several services on one
// database, as `wharf web` processes are): exactly one makes it, the
// others see it made and neither fail nor make a second. On PostgreSQL
// (WHARF_TEST_DB=postgres) both transactions count no user and the later
// insert meets the name; on SQLite the write lock taken at BEGIN already
// orders them.
func TestBootstrapRace(t *testing.T) {
	t.Logf("backend: %s", unittest.Backend())
	f := newFixture(t)
	const racers = 6
	var wg sync.WaitGroup
	made := make([]bool, racers)
	errs := make([]error, racers)
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			admin, err := f.users.Bootstrap(context.Background(), "root", "root@example.com", "")
			made[i], errs[i] = admin != nil, err
		})
	}
	close(start)
	wg.Wait()
	n := 0
	for i := range racers {
		if errs[i] != nil {
			t.Fatalf("racer %d: %v", i, errs[i])
		}
		if made[i] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d racers made the first administrator, want 1", n)
	}
	u, err := f.users.GetByName(context.Background(), "root")
	if err != nil || !u.IsAdmin {
		t.Fatalf("the administrator: %+v, %v", u, err)
	}
}
