package tests

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gemEnv is the real gem and bundle with a home of their own: no user
// configuration, credentials, gem or Bundler cache of the machine takes
// part, and nothing goes through a proxy.
type gemEnv struct {
	t    testing.TB
	home string
	env  []string
}

func newGemEnv(t testing.TB) *gemEnv {
	t.Helper()
	requireClient(t, "gem")
	requireClient(t, "bundle")
	home := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch lk := strings.ToLower(k); {
		case strings.HasPrefix(k, "GEM_"), strings.HasPrefix(k, "BUNDLE_"), strings.HasPrefix(k, "RUBY"), strings.HasPrefix(k, "XDG_"),
			lk == "http_proxy", lk == "https_proxy", lk == "all_proxy", lk == "no_proxy", k == "HOME":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+home, "LANG=C.UTF-8", "no_proxy=*", "NO_PROXY=*",
		"GEMRC="+filepath.Join(home, "gemrc"), "GEM_SPEC_CACHE="+filepath.Join(home, "specs"),
		"BUNDLE_USER_HOME="+filepath.Join(home, ".bundle"), "BUNDLE_SILENCE_ROOT_WARNING=1", "BUNDLE_RETRY=0")
	return &gemEnv{t: t, home: home, env: env}
}

// gemsDir is where gem installs: a directory of this home.
func (g *gemEnv) gemsDir() string { return filepath.Join(g.home, "gems") }

// cmd is gem or bundle in dir with extra environment. gem installs into
// the home; bundle into dir/vendor, with the machine's own gems (Bundler
// itself) visible.
func (g *gemEnv) cmd(dir string, extra []string, name string, args ...string) *exec.Cmd {
	ctx, cancel := gemContext(g.t)
	g.t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, requireClient(g.t, name), args...)
	cmd.Dir = dir
	cmd.Env = append([]string{}, g.env...)
	if name == "gem" {
		cmd.Env = append(cmd.Env, "GEM_HOME="+g.gemsDir(), "GEM_PATH="+g.gemsDir())
	} else {
		cmd.Env = append(cmd.Env, "BUNDLE_PATH="+filepath.Join(dir, "vendor"), "BUNDLE_GEMFILE="+filepath.Join(dir, "Gemfile"))
	}
	cmd.Env = append(cmd.Env, extra...)
	return cmd
}

func (g *gemEnv) run(dir string, extra []string, name string, args ...string) (string, error) {
	cmd := g.cmd(dir, extra, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// must runs gem or bundle and fails the test when it fails.
func (g *gemEnv) must(dir string, extra []string, name string, args ...string) string {
	g.t.Helper()
	out, err := g.run(dir, extra, name, args...)
	if err != nil {
		g.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// fails runs gem or bundle, which must fail saying want.
func (g *gemEnv) fails(dir string, extra []string, want, name string, args ...string) string {
	g.t.Helper()
	out, err := g.run(dir, extra, name, args...)
	if err == nil {
		g.t.Fatalf("%s %s succeeded; want a failure with %q\n%s", name, strings.Join(args, " "), want, out)
	}
	if !strings.Contains(out, want) {
		g.t.Fatalf("%s %s: output lacks %q:\n%s", name, strings.Join(args, " "), want, out)
	}
	return out
}

// prompt is a question a command asks on its terminal and what to type.
type prompt struct{ ask, answer string }

// interact runs gem on a terminal (script(1)): gem asks for an e-mail and
// password only on one. Each answer is typed once its prompt has shown.
func (g *gemEnv) interact(dir string, extra []string, prompts []prompt, args ...string) (string, error) {
	g.t.Helper()
	line := shellWord(requireClient(g.t, "gem"))
	for _, a := range args {
		line += " " + shellWord(a)
	}
	cmd := g.cmd(dir, extra, "script", "-qefc", line, "/dev/null")
	cmd.Path = requireClient(g.t, "script")
	cmd.Env = append(cmd.Env, "GEM_HOME="+g.gemsDir(), "GEM_PATH="+g.gemsDir())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		g.t.Fatal(err)
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	pos := 0
	for _, p := range prompts {
		deadline := time.Now().Add(time.Minute)
		for {
			s := out.String()
			if i := strings.Index(s[pos:], p.ask); i >= 0 {
				pos += i + len(p.ask)
				break
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				g.t.Fatalf("gem %s never asked %q:\n%s", strings.Join(args, " "), p.ask, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		// A moment for gem to turn echo off after a password prompt.
		time.Sleep(150 * time.Millisecond)
		if _, err := io.WriteString(stdin, p.answer+"\n"); err != nil {
			g.t.Fatal(err)
		}
	}
	err = cmd.Wait()
	return strings.ReplaceAll(out.String(), "\r\n", "\n"), err
}

func shellWord(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// writeFiles writes files (path → content) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
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

// builtGem is a gem made by the real `gem build`.
type builtGem struct {
	name, version, platform string
	deps                    []string // add_dependency arguments, Ruby syntax
}

// buildGems runs `gem build` for each gem in a fresh directory and
// returns the directory holding the .gem files.
func (g *gemEnv) buildGems(gems ...builtGem) string {
	g.t.Helper()
	dir := g.t.TempDir()
	for _, b := range gems {
		var spec strings.Builder
		fmt.Fprintf(&spec, "Gem::Specification.new do |s|\n  s.name = %q\n  s.version = %q\n", b.name, b.version)
		if b.platform != "" {
			fmt.Fprintf(&spec, "  s.platform = %q\n", b.platform)
		}
		fmt.Fprintf(&spec, "  s.summary = \"Test gem %s\"\n  s.authors = [\"Wharf Tests\"]\n  s.license = \"MIT\"\n  s.homepage = \"https://example.com/%s\"\n", b.name, b.name)
		fmt.Fprintf(&spec, "  s.files = [\"lib/%s.rb\"]\n", b.name)
		for _, d := range b.deps {
			fmt.Fprintf(&spec, "  s.add_dependency %s\n", d)
		}
		spec.WriteString("end\n")
		writeFiles(g.t, dir, map[string]string{"lib/" + b.name + ".rb": "# " + b.name + "\n", b.name + ".gemspec": spec.String()})
		g.must(dir, []string{"SOURCE_DATE_EPOCH=1704153600"}, "gem", "build", b.name+".gemspec")
	}
	return dir
}

// localPlatform is the platform RubyGems and Bundler take on this machine.
func (g *gemEnv) localPlatform() string {
	return strings.TrimSpace(g.must(g.home, nil, "ruby", "-e", "print Gem::Platform.local"))
}

// writeCredentials writes ~/.gem/credentials with an API key per host, as
// gem wants it (mode 0600).
func (g *gemEnv) writeCredentials(keys map[string]string) {
	g.t.Helper()
	var b strings.Builder
	b.WriteString("---\n")
	for host, key := range keys {
		fmt.Fprintf(&b, "%q: %s\n", host, key)
	}
	dir := filepath.Join(g.home, ".gem")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		g.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "credentials"), []byte(b.String()), 0o600); err != nil {
		g.t.Fatal(err)
	}
}

// project is a Bundler project directory with a Gemfile.
func (g *gemEnv) project(gemfile string) string {
	g.t.Helper()
	dir := g.t.TempDir()
	writeFiles(g.t, dir, map[string]string{"Gemfile": gemfile})
	return dir
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
