package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wharf/models/unittest"
)

// TestReviewCLIConfigWithoutWorkPath: `wharf --config FILE admin …` run
// from another directory, without --work-path, acts on the instance the
// file belongs to, or refuses; it used to take the current directory as the
// work path and create and migrate an empty database there (the same trap
// as issue 9 item 13, with only --config given, as the error message itself
// suggested).
func TestReviewCLIConfigWithoutWorkPath(t *testing.T) {
	work := t.TempDir()
	env := binEnv(t, "WHARF_ADMIN_USER=boss", "WHARF_ADMIN_PASSWORD=boss-password-1")
	p := startWeb(t, work, env)
	p.stop(t)
	conf := filepath.Join(work, "custom", "conf", "app.ini")

	// The configuration where the first start wrote it names its instance.
	cwd := t.TempDir()
	list, logs := runBinOut(t, cwd, env, "--config", conf, "admin", "user", "list")
	if !strings.Contains(list, "boss") {
		t.Fatalf("admin user list with the instance's --config does not show its users: %q\n%s", list, logs)
	}
	if !strings.Contains(logs, "work_path="+work) {
		t.Errorf("the work path is not the configuration's instance:\n%s", logs)
	}
	assertEmptyDir(t, cwd)

	if unittest.Backend() == "postgres" {
		return // the database is named by the configuration, not the work path
	}
	// A configuration elsewhere says nothing about the work path: an admin
	// command refuses rather than create a database in the current
	// directory.
	other := filepath.Join(work, "etc", "wharf.ini")
	data, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, other, string(data))
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, wharfBin, "--config", other, "admin", "user", "list")
	cmd.Dir, cmd.Env = cwd, env
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("admin with a guessed work path succeeded: %s", out)
	}
	for _, want := range []string{filepath.Join(cwd, "data", "wharf.db"), "--work-path", "does not exist"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("message lacks %q: %s", want, out)
		}
	}
	assertEmptyDir(t, cwd)
	// Named, the work path is used as given.
	list = runBin(t, cwd, env, "--config", other, "--work-path", work, "admin", "user", "list")
	if !strings.Contains(list, "boss") {
		t.Fatalf("admin user list with --work-path: %q", list)
	}
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Fatalf("something was created in %s: %v %v", dir, entries, err)
	}
}
