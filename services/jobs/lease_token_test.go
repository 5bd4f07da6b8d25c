package jobs_test

import (
	"context"
	"testing"
	"time"

	jobs_model "wharf/models/jobs"
	"wharf/models/unittest"
)

// TestLeaseOfAnotherClaimInTheSameSecond: runner A held a job until T and
// was extending it to T2 when its lease ran out; runner B claimed the job
// in the second that makes B's lease end at T2 too. The row then holds
// T2, a value A counts as its own (its pending extension): only the claim's
// token tells them apart, and A does not hold the lease. (The fence test
// met this by chance on a loaded machine.)
func TestLeaseOfAnotherClaimInTheSameSecond(t *testing.T) {
	ctx := context.Background()
	d := unittest.NewDB(t)
	id := enqueue(t, d, "k", "", time.Unix(0, 0))
	e := d.Engine()
	j, _, err := jobs_model.GetJob(ctx, e, id)
	if err != nil {
		t.Fatal(err)
	}
	const t0, lease = 1_800_000_000, 60
	if ok, err := jobs_model.Claim(ctx, e, j, t0, t0+lease); err != nil || !ok {
		t.Fatalf("A's claim: %v %v", ok, err)
	}
	a := *j
	// A stalls; at t0+lease+1 its lease has run out and B claims until
	// t0+2*lease+1, the value A's late heartbeat was about to set.
	pending := int64(t0 + 2*lease + 1)
	j2, _, err := jobs_model.GetJob(ctx, e, id)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := jobs_model.Claim(ctx, e, j2, t0+lease+1, pending); err != nil || !ok {
		t.Fatalf("B's claim: %v %v", ok, err)
	}
	if j2.LeaseToken == a.LeaseToken || j2.LeaseToken == 0 {
		t.Fatalf("two claims, tokens %d and %d", a.LeaseToken, j2.LeaseToken)
	}
	held := func() []int64 { return []int64{a.LockedUntil, pending} }
	if ok, err := jobs_model.HoldsLease(ctx, e, id, a.LeaseToken, held); err != nil || ok {
		t.Fatalf("A holds the lease B claimed: %v %v", ok, err)
	}
	if ok, err := jobs_model.HoldsLease(ctx, e, id, j2.LeaseToken, func() []int64 { return []int64{pending} }); err != nil || !ok {
		t.Fatalf("B does not hold its own lease: %v %v", ok, err)
	}
	if ok, err := jobs_model.Complete(ctx, e, id, a.LeaseToken, pending); err != nil || ok {
		t.Fatalf("A completes B's job: %v %v", ok, err)
	}
	if ok, err := jobs_model.Extend(ctx, e, id, a.LeaseToken, pending, pending+lease); err != nil || ok {
		t.Fatalf("A extends B's lease: %v %v", ok, err)
	}
}
