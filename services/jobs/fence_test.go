package jobs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"wharf/models/db"
	"wharf/models/unittest"
	"wharf/services/jobs"
)

// markDone is a handler's work in a transaction: a row in a table of the
// test's own, committed only through db.WithTx (and so fenced).
func markDone(ctx context.Context, d *db.DB, who string) error {
	return d.WithTx(ctx, func(tx db.Engine) error {
		_, err := tx.Context(ctx).Exec("INSERT INTO fence_probe (who) VALUES (?)", who)
		return err
	})
}

func probes(t *testing.T, d *db.DB) []string {
	t.Helper()
	var who []string
	if err := d.Xorm().Table("fence_probe").Cols("who").OrderBy("who").Find(&who); err != nil {
		t.Fatal(err)
	}
	return who
}

// TestFenceRefusesCommitAfterLeaseLost: runner A's handler stalls past its
// lease (no heartbeat: a paused process), runner B claims the job and,
// while B still runs it, A wakes and commits its work: the commit is
// refused with ErrLeaseLost and nothing of A's lands; B's work does.
// Before that, A's own commits while it held the lease (also after a
// heartbeat moved the lease) went through.
func TestFenceRefusesCommitAfterLeaseLost(t *testing.T) {
	d := unittest.NewDB(t)
	if _, err := d.Xorm().Exec("CREATE TABLE fence_probe (who VARCHAR(20) NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	a := jobs.NewRunner(d, unittest.DiscardLogger(), c.now)
	tick := manualTicker(a)
	aStarted, aWake, aErr := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	a.Register("k", func(ctx context.Context, _ string) error {
		if err := markDone(ctx, d, "a-held"); err != nil {
			return err
		}
		close(aStarted)
		<-aWake
		// Not ctx: the heartbeat never ran again, so nothing cancelled
		// the handler; only the fence stands between it and the commit.
		err := markDone(context.WithoutCancel(ctx), d, "a-late")
		aErr <- err
		return err
	})
	b := jobs.NewRunner(d, unittest.DiscardLogger(), c.now)
	bStarted, bRelease := make(chan struct{}), make(chan struct{})
	b.Register("k", func(ctx context.Context, _ string) error {
		close(bStarted)
		<-bRelease
		return markDone(ctx, d, "b")
	})
	enqueue(t, d, "k", "", c.now())

	aDone := runInBackground(a)
	<-aStarted
	// One heartbeat moves A's lease: A's commits still pass.
	c.add(a.Lease / 3)
	tick <- time.Time{}
	tick <- time.Time{}
	if err := markDone(ctxOfNoJob(), d, "outside"); err != nil {
		t.Fatal(err)
	}
	// A stalls past its lease; B claims the job and holds it.
	c.add(a.Lease + time.Second)
	bDone := runInBackground(b)
	<-bStarted
	close(aWake)
	if err := <-aErr; !errors.Is(err, jobs.ErrLeaseLost) {
		t.Fatalf("A's commit after losing the lease: %v, want ErrLeaseLost", err)
	}
	close(bRelease)
	if n := <-bDone; n != 1 {
		t.Fatalf("B ran %d jobs", n)
	}
	<-aDone
	got := probes(t, d)
	want := []string{"a-held", "b", "outside"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("committed %v, want %v (A's late work must not land)", got, want)
	}
}

// ctxOfNoJob is a context outside any job: WithTx checks no fence.
func ctxOfNoJob() context.Context { return context.Background() }
