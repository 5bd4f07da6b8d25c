package tests

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"code.gitea.io/sdk/gitea"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"

	"wharf/modules/setting"
)

// goHost is the module host alias the Go proxy tests name modules with.
const goHost = "go.wharf.test"

// newGoServer is a test server that also answers to goHost as a module
// host.
func newGoServer(t *testing.T) *server {
	t.Helper()
	return newServer(t, func(cfg *setting.Config) { cfg.Server.HostAliases = []string{goHost} })
}

// goCmd runs the real go command in dir with a private environment: its
// own GOPATH, module cache, build cache and HOME, no checksum database, no
// toolchain downloads, and env on top.
type goCmd struct {
	t   testing.TB
	dir string
	env []string
}

// newGoCmd makes a go command environment with its own module cache,
// GOPATH and HOME, so every module it sees came through the server under
// test. The build cache is the user's (GOCACHE, else go's default): it is
// keyed by the content of what it compiles, safe for concurrent use, and
// holds no modules; a private one made each test compile the standard
// library again, minutes of CI under -race.
func newGoCmd(t testing.TB, dir string, env ...string) *goCmd {
	t.Helper()
	home := t.TempDir()
	cache := os.Getenv("GOCACHE")
	if cache == "" {
		userCache, err := os.UserCacheDir()
		if err != nil {
			t.Fatalf("no build cache: %v", err)
		}
		cache = filepath.Join(userCache, "go-build")
	}
	base := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"GOPATH=" + filepath.Join(home, "gopath"),
		"GOMODCACHE=" + filepath.Join(home, "modcache"),
		"GOCACHE=" + cache,
		"GOENV=off",
		"GOFLAGS=-mod=mod",
		"GOSUMDB=off",
		"GONOSUMDB=*",
		"GOTOOLCHAIN=local",
		"GOTELEMETRY=off",
		"CGO_ENABLED=0",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
	}
	return &goCmd{t: t, dir: dir, env: append(base, env...)}
}

func (g *goCmd) run(args ...string) (string, error) {
	cmd := exec.CommandContext(g.t.Context(), "go", args...)
	cmd.Dir = g.dir
	cmd.Env = g.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (g *goCmd) must(args ...string) string {
	g.t.Helper()
	out, err := g.run(args...)
	if err != nil {
		g.t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// modDownload is the part of `go mod download -json` the tests compare.
type modDownload struct {
	Path     string
	Version  string
	Query    string
	Error    string
	Info     string
	GoMod    string
	Zip      string
	Dir      string
	Sum      string
	GoModSum string
	Origin   json.RawMessage
	Reuse    bool
}

// download runs `go mod download -json mod@v` and decodes its answer
// strictly.
func (g *goCmd) download(modv string) modDownload {
	g.t.Helper()
	out := g.must("mod", "download", "-json", modv)
	var d modDownload
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		g.t.Fatalf("go mod download -json %s: %v\n%s", modv, err, out)
	}
	if d.Error != "" || d.Sum == "" || d.GoModSum == "" {
		g.t.Fatalf("go mod download -json %s: %+v", modv, d)
	}
	return d
}

// goRepo creates the repository owner/name (as user, in user's account
// when owner is user, else in the organisation owner) and a work tree for
// it; it returns the work tree's git and the push URL.
func goRepo(t *testing.T, s *server, user, owner, name string, private bool) (gitCmd, string) {
	t.Helper()
	c := s.client(t, gitea.SetBasicAuth(user, user+"-password"))
	opt := gitea.CreateRepoOption{Name: name, Private: private}
	var err error
	if owner == user {
		_, _, err = c.CreateRepo(opt)
	} else {
		_, _, err = c.CreateOrgRepo(owner, opt)
	}
	if err != nil {
		t.Fatalf("create repository %s/%s: %v", owner, name, err)
	}
	work := t.TempDir()
	gitCmd{t, work}.must("init", "-q", "-b", "main", name)
	return gitCmd{t, filepath.Join(work, name)}, authURL(s.URL, user, user+"-password", owner+"/"+name+".git")
}

// writeTree writes files (path → content) under dir.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// commitAll commits the work tree's files with msg and tags the commit.
func commitAll(g gitCmd, msg string, tags ...string) {
	g.t.Helper()
	g.must("add", "-A")
	g.must("commit", "-qm", msg)
	for _, tag := range tags {
		g.must("tag", tag)
	}
}

// runGoJobs drains the job queue and fails the test if a job failed (a
// failed job stays queued with its error for a retry).
func runGoJobs(t *testing.T, s *server) {
	t.Helper()
	if _, err := s.App.Jobs.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	rows, err := s.App.DB.SQL().QueryContext(t.Context(), "SELECT kind, last_error FROM job WHERE last_error IS NOT NULL AND last_error != ''")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, msg string
		if err := rows.Scan(&kind, &msg); err != nil {
			t.Fatal(err)
		}
		t.Errorf("job %s failed: %s", kind, msg)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// goNote is one entry of GET /api/packages/{owner}/go/-/notes.
type goNote struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Commit     string `json:"commit"`
	Reason     string `json:"reason"`
	Created    int64  `json:"created_unix"`
}

func goNotes(t *testing.T, s *server, owner string, header map[string]string) []goNote {
	t.Helper()
	status, _, body := s.do(t, "GET", "/api/packages/"+owner+"/go/-/notes", "", header)
	if status != 200 {
		t.Fatalf("notes: %d %s", status, body)
	}
	var notes []goNote
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&notes); err != nil {
		t.Fatalf("notes %q: %v", body, err)
	}
	return notes
}

// goMod is a go.mod for module mod with requirements.
func goMod(mod string, requires ...string) string {
	s := "module " + mod + "\n\ngo 1.21\n"
	if len(requires) > 0 {
		s += "\nrequire (\n"
		for _, r := range requires {
			s += "\t" + r + "\n"
		}
		s += ")\n"
	}
	return s
}

// moduleZip is the module zip of dir as mod@v, made by golang.org/x/mod/zip.
func moduleZip(t testing.TB, dir, mod, v string) string {
	t.Helper()
	var b bytes.Buffer
	if err := modzip.CreateFromDir(&b, module.Version{Path: mod, Version: v}, dir); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// dirHash is the go.sum hash (h1:) of the module zip of dir as mod@v.
func dirHash(t testing.TB, dir, mod, v string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "m.zip")
	if err := os.WriteFile(f, []byte(moduleZip(t, dir, mod, v)), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := dirhash.HashZip(f, dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
