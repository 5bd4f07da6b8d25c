package jobs_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wharf/models/db"
	jobs_model "wharf/models/jobs"
	"wharf/models/unittest"
	"wharf/services/jobs"
)

// manualTicker replaces the heartbeat's ticker: the test ticks by sending
// on the channel. The channel is unbuffered, so a second send returns
// only after the heartbeat handled the first tick.
func manualTicker(r *jobs.Runner) chan time.Time {
	c := make(chan time.Time)
	r.NewTicker = func(time.Duration) (<-chan time.Time, func()) { return c, func() {} }
	return c
}

func getJob(t *testing.T, d *db.DB, id int64) (*jobs_model.Job, bool) {
	t.Helper()
	j, has, err := jobs_model.GetJob(context.Background(), d.Engine(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j, has
}

// runInBackground runs r.RunOnce and returns a channel that yields its
// result.
func runInBackground(r *jobs.Runner) <-chan int {
	done := make(chan int, 1)
	go func() {
		n, _ := r.RunOnce(context.Background())
		done <- n
	}()
	return done
}

// TestLostLeaseRefusesCompletion: runner A's handler outlives its lease
// (no heartbeat reached the database: a paused process), runner B claims
// the job and fails it; A's late success must not delete the job that B
// now holds and scheduled for a retry.
func TestLostLeaseRefusesCompletion(t *testing.T) {
	d := unittest.NewDB(t)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	a := jobs.NewRunner(d, unittest.DiscardLogger(), c.now)
	manualTicker(a) // never ticks: A's lease is not extended
	started, release := make(chan struct{}), make(chan struct{})
	a.Register("k", func(context.Context, string) error {
		close(started)
		<-release
		return nil
	})
	b := jobs.NewRunner(d, unittest.DiscardLogger(), c.now)
	b.Register("k", func(context.Context, string) error { return errors.New("b failed") })
	id := enqueue(t, d, "k", "", c.now())

	aDone := runInBackground(a)
	<-started
	c.add(a.Lease + time.Second)
	if n, err := b.RunOnce(context.Background()); n != 1 || err != nil {
		t.Fatalf("B, after A's lease ran out: ran %d, %v", n, err)
	}
	close(release)
	if n := <-aDone; n != 1 {
		t.Fatalf("A ran %d jobs", n)
	}
	j, has := getJob(t, d, id)
	if !has {
		t.Fatal("A completed a job it no longer held: B's retry is lost")
	}
	if j.LastError != "b failed" || j.Attempts != 2 || j.LockedUntil != 0 || j.Failed {
		t.Fatalf("the job is not as B left it: %+v", j)
	}
}

// TestLostLeaseCancelsHandler: when the heartbeat finds that another
// runner claimed the job, the handler's ctx ends with ErrLeaseLost and
// the runner records nothing; the new holder finishes the job.
func TestLostLeaseCancelsHandler(t *testing.T) {
	d := unittest.NewDB(t)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	a := jobs.NewRunner(d, unittest.DiscardLogger(), c.now)
	tickA := manualTicker(a)
	started := make(chan struct{})
	var cause error
	a.Register("k", func(ctx context.Context, _ string) error {
		close(started)
		<-ctx.Done()
		cause = context.Cause(ctx)
		return ctx.Err()
	})
	b := jobs.NewRunner(d, unittest.DiscardLogger(), c.now)
	manualTicker(b)
	bStarted, bRelease := make(chan struct{}), make(chan struct{})
	b.Register("k", func(context.Context, string) error {
		close(bStarted)
		<-bRelease
		return nil
	})
	id := enqueue(t, d, "k", "", c.now())

	aDone := runInBackground(a)
	<-started
	c.add(a.Lease + time.Second)
	bDone := runInBackground(b)
	<-bStarted
	bLease, _ := getJob(t, d, id)

	tickA <- time.Time{} // A's heartbeat finds B's lease
	if n := <-aDone; n != 1 {
		t.Fatalf("A ran %d jobs", n)
	}
	if !errors.Is(cause, jobs.ErrLeaseLost) {
		t.Fatalf("A's handler ctx ended with %v, want ErrLeaseLost", cause)
	}
	j, has := getJob(t, d, id)
	if !has || j.LockedUntil != bLease.LockedUntil || j.LastError != "" || j.Attempts != 2 {
		t.Fatalf("A recorded an outcome for a job B holds: %+v (B's lease %d)", j, bLease.LockedUntil)
	}
	close(bRelease)
	if n := <-bDone; n != 1 {
		t.Fatalf("B ran %d jobs", n)
	}
	if _, has := getJob(t, d, id); has {
		t.Fatal("B, holding the lease, could not complete the job")
	}
}

// TestHeartbeatKeepsLease: a handler that runs longer than the lease
// keeps the job, because the heartbeat extends the lease; a second runner
// finds nothing to claim, and the job runs once.
func TestHeartbeatKeepsLease(t *testing.T) {
	d := unittest.NewDB(t)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	a := jobs.NewRunner(d, unittest.DiscardLogger(), c.now)
	tick := manualTicker(a)
	var runs atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	a.Register("k", func(ctx context.Context, _ string) error {
		runs.Add(1)
		close(started)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	b := jobs.NewRunner(d, unittest.DiscardLogger(), c.now)
	b.Register("k", func(context.Context, string) error { runs.Add(1); return nil })
	id := enqueue(t, d, "k", "", c.now())
	first := c.now().Add(a.Lease).Unix()

	aDone := runInBackground(a)
	<-started
	for range 3 {
		c.add(a.Lease * 2 / 3)
		tick <- time.Time{}
		tick <- time.Time{} // returns once the first tick's extension is done
		if n, err := b.RunOnce(context.Background()); n != 0 || err != nil {
			t.Fatalf("B claimed a job whose runner is alive: ran %d, %v", n, err)
		}
	}
	if j, _ := getJob(t, d, id); j.LockedUntil <= c.now().Unix() || c.now().Unix() <= first {
		t.Fatalf("lease %d at %d (first lease %d): not extended past the first one", j.LockedUntil, c.now().Unix(), first)
	}
	close(release)
	if n := <-aDone; n != 1 {
		t.Fatalf("A ran %d jobs", n)
	}
	if _, has := getJob(t, d, id); has {
		t.Fatal("the job is still there after A completed it")
	}
	if runs.Load() != 1 {
		t.Fatalf("the job ran %d times", runs.Load())
	}
}

// TestHandlerDeadline: a handler that runs past the runner's Timeout sees
// its ctx end with DeadlineExceeded; the run counts as failed and the job
// is retried after the backoff.
func TestHandlerDeadline(t *testing.T) {
	d := unittest.NewDB(t)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	r := jobs.NewRunner(d, unittest.DiscardLogger(), c.now)
	manualTicker(r)
	r.Timeout = 20 * time.Millisecond
	var seen []error
	r.Register("slow", func(ctx context.Context, _ string) error {
		if len(seen) > 0 {
			seen = append(seen, nil)
			return nil // the retry is quick
		}
		select {
		case <-ctx.Done():
			seen = append(seen, ctx.Err())
			return ctx.Err()
		case <-time.After(10 * time.Second):
			seen = append(seen, nil)
			return errors.New("no deadline")
		}
	})
	id := enqueue(t, d, "slow", "", c.now())
	if n, err := r.RunOnce(context.Background()); n != 1 || err != nil {
		t.Fatalf("ran %d, %v", n, err)
	}
	if len(seen) != 1 || !errors.Is(seen[0], context.DeadlineExceeded) {
		t.Fatalf("the handler's ctx ended with %v, want DeadlineExceeded", seen)
	}
	j, has := getJob(t, d, id)
	if !has || j.Attempts != 1 || j.LockedUntil != 0 || j.Failed || !strings.Contains(j.LastError, "deadline exceeded") ||
		j.RunAt != c.now().Add(jobs.Backoff(1)).Unix() {
		t.Fatalf("the timed-out job is not scheduled for a retry: %+v", j)
	}
	c.add(jobs.Backoff(1))
	if n, err := r.RunOnce(context.Background()); n != 1 || err != nil {
		t.Fatalf("retry ran %d, %v", n, err)
	}
	if _, has := getJob(t, d, id); has || len(seen) != 2 {
		t.Fatalf("the retry did not complete the job (%d runs)", len(seen))
	}
}

// TestHeartbeatStopsHandlerBeforeLeaseRunsOut: when the lease cannot be
// extended (the database is gone), the handler goes on while the lease
// outlasts the next heartbeat, and is stopped with ErrLeaseLost before
// the lease runs out and another runner may start the job.
func TestHeartbeatStopsHandlerBeforeLeaseRunsOut(t *testing.T) {
	d := unittest.NewDB(t)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	// The test waits for each heartbeat through its log record: a tick
	// that was received is not yet handled, and the clock must not move
	// while the heartbeat reads it.
	logged := make(chan string, 16)
	r := jobs.NewRunner(d, slog.New(&notifyHandler{ch: logged}), c.now)
	tick := manualTicker(r)
	r.Heartbeat = r.Lease / 4
	started := make(chan struct{})
	stopped := make(chan error, 1)
	r.Register("k", func(ctx context.Context, _ string) error {
		close(started)
		<-ctx.Done()
		stopped <- context.Cause(ctx)
		return ctx.Err()
	})
	enqueue(t, d, "k", "", c.now())
	done := make(chan error, 1)
	go func() {
		_, err := r.RunOnce(context.Background())
		done <- err
	}()
	<-started
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	waitLog := func(want string) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case msg := <-logged:
				if msg == want {
					return
				}
			case <-deadline:
				t.Fatalf("no %q logged", want)
			}
		}
	}
	send := func() {
		t.Helper()
		select {
		case tick <- time.Time{}:
		case <-time.After(30 * time.Second):
			t.Fatal("the heartbeat no longer takes ticks")
		}
	}
	c.add(r.Lease / 2)
	send()
	waitLog("job heartbeat") // a failed extension with time left: retried later
	select {
	case err := <-stopped:
		t.Fatalf("the handler was stopped with half its lease left: %v", err)
	default:
	}
	c.add(r.Lease / 3) // the lease ends before the next heartbeat
	send()
	select {
	case err := <-stopped:
		if !errors.Is(err, jobs.ErrLeaseLost) {
			t.Fatalf("the handler's ctx ended with %v, want ErrLeaseLost", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the handler was not stopped before its lease ran out")
	}
	if err := <-done; err == nil {
		t.Fatal("RunOnce reported no error although the outcome could not be recorded")
	}
}

// notifyHandler sends every log message to ch (dropping when full).
type notifyHandler struct{ ch chan string }

func (h *notifyHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *notifyHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h.ch <- r.Message:
	default:
	}
	return nil
}
func (h *notifyHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *notifyHandler) WithGroup(string) slog.Handler      { return h }
