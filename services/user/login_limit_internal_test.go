package user

import (
	"fmt"
	"testing"
	"time"
)

// Expired entries are swept, so a stream of one-off failures does not grow
// the limiter without bound.
func TestLoginLimiterSweepsExpired(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := NewLoginLimiter(LoginLimits{MaxFailuresPerUser: 5, MaxFailuresPerAddress: 5, Window: time.Minute}, func() time.Time { return now })
	for i := range 20 * minSweep {
		if i%500 == 0 {
			now = now.Add(2 * time.Minute) // everything before is expired
		}
		l.Fail(fmt.Sprintf("user%d", i), fmt.Sprintf("10.0.%d.%d", i/256%256, i%256))
	}
	if n := l.size(); n > 2*minSweep+1000 {
		t.Fatalf("limiter holds %d entries, want expired ones swept", n)
	}
}

func TestLoginLimiterOff(t *testing.T) {
	var nilLimiter *LoginLimiter
	nilLimiter.Fail("a", "10.0.0.1")
	nilLimiter.Succeed("a")
	if err := nilLimiter.Check("a", "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	l := NewLoginLimiter(LoginLimits{}, nil)
	for range 100 {
		l.Fail("a", "10.0.0.1")
	}
	if err := l.Check("a", "10.0.0.1"); err != nil || l.size() != 0 {
		t.Fatalf("limits of 0 must switch the limiter off: %v, %d entries", err, l.size())
	}
}

// Fail names a key once, when it reaches its limit, so that the caller logs
// once per window rather than for every refused attempt.
func TestLoginLimiterReportsReachingTheLimitOnce(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := NewLoginLimiter(LoginLimits{MaxFailuresPerUser: 2, MaxFailuresPerAddress: 3, Window: time.Minute}, func() time.Time { return now })
	var got [][]string
	for range 5 {
		got = append(got, l.Fail("Alice", "2001:db8::1"))
	}
	want := [][]string{nil, {"user:alice"}, {"addr:2001:db8::/64"}, nil, nil}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Fail reported %v, want %v", got, want)
	}
	now = now.Add(time.Minute) // a new window
	if r := l.Fail("alice", "2001:db8::2"); r != nil {
		t.Fatalf("first failure of a new window reported %v", r)
	}
}
