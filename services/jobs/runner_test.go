package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wharf/models/db"
	jobs_model "wharf/models/jobs"
	"wharf/models/unittest"
	"wharf/services/jobs"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func enqueue(t *testing.T, d *db.DB, kind, payload string, at time.Time) int64 {
	t.Helper()
	var id int64
	err := d.WithTx(context.Background(), func(tx db.Engine) error {
		j, err := jobs_model.Enqueue(context.Background(), tx, kind, payload, at)
		id = j.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestRetryBackoffAndGiveUp(t *testing.T) {
	d := unittest.NewDB(t)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	r := jobs.NewRunner(d, unittest.DiscardLogger(), c.now)
	r.MaxAttempts = 3
	var calls []string
	r.Register("flaky", func(_ context.Context, p string) error {
		calls = append(calls, p)
		if len(calls) < 2 {
			return errors.New("not yet")
		}
		return nil
	})
	r.Register("broken", func(context.Context, string) error { return errors.New("always") })
	enqueue(t, d, "flaky", "a", c.now())
	broken := enqueue(t, d, "broken", "b", c.now())
	enqueue(t, d, "later", "c", c.now().Add(time.Hour))

	ctx := context.Background()
	if n, err := r.RunOnce(ctx); err != nil || n != 2 {
		t.Fatalf("first round ran %d, %v", n, err)
	}
	if n, _ := r.RunOnce(ctx); n != 0 {
		t.Fatalf("a failed job ran again before its backoff: %d", n)
	}
	c.add(jobs.Backoff(1))
	if n, _ := r.RunOnce(ctx); n != 2 || len(calls) != 2 {
		t.Fatalf("second round ran %d, calls %v", n, calls)
	}
	c.add(jobs.Backoff(2))
	r.RunOnce(ctx)
	failed, err := jobs_model.ListFailed(ctx, d.Engine(), 10)
	if err != nil || len(failed) != 1 || failed[0].ID != broken || failed[0].LastError != "always" || failed[0].Attempts != 3 {
		t.Fatalf("failed jobs = %+v, %v", failed, err)
	}
	c.add(24 * time.Hour)
	r.RunOnce(ctx) // "later" has no handler: it fails and is kept too
	n, _ := jobs_model.CountPending(ctx, d.Engine())
	if n != 1 {
		t.Fatalf("%d jobs pending, want the unhandled one awaiting retry", n)
	}
	if jobs.Backoff(1) != 10*time.Second || jobs.Backoff(3) != 40*time.Second || jobs.Backoff(50) != time.Hour {
		t.Fatal("backoff schedule changed")
	}
}

// TestConcurrentRunnersRunEachJobOnce runs several runners (as several
// Wharf processes would) on one database.
func TestConcurrentRunnersRunEachJobOnce(t *testing.T) {
	d := unittest.NewDB(t)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	const jobsN = 40
	for i := range jobsN {
		enqueue(t, d, "count", fmt.Sprint(i), c.now())
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		r := jobs.NewRunner(d, unittest.DiscardLogger(), c.now)
		r.Register("count", func(_ context.Context, p string) error {
			mu.Lock()
			seen[p]++
			mu.Unlock()
			return nil
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.RunOnce(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(seen) != jobsN {
		t.Fatalf("%d distinct jobs ran, want %d", len(seen), jobsN)
	}
	for p, n := range seen {
		if n != 1 {
			t.Fatalf("job %s ran %d times", p, n)
		}
	}
}

func TestLeaseExpiryAndRunNow(t *testing.T) {
	d := unittest.NewDB(t)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	ctx := context.Background()
	var runs atomic.Int32
	r := jobs.NewRunner(d, unittest.DiscardLogger(), c.now)
	r.Register("k", func(context.Context, string) error { runs.Add(1); return nil })
	id := enqueue(t, d, "k", "", c.now())
	// Another process claims it and dies.
	j, _, _ := jobs_model.GetJob(ctx, d.Engine(), id)
	if won, err := jobs_model.Claim(ctx, d.Engine(), j, c.now().Unix(), c.now().Add(r.Lease).Unix()); !won || err != nil {
		t.Fatal(won, err)
	}
	if ok, _ := r.RunNow(ctx, id); ok || runs.Load() != 0 {
		t.Fatal("a leased job ran")
	}
	c.add(r.Lease + time.Second)
	if ok, err := r.RunNow(ctx, id); !ok || err != nil || runs.Load() != 1 {
		t.Fatalf("after the lease ran out: %v, %v, %d runs", ok, err, runs.Load())
	}
	if ok, _ := r.RunNow(ctx, id); ok || runs.Load() != 1 {
		t.Fatal("a completed job ran again")
	}
}
