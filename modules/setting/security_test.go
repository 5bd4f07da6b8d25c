package setting_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"wharf/modules/setting"
)

func TestSecurityDefaults(t *testing.T) {
	cfg, err := setting.Load(setting.LoadOptions{WorkPath: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Security
	if s.MinPasswordLength != 8 || s.LoginMaxFailures != 10 || s.LoginMaxFailuresPerAddress != 50 ||
		s.LoginFailureWindow != 15*time.Minute || s.PasswordHashConcurrency != 0 {
		t.Fatalf("security defaults: %+v", s)
	}
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	if !slices.Equal(s.ReverseProxyTrustedProxies, want) {
		t.Fatalf("trusted proxies = %v, want %v", s.ReverseProxyTrustedProxies, want)
	}
}

func TestSecurityKeys(t *testing.T) {
	work := t.TempDir()
	path := filepath.Join(work, "app.ini")
	ini := "[security]\nLOGIN_MAX_FAILURES = 3\nLOGIN_FAILURE_WINDOW = 1h\nPASSWORD_HASH_CONCURRENCY = 2\n" +
		"REVERSE_PROXY_TRUSTED_PROXIES = 10.1.2.3, 192.168.0.0/16\n"
	if err := os.WriteFile(path, []byte(ini), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := setting.Load(setting.LoadOptions{WorkPath: work, ConfigPath: path,
		Env: []string{"WHARF__SECURITY__LOGIN_MAX_FAILURES_PER_ADDRESS=0"}})
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Security
	if s.LoginMaxFailures != 3 || s.LoginMaxFailuresPerAddress != 0 || s.LoginFailureWindow != time.Hour || s.PasswordHashConcurrency != 2 {
		t.Fatalf("security: %+v", s)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.1.2.3/32"), netip.MustParsePrefix("192.168.0.0/16")}
	if !slices.Equal(s.ReverseProxyTrustedProxies, want) {
		t.Fatalf("trusted proxies = %v, want %v", s.ReverseProxyTrustedProxies, want)
	}
}

func TestSecurityInvalid(t *testing.T) {
	for _, env := range [][]string{
		{"WHARF__SECURITY__LOGIN_MAX_FAILURES=-1"},
		{"WHARF__SECURITY__LOGIN_FAILURE_WINDOW=soon"},
		{"WHARF__SECURITY__LOGIN_FAILURE_WINDOW=0s"},
		{"WHARF__SECURITY__PASSWORD_HASH_CONCURRENCY=many"},
		{"WHARF__SECURITY__REVERSE_PROXY_TRUSTED_PROXIES=10.0.0.0/8,proxy.internal"},
	} {
		_, err := setting.Load(setting.LoadOptions{WorkPath: t.TempDir(), Env: env})
		key, _, _ := strings.Cut(strings.TrimPrefix(env[0], "WHARF__SECURITY__"), "=")
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: err = %v, want one naming %s", env[0], err, key)
		}
	}
	// A window of 0 is fine when both limits are off.
	if _, err := setting.Load(setting.LoadOptions{WorkPath: t.TempDir(), Env: []string{
		"WHARF__SECURITY__LOGIN_FAILURE_WINDOW=0s", "WHARF__SECURITY__LOGIN_MAX_FAILURES=0", "WHARF__SECURITY__LOGIN_MAX_FAILURES_PER_ADDRESS=0",
	}}); err != nil {
		t.Fatal(err)
	}
}
