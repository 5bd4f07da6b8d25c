package tests

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	"wharf/modules/setting"
	"wharf/modules/storage"
)

// TestBinaryCleanupKilled is `wharf admin cleanup` as an operator runs it,
// killed with SIGKILL at growing points of a rule's run and run again:
// after every kill the registry is consistent (every file's blob row and
// bytes are there, no version without its package), and the last run
// finishes what the rule says. Each package's removals are one
// transaction, so a kill lands between packages or undoes one whole. Then the blobs task collects the removed
// versions' bytes, and --dry-run prints the preview and changes nothing.
func TestBinaryCleanupKilled(t *testing.T) {
	work := installedWork(t)
	// No grace: nothing is uploading while the blobs task runs here.
	env := binEnv(t, "WHARF__PACKAGES__BLOB_GC_GRACE=0s", "WHARF__CRON_0X2E_CLEANUP_PACKAGES__ENABLED=false")
	runBin(t, work, env, "admin", "user", "create", "--username", "ops", "--password", "ops-password",
		"--email", "ops@example.com", "--admin", "--must-change-password=false")
	p := startWeb(t, work, env)
	const n = 400
	client := &http.Client{}
	for i := range n {
		req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/api/packages/ops/generic/lib%d/1.0.%d/f.bin", p.url, i%8, i/8), strings.NewReader(fmt.Sprintf("bytes of %d", i)))
		req.SetBasicAuth("ops", "ops-password")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("upload %d: %d", i, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest("POST", p.url+"/api/v1/packages/ops/-/rules", strings.NewReader(`{"type":"generic","enabled":true,"keep_count":2}`))
	req.SetBasicAuth("ops", "ops-password")
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create rule: %d", resp.StatusCode)
	}
	p.stop(t)
	// Blob rows and files carry whole seconds, and the blobs task takes
	// those strictly older than now minus the grace (0s here): a run in
	// the same second as the last upload would rightly leave its blobs.
	lastUpload := time.Now()

	cfg, err := setting.Load(setting.LoadOptions{WorkPath: work, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := storage.Open(ctx, cfg.Storage)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string) (versions int64) {
		t.Helper()
		d, err := db.Open(ctx, cfg.Database)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		e := d.Engine()
		var rows []*packages_model.FileRow
		if err := e.Context(ctx).Table("package_file").Join("LEFT", "package_blob", "package_file.blob_id = package_blob.id").Find(&rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Blob.ID == 0 {
				t.Fatalf("%s: file %d points at a missing blob row", what, r.ID)
			}
			if _, err := store.Stat(ctx, r.Blob.HashSHA256); err != nil {
				t.Fatalf("%s: file %s's bytes are missing: %v", what, r.Name, err)
			}
		}
		orphans, err := e.Context(ctx).Where("NOT EXISTS (SELECT 1 FROM package WHERE package.id = package_version.package_id)").Count(new(packages_model.PackageVersion))
		if err != nil || orphans != 0 {
			t.Fatalf("%s: %d versions without a package (%v)", what, orphans, err)
		}
		versions, err = e.Context(ctx).Count(new(packages_model.PackageVersion))
		if err != nil {
			t.Fatal(err)
		}
		return versions
	}

	// --dry-run prints the preview and removes nothing.
	out := runBin(t, work, env, "admin", "cleanup", "--dry-run", "--task", "rules")
	if strings.Count(out, "remove ops/generic lib") != n-16 || !strings.Contains(out, fmt.Sprintf("rules: would remove %d versions", n-16)) {
		t.Fatalf("dry run: %s", out)
	}
	if v := check("after the dry run"); v != n {
		t.Fatalf("the dry run removed versions: %d left", v)
	}

	kills := 0
	// Start short: a run over these 400 versions can finish in about 100 ms.
	for delay := 20 * time.Millisecond; ; delay += 60 * time.Millisecond {
		cmd := exec.Command(wharfBin, "admin", "cleanup", "--task", "rules")
		cmd.Dir, cmd.Env = work, env
		var stdout strings.Builder
		cmd.Stdout = &stdout
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("cleanup: %v: %s", err, stdout.String())
			}
		case <-time.After(delay):
			_ = cmd.Process.Signal(syscall.SIGKILL)
			err := <-done
			var ee *exec.ExitError
			if err == nil || !errors.As(err, &ee) {
				// It finished just before the kill.
				break
			}
			kills++
			t.Logf("killed after %v: %d versions left", delay, check(fmt.Sprintf("after a kill at %v", delay)))
			continue
		}
		break
	}
	if v := check("after the last run"); v != 16 {
		t.Fatalf("%d versions left, want 16", v)
	}
	t.Logf("killed %d times before a run finished", kills)

	if wait := time.Until(lastUpload.Truncate(time.Second).Add(time.Second)); wait > 0 {
		time.Sleep(wait)
	}
	out = runBin(t, work, env, "admin", "cleanup", "--task", "blobs")
	if !strings.Contains(out, fmt.Sprintf("blobs: removed 0 versions, 0 files, %d blobs", n-16)) {
		t.Fatalf("blobs: %s", out)
	}
	check("after the blobs task")
	var stored int
	if err := store.(storage.Walker).Walk(ctx, func(storage.BlobInfo) error { stored++; return nil }); err != nil {
		t.Fatal(err)
	}
	if stored != 16 {
		t.Fatalf("%d blobs stored, want the 16 kept versions'", stored)
	}
}
