//go:build cluster

package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The real clients, found the way tests/ finds them (a small copy: this
// package cannot import tests/'s helpers).

// requireClient finds a client program: on PATH, else in the extra
// places given (rustup's ~/.cargo/bin). Missing, it skips locally and
// fails in CI.
func requireClient(t testing.TB, name string, extra ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range extra {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	requireTool(t, name, fmt.Errorf("%s not found on PATH", name))
	return ""
}

// clientTimeout bounds one run of a client.
const clientTimeout = 5 * time.Minute

// client runs one program with a fixed environment.
type client struct {
	t   *testing.T
	bin string
	env []string
}

func (c client) run(dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(c.t.Context(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir, cmd.Env = dir, c.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (c client) must(dir string, args ...string) string {
	c.t.Helper()
	out, err := c.run(dir, args...)
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", filepath.Base(c.bin), strings.Join(args, " "), err, out)
	}
	return out
}

// environ is the process environment without the keys dropped says to
// drop, plus more.
func environ(drop func(key string) bool, more ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop(k) {
			env = append(env, kv)
		}
	}
	return append(env, more...)
}

func isProxy(k string) bool {
	switch strings.ToLower(k) {
	case "http_proxy", "https_proxy", "all_proxy", "no_proxy":
		return true
	}
	return false
}

// gitClient is git with a clean configuration.
func gitClient(t *testing.T) client {
	return client{t: t, bin: requireClient(t, "git"), env: environ(func(k string) bool { return k == "HOME" },
		"HOME="+t.TempDir(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Tester", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=Tester", "GIT_COMMITTER_EMAIL=t@example.com")}
}

// authURL is base/path with credentials in it.
func authURL(base, user, secret, path string) string {
	u, _ := url.Parse(base + "/" + path)
	u.User = url.UserPassword(user, secret)
	return u.String()
}

// writeFiles writes files (path → content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// npmClient is the machine's npm with its own home and cache.
func npmClient(t *testing.T) client {
	home := t.TempDir()
	return client{t: t, bin: requireClient(t, "npm"), env: environ(func(k string) bool { return k == "HOME" || strings.HasPrefix(strings.ToLower(k), "npm_") },
		"HOME="+home, "npm_config_cache="+filepath.Join(home, ".npm-cache"), "npm_config_userconfig="+filepath.Join(home, ".npmrc-user"),
		"NO_UPDATE_NOTIFIER=1", "CI=true")}
}

// npmrc is an .npmrc naming the registry and, if given, its token.
func npmrc(registry, token string) string {
	rc := "registry=" + registry + "\nfund=false\naudit=false\nupdate-notifier=false\n"
	if token != "" {
		rc += "//" + strings.TrimPrefix(registry, "http://") + ":_authToken=" + token + "\n"
	}
	return rc
}

// composerClient is composer (or php) with its own home and cache.
func composerClient(t *testing.T, name, home string) client {
	return client{t: t, bin: requireClient(t, name), env: environ(func(k string) bool { return strings.HasPrefix(k, "COMPOSER") },
		"COMPOSER_HOME="+filepath.Join(home, ".composer"), "COMPOSER_CACHE_DIR="+filepath.Join(home, ".cache"),
		"COMPOSER_NO_INTERACTION=1", "COMPOSER_ALLOW_SUPERUSER=1")}
}

// cargoClient is the real cargo with a private CARGO_HOME whose
// config.toml names the registry "wharf" (also standing in for
// crates.io), and every non-loopback address sent to a dead proxy.
func cargoClient(t *testing.T, index, token string) client {
	bin := requireClient(t, "cargo", filepath.Join(os.Getenv("HOME"), ".cargo", "bin", "cargo"), "/root/.cargo/bin/cargo")
	home := t.TempDir()
	cfg := fmt.Sprintf("[registries.wharf]\nindex = %q\n\n[source.crates-io]\nreplace-with = \"wharf\"\n\n"+
		"[net]\nretry = 0\n\n[term]\ncolor = \"never\"\nprogress.when = \"never\"\n\n"+
		"[registry]\nglobal-credential-providers = [\"cargo:token\"]\n\n[cargo-new]\nvcs = \"none\"\n", index)
	writeFiles(t, home, map[string]string{"config.toml": cfg})
	env := environ(func(k string) bool { return strings.HasPrefix(k, "CARGO_") || isProxy(k) },
		"CARGO_HOME="+home, "CARGO_TARGET_DIR="+filepath.Join(home, "target"), "CARGO_INCREMENTAL=0", "CARGO_TERM_COLOR=never",
		"http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9", "ALL_PROXY=http://127.0.0.1:9",
		"no_proxy=127.0.0.1,localhost", "NO_PROXY=127.0.0.1,localhost")
	if token != "" {
		env = append(env, "CARGO_REGISTRIES_WHARF_TOKEN="+token)
	}
	return client{t: t, bin: bin, env: env}
}

// gemClient is gem or bundle with a home of its own: no configuration,
// credentials or cache of the machine takes part. gem installs into the
// home, bundle into each project's vendor directory.
func gemClient(t *testing.T, name, home string) client {
	env := environ(func(k string) bool {
		return strings.HasPrefix(k, "GEM_") || strings.HasPrefix(k, "BUNDLE_") || strings.HasPrefix(k, "RUBY") ||
			strings.HasPrefix(k, "XDG_") || k == "HOME" || isProxy(k)
	}, "HOME="+home, "LANG=C.UTF-8", "no_proxy=*", "NO_PROXY=*", "GEMRC="+filepath.Join(home, "gemrc"),
		"GEM_SPEC_CACHE="+filepath.Join(home, "specs"), "BUNDLE_USER_HOME="+filepath.Join(home, ".bundle"),
		"BUNDLE_SILENCE_ROOT_WARNING=1", "BUNDLE_RETRY=0")
	if name == "gem" {
		env = append(env, "GEM_HOME="+filepath.Join(home, "gems"), "GEM_PATH="+filepath.Join(home, "gems"))
	}
	return client{t: t, bin: requireClient(t, name), env: env}
}

// with is the client with more environment.
func (c client) with(more ...string) client {
	c.env = append(append([]string{}, c.env...), more...)
	return c
}
