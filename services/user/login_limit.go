package user

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"time"

	"wharf/modules/apperr"
)

// LoginLimits configures a LoginLimiter. A maximum of 0 switches that limit
// off.
type LoginLimits struct {
	// MaxFailuresPerUser is how many failed password checks one account
	// name may have within Window before further ones are refused.
	MaxFailuresPerUser int
	// MaxFailuresPerAddress is the same, counted per client address.
	MaxFailuresPerAddress int
	// Window is how long failures are remembered, counted from the first
	// failure of a series.
	Window time.Duration
}

// LoginLimiter refuses password checks for an account name or a client
// address that has failed too often recently: after the maximum number of
// failures within the window, further password attempts (right or wrong)
// get a TooManyRequests error until the window that started with the first
// failure has passed. A successful check clears the account's count, not the
// address's, so an attacker cannot reset its own count with an account it
// owns.
//
// The counts are process-local: each Wharf process keeps its own, so N
// processes behind a load balancer allow up to N times the limit, and a
// restart forgets them. Issue 16 moves rate limits to shared storage.
//
// Memory stays bounded: expired entries are swept as the map grows, and live
// entries can only be created as fast as failed password checks can run,
// which the Hasher bounds.
type LoginLimiter struct {
	limits LoginLimits
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]*failures
	sweepAt int
}

type failures struct {
	first time.Time // start of the current window
	count int
}

// minSweep is the map size below which expired entries are left alone.
const minSweep = 1024

// NewLoginLimiter returns a limiter; now is the clock (time.Now when nil).
func NewLoginLimiter(l LoginLimits, now func() time.Time) *LoginLimiter {
	if now == nil {
		now = time.Now
	}
	if l.Window <= 0 {
		l.MaxFailuresPerUser, l.MaxFailuresPerAddress = 0, 0
	}
	return &LoginLimiter{limits: l, now: now, entries: map[string]*failures{}, sweepAt: minSweep}
}

func userKey(name string) string { return "user:" + strings.ToLower(name) }

// addrKey groups an IPv6 client by its /64, the block one subscriber gets.
func addrKey(addr string) string {
	if a, err := netip.ParseAddr(addr); err == nil && a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return "addr:" + p.String()
	} else if err == nil {
		return "addr:" + a.Unmap().String()
	}
	return "addr:" + addr
}

// keys lists what an attempt counts against: the account name and, when
// known, the client address.
func (l *LoginLimiter) keys(name, addr string) []limitKey {
	var ks []limitKey
	if l.limits.MaxFailuresPerUser > 0 {
		ks = append(ks, limitKey{userKey(name), l.limits.MaxFailuresPerUser})
	}
	if addr != "" && l.limits.MaxFailuresPerAddress > 0 {
		ks = append(ks, limitKey{addrKey(addr), l.limits.MaxFailuresPerAddress})
	}
	return ks
}

type limitKey struct {
	key string
	max int
}

// Check returns a TooManyRequests error (with RetryAfter set) when name or addr is over its limit, and nil otherwise.
// A nil limiter allows everything.
func (l *LoginLimiter) Check(name, addr string) error {
	if l == nil {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range l.keys(name, addr) {
		f := l.entries[k.key]
		if f == nil || f.count < k.max {
			continue
		}
		if left := f.first.Add(l.limits.Window).Sub(now); left > 0 {
			wait = max(wait, left)
		}
	}
	if wait <= 0 {
		return nil
	}
	return apperr.RetryLater(wait, "too many failed sign-in attempts, try again later")
}

// Fail records a failed password check for name and addr. It returns the
// keys ("user:NAME", "addr:ADDRESS") that this failure brought to their
// limit, for the caller to log once.
func (l *LoginLimiter) Fail(name, addr string) (limited []string) {
	if l == nil {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range l.keys(name, addr) {
		f := l.entries[k.key]
		if f == nil || !now.Before(f.first.Add(l.limits.Window)) {
			f = &failures{first: now}
			l.entries[k.key] = f
		}
		f.count++
		if f.count == k.max {
			limited = append(limited, k.key)
		}
	}
	if len(l.entries) >= l.sweepAt {
		l.sweep(now)
	}
	return limited
}

// Succeed clears name's failures after a correct password.
func (l *LoginLimiter) Succeed(name string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	delete(l.entries, userKey(name))
	l.mu.Unlock()
}

// sweep drops expired entries; the next sweep comes when the map has
// doubled, so the cost is amortised over the failures that grew it.
func (l *LoginLimiter) sweep(now time.Time) {
	for k, f := range l.entries {
		if !now.Before(f.first.Add(l.limits.Window)) {
			delete(l.entries, k)
		}
	}
	l.sweepAt = max(minSweep, 2*len(l.entries))
}

// size is the number of remembered keys (for tests).
func (l *LoginLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

type clientAddrKey struct{}

// WithClientAddr records the request's client address (an IP, without port)
// in ctx. It is request data, like the request id: the password checks
// count failures against it, whichever protocol asked for the check.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddr returns the address recorded by WithClientAddr, or "".
func ClientAddr(ctx context.Context) string {
	a, _ := ctx.Value(clientAddrKey{}).(string)
	return a
}
