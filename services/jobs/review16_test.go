package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"wharf/models/db"
	jobs_model "wharf/models/jobs"
	"wharf/models/unittest"
	"wharf/services/jobs"
)

// TestReview16HeartbeatRacingCommitKeepsTheLease: a handler that holds its
// lease all along commits many small transactions while its heartbeat
// keeps extending the lease (each tick to a new second, as a real clock
// does every Lease/3). No commit may be refused: the runner never lost the
// job, no other runner claimed it. The fence reads the lease values
// (lease.values) before its UPDATE reaches the database; on PostgreSQL an
// extension that commits in between moves locked_until to a value the
// fence did not list, the UPDATE matches nothing and a legitimate commit
// fails with ErrLeaseLost (its work rolled back, the job retried with
// backoff). SQLite is safe: the fence runs after BEGIN IMMEDIATE, when no
// extension can land until the commit.
func TestReview16HeartbeatRacingCommitKeepsTheLease(t *testing.T) {
	t.Logf("backend: %s", unittest.Backend())
	d := unittest.NewDB(t)
	if _, err := d.Xorm().Exec("CREATE TABLE fence_probe (who VARCHAR(20) NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	r := jobs.NewRunner(d, unittest.DiscardLogger(), c.now)
	tick := manualTicker(r)
	const commits = 1500
	handlerErr := make(chan error, 1)
	handlerDone := make(chan struct{})
	r.Register("k", func(ctx context.Context, _ string) error {
		defer close(handlerDone)
		for i := range commits {
			if err := markDone(ctx, d, "h"); err != nil {
				// A lease really lost stays lost (another runner holds
				// the job, or it ran out): the very next commit would be
				// refused too, and the heartbeat would have ended ctx.
				again := markDone(ctx, d, "h")
				err = fmt.Errorf("commit %d of %d: %w (ctx: %v; the next commit: %v)", i+1, commits, err, context.Cause(ctx), again)
				handlerErr <- err
				return err
			}
		}
		handlerErr <- nil
		return nil
	})
	enqueue(t, d, "k", "", c.now())
	// The heartbeat: one extension after another, each to a later second,
	// for as long as the handler runs.
	beats := make(chan int, 1)
	go func() {
		n := 0
		defer func() { beats <- n }()
		for {
			c.add(time.Second)
			select {
			case tick <- time.Time{}:
				n++
			case <-handlerDone:
				return
			}
		}
	}()
	done := runInBackground(r)
	err := <-handlerErr
	if n := <-done; n != 1 {
		t.Fatalf("ran %d jobs, want 1", n)
	}
	n := <-beats
	t.Logf("%d heartbeats during %d commits", n, commits)
	if errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("a commit of a handler that never lost its lease was refused: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	var got int64
	if _, err := d.Xorm().SQL("SELECT COUNT(*) FROM fence_probe").Get(&got); err != nil {
		t.Fatal(err)
	}
	if got != commits {
		t.Fatalf("%d commits landed, want %d", got, commits)
	}
}

// TestReview16NestedRunNowUsesItsOwnFence: a handler that runs another job
// at once (RunNow with its own ctx, as the cargo git index job does when
// its commit delivers ref-change events) gives the inner job the inner
// job's fence: the inner handler's commits check the inner lease, and the
// outer handler's later commits still check its own.
func TestReview16NestedRunNowUsesItsOwnFence(t *testing.T) {
	t.Logf("backend: %s", unittest.Backend())
	d := unittest.NewDB(t)
	if _, err := d.Xorm().Exec("CREATE TABLE fence_probe (who VARCHAR(20) NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	r := jobs.NewRunner(d, unittest.DiscardLogger(), c.now)
	manualTicker(r)
	var innerID int64
	r.Register("inner", func(ctx context.Context, _ string) error { return markDone(ctx, d, "inner") })
	r.Register("outer", func(ctx context.Context, _ string) error {
		if err := markDone(ctx, d, "outer-before"); err != nil {
			return err
		}
		innerID = enqueueCtx(ctx, t, d, "inner")
		ok, err := r.RunNow(ctx, innerID)
		if err != nil || !ok {
			return fmt.Errorf("inner RunNow: %v, %w", ok, err)
		}
		return markDone(ctx, d, "outer-after")
	})
	enqueue(t, d, "outer", "", c.now())
	if n, err := r.RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("RunOnce: %d, %v", n, err)
	}
	got := probes(t, d)
	want := []string{"inner", "outer-after", "outer-before"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("committed %v, want %v", got, want)
	}
	if _, has := getJob(t, d, innerID); has {
		t.Fatal("the inner job is still queued")
	}
}

// enqueueCtx queues a job in a transaction of ctx (fenced when ctx is a
// handler's).
func enqueueCtx(ctx context.Context, t *testing.T, d *db.DB, kind string) int64 {
	t.Helper()
	var id int64
	err := d.WithTx(ctx, func(tx db.Engine) error {
		j, err := jobs_model.Enqueue(ctx, tx, kind, "", time.Unix(0, 0))
		if err == nil {
			id = j.ID
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}
