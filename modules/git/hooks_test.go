package git

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestInstallHooksConcurrently: processes sharing a repository root start
// at once (issue 16: two shared one temporary name and one of them failed
// its start-up); every installer succeeds, the hook is whole and
// executable, and no temporary file is left.
func TestInstallHooksConcurrently(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".hooks")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() { errs <- InstallHooks(dir) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	check := func() {
		t.Helper()
		got, err := os.ReadFile(filepath.Join(dir, "post-receive"))
		if err != nil || string(got) != postReceive {
			t.Fatalf("post-receive is %q, %v", got, err)
		}
		st, err := os.Stat(filepath.Join(dir, "post-receive"))
		if err != nil || st.Mode().Perm() != 0o755 {
			t.Fatalf("post-receive mode %v, %v", st.Mode(), err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) != 1 {
			t.Fatalf("hooks directory holds %v, %v", entries, err)
		}
	}
	check()
	// A damaged hook (an older release's, or cut short) is rewritten.
	if err := os.WriteFile(filepath.Join(dir, "post-receive"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := InstallHooks(dir); err != nil {
		t.Fatal(err)
	}
	check()
}
