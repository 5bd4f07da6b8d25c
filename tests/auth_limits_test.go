package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"wharf/modules/setting"
)

// Password checks are limited per account and per client address: after
// the maximum of failures in the window, password attempts (even the right
// password) get 429 with Retry-After, in each protocol's error shape, until
// the window has passed. Tokens are not affected.
func TestLoginFailureLimits(t *testing.T) {
	var mu sync.Mutex
	clock := time.Unix(1_800_000_000, 0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	s := newServerWithClock(t, now, func(c *setting.Config) {
		c.Security.LoginMaxFailures = 3
		c.Security.LoginMaxFailuresPerAddress = 5
		c.Security.LoginFailureWindow = 10 * time.Minute
	})
	s.createUser(t, "alice")
	s.createUser(t, "bob")
	// The test runs on 127.0.0.1, a trusted proxy by default, so each part
	// names its own client address as a proxy would.
	from := func(addr string, h map[string]string) map[string]string {
		out := map[string]string{"X-Forwarded-For": addr}
		for k, v := range h {
			out[k] = v
		}
		return out
	}
	const attacker = "198.51.100.7"

	for i := range 3 {
		status, _, body := s.do(t, "GET", "/api/v1/user", "", from(attacker, basic("alice", "wrong-password")))
		if status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d %s", i, status, body)
		}
	}
	wantLimited := func(t *testing.T, status int, h http.Header, body, retryAfter string) {
		t.Helper()
		if status != http.StatusTooManyRequests {
			t.Fatalf("status %d, want 429: %s", status, body)
		}
		if got := h.Get("Retry-After"); got != retryAfter {
			t.Fatalf("Retry-After = %q, want %q", got, retryAfter)
		}
	}
	status, h, body := s.do(t, "GET", "/api/v1/user", "", from(attacker, basic("alice", "wrong-password")))
	wantLimited(t, status, h, body, "600")
	if msg := apiMessage(t, body); !strings.Contains(msg, "too many failed sign-in attempts") {
		t.Fatalf("message = %q", msg)
	}
	advance(4 * time.Minute)
	// The right password, from the same or another address, waits too.
	for _, addr := range []string{attacker, "203.0.113.50"} {
		status, h, body = s.do(t, "GET", "/api/v1/user", "", from(addr, basic("alice", "alice-password")))
		wantLimited(t, status, h, body, "360")
	}
	// Each protocol answers in its own shape: git in plain text, npm login
	// with {"error"}.
	status, h, body = s.do(t, "GET", "/alice/lib.git/info/refs?service=git-upload-pack", "", from(attacker, basic("alice", "alice-password")))
	wantLimited(t, status, h, body, "360")
	if !strings.HasPrefix(h.Get("Content-Type"), "text/plain") || !strings.Contains(body, "too many failed sign-in attempts") {
		t.Fatalf("git answer: %q %q", h.Get("Content-Type"), body)
	}
	status, h, body = s.do(t, "PUT", "/api/packages/alice/npm/-/user/org.couchdb.user:alice", `{"name":"alice","password":"alice-password"}`,
		from(attacker, map[string]string{"Content-Type": "application/json"}))
	wantLimited(t, status, h, body, "360")
	var npmErr struct {
		Error string `json:"error"`
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&npmErr); err != nil || !strings.Contains(npmErr.Error, "too many failed sign-in attempts") {
		t.Fatalf("npm answer %q: %v", body, err)
	}

	// Tokens are not password checks: they still work from the same address,
	// in a header or in Basic's password field.
	for name, hdr := range map[string]map[string]string{
		"token header": tokenHeader(s.AdminToken),
		"basic token":  basic("root", s.AdminToken),
	} {
		if status, _, body := s.do(t, "GET", "/api/v1/user", "", from(attacker, hdr)); status != http.StatusOK {
			t.Fatalf("%s while a password is limited: %d %s", name, status, body)
		}
	}
	// Another account from another address is not affected.
	if status, _, body := s.do(t, "GET", "/api/v1/user", "", from("203.0.113.51", basic("bob", "bob-password"))); status != http.StatusOK {
		t.Fatalf("bob: %d %s", status, body)
	}

	// The window has passed: the right password works again.
	advance(6 * time.Minute)
	if status, _, body := s.do(t, "GET", "/api/v1/user", "", from(attacker, basic("alice", "alice-password"))); status != http.StatusOK {
		t.Fatalf("after the window: %d %s", status, body)
	}

	// Per address: spraying names (unknown or not) from one address stops
	// there, for every account, and only there.
	const sprayer = "198.51.100.99"
	for _, name := range []string{"ghost1", "ghost2", "alice", "ghost3", "bob"} {
		if status, _, body := s.do(t, "GET", "/api/v1/user", "", from(sprayer, basic(name, "password1"))); status != http.StatusUnauthorized {
			t.Fatalf("%s: %d %s", name, status, body)
		}
	}
	status, h, body = s.do(t, "GET", "/api/v1/user", "", from(sprayer, basic("bob", "bob-password")))
	wantLimited(t, status, h, body, "600")
	if status, _, body := s.do(t, "GET", "/api/v1/user", "", from("198.51.100.100", basic("bob", "bob-password"))); status != http.StatusOK {
		t.Fatalf("bob from another address: %d %s", status, body)
	}
}

// A client that is not a trusted proxy cannot pick its address with
// X-Forwarded-For to escape the per-address limit.
func TestLoginLimitIgnoresUntrustedForwardedFor(t *testing.T) {
	s := newServer(t, func(c *setting.Config) {
		c.Security.LoginMaxFailures = 100
		c.Security.LoginMaxFailuresPerAddress = 2
		c.Security.ReverseProxyTrustedProxies = nil // 127.0.0.1 is now a direct client
	})
	for i, addr := range []string{"198.51.100.1", "198.51.100.2"} {
		h := basic("ghost"+string(rune('a'+i)), "password1")
		h["X-Forwarded-For"] = addr
		if status, _, body := s.do(t, "GET", "/api/v1/user", "", h); status != http.StatusUnauthorized {
			t.Fatalf("%d %s", status, body)
		}
	}
	h := basic(s.AdminName, s.AdminPass)
	h["X-Forwarded-For"] = "198.51.100.3"
	if status, rh, body := s.do(t, "GET", "/api/v1/user", "", h); status != http.StatusTooManyRequests || rh.Get("Retry-After") == "" {
		t.Fatalf("a forged X-Forwarded-For escaped the limit: %d %q %s", status, rh.Get("Retry-After"), body)
	}
}

// The /metrics token (compared in constant time) still admits exactly the
// configured token.
func TestMetricsTokenCompare(t *testing.T) {
	s := newServer(t, func(c *setting.Config) {
		c.Metrics.Enabled = true
		c.Metrics.Token = "metrics-s3cret"
	})
	for auth, want := range map[string]int{
		"Bearer metrics-s3cret":  http.StatusOK,
		"Bearer metrics-s3creT":  http.StatusUnauthorized,
		"Bearer metrics-s3cret1": http.StatusUnauthorized,
		"Bearer metrics":         http.StatusUnauthorized,
		"":                       http.StatusUnauthorized,
	} {
		h := map[string]string{}
		if auth != "" {
			h["Authorization"] = auth
		}
		status, _, body := s.do(t, "GET", "/metrics", "", h)
		if status != want {
			t.Errorf("Authorization %q: %d, want %d", auth, status, want)
		}
		if want == http.StatusOK && !strings.Contains(body, "go_goroutines") {
			t.Errorf("metrics body lacks go_goroutines")
		}
	}
}
