package cleanup_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	jobs_model "wharf/models/jobs"
	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	"wharf/modules/storage"
	"wharf/services/packages/cleanup"
	user_service "wharf/services/user"
)

// TestUploadsTask removes spill files older than the grace period, in the
// upload directory and the disk store's temp directory, and leaves
// younger ones (an upload in progress).
func TestUploadsTask(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	old := testNow.Add(-25 * time.Hour)
	tmp := f.store.(*storage.Local).TempDir()
	files := map[string]bool{ // path → removed
		filepath.Join(f.uploads, "crashed"): true,
		filepath.Join(tmp, "crashed"):       true,
		filepath.Join(f.uploads, "live"):    false,
		filepath.Join(tmp, "live"):          false,
	}
	for p, stale := range files {
		if err := os.WriteFile(p, []byte("spill"), 0o644); err != nil {
			t.Fatal(err)
		}
		when := testNow.Add(-time.Minute)
		if stale {
			when = old
		}
		if err := os.Chtimes(p, when, when); err != nil {
			t.Fatal(err)
		}
	}
	dry, err := f.cleanup.RunTaskWith(ctx, cleanup.TaskUploads, cleanup.TaskOptions{DryRun: true})
	if err != nil || dry.Files != 2 {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	run, err := f.cleanup.RunTask(ctx, cleanup.TaskUploads)
	if err != nil {
		t.Fatal(err)
	}
	if run.Files != 2 || run.Bytes != 10 {
		t.Errorf("run: %+v", run)
	}
	for p, removed := range files {
		_, err := os.Stat(p)
		if gone := os.IsNotExist(err); gone != removed {
			t.Errorf("%s: gone=%v", p, gone)
		}
	}
}

// TestEmptyTask removes packages without versions and only those.
func TestEmptyTask(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	e := f.db.Engine()
	empty, err := packages_model.GetOrInsertPackage(ctx, e, &packages_model.Package{OwnerID: f.owner.ID, Type: packages_model.TypeNpm, Name: "empty"})
	if err != nil {
		t.Fatal(err)
	}
	full, err := packages_model.GetOrInsertPackage(ctx, e, &packages_model.Package{OwnerID: f.owner.ID, Type: packages_model.TypeNpm, Name: "full"})
	if err != nil {
		t.Fatal(err)
	}
	if err := packages_model.InsertVersion(ctx, e, &packages_model.PackageVersion{PackageID: full.ID, Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	run, err := f.cleanup.RunTask(ctx, cleanup.TaskEmpty)
	if err != nil || run.Packages != 1 {
		t.Fatalf("run: %+v, %v", run, err)
	}
	if _, err := packages_model.GetPackageByID(ctx, e, empty.ID); err == nil {
		t.Error("the empty package is still there")
	}
	if _, err := packages_model.GetPackageByID(ctx, e, full.ID); err != nil {
		t.Errorf("the package with a version: %v", err)
	}
}

// TestScheduledCleanup: the periodic run is queued once, one interval
// ahead, runs every task when due and queues its successor; an
// administrator's run goes through the same singleton job and is recorded.
func TestScheduledCleanup(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for range 2 {
		if err := f.cleanup.Schedule(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var js []*jobs_model.Job
	if err := f.db.Engine().Context(ctx).Where("kind = ?", cleanup.JobCleanup).Find(&js); err != nil {
		t.Fatal(err)
	}
	if len(js) != 1 || js[0].Payload != cleanup.JobScheduled || js[0].RunAt != testNow.Add(24*time.Hour).Unix() {
		t.Fatalf("queued: %+v", js)
	}
	// A rule of an owner deleted since: the rules task drops it.
	gone, err := f.users.Create(ctx, user_service.CreateOptions{Name: "gone", Email: "gone@example.com", Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.cleanup.CreateRule(ctx, gone, "gone", cleanup.RuleOptions{Type: ptr("npm"), Enabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Engine().Context(ctx).ID(gone.ID).Delete(new(user_model.User)); err != nil {
		t.Fatal(err)
	}
	if err := f.cleanup.Job(ctx, cleanup.JobScheduled); err != nil {
		t.Fatal(err)
	}
	if n, err := f.db.Engine().Context(ctx).Where("kind = ? AND payload = ?", cleanup.JobCleanup, cleanup.JobScheduled).Count(new(jobs_model.Job)); err != nil || n != 1 {
		t.Errorf("scheduled jobs after a run: %d (%v), want its one successor", n, err)
	}
	if n, err := f.db.Engine().Context(ctx).Where("owner_id = ?", gone.ID).Count(new(packages_model.CleanupRule)); err != nil || n != 0 {
		t.Errorf("the deleted owner's rules: %d (%v)", n, err)
	}
	runs, err := f.cleanup.LastRuns(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != len(cleanup.Tasks) {
		t.Fatalf("runs: %d, want one per task", len(runs))
	}
	for _, r := range runs {
		if r.FinishedUnix == 0 || r.Error != "" {
			t.Errorf("run %+v", r)
		}
	}
	run, err := f.cleanup.RunTaskNow(ctx, cleanup.TaskEmpty)
	if err != nil || run.Task != cleanup.TaskEmpty || run.FinishedUnix == 0 {
		t.Fatalf("run now: %+v, %v", run, err)
	}
	if _, err := f.cleanup.RunTaskNow(ctx, "nope"); err == nil {
		t.Error("an unknown task ran")
	}
	if n, err := f.db.Engine().Context(ctx).Where("kind = ? AND payload = ?", cleanup.JobCleanup, cleanup.TaskEmpty).Count(new(jobs_model.Job)); err != nil || n != 0 {
		t.Errorf("the task's job is left: %d, %v", n, err)
	}
}
