package secret_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wharf/modules/secret"
)

func TestHasherBoundsConcurrency(t *testing.T) {
	h := secret.NewHasher(2)
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := h.Acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			if _, err := secret.HashPassword("pw"); err != nil { // real work while holding the slot
				t.Error(err)
			}
			running.Add(-1)
			release()
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 2 {
		t.Fatalf("%d hashes ran at once, want at most 2", p)
	}
}

func TestHasherWaitRespectsContext(t *testing.T) {
	h := secret.NewHasher(1)
	release, err := h.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(ctx, "pw")
		done <- err
	}()
	// The client goes away while waiting for the busy slot (the delay only
	// makes it likely that the waiter is already blocked; either way it must
	// return).
	time.AfterFunc(20*time.Millisecond, cancel)
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Hash = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiter whose context ended kept waiting")
	}
	release()
	// The slot is free again and usable.
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Fatal(err)
	}
	// A context that already ended never takes a slot, even a free one.
	if _, err := h.Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire with a done context = %v", err)
	}
}

func TestNewHasherDefaultsToCPUs(t *testing.T) {
	if n := secret.NewHasher(0).Slots(); n < 1 {
		t.Fatalf("default slots = %d", n)
	}
	if n := secret.NewHasher(3).Slots(); n != 3 {
		t.Fatalf("slots = %d, want 3", n)
	}
}
