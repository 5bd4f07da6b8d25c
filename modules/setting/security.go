package setting

import (
	"net/netip"
	"strings"
	"time"
)

// readSecurity reads the [security] section.
func (r *reader) readSecurity() Security {
	s := Security{
		MinPasswordLength:          r.nonNegInt("security", "MIN_PASSWORD_LENGTH", 8),
		LoginMaxFailures:           r.nonNegInt("security", "LOGIN_MAX_FAILURES", 10),
		LoginMaxFailuresPerAddress: r.nonNegInt("security", "LOGIN_MAX_FAILURES_PER_ADDRESS", 50),
		LoginFailureWindow:         r.duration("security", "LOGIN_FAILURE_WINDOW", 15*time.Minute),
		PasswordHashConcurrency:    r.nonNegInt("security", "PASSWORD_HASH_CONCURRENCY", 0),
		ReverseProxyTrustedProxies: r.prefixes("security", "REVERSE_PROXY_TRUSTED_PROXIES", "127.0.0.0/8,::1/128"),
	}
	if s.LoginFailureWindow <= 0 && (s.LoginMaxFailures > 0 || s.LoginMaxFailuresPerAddress > 0) {
		r.fail(keyName("security", "LOGIN_FAILURE_WINDOW"), s.LoginFailureWindow.String(), "must be positive while a LOGIN_MAX_FAILURES limit is set")
	}
	return s
}

// prefixes reads a comma-separated list of CIDR blocks or single addresses
// (as Gitea's REVERSE_PROXY_TRUSTED_PROXIES); "*" means every address.
func (r *reader) prefixes(section, key, def string) []netip.Prefix {
	v := r.str(section, key, def)
	var out []netip.Prefix
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
			continue
		case item == "*":
			out = append(out, netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0"))
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(item); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		} else {
			r.fail(keyName(section, key), item, "not an IP address or CIDR block such as 10.0.0.0/8")
		}
	}
	return out
}
