package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"wharf/models/db"
	jobs_model "wharf/models/jobs"
	"wharf/models/unittest"
)

// TestQueueOnceAcrossRacers: many transactions at once (as several
// processes starting together schedule the periodic cleanup) each queue a
// job unless one of that kind and payload is pending: exactly one is
// queued. On PostgreSQL (WHARF_TEST_DB=postgres) this needs LockSlot;
// SQLite's write lock at BEGIN already orders them.
func TestQueueOnceAcrossRacers(t *testing.T) {
	t.Logf("backend: %s", unittest.Backend())
	d := unittest.NewDB(t)
	ctx := context.Background()
	const racers = 8
	start := make(chan struct{})
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			<-start
			errs[i] = d.WithTx(ctx, func(tx db.Engine) error {
				pending, err := jobs_model.HasPendingOfKind(ctx, tx, "k", "scheduled")
				if err != nil || pending {
					return err
				}
				_, err = jobs_model.Enqueue(ctx, tx, "k", "scheduled", time.Now())
				return err
			})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("racer %d: %v", i, err)
		}
	}
	n, err := d.Xorm().Where("kind = ? AND payload = ?", "k", "scheduled").Count(new(jobs_model.Job))
	if err != nil || n != 1 {
		t.Fatalf("%d jobs queued (%v), want 1", n, err)
	}
	// Another payload is another slot: it queues beside the first.
	if err := d.WithTx(ctx, func(tx db.Engine) error {
		pending, err := jobs_model.HasPendingOfKind(ctx, tx, "k", "other")
		if err != nil || pending {
			t.Fatalf("pending %v, %v", pending, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
