package user_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wharf/models/unittest"
	"wharf/modules/apperr"
	"wharf/modules/secret"
	org_service "wharf/services/org"
	user_service "wharf/services/user"
)

// limitFixture is a user service with a counted password check, a limiter
// and a clock the test moves.
type limitFixture struct {
	users    *user_service.Service
	orgs     *org_service.Service
	hasher   *secret.Hasher
	verified atomic.Int32
	mu       sync.Mutex
	now      time.Time
}

func newLimitFixture(t *testing.T, limits user_service.LoginLimits, slots int) *limitFixture {
	t.Helper()
	d := unittest.NewDB(t)
	f := &limitFixture{now: time.Unix(1_800_000_000, 0), hasher: secret.NewHasher(slots)}
	clock := func() time.Time {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.now
	}
	f.users = user_service.New(user_service.Deps{
		DB: d, Log: unittest.DiscardLogger(), Now: clock, MinPasswordLength: 8,
		Hasher:  f.hasher,
		Limiter: user_service.NewLoginLimiter(limits, clock),
		CheckPassword: func(hash, password string) (bool, error) {
			f.verified.Add(1)
			return secret.CheckPassword(hash, password)
		},
	})
	f.orgs = org_service.New(org_service.Deps{DB: d, Now: clock, Users: f.users})
	return f
}

func (f *limitFixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func from(addr string) context.Context {
	return user_service.WithClientAddr(context.Background(), addr)
}

func wantRetryAfter(t *testing.T, err error, want time.Duration) {
	t.Helper()
	if apperr.KindOf(err) != apperr.TooManyRequests {
		t.Fatalf("err = %v (%v), want too many requests", err, apperr.KindOf(err))
	}
	if got := apperr.RetryAfterOf(err); got != want {
		t.Fatalf("RetryAfter = %v, want %v", got, want)
	}
}

// Every name costs one verification, so the answer's timing cannot tell an
// unknown user or an organisation from a wrong password.
func TestAuthenticateVerifiesOnceWhateverTheName(t *testing.T) {
	f := newLimitFixture(t, user_service.LoginLimits{}, 0)
	ctx := context.Background()
	u, err := f.users.Create(ctx, user_service.CreateOptions{Name: "carol", Email: "carol@example.com", Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.orgs.Create(ctx, u, org_service.CreateOptions{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, user, password string
		ok                   bool
	}{
		{"right password", "carol", "password1", true},
		{"wrong password", "carol", "password2", false},
		{"unknown user", "nobody", "password1", false},
		{"organisation", "acme", "password1", false},
		{"organisation, empty password", "acme", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := f.verified.Load()
			_, err := f.users.Authenticate(ctx, c.user, c.password)
			if c.ok != (err == nil) {
				t.Fatalf("Authenticate = %v", err)
			}
			if !c.ok && !errors.Is(err, user_service.ErrBadCredentials) {
				t.Fatalf("err = %v, want the one bad-credentials answer", err)
			}
			if n := f.verified.Load() - before; n != 1 {
				t.Fatalf("%d password verifications, want exactly 1", n)
			}
		})
	}
}

func TestLoginLimitPerUser(t *testing.T) {
	f := newLimitFixture(t, user_service.LoginLimits{MaxFailuresPerUser: 3, Window: 10 * time.Minute}, 0)
	if _, err := f.users.Create(context.Background(), user_service.CreateOptions{Name: "carol", Email: "carol@example.com", Password: "password1"}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		f.advance(time.Minute)
		if _, err := f.users.Authenticate(from(fmt.Sprintf("192.0.2.%d", i)), "carol", "wrong-password"); !errors.Is(err, user_service.ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// The window started with the first failure, two minutes ago.
	before := f.verified.Load()
	_, err := f.users.Authenticate(from("198.51.100.7"), "CAROL", "wrong-password")
	wantRetryAfter(t, err, 8*time.Minute)
	_, err = f.users.Authenticate(from("198.51.100.8"), "carol", "password1")
	wantRetryAfter(t, err, 8*time.Minute)
	if n := f.verified.Load() - before; n != 0 {
		t.Fatalf("refused attempts cost %d verifications, want 0", n)
	}
	// Another account is not affected.
	if _, err := f.users.Authenticate(from("192.0.2.1"), "nobody", "x"); !errors.Is(err, user_service.ErrBadCredentials) {
		t.Fatalf("another name: %v", err)
	}
	f.advance(8*time.Minute - time.Second)
	_, err = f.users.Authenticate(from("198.51.100.8"), "carol", "password1")
	wantRetryAfter(t, err, time.Second)
	f.advance(time.Second)
	if _, err := f.users.Authenticate(from("198.51.100.8"), "carol", "password1"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestLoginLimitSuccessClearsUserCount(t *testing.T) {
	f := newLimitFixture(t, user_service.LoginLimits{MaxFailuresPerUser: 3, Window: time.Hour}, 0)
	if _, err := f.users.Create(context.Background(), user_service.CreateOptions{Name: "carol", Email: "carol@example.com", Password: "password1"}); err != nil {
		t.Fatal(err)
	}
	ctx := from("192.0.2.1")
	for _, pw := range []string{"bad1", "bad2", "password1", "bad3", "bad4"} {
		_, _ = f.users.Authenticate(ctx, "carol", pw)
	}
	if _, err := f.users.Authenticate(ctx, "carol", "password1"); err != nil {
		t.Fatalf("two failures since the last success must not block: %v", err)
	}
}

func TestLoginLimitPerAddress(t *testing.T) {
	f := newLimitFixture(t, user_service.LoginLimits{MaxFailuresPerUser: 100, MaxFailuresPerAddress: 3, Window: 15 * time.Minute}, 0)
	if _, err := f.users.Create(context.Background(), user_service.CreateOptions{Name: "carol", Email: "carol@example.com", Password: "password1"}); err != nil {
		t.Fatal(err)
	}
	// Spraying names from one address: each name fails once.
	for i := range 3 {
		if _, err := f.users.Authenticate(from("2001:db8:1:2::1"), fmt.Sprintf("user%d", i), "password1"); !errors.Is(err, user_service.ErrBadCredentials) {
			t.Fatal(err)
		}
	}
	// The same /64 is the same client, even for a right password.
	_, err := f.users.Authenticate(from("2001:db8:1:2:ffff::9"), "carol", "password1")
	wantRetryAfter(t, err, 15*time.Minute)
	// Another client, and a request without a known address, are not blocked.
	if _, err := f.users.Authenticate(from("2001:db8:1:3::1"), "carol", "password1"); err != nil {
		t.Fatalf("another /64: %v", err)
	}
	if _, err := f.users.Authenticate(context.Background(), "carol", "password1"); err != nil {
		t.Fatalf("no address: %v", err)
	}
	// IPv4 and its IPv4-mapped IPv6 form are one client.
	for i := range 3 {
		_, _ = f.users.Authenticate(from("203.0.113.5"), fmt.Sprintf("v4user%d", i), "x")
	}
	_, err = f.users.Authenticate(from("::ffff:203.0.113.5"), "carol", "password1")
	wantRetryAfter(t, err, 15*time.Minute)
}

// Attempts that queued together for a hashing slot must not all be verified
// once the first ones have used up the limit.
func TestLoginLimitHoldsUnderConcurrency(t *testing.T) {
	f := newLimitFixture(t, user_service.LoginLimits{MaxFailuresPerUser: 3, Window: time.Hour}, 1)
	if _, err := f.users.Create(context.Background(), user_service.CreateOptions{Name: "carol", Email: "carol@example.com", Password: "password1"}); err != nil {
		t.Fatal(err)
	}
	// Hold the only slot so that every attempt passes the first check and
	// queues.
	release, err := f.hasher.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var limited atomic.Int32
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.users.Authenticate(from(fmt.Sprintf("192.0.2.%d", i)), "carol", "wrong-password")
			if apperr.KindOf(err) == apperr.TooManyRequests {
				limited.Add(1)
			}
		}()
	}
	release()
	wg.Wait()
	if n := f.verified.Load(); n != 3 {
		t.Fatalf("%d verifications, want 3 (the limit)", n)
	}
	if limited.Load() != 9 {
		t.Fatalf("%d attempts refused, want 9", limited.Load())
	}
}

// A client that goes away while waiting for a hashing slot stops waiting.
func TestAuthenticateStopsWaitingWhenClientLeaves(t *testing.T) {
	f := newLimitFixture(t, user_service.LoginLimits{}, 1)
	if _, err := f.users.Create(context.Background(), user_service.CreateOptions{Name: "carol", Email: "carol@example.com", Password: "password1"}); err != nil {
		t.Fatal(err)
	}
	release, err := f.hasher.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() {
		_, err := f.users.Authenticate(ctx, "carol", "password1")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Authenticate kept waiting for a client that left")
	}
	if n := f.verified.Load(); n != 0 {
		t.Fatalf("%d verifications for a client that left", n)
	}
}
