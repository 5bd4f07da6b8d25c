package db

import "context"

// Fence is a check WithTx makes inside a transaction just before it
// commits; an error rolls the transaction back instead. The jobs runner
// puts one on a job handler's ctx, so that a runner that has lost the
// job's lease (its process stalled past the lease, and another runner
// claimed the job) cannot commit the job's work over its new holder's.
// The check should also lock what it checks until the commit, so that
// the answer still holds when the commit lands.
type Fence func(ctx context.Context, tx Engine) error

type fenceKey struct{}

// WithFence returns ctx with f checked before every commit of WithTx.
func WithFence(ctx context.Context, f Fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

func fenceOf(ctx context.Context) Fence {
	f, _ := ctx.Value(fenceKey{}).(Fence)
	return f
}

// WithoutFence returns ctx without a fence: for work a job's handler
// sets off that is not the job's own and must land whatever becomes of
// the job's lease (announcing a ref the job's git commit already moved).
func WithoutFence(ctx context.Context) context.Context {
	return context.WithValue(ctx, fenceKey{}, Fence(nil))
}
