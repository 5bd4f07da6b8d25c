package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"

	"wharf/modules/packages/cargo/cargotest"
)

// cargoBin finds the real cargo: on PATH, or where rustup installs it
// (~/.cargo/bin, which a CI shell may not have on PATH). Missing, it skips
// locally and fails under CI (requireClient).
func cargoBin(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("cargo"); err == nil {
		return p
	}
	for _, home := range []string{os.Getenv("HOME"), "/root"} {
		if home == "" {
			continue
		}
		if p := filepath.Join(home, ".cargo", "bin", "cargo"); isExecutable(p) {
			return p
		}
	}
	return requireClient(t, "cargo")
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// cargoClient is the real cargo with a private CARGO_HOME: its own
// config.toml and registry cache, crates.io replaced by the test registry,
// and every non-loopback address sent to a dead proxy, so that nothing
// leaves the machine.
type cargoClient struct {
	t    testing.TB
	bin  string
	home string
	env  []string
}

// cargoRegistry is one [registries.NAME] entry.
type cargoRegistry struct {
	name, index, token string
}

// newCargo writes CARGO_HOME/config.toml with the registries; the first
// one also stands in for crates.io. extra is appended to config.toml.
func newCargo(t testing.TB, regs []cargoRegistry, extra string) *cargoClient {
	t.Helper()
	bin := cargoBin(t)
	home := t.TempDir()
	var cfg strings.Builder
	for _, r := range regs {
		fmt.Fprintf(&cfg, "[registries.%s]\nindex = %q\n\n", r.name, r.index)
	}
	fmt.Fprintf(&cfg, "[source.crates-io]\nreplace-with = %q\n\n", regs[0].name)
	cfg.WriteString("[net]\nretry = 0\n\n[http]\ntimeout = 60\n\n[term]\ncolor = \"never\"\nprogress.when = \"never\"\n\n")
	// cargo refuses to send a token to an auth-required registry unless a
	// credential provider is configured, even the default one.
	cfg.WriteString("[registry]\nglobal-credential-providers = [\"cargo:token\"]\n\n")
	cfg.WriteString("[cargo-new]\nvcs = \"none\"\n\n")
	cfg.WriteString(extra)
	if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "CARGO_") || strings.HasPrefix(strings.ToLower(k), "http_proxy") ||
			strings.HasPrefix(strings.ToLower(k), "https_proxy") || strings.ToLower(k) == "all_proxy" || strings.ToLower(k) == "no_proxy" {
			continue
		}
		env = append(env, kv)
	}
	// 127.0.0.1:9 (discard) refuses connections: anything but loopback fails fast.
	env = append(env, "CARGO_HOME="+home, "CARGO_TARGET_DIR="+filepath.Join(home, "target"),
		"http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9", "ALL_PROXY=http://127.0.0.1:9",
		"no_proxy=127.0.0.1,localhost", "NO_PROXY=127.0.0.1,localhost", "CARGO_INCREMENTAL=0", "CARGO_TERM_COLOR=never",
		// git (a git index fetched with net.git-fetch-with-cli) without the
		// machine's configuration or credentials.
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
	for _, r := range regs {
		if r.token != "" {
			env = append(env, "CARGO_REGISTRIES_"+strings.ToUpper(strings.ReplaceAll(r.name, "-", "_"))+"_TOKEN="+r.token)
		}
	}
	return &cargoClient{t: t, bin: bin, home: home, env: env}
}

// run runs cargo in dir and returns its combined output.
func (c *cargoClient) run(dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(c.t.Context(), c.bin, args...)
	cmd.Dir = dir
	cmd.Env = c.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// runTerminal runs cargo on a terminal (script(1)), with stdin typed into
// it: cargo login prints the registry's login URL only to a person.
func (c *cargoClient) runTerminal(dir, stdin string, args ...string) (string, error) {
	script := requireClient(c.t, "script")
	line := shellQuote(c.bin)
	for _, a := range args {
		line += " " + shellQuote(a)
	}
	cmd := exec.CommandContext(c.t.Context(), script, "-qec", line, "/dev/null")
	cmd.Dir = dir
	cmd.Env = c.env
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// must runs cargo and fails the test when it fails.
func (c *cargoClient) must(dir string, args ...string) string {
	c.t.Helper()
	out, err := c.run(dir, args...)
	if err != nil {
		c.t.Fatalf("cargo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// fails runs cargo, which must fail with output containing want.
func (c *cargoClient) fails(dir, want string, args ...string) string {
	c.t.Helper()
	out, err := c.run(dir, args...)
	if err == nil {
		c.t.Fatalf("cargo %s succeeded; want a failure with %q\n%s", strings.Join(args, " "), want, out)
	}
	if !strings.Contains(out, want) {
		c.t.Fatalf("cargo %s: output lacks %q:\n%s", strings.Join(args, " "), want, out)
	}
	return out
}

// writeCrate writes a package: files maps paths (Cargo.toml, src/lib.rs…)
// to contents, under dir/name.
func writeCrate(t testing.TB, dir, name string, files map[string]string) string {
	t.Helper()
	root := filepath.Join(dir, name)
	for p, body := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// packageToken makes a token named name of user with the scopes, through
// the API as a user would.
func packageToken(t testing.TB, s *server, user, name string, scopes ...gitea.AccessTokenScope) string {
	t.Helper()
	tok, _, err := s.client(t, gitea.SetBasicAuth(user, user+"-password")).CreateAccessToken(gitea.CreateAccessTokenOption{Name: name, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// summary lists requests as "GET /path 304" lines, sorted, for messages.
func summary(rs []loggedRequest) string {
	lines := make([]string, len(rs))
	for i, r := range rs {
		lines[i] = fmt.Sprintf("%s %s %d cond=%v auth=%v", r.Method, r.Path, r.Status, r.Conditional, r.Auth)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// cargoPublishBody is a well-formed publish body of a crate, as cargo
// sends it.
func cargoPublishBody(name, version string) string {
	return string(cargotest.GoodBody(name, version))
}
