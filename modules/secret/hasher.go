package secret

import (
	"context"
	"runtime"
)

// Hasher bounds how many password hashes are computed at once. Each
// Argon2id run takes ~19 MiB and tens of milliseconds of one CPU, and
// password checks can be asked for by anyone, so without a bound a burst of
// requests could take all memory and CPU. One Hasher is built per app and
// shared by everything that hashes or verifies a password.
type Hasher struct {
	slots chan struct{}
}

// NewHasher returns a Hasher that runs at most n hashes at once; n <= 0
// means one per CPU.
func NewHasher(n int) *Hasher {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	return &Hasher{slots: make(chan struct{}, n)}
}

// Slots is the number of hashes that may run at once.
func (h *Hasher) Slots() int { return cap(h.slots) }

// Acquire waits for a free slot; the caller must call release when its hash
// is done. It gives up when ctx ends (a client that went away stops
// waiting), returning ctx's error.
func (h *Hasher) Acquire(ctx context.Context) (release func(), err error) {
	// A done context never takes a slot, even when one is free.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Hash hashes password (see HashPassword) once a slot is free.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	release, err := h.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return HashPassword(password)
}
